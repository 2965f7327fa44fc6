// createChannel: the component's calls over an embedder's store, transport,
// clock and random source; the in-memory store and recording transport.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createChannel,
  parse,
  MailroomError,
  MailroomParseError,
  MemoryStore,
  RecordingTransport,
  StoreError,
  TransportError,
} from '../src/index.js';
import { compareKeys } from '../src/memory-store.js';
import { fixedClock, splitmix64 } from '../src/scenario.js';

const decode = (bytes) => new TextDecoder().decode(bytes);

/** A channel with a setup and a use case. */
function clinic(options) {
  const channel = createChannel(options);
  const setup = channel.setups.create('ws-1', 'clinic.example');
  const useCase = channel.useCases.create({
    setup: setup.id,
    sender: 'care@clinic.example',
    type: 'transactional',
    entityName: 'Riverside Clinic',
    useCaseName: 'Care',
  });
  return { channel, setup, useCase };
}

const request = (useCase, extra = {}) => ({
  useCase: useCase.id,
  to: [{ name: 'Pat Doe', address: 'pat@patient.example' }],
  subject: 'Your appointment',
  text: 'Tuesday at 9.\r\n',
  ...extra,
});

function replyTo(sent, extra = '') {
  return (
    'From: Pat Doe <pat@patient.example>\r\nTo: care@clinic.example\r\nSubject: Re: Your appointment\r\n' +
    `Message-ID: <pat-1@patient.example>\r\nIn-Reply-To: <${sent.messageId}>\r\n${extra}\r\nTuesday works.\r\n`
  );
}

/** Asserts `fn` throws a MailroomError of `kind` from `call`; returns it. */
function throwsKind(fn, kind, call) {
  let caught;
  assert.throws(fn, (err) => {
    caught = err;
    return err instanceof MailroomError && err.kind === kind && (call === undefined || err.call === call);
  });
  return caught;
}

test('a conversation: setup, use case, send, receive the reply, report', () => {
  const { channel, setup, useCase } = clinic();
  assert.deepEqual(Object.keys(setup), ['id', 'workspace', 'domain']);
  assert.equal(setup.domain, 'clinic.example');
  assert.deepEqual(channel.setups.get(setup.id), setup);
  assert.deepEqual(Object.keys(useCase), ['id', 'setup', 'sender', 'type', 'entityName', 'useCaseName']);
  assert.deepEqual(channel.useCases.get(useCase.id), useCase);

  const sent = channel.send(request(useCase));
  assert.deepEqual(Object.keys(sent), ['messageId', 'threadId', 'inReplyTo', 'references', 'size']);
  assert.match(sent.messageId, /^[0-9a-f]{32}@clinic\.example$/);
  assert.equal(sent.inReplyTo, null);
  assert.equal(typeof sent.size, 'number');

  assert.ok(channel.transport instanceof RecordingTransport);
  assert.equal(channel.transport.sent.length, 1);
  const [out] = channel.transport.sent;
  assert.equal(out.messageId, sent.messageId);
  assert.deepEqual(out.envelope, { mailFrom: 'care@clinic.example', rcptTo: ['pat@patient.example'] });
  assert.equal(out.raw.length, sent.size);
  assert.match(decode(out.raw), /\r\nSubject: Your appointment\r\n/);

  const received = channel.receive(replyTo(sent), { mailFrom: 'pat@patient.example', rcptTo: ['care@clinic.example'] });
  assert.equal(received.messageId, 'pat-1@patient.example');
  assert.deepEqual(received.resolution, {
    kind: 'matched',
    association: {
      workspace: 'ws-1',
      setup: setup.id,
      useCase: useCase.id,
      threadId: sent.threadId,
      parentMessageId: sent.messageId,
      senderMismatch: false,
    },
  });
  assert.deepEqual(received.references, [sent.messageId, 'pat-1@patient.example']);
  assert.equal(received.autoReply, null);
  assert.equal(received.newText, 'Tuesday works.');
  assert.equal(received.message.subject, 'Re: Your appointment');

  const reply = channel.send(request(useCase, { subject: 'Re: Your appointment', inReplyTo: received.messageId }));
  assert.equal(reply.threadId, sent.threadId);
  assert.equal(reply.inReplyTo, 'pat-1@patient.example');
  assert.deepEqual(reply.references, [sent.messageId, 'pat-1@patient.example']);

  assert.equal(channel.report(sent.messageId, { kind: 'accepted', providerMessageId: null }), undefined);
  channel.report(reply.messageId, { kind: 'failed', reason: '550 5.1.1 user unknown' });
});

