// createChannel({ config }) and createAsyncChannel({ config }): the
// embedder's channel-wide defaults (inbound host, unsubscribe base, parse
// limits), a call's own value winning, and config checked when the channel
// is made.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createChannel, createAsyncChannel, MailroomParseError } from '../src/index.js';
import { publishedAnswers } from '../examples/clinic.mjs';

const CONFIG = {
  inboundHost: 'inbound.mailroom.example',
  unsubscribeBase: 'https://app.example/unsubscribe',
  limits: { maxBytes: 64 },
};
const BIG = `Subject: more than sixty-four bytes\r\n\r\n${'x'.repeat(100)}\r\n`;

/** The error `f` threw (or the Promise rejected with), or a failed assertion. */
async function thrown(f) {
  try {
    await f();
  } catch (err) {
    return err;
  }
  assert.fail('did not throw');
}

/** Creates and verifies a setup with `options`, a marketing use case, sends one message: its MX value and unsubscribe URL. */
async function sendOne(channel, domain, options) {
  const setup = await channel.setups.create('ws-1', domain, options);
  await channel.setups.verify('ws-1', setup.id, publishedAnswers(setup));
  const useCase = await channel.useCases.create('ws-1', {
    setup: setup.id, sender: `news@${domain}`, type: 'marketing', entityName: 'Riverside', useCaseName: 'News',
  });
  const sent = await channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'News', text: 'Hi.' });
  return { mx: setup.records.find((r) => r.purpose === 'inbound-mx').value, unsubscribeUrl: sent.unsubscribeUrl };
}

test('config: setups.create and the limits of parse and receive take its defaults', async () => {
  const channel = createChannel({ config: CONFIG });
  const { mx, unsubscribeUrl } = await sendOne(channel, 'clinic.example');
  assert.equal(mx, '10 inbound.mailroom.example');
  assert.match(unsubscribeUrl, /^https:\/\/app\.example\/unsubscribe\/[^/]+$/);

  for (const [call, run] of [['parse', () => channel.parse(BIG)], ['receive', () => channel.receive(BIG, null, null)]]) {
    const err = await thrown(run);
    assert.ok(err instanceof MailroomParseError, call);
    assert.deepEqual([err.kind, err.limit, err.value], ['limit-exceeded', 'max-bytes', 64], call);
  }
});

test('config: a call\'s own value wins, field by field', async () => {
  const channel = createChannel({ config: { ...CONFIG, limits: { maxBytes: 64, maxDepth: 8 } } });
  const explicit = await sendOne(channel, 'clinic.example', {
    inboundHost: 'mx.other.example', unsubscribeBase: 'https://other.example/u',
  });
  assert.equal(explicit.mx, '10 mx.other.example');
  assert.match(explicit.unsubscribeUrl, /^https:\/\/other\.example\/u\/[^/]+$/);
  // Only inboundHost given: config's unsubscribeBase still applies.
  const mixed = await sendOne(channel, 'surgery.example', { inboundHost: 'mx.other.example', unsubscribeBase: null });
  assert.equal(mixed.mx, '10 mx.other.example');
  assert.match(mixed.unsubscribeUrl, /^https:\/\/app\.example\/unsubscribe\//);

  assert.equal(channel.parse(BIG, { maxBytes: 1000 }).subject, 'more than sixty-four bytes');
  assert.equal(channel.receive(BIG, null, { maxBytes: 1000 }).message.subject, 'more than sixty-four bytes');
  // A call giving only maxParts keeps config's maxBytes.
  assert.equal((await thrown(() => channel.parse(BIG, { maxParts: 10 }))).value, 64);
  // A call's maxDepth of 1 wins over config's 8.
  const nested = 'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n';
  const deep = await thrown(() => channel.parse(nested, { maxBytes: 1000, maxDepth: 1 }));
  assert.deepEqual([deep.limit, deep.value], ['max-depth', 1]);
});

test('config: unknown keys and wrong types are TypeErrors naming the key, at createChannel', () => {
  const cases = [
    [{ inboundhost: 'x' }, /config\.inboundhost is not an option/],
    [{ spfInclude: 42 }, /config\.spfInclude must be a string/],
    [{ limits: { maxByte: 10 } }, /config\.limits\.maxByte is not an option/],
    [{ inboundHost: 42 }, /config\.inboundHost must be a string/],
    [{ unsubscribeBase: new URL('https://app.example/u') }, /config\.unsubscribeBase must be a string/],
    [{ limits: 10 }, /config\.limits must be an object/],
    [{ limits: { maxDepth: 1.5 } }, /config\.limits\.maxDepth must be an integer/],
    [{ limits: { maxBytes: '10' } }, /config\.limits\.maxBytes must be an integer/],
    [[], /config must be an object/],
    ['inbound.mailroom.example', /config must be an object/],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => createChannel({ config }), (err) => err instanceof TypeError && message.test(err.message), JSON.stringify(config));
  }
  assert.throws(() => createChannel({ config: { limits: { maxParts: -1 } } }), RangeError);
  // Left out, null or undefined: no defaults.
  for (const config of [undefined, null, {}, { inboundHost: undefined, unsubscribeBase: null, limits: null }]) {
    assert.doesNotThrow(() => createChannel({ config }));
  }
});

test('config: copied when the channel is made; without inboundHost, setups.create needs one', async () => {
  const config = { inboundHost: 'inbound.mailroom.example', limits: { maxBytes: 64 } };
  const channel = createChannel({ config });
  config.limits.maxBytes = 10_000;
  config.inboundHost = 'changed.example';
  assert.equal((await thrown(() => channel.parse(BIG))).value, 64);

  const bare = createChannel();
  assert.throws(() => bare.setups.create('ws-1', 'clinic.example'), /setups\.create: options must be an object/);
  assert.throws(() => bare.setups.create('ws-1', 'clinic.example', {}), /options\.inboundHost must be a string/);
  assert.throws(() => bare.setups.create('ws-1', 'clinic.example', { inboundHost: 7 }), /options\.inboundHost must be a string/);
  assert.equal(bare.parse(BIG).subject, 'more than sixty-four bytes');
});

test('createAsyncChannel honours config', { skip: typeof WebAssembly.Suspending === 'function' ? false : 'covered under Deno (test/portable/async-channel.test.mjs)' }, async () => {
  assert.throws(() => createAsyncChannel({ config: { limit: {} } }), /createAsyncChannel: config\.limit is not an option/);
  const channel = createAsyncChannel({ config: CONFIG });
  const { mx, unsubscribeUrl } = await sendOne(channel, 'clinic.example');
  assert.equal(mx, '10 inbound.mailroom.example');
  assert.match(unsubscribeUrl, /^https:\/\/app\.example\/unsubscribe\//);
  assert.equal((await thrown(() => channel.receive(BIG))).value, 64);
  assert.equal((await channel.parse(BIG, { maxBytes: 1000 })).subject, 'more than sixty-four bytes');
});

test('config: spfInclude is the default of setups.create\'s', async () => {
  const channel = createChannel({ config: { inboundHost: 'inbound.mailroom.example', spfInclude: 'amazonses.com' } });
  const spf = (setup) => setup.records.find((r) => r.purpose === 'spf').value;
  assert.equal(spf(channel.setups.create('ws-1', 'clinic.example')), 'v=spf1 include:amazonses.com ~all');
  const own = channel.setups.create('ws-1', 'surgery.example', { spfInclude: 'spf.example.net' });
  assert.equal(spf(own), 'v=spf1 include:spf.example.net ~all');
});
