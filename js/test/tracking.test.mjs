// Engagement tracking over fetch in Node (handleTracking with Node's
// Request and Response); the same check runs in Deno and workerd through
// runSuites (test/portable/suites.mjs).

import { test } from 'node:test';
import { trackingOverFetch } from './portable/tracking.mjs';

test('handleTracking serves the pixel and links, refuses forged tokens, and reporting counts one person', async () => {
  await trackingOverFetch();
});

test('examples/tracking/worker.mjs: the fetch handler answers 404 off its routes and for forged tokens', async () => {
  const { trackingHandler } = await import('../examples/tracking/worker.mjs');
  const { createChannel } = await import('../src/index.js');
  const assert = (await import('node:assert/strict')).default;
  const handler = trackingHandler(createChannel());
  const off = await handler(new Request('https://t.example/elsewhere'));
  assert.equal(off.status, 404);
  assert.equal(await off.text(), 'not found\n');
  const forged = await handler(new Request(`https://t.example/t/c/${'A'.repeat(58)}`));
  assert.equal(forged.status, 404);
  assert.equal(forged.headers.get('location'), null);
  assert.match(await forged.text(), /not valid/);
});