test('receive: an unmatched message, an automatic reply, and the envelope left out', () => {
  const { channel } = clinic();
  const r = channel.receive(
    'From: x@elsewhere.example\r\nTo: care@clinic.example\r\nMessage-ID: <x1@elsewhere.example>\r\n' +
      'In-Reply-To: <nothing@clinic.example>\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n',
  );
  assert.equal(r.resolution.kind, 'unmatched');
  assert.equal(typeof r.resolution.reason, 'string');
  assert.equal(r.autoReply.kind, 'auto-replied');
  assert.equal(typeof r.autoReply.reason, 'string');
});

test('header injection: CR or LF in a header value is invalid-header, and nothing is sent', () => {
  const { channel, useCase } = clinic();
  for (const subject of ['Hello\r\nBcc: victim@example.com', 'Hello\nBcc: victim@example.com', 'Hello\rBcc: x@y']) {
    const err = throwsKind(() => channel.send(request(useCase, { subject })), 'invalid-header', 'send');
    assert.equal(err.name, 'MailroomError');
    assert.ok(err.message.length > 0);
  }
  throwsKind(
    () => channel.send(request(useCase, { to: [{ name: 'Pat\r\nBcc: victim@example.com', address: 'pat@patient.example' }] })),
    'invalid-header',
  );
  throwsKind(
    () => channel.send(request(useCase, { to: [{ address: 'pat@patient.example\r\nBcc: victim@example.com' }] })),
    'invalid-header',
  );
  assert.equal(channel.transport.sent.length, 0);
});

test('WIT errors are MailroomErrors with the WIT case as kind', () => {
  const { channel, setup, useCase } = clinic();
  throwsKind(() => channel.setups.create('ws-2', 'not a domain'), 'invalid-domain', 'setups.create');
  throwsKind(() => channel.setups.create('ws-2', 'clinic.example'), 'domain-taken', 'setups.create');
  throwsKind(() => channel.setups.get('set_missing'), 'not-found', 'setups.get');
  throwsKind(
    () => channel.useCases.create({ setup: 'set_missing', sender: 'a@clinic.example', type: 'marketing', entityName: 'E', useCaseName: 'N' }),
    'unknown-setup',
    'useCases.create',
  );
  throwsKind(
    () => channel.useCases.create({ setup: setup.id, sender: 'x@clinic.example', type: 'marketing', entityName: 'E', useCaseName: 'Care' }),
    'name-taken',
  );
  throwsKind(() => channel.useCases.get('uc_missing'), 'not-found', 'useCases.get');
  throwsKind(() => channel.send(request({ id: 'uc_missing' })), 'unknown-use-case', 'send');
  throwsKind(() => channel.send(request(useCase, { to: [] })), 'invalid-request', 'send');
  throwsKind(() => channel.send(request(useCase, { inReplyTo: 'nobody@clinic.example' })), 'unknown-parent', 'send');
  throwsKind(() => channel.report('nobody@clinic.example', { kind: 'failed', reason: 'x' }), 'unknown-message', 'report');

  // receive's parse-error is a MailroomParseError, as from parse.
  const err = throwsKind(() => channel.receive(''), 'malformed', 'receive');
  assert.ok(err instanceof MailroomParseError);
  const big = throwsKind(() => channel.receive('From: a@b.example\r\n\r\nxxxxxxxxxx', null, { maxBytes: 5 }), 'limit-exceeded');
  assert.equal(big.limit, 'max-bytes');
  assert.equal(big.value, 5);
});

test('arguments the WIT types cannot hold are TypeErrors, before the component is called', () => {
  const { channel, useCase } = clinic();
  assert.throws(() => channel.setups.create('ws', 42), TypeError);
  assert.throws(() => channel.useCases.create({ setup: 's', sender: 'a@b', type: 'newsletter', entityName: 'E', useCaseName: 'N' }), TypeError);
  assert.throws(() => channel.send({ ...request(useCase), to: 'pat@patient.example' }), TypeError);
  assert.throws(() => channel.send({ ...request(useCase), subject: undefined }), TypeError);
  assert.throws(() => channel.report('x', { kind: 'bounced' }), TypeError);
  assert.throws(() => channel.receive('From: a@b\r\n\r\nx', null, { maxDepth: -1 }), RangeError);
  assert.throws(() => createChannel({ store: {} }), TypeError);
  assert.throws(() => createChannel({ random: {} }), TypeError);
  // The channel still works.
  assert.equal(channel.send(request(useCase)).inReplyTo, null);
});

