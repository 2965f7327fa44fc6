// createAsyncChannel over kvStore, in a runtime with JSPI (`deno test
// --allow-read --allow-env=JCO_DEBUG test/portable/`): the facade's answers as
// Promises, typed errors from an asynchronous store, one call at a time on a
// channel, and two channels writing one KV concurrently (compare-and-set
// conflicts, retried by the component), and config's defaults.

import { createAsyncChannel, kvStore, MailroomError, MailroomParseError, StoreError } from '../../src/index.js';
import { memoryKv } from './memory-kv.mjs';
import { clinic, publishedAnswers } from '../../examples/clinic.mjs';

function assert(ok, what) {
  if (!ok) throw new Error(what);
}

Deno.test('a conversation over an asynchronous KV', async () => {
  const channel = createAsyncChannel({ store: kvStore(memoryKv()) });
  const { useCase } = await clinic(channel);
  // Queued, not interleaved: both complete.
  const [a, b] = await Promise.all([
    channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'A', text: 'a' }),
    channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'sam@example.com' }], subject: 'B', text: 'b' }),
  ]);
  assert(a.threadId !== b.threadId, 'two threads');
  const reply = await channel.receive(`From: pat@example.com\r\nTo: care@clinic.example\r\nIn-Reply-To: <${a.messageId}>\r\nSubject: Re: A\r\n\r\nThanks\r\n`);
  assert(reply.resolution.kind === 'matched' && reply.resolution.association.threadId === a.threadId, JSON.stringify(reply.resolution));
  assert(channel.transport.sent.length === 2, 'the recording transport');
});

Deno.test('a failing asynchronous store is a MailroomError of kind store, with the cause', async () => {
  const kv = memoryKv();
  let failing = false;
  const store = kvStore(kv);
  const flaky = { ...store, put: async (...args) => {
    if (failing) throw new StoreError('unavailable', 'the KV is down');
    return store.put(...args);
  } };
  const channel = createAsyncChannel({ store: flaky });
  const { useCase } = await clinic(channel);
  failing = true;
  const err = await channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'A', text: 'a' }).then(() => null, (e) => e);
  assert(err instanceof MailroomError && err.kind === 'store' && err.call === 'send', String(err));
  assert(err.cause instanceof StoreError && err.cause.kind === 'unavailable', 'cause');
  failing = false;
  const sent = await channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'A', text: 'a' });
  assert(typeof sent.messageId === 'string', 'the channel works after a store error');
});

Deno.test('two channels on one KV: concurrent writes conflict and are retried, nothing lost', async () => {
  const kv = memoryKv();
  const first = createAsyncChannel({ store: kvStore(kv) });
  const second = createAsyncChannel({ store: kvStore(kv) });
  const { useCase } = await clinic(first);
  const sends = [];
  for (let i = 0; i < 4; i++) {
    for (const channel of [first, second]) {
      sends.push(channel.send('ws-1', { useCase: useCase.id, to: [{ address: `p${i}@example.com` }], subject: `S${i}`, text: 't' }));
    }
  }
  const sent = await Promise.all(sends);
  assert(new Set(sent.map((s) => s.messageId)).size === 8, 'eight messages');
  const period = await second.reporting.count('ws-1', { kind: 'use-case', useCase: useCase.id }, Math.floor(Date.now() / 1000) - 86400, Math.floor(Date.now() / 1000) + 86400);
  assert(period.counts.sent === 8, `counted ${period.counts.sent} of 8`);
});

Deno.test('config: defaults for setups.create and the limits, a call\'s own value winning', async () => {
  let err = null;
  try {
    createAsyncChannel({ config: { inboundhost: 'x' } });
  } catch (e) {
    err = e;
  }
  assert(err instanceof TypeError && /config\.inboundhost is not an option/.test(err.message), String(err));

  const channel = createAsyncChannel({
    store: kvStore(memoryKv()),
    config: { inboundHost: 'inbound.mailroom.example', unsubscribeBase: 'https://app.example/unsubscribe', limits: { maxBytes: 64 } },
  });
  const setup = await channel.setups.create('ws-1', 'clinic.example');
  assert(setup.records.some((r) => r.purpose === 'inbound-mx' && r.value === '10 inbound.mailroom.example'), 'config.inboundHost');
  await channel.setups.verify('ws-1', setup.id, publishedAnswers(setup));
  const useCase = await channel.useCases.create('ws-1', {
    setup: setup.id, sender: 'news@clinic.example', type: 'marketing', entityName: 'Riverside', useCaseName: 'News',
  });
  const sent = await channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'News', text: 'Hi.' });
  assert(sent.unsubscribeUrl.startsWith('https://app.example/unsubscribe/'), sent.unsubscribeUrl);

  const big = `Subject: more than sixty-four bytes\r\n\r\n${'x'.repeat(100)}\r\n`;
  const refused = await channel.receive(big).then(() => null, (e) => e);
  assert(refused instanceof MailroomParseError && refused.kind === 'limit-exceeded' && refused.value === 64, String(refused));
  const parsed = await channel.parse(big, { maxBytes: 1000 });
  assert(parsed.subject === 'more than sixty-four bytes', 'a call\'s limits win');
});
