// Under Deno (`deno test --allow-net --allow-read --allow-env=JCO_DEBUG`): a
// newsletter's List-Unsubscribe URL, POSTed over real HTTP to the example
// handler by fetch, suppresses the recipient; a GET, a forged token and a
// wrong body change nothing.

import { createChannel } from '@mailroom/channel';
import { oneClickHandler } from './handler.mjs';
import { clinic } from '../clinic.mjs';

function assertEquals(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

Deno.test('one-click unsubscribe over HTTP', async () => {
  const channel = createChannel();
  const { useCase } = await clinic(channel, { type: 'marketing' });
  const sent = channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'Spring newsletter', text: 'News.' });
  const token = new URL(sent.unsubscribeUrl).pathname.split('/').pop();

  const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, oneClickHandler(channel));
  const base = `http://127.0.0.1:${server.addr.port}/unsubscribe/`;
  try {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const get = await fetch(base + token);
    assertEquals(get.status, 405, 'GET');
    await get.body?.cancel();
    assertEquals((await channel.suppression.check('ws-1', useCase.id, 'pat@example.com')).kind, 'allow', 'after GET');

    const forged = await fetch(base + token.slice(0, -2) + 'AA', { method: 'POST', headers: form, body: 'List-Unsubscribe=One-Click' });
    assertEquals(forged.status, 404, 'forged token');
    await forged.body?.cancel();
    const wrong = await fetch(base + token, { method: 'POST', headers: form, body: 'unsubscribe=yes' });
    assertEquals(wrong.status, 400, 'wrong body');
    await wrong.body?.cancel();

    const ok = await fetch(base + token, { method: 'POST', headers: form, body: 'List-Unsubscribe=One-Click' });
    assertEquals(ok.status, 200, 'one-click');
    await ok.text();
    const decision = channel.suppression.check('ws-1', useCase.id, 'pat@example.com');
    assertEquals([decision.kind, decision.suppression.reason, decision.suppression.scope], ['suppressed', 'unsubscribe', { kind: 'use-case', useCase: useCase.id }], 'decision');
  } finally {
    await server.shutdown();
  }
});
