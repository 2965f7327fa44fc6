// Engagement tracking over fetch in Node (handleTracking with Node's
// Request and Response); the same check runs in Deno and workerd through
// runSuites (test/portable/suites.mjs).

import { test } from 'node:test';
import { trackingOverFetch } from './portable/tracking.mjs';

test('handleTracking serves the pixel and links, refuses forged tokens, and reporting counts one person', async () => {
  await trackingOverFetch();
});