test('each channel has its own instance and, by default, its own store', () => {
  const a = clinic();
  const b = createChannel();
  throwsKind(() => b.setups.get(a.setup.id), 'not-found');
  assert.equal(b.setups.create('ws-b', 'clinic.example').domain, 'clinic.example');
  assert.notEqual(a.channel.store, b.store);

  // Two channels over one store see the same data.
  const store = new MemoryStore();
  const c = createChannel({ store });
  const d = createChannel({ store });
  const s = c.setups.create('ws-c', 'shared.example');
  assert.deepEqual(d.setups.get(s.id), s);
});

test('attachments, cc and html go out; bytes and strings are both accepted', () => {
  const { channel, useCase } = clinic();
  channel.send(
    request(useCase, {
      cc: [{ address: 'kin@patient.example' }],
      html: '<p>Tuesday <img src="cid:map@clinic.example"></p>',
      attachments: [
        { filename: 'map.png', contentType: 'image/png', contentId: 'map@clinic.example', content: new Uint8Array([137, 80, 78, 71]) },
        { filename: 'notes.txt', contentType: 'text/plain', content: 'bring your card' },
      ],
    }),
  );
  const [out] = channel.transport.sent;
  assert.deepEqual(out.envelope.rcptTo, ['pat@patient.example', 'kin@patient.example']);
  const m = parse(out.raw);
  assert.deepEqual(m.attachments.map((a) => [a.filename, a.inline]), [['map@clinic.example', true], ['notes.txt', false]]);
  assert.equal(decode(m.attachments[1].content), 'bring your card');
});

test('a fixed clock and random source make a channel deterministic', () => {
  const run = () => {
    const { channel, setup, useCase } = clinic({ clock: fixedClock(1772442000), random: splitmix64(42) });
    const sent = channel.send(request(useCase));
    return { setup, useCase, sent, raw: decode(channel.transport.sent[0].raw) };
  };
  const first = run();
  assert.deepEqual(run(), first);
  // The clock's seconds become the Date header (the k-th call is start + k).
  assert.match(first.raw, /\r\nDate: [A-Z][a-z]{2}, 2 Mar 2026 09:00:0\d \+0000\r\n/);

  // A source with only getRandomU64 gets bytes from its little-endian draws.
  const u64Only = splitmix64(42);
  const { useCase } = clinic({ clock: fixedClock(1772442000), random: { getRandomU64: u64Only.getRandomU64 } });
  assert.equal(useCase.id, first.useCase.id);

  // The default source is random.
  assert.notEqual(clinic().setup.id, clinic().setup.id);
});

test('splitmix64 gives the reference stream', () => {
  // splitmix64 seeded with 0: the reference values of its author's C code.
  const r = splitmix64(0);
  assert.equal(r.getRandomU64(), 0xe220a8397b1dcdafn);
  assert.equal(r.getRandomU64(), 0x6e789e6aa1b965f4n);
  const bytes = splitmix64(0).getRandomBytes(10n);
  assert.deepEqual([...bytes], [0xaf, 0xcd, 0x1d, 0x7b, 0x39, 0xa8, 0x20, 0xe2, 0xf4, 0x65]);
});

test('a store that fails: the WIT error, its cause, and the channel still works', () => {
  const inner = new MemoryStore();
  let mode = 'ok';
  const store = {
    get: (key) => inner.get(key),
    put(key, value, expect) {
      if (mode === 'bug') throw new RangeError('disk on fire');
      if (mode === 'down') throw new StoreError('unavailable', 'database restarting');
      if (mode === 'async') return Promise.resolve(1);
      return inner.put(key, value, expect);
    },
    delete: (key, expect) => inner.delete(key, expect),
    list: (prefix, cursor, limit) => inner.list(prefix, cursor, limit),
  };
  const channel = createChannel({ store });

  mode = 'bug';
  const bug = throwsKind(() => channel.setups.create('ws', 'a.example'), 'store', 'setups.create');
  assert.ok(bug.cause instanceof RangeError);
  assert.match(bug.message, /disk on fire/);

  mode = 'down';
  const down = throwsKind(() => channel.setups.create('ws', 'a.example'), 'store');
  assert.ok(down.cause instanceof StoreError);
  assert.match(down.message, /database restarting/);

  mode = 'async';
  const async = throwsKind(() => channel.setups.create('ws', 'a.example'), 'store');
  assert.match(async.message, /Promise/);

  mode = 'ok';
  assert.equal(channel.setups.create('ws', 'a.example').domain, 'a.example');
});

test('a store must not call back into its own channel', () => {
  const inner = new MemoryStore();
  let channel;
  const store = {
    get(key) {
      channel.setups.get('set_x');
      return inner.get(key);
    },
    put: (key, value, expect) => inner.put(key, value, expect),
    delete: (key, expect) => inner.delete(key, expect),
    list: (prefix, cursor, limit) => inner.list(prefix, cursor, limit),
  };
  channel = createChannel({ store });
  const err = throwsKind(() => channel.setups.get('set_y'), 'store');
  assert.match(err.cause.message, /inside setups\.get/);
});

test('a transport that refuses: transport error, and the message is not accepted', () => {
  const refusals = [];
  const transport = {
    submit(message) {
      refusals.push(message.messageId);
      throw new TransportError('rejected', '554 message rejected');
    },
  };
  const { channel, useCase } = clinic({ transport });
  const err = throwsKind(() => channel.send(request(useCase)), 'transport', 'send');
  assert.match(err.message, /554 message rejected/);
  assert.ok(err.cause instanceof TransportError);
  assert.equal(refusals.length, 1);
});

test('a clock that throws: the error comes through and the next call gets a fresh instance', () => {
  let broken = false;
  const clock = {
    now() {
      if (broken) throw new Error('clock unplugged');
      return { seconds: 1772442000n, nanoseconds: 0 };
    },
  };
  const { channel, useCase } = clinic({ clock });
  broken = true;
  assert.throws(() => channel.send(request(useCase)), /clock unplugged/);
  broken = false;
  assert.match(channel.send(request(useCase)).messageId, /@clinic\.example$/);
});

test('MemoryStore: versions from 1, expectations, conflict', () => {
  const s = new MemoryStore();
  const v = (t) => new TextEncoder().encode(t);
  assert.equal(s.get('k'), null);
  assert.equal(s.put('k', v('a'), { kind: 'absent' }), 1);
  assert.equal(s.put('k', v('b'), { kind: 'version', version: 1 }), 2);
  assert.equal(s.put('k', v('c'), { kind: 'any' }), 3);
  assert.deepEqual(s.get('k'), { value: v('c'), version: 3 });
  for (const expect of [{ kind: 'absent' }, { kind: 'version', version: 2 }]) {
    assert.throws(() => s.put('k', v('x'), expect), (e) => e instanceof StoreError && e.kind === 'conflict');
  }
  assert.throws(() => s.put('new', v('x'), { kind: 'version', version: 1 }), { kind: 'conflict', message: 'new: expected Version(1), found version None' });
  assert.throws(() => s.delete('k', { kind: 'version', version: 1 }), { kind: 'conflict', message: 'k: expected Version(1), found version Some(3)' });
  s.delete('missing', { kind: 'absent' });
  s.delete('k', { kind: 'version', version: 3 });
  assert.equal(s.get('k'), null);
  assert.equal(s.put('k', v('again'), { kind: 'absent' }), 1);
  // Values are copied in and out.
  const bytes = v('mutable');
  s.put('m', bytes, { kind: 'any' });
  bytes[0] = 0;
  s.get('m').value[1] = 0;
  assert.equal(decode(s.get('m').value), 'mutable');
  assert.equal(s.size, 2);
});

test('MemoryStore: list by prefix, in UTF-8 byte order, paged with an exclusive cursor', () => {
  const s = new MemoryStore();
  const keys = ['a/2', 'a/10', 'a/1', 'b/1', 'a', 'a/\u{ffff}', 'a/\u{10000}', 'a/é', 'ab'];
  for (const k of keys) s.put(k, new Uint8Array(), { kind: 'any' });
  const all = s.list('a/', null, 100);
  assert.deepEqual(all, { keys: ['a/1', 'a/10', 'a/2', 'a/é', 'a/\u{ffff}', 'a/\u{10000}'], cursor: null });
  // Code-point order is UTF-8 byte order.
  const byBytes = [...all.keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual(all.keys, byBytes);

  const pages = [];
  let cursor = null;
  do {
    const page = s.list('a/', cursor, 4);
    pages.push(page.keys);
    cursor = page.cursor;
  } while (cursor !== null);
  assert.deepEqual(pages, [['a/1', 'a/10', 'a/2', 'a/é'], ['a/\u{ffff}', 'a/\u{10000}']]);
  assert.deepEqual(s.list('a/', 'a/2', 2), { keys: ['a/é', 'a/\u{ffff}'], cursor: 'a/\u{ffff}' });
  assert.deepEqual(s.list('', null, 3), { keys: ['a', 'a/1', 'a/10'], cursor: 'a/10' });
  assert.deepEqual(s.list('c', null, 3), { keys: [], cursor: null });
  assert.deepEqual([...s.entries()].map(([k]) => k), [...keys].sort(compareKeys));
  assert.ok(compareKeys('\u{ffff}', '\u{10000}') < 0 && '\u{ffff}' > '\u{10000}');
});
