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

const OPTIONS = { inboundHost: 'inbound.mailroom.example' };

/** A TXT value as DNS carries it: character-strings of at most 255 bytes (the values are ASCII). */
const chunks = (value) => (value === '' ? [''] : value.match(/[^]{1,255}/g));

/**
 * The answers a resolver gives when the setup's records are published as
 * listed: one answer per name and type; TXT one string[] per record, MX
 * from `'<preference> <exchange>'`. `except` leaves records out by purpose.
 */
function publishedAnswers(setup, { except = [] } = {}) {
  const answers = new Map();
  for (const r of setup.records) {
    const key = `${r.type} ${r.name}`;
    if (!answers.has(key)) answers.set(key, { name: r.name, type: r.type, result: { kind: r.type, records: [] } });
    if (except.includes(r.purpose)) continue;
    const { records } = answers.get(key).result;
    if (r.type === 'txt') {
      records.push(chunks(r.value));
    } else {
      const [preference, exchange] = r.value.split(' ');
      records.push({ preference: Number(preference), exchange });
    }
  }
  return [...answers.values()];
}

/** A verified setup of clinic.example on `channel`. */
function verifiedSetup(channel, domain = 'clinic.example') {
  const setup = channel.setups.create('ws-1', domain, OPTIONS);
  const { setup: verified } = channel.setups.verify('ws-1', setup.id, publishedAnswers(setup));
  assert.equal(verified.status, 'verified');
  return verified;
}

/**
 * The store of a channel with a verified setup and a use case, made once:
 * making a DKIM key takes the component about a second, so channels that do
 * not fix the random source start from a copy of it.
 */
let template = null;
function templateStore() {
  if (template === null) {
    const channel = createChannel();
    const setup = verifiedSetup(channel);
    const useCase = makeUseCase(channel, setup);
    template = { entries: [...channel.store.entries()], setup, useCase };
  }
  const store = new MemoryStore();
  for (const [key, { value }] of template.entries) store.put(key, value, { kind: 'absent' });
  return { store, setup: template.setup, useCase: template.useCase };
}

const makeUseCase = (channel, setup) =>
  channel.useCases.create('ws-1', {
    setup: setup.id,
    sender: 'care@clinic.example',
    type: 'transactional',
    entityName: 'Riverside Clinic',
    useCaseName: 'Care',
  });

/** A channel with a verified setup and a use case. */
function clinic(options = {}) {
  if (options.random === undefined && options.store === undefined) {
    const { store, setup, useCase } = templateStore();
    return { channel: createChannel({ ...options, store }), setup, useCase };
  }
  const channel = createChannel(options);
  const setup = verifiedSetup(channel);
  return { channel, setup, useCase: makeUseCase(channel, setup) };
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

test('an idempotency key: the retry replays, a changed request is refused, nothing sent twice', () => {
  const { channel, useCase } = clinic();
  const first = channel.send('ws-1', { ...request(useCase), idempotencyKey: 'appt-7/reminder' });
  assert.equal(first.replayed, false);
  const again = channel.send('ws-1', { ...request(useCase), idempotencyKey: 'appt-7/reminder' });
  assert.deepEqual(again, { ...first, replayed: true });
  assert.equal(channel.transport.sent.length, 1);
  const changed = { ...request(useCase), subject: 'Another', idempotencyKey: 'appt-7/reminder' };
  throwsKind(() => channel.send('ws-1', changed), 'idempotency-key-reused', 'send');
  throwsKind(() => channel.send('ws-1', { ...request(useCase), idempotencyKey: '' }), 'invalid-request', 'send');
  assert.equal(channel.transport.sent.length, 1);
});

test('a conversation: setup, use case, send, receive the reply, report', () => {
  const { channel, setup, useCase } = clinic();
  assert.deepEqual(Object.keys(setup), ['id', 'workspace', 'domain', 'status', 'selector', 'nextSelector', 'records', 'createdAt', 'expiresAt']);
  assert.equal(setup.domain, 'clinic.example');
  assert.equal(setup.status, 'verified');
  assert.deepEqual(channel.setups.get('ws-1', setup.id), setup);
  assert.deepEqual(Object.keys(useCase), ['id', 'setup', 'sender', 'type', 'entityName', 'useCaseName', 'enabled', 'listUnsubscribe']);
  assert.equal(useCase.enabled, true);
  assert.deepEqual(channel.useCases.get('ws-1', useCase.id), useCase);

  const sent = channel.send('ws-1', request(useCase));
  assert.deepEqual(Object.keys(sent), ['messageId', 'threadId', 'inReplyTo', 'references', 'size', 'unsubscribeUrl', 'replayed']);
  assert.match(sent.messageId, /^[0-9a-f]{32}@clinic\.example$/);
  assert.equal(sent.inReplyTo, null);
  assert.equal(typeof sent.size, 'number');

  assert.ok(channel.transport instanceof RecordingTransport);
  assert.equal(channel.transport.sent.length, 1);
  const [out] = channel.transport.sent;
  assert.equal(out.messageId, sent.messageId);
  // The return path of this message and recipient (VERP) at the bounce domain.
  assert.match(out.envelope.mailFrom, /^[0-9a-f]{58}@bounce\.clinic\.example$/);
  assert.deepEqual(out.envelope.rcptTo, ['pat@patient.example']);
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

  const reply = channel.send('ws-1', request(useCase, { subject: 'Re: Your appointment', inReplyTo: received.messageId }));
  assert.equal(reply.threadId, sent.threadId);
  assert.equal(reply.inReplyTo, 'pat-1@patient.example');
  assert.deepEqual(reply.references, [sent.messageId, 'pat-1@patient.example']);

  assert.equal(channel.report(sent.messageId, { kind: 'accepted', providerMessageId: null }), undefined);
  channel.report(reply.messageId, { kind: 'failed', reason: '550 5.1.1 user unknown' });
});

test('a setup: records to publish, lookups, verify (pending, verified, failed), and use cases only under a verified one', () => {
  const channel = createChannel({ store: templateStore().store });
  const setup = channel.setups.create('ws-2', 'Surgery.Example', { inboundHost: 'inbound.mailroom.example', spfInclude: 'amazonses.com' });
  assert.equal(setup.domain, 'surgery.example');
  assert.equal(setup.status, 'pending');
  assert.equal(setup.selector, 'mailroom1');
  assert.equal(setup.nextSelector, null);
  assert.deepEqual(
    setup.records.map(({ purpose, name, type, required }) => [purpose, name, type, required]),
    [
      ['dkim', 'mailroom1._domainkey.surgery.example', 'txt', true],
      ['inbound-mx', 'surgery.example', 'mx', true],
      ['spf', 'surgery.example', 'txt', true],
      ['dmarc', '_dmarc.surgery.example', 'txt', false],
      ['bounce-mx', 'bounce.surgery.example', 'mx', true],
      ['bounce-spf', 'bounce.surgery.example', 'txt', true],
    ],
  );
  assert.deepEqual(Object.keys(setup.records[0]), ['purpose', 'name', 'type', 'value', 'required']);
  assert.match(setup.records[0].value, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{300,}=*$/);
  assert.ok(setup.records[0].value.length > 255);
  assert.equal(setup.records[1].value, '10 inbound.mailroom.example');
  assert.equal(setup.records[2].value, 'v=spf1 include:amazonses.com ~all');
  assert.equal(setup.records[4].value, '10 inbound.mailroom.example');
  assert.equal(setup.records[5].value, 'v=spf1 include:amazonses.com ~all');
  // A bounce domain of its own: a subdomain of the setup's, else invalid-options.
  const own = channel.setups.create('ws-2', 'own-bounce.example', { inboundHost: 'inbound.mailroom.example', bounceDomain: 'RP.own-bounce.example' });
  assert.deepEqual(own.records.slice(4).map((r) => [r.purpose, r.name]), [['bounce-mx', 'rp.own-bounce.example'], ['bounce-spf', 'rp.own-bounce.example']]);
  throwsKind(() => channel.setups.create('ws-2', 'x.example', { inboundHost: 'inbound.mailroom.example', bounceDomain: 'bounce.y.example' }), 'invalid-options', 'setups.create');
  assert.deepEqual(channel.setups.lookups('ws-2', setup.id), [
    { name: 'mailroom1._domainkey.surgery.example', type: 'txt' },
    { name: 'surgery.example', type: 'mx' },
    { name: 'surgery.example', type: 'txt' },
    { name: '_dmarc.surgery.example', type: 'txt' },
    { name: 'bounce.surgery.example', type: 'mx' },
    { name: 'bounce.surgery.example', type: 'txt' },
  ]);

  const newUseCase = { setup: setup.id, sender: 'desk@surgery.example', type: 'transactional', entityName: 'Surgery', useCaseName: 'Desk' };
  throwsKind(() => channel.useCases.create('ws-2', newUseCase), 'setup-not-verified', 'useCases.create');

  // Nothing published yet: pending, every record missing with the reason.
  const nothing = channel.setups.verify(
    'ws-2',
    setup.id,
    channel.setups.lookups('ws-2', setup.id).map(({ name, type }) => ({ name, type, result: { kind: 'no-such-name' } })),
  );
  assert.equal(nothing.setup.status, 'pending');
  assert.deepEqual(nothing.checks.map((c) => c.state), Array(6).fill({ kind: 'missing', reason: 'no such name' }));
  assert.deepEqual(nothing.checks.map((c) => c.record), setup.records);

  // Everything but DMARC (not required), the DKIM key split in 255-byte strings: verified.
  const answers = publishedAnswers(setup, { except: ['dmarc'] });
  assert.ok(answers[0].result.records[0].length >= 2);
  const verified = channel.setups.verify('ws-2', setup.id, answers);
  assert.equal(verified.setup.status, 'verified');
  assert.deepEqual(verified.checks.map((c) => c.state.kind), ['verified', 'verified', 'verified', 'missing', 'verified', 'verified']);
  assert.deepEqual(channel.setups.get('ws-2', setup.id), verified.setup);
  const useCase = channel.useCases.create('ws-2', newUseCase);
  assert.equal(useCase.enabled, true);

  // A transient failure keeps the status; a changed SPF record fails the setup, and nothing is sent.
  const timeout = channel.setups.verify('ws-2', setup.id, [{ name: 'surgery.example', type: 'txt', result: { kind: 'timeout' } }, ...answers.slice(0, 2), ...answers.slice(4)]);
  assert.equal(timeout.setup.status, 'verified');
  assert.deepEqual(timeout.checks[2].state, { kind: 'missing', reason: 'dns timeout' });
  const failure = channel.setups.verify('ws-2', setup.id, [...answers.slice(0, 2), ...answers.slice(4), { name: 'surgery.example', type: 'txt', result: { kind: 'server-failure', message: 'SERVFAIL' } }]);
  assert.equal(failure.setup.status, 'verified');
  assert.match(failure.checks[2].state.reason, /SERVFAIL/);
  const changed = channel.setups.verify('ws-2', setup.id, [
    ...answers.slice(0, 2),
    ...answers.slice(4),
    { name: 'SURGERY.example.', type: 'txt', result: { kind: 'txt', records: [['v=spf1 ', '-all']] } },
  ]);
  assert.equal(changed.setup.status, 'failed');
  // The reason first (RFC 7208: only + or no qualifier authorises), then the records as found.
  assert.equal(changed.checks[2].state.kind, 'mismatched');
  assert.match(changed.checks[2].state.found[0], /^the SPF record has no /);
  assert.deepEqual(changed.checks[2].state.found.slice(1), ['v=spf1 -all']);
  throwsKind(() => channel.send('ws-2', request(useCase, { to: [{ address: 'pat@patient.example' }] })), 'setup-not-verified', 'send');
  assert.equal(channel.setups.verify('ws-2', setup.id, answers).setup.status, 'verified');
  assert.equal(channel.send('ws-2', request(useCase)).inReplyTo, null);
});

test('use cases: list, disable, and nothing is sent under a disabled one', () => {
  const { channel, setup, useCase } = clinic();
  const news = channel.useCases.create('ws-1', { setup: setup.id, sender: 'news@clinic.example', type: 'marketing', entityName: 'Riverside Clinic', useCaseName: 'Newsletter' });
  const byId = (list) => [...list].sort((a, b) => (a.id < b.id ? -1 : 1));
  assert.deepEqual(byId(channel.useCases.list('ws-1', setup.id)), byId([useCase, news]));

  const sent = channel.send('ws-1', request(news));
  const disabled = channel.useCases.disable('ws-1', news.id);
  assert.deepEqual(disabled, { ...news, enabled: false });
  assert.deepEqual(channel.useCases.get('ws-1', news.id), disabled);
  assert.deepEqual(byId(channel.useCases.list('ws-1', setup.id)), byId([useCase, disabled]));
  throwsKind(() => channel.send('ws-1', request(news)), 'use-case-disabled', 'send');
  assert.equal(channel.transport.sent.length, 1);

  // Replies to a disabled use case's mail still thread; the other use case still sends.
  const r = channel.receive(replyTo(sent));
  assert.equal(r.resolution.kind, 'matched');
  assert.equal(r.resolution.association.useCase, news.id);
  assert.equal(channel.send('ws-1', request(useCase)).inReplyTo, null);
});

test('DKIM key rotation: the new key beside the old, the switch on verification', () => {
  const { channel, setup, useCase } = clinic();
  const sign = () => {
    channel.send('ws-1', request(useCase));
    return decode(channel.transport.sent.at(-1).raw).match(/^DKIM-Signature:[^]*?[\s;]s=([a-z0-9]+);/)[1];
  };
  assert.equal(sign(), 'mailroom1');

  const rotating = channel.setups.rotateDkim('ws-1', setup.id);
  assert.equal(rotating.selector, 'mailroom1');
  assert.equal(rotating.nextSelector, 'mailroom2');
  assert.deepEqual(rotating.records.map((r) => [r.name, r.required]).slice(0, 2), [
    ['mailroom1._domainkey.clinic.example', true],
    ['mailroom2._domainkey.clinic.example', false],
  ]);
  assert.notEqual(rotating.records[1].value, rotating.records[0].value);
  assert.deepEqual(channel.setups.rotateDkim('ws-1', setup.id), rotating); // already under way
  assert.equal(sign(), 'mailroom1');

  // Not yet published: still the old key.
  assert.equal(channel.setups.verify('ws-1', setup.id, publishedAnswers(setup)).setup.selector, 'mailroom1');
  // Published: the new selector, the old record gone.
  const done = channel.setups.verify('ws-1', setup.id, publishedAnswers(rotating));
  assert.equal(done.setup.status, 'verified');
  assert.equal(done.setup.selector, 'mailroom2');
  assert.equal(done.setup.nextSelector, null);
  assert.deepEqual(done.setup.records.map((r) => [r.purpose, r.name, r.required])[0], ['dkim', 'mailroom2._domainkey.clinic.example', true]);
  assert.equal(done.setup.records.length, 6);
  assert.equal(sign(), 'mailroom2');
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
    const err = throwsKind(() => channel.send('ws-1', request(useCase, { subject })), 'invalid-header', 'send');
    assert.equal(err.name, 'MailroomError');
    assert.ok(err.message.length > 0);
  }
  throwsKind(
    () => channel.send('ws-1', request(useCase, { to: [{ name: 'Pat\r\nBcc: victim@example.com', address: 'pat@patient.example' }] })),
    'invalid-header',
  );
  throwsKind(
    () => channel.send('ws-1', request(useCase, { to: [{ address: 'pat@patient.example\r\nBcc: victim@example.com' }] })),
    'invalid-header',
  );
  assert.equal(channel.transport.sent.length, 0);
});

test('WIT errors are MailroomErrors with the WIT case as kind', () => {
  const { channel, setup, useCase } = clinic();
  throwsKind(() => channel.setups.create('ws-2', 'not a domain', OPTIONS), 'invalid-domain', 'setups.create');
  throwsKind(() => channel.setups.create('ws-2', 'clinic.example', OPTIONS), 'domain-taken', 'setups.create');
  throwsKind(() => channel.setups.create('ws-2', 'other.example', { inboundHost: 'not a host' }), 'invalid-options', 'setups.create');
  throwsKind(() => channel.setups.lookups('ws-1', 'set_missing'), 'not-found', 'setups.lookups');
  throwsKind(() => channel.setups.verify('ws-1', 'set_missing', []), 'not-found', 'setups.verify');
  throwsKind(() => channel.setups.rotateDkim('ws-1', 'set_missing'), 'not-found', 'setups.rotateDkim');
  throwsKind(() => channel.useCases.list('ws-1', 'set_missing'), 'unknown-setup', 'useCases.list');
  throwsKind(() => channel.useCases.disable('ws-1', 'uc_missing'), 'not-found', 'useCases.disable');
  throwsKind(() => channel.setups.get('ws-1', 'set_missing'), 'not-found', 'setups.get');
  throwsKind(
    () => channel.useCases.create('ws-1', { setup: 'set_missing', sender: 'a@clinic.example', type: 'marketing', entityName: 'E', useCaseName: 'N' }),
    'unknown-setup',
    'useCases.create',
  );
  throwsKind(
    () => channel.useCases.create('ws-1', { setup: setup.id, sender: 'x@clinic.example', type: 'marketing', entityName: 'E', useCaseName: 'Care' }),
    'name-taken',
  );
  throwsKind(() => channel.useCases.get('ws-1', 'uc_missing'), 'not-found', 'useCases.get');
  throwsKind(() => channel.send('ws-1', request({ id: 'uc_missing' })), 'unknown-use-case', 'send');
  throwsKind(() => channel.send('ws-1', request(useCase, { to: [] })), 'invalid-request', 'send');
  throwsKind(() => channel.send('ws-1', request(useCase, { inReplyTo: 'nobody@clinic.example' })), 'unknown-parent', 'send');
  throwsKind(() => channel.report('nobody@clinic.example', { kind: 'failed', reason: 'x' }), 'unknown-message', 'report');

  // receive's parse-error is a MailroomParseError, as from parse.
  const err = throwsKind(() => channel.receive(''), 'malformed', 'receive');
  assert.ok(err instanceof MailroomParseError);
  const big = throwsKind(() => channel.receive('From: a@b.example\r\n\r\nxxxxxxxxxx', null, { maxBytes: 5 }), 'limit-exceeded');
  assert.equal(big.limit, 'max-bytes');
  assert.equal(big.value, 5);
});

test('arguments the WIT types cannot hold are TypeErrors, before the component is called', () => {
  const { channel, setup, useCase } = clinic();
  assert.throws(() => channel.setups.create('ws', 42, OPTIONS), TypeError);
  assert.throws(() => channel.setups.create('ws', 'a.example'), TypeError);
  assert.throws(() => channel.setups.create('ws', 'a.example', { spfInclude: 'amazonses.com' }), TypeError);
  const answer = (result) => [{ name: 'clinic.example', type: 'txt', result }];
  assert.throws(() => channel.setups.get(42, setup.id), TypeError);
  assert.throws(() => channel.send(request(useCase)), TypeError);
  assert.throws(() => channel.setups.verify('ws-1', setup.id, null), TypeError);
  assert.throws(() => channel.setups.verify('ws-1', setup.id, [{ name: 'clinic.example', type: 'a', result: { kind: 'timeout' } }]), TypeError);
  assert.throws(() => channel.setups.verify('ws-1', setup.id, answer({ kind: 'nxdomain' })), TypeError);
  assert.throws(() => channel.setups.verify('ws-1', setup.id, answer({ kind: 'txt', records: ['v=spf1 mx ~all'] })), TypeError);
  assert.throws(() => channel.setups.verify('ws-1', setup.id, answer({ kind: 'mx', records: [{ priority: 10, exchange: 'x.example' }] })), TypeError);
  assert.throws(() => channel.setups.verify('ws-1', setup.id, answer({ kind: 'mx', records: [{ preference: 65536, exchange: 'x.example' }] })), RangeError);
  assert.throws(() => channel.setups.verify('ws-1', setup.id, answer({ kind: 'server-failure' })), TypeError);
  assert.equal(channel.setups.get('ws-1', setup.id).status, 'verified');
  assert.throws(() => channel.useCases.create('ws-1', { setup: 's', sender: 'a@b', type: 'newsletter', entityName: 'E', useCaseName: 'N' }), TypeError);
  assert.throws(() => channel.send('ws-1', { ...request(useCase), to: 'pat@patient.example' }), TypeError);
  assert.throws(() => channel.send('ws-1', { ...request(useCase), subject: undefined }), TypeError);
  assert.throws(() => channel.report('x', { kind: 'bounced' }), TypeError);
  assert.throws(() => channel.receive('From: a@b\r\n\r\nx', null, { maxDepth: -1 }), RangeError);
  assert.throws(() => createChannel({ store: {} }), TypeError);
  assert.throws(() => createChannel({ random: {} }), TypeError);
  // The channel still works.
  assert.equal(channel.send('ws-1', request(useCase)).inReplyTo, null);
});

test('each channel has its own instance and, by default, its own store', () => {
  const a = clinic();
  const b = createChannel();
  throwsKind(() => b.setups.get('ws-1', a.setup.id), 'not-found');
  const other = b.setups.create('ws-b', 'clinic.example', OPTIONS);
  assert.equal(other.domain, 'clinic.example');
  assert.notEqual(a.channel.store, b.store);
  // Its own id and its own DKIM key (the default source is random).
  assert.notEqual(other.id, a.setup.id);
  assert.notEqual(other.records[0].value, a.setup.records[0].value);

  // Two channels over one store see the same data.
  const store = new MemoryStore();
  const c = createChannel({ store });
  const d = createChannel({ store });
  const s = c.setups.create('ws-c', 'shared.example', OPTIONS);
  assert.deepEqual(d.setups.get('ws-c', s.id), s);
});

test('attachments, cc and html go out; bytes and strings are both accepted', () => {
  const { channel, useCase } = clinic();
  channel.send(
    'ws-1',
    request(useCase, {
      cc: [{ address: 'kin@patient.example' }],
      html: '<p>Tuesday <img src="cid:map@clinic.example"></p>',
      attachments: [
        { filename: 'map.png', contentType: 'image/png', contentId: 'map@clinic.example', content: new Uint8Array([137, 80, 78, 71]) },
        { filename: 'notes.txt', contentType: 'text/plain', content: 'bring your card' },
      ],
    }),
  );
  // One submission per recipient, each with its own return path; the same bytes.
  const [out, kin] = channel.transport.sent;
  assert.deepEqual([out.envelope.rcptTo, kin.envelope.rcptTo], [['pat@patient.example'], ['kin@patient.example']]);
  assert.notEqual(out.envelope.mailFrom, kin.envelope.mailFrom);
  assert.deepEqual(kin.raw, out.raw);
  const m = parse(out.raw);
  assert.deepEqual(m.attachments.map((a) => [a.filename, a.inline]), [['map@clinic.example', true], ['notes.txt', false]]);
  assert.equal(decode(m.attachments[1].content), 'bring your card');
});

test('a fixed clock and random source make a channel deterministic', () => {
  const run = () => {
    const { channel, setup, useCase } = clinic({ clock: fixedClock(1772442000), random: splitmix64(42) });
    const sent = channel.send('ws-1', request(useCase));
    return { setup, useCase, sent, raw: decode(channel.transport.sent[0].raw) };
  };
  const first = run();
  assert.deepEqual(run(), first);
  // The DKIM key comes from the random source too.
  assert.match(first.raw, /^DKIM-Signature: v=1; a=rsa-sha256; /);
  // The clock's seconds become the Date header (the k-th call is start + k).
  assert.match(first.raw, /\r\nDate: [A-Z][a-z]{2}, 2 Mar 2026 09:00:0\d \+0000\r\n/);

  // A source with only getRandomU64 gets bytes from its little-endian draws.
  const u64Only = splitmix64(42);
  const { useCase } = clinic({ clock: fixedClock(1772442000), random: { getRandomU64: u64Only.getRandomU64 } });
  assert.equal(useCase.id, first.useCase.id);
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
  const bug = throwsKind(() => channel.setups.create('ws', 'a.example', OPTIONS), 'store', 'setups.create');
  assert.ok(bug.cause instanceof RangeError);
  assert.match(bug.message, /disk on fire/);

  mode = 'down';
  const down = throwsKind(() => channel.setups.create('ws', 'a.example', OPTIONS), 'store');
  assert.ok(down.cause instanceof StoreError);
  assert.match(down.message, /database restarting/);

  mode = 'async';
  const async = throwsKind(() => channel.setups.create('ws', 'a.example', OPTIONS), 'store');
  assert.match(async.message, /Promise/);

  mode = 'ok';
  assert.equal(channel.setups.create('ws', 'a.example', OPTIONS).domain, 'a.example');
});

test('a store must not call back into its own channel', () => {
  const inner = new MemoryStore();
  let channel;
  const store = {
    get(key) {
      channel.setups.get('ws-1', 'set_x');
      return inner.get(key);
    },
    put: (key, value, expect) => inner.put(key, value, expect),
    delete: (key, expect) => inner.delete(key, expect),
    list: (prefix, cursor, limit) => inner.list(prefix, cursor, limit),
  };
  channel = createChannel({ store });
  const err = throwsKind(() => channel.setups.get('ws-1', 'set_y'), 'store');
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
  const err = throwsKind(() => channel.send('ws-1', request(useCase)), 'transport', 'send');
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
  assert.throws(() => channel.send('ws-1', request(useCase)), /clock unplugged/);
  broken = false;
  assert.match(channel.send('ws-1', request(useCase)).messageId, /@clinic\.example$/);
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

test('outbound bytes: typed refusals naming the field, the recipient cap from the policy', () => {
  const { channel, setup, useCase } = clinic();
  const twoAt = throwsKind(() => channel.send('ws-1', request(useCase, { to: [{ address: 'a@b@patient.example' }] })), 'invalid-header', 'send');
  assert.match(twoAt.message, /to\[0\]\.address: .*more than one unquoted @/);
  throwsKind(() => channel.send('ws-1', request(useCase, { cc: [{ address: 'jürgen@patient.example' }] })), 'smtputf8-required', 'send');
  const multipart = throwsKind(
    () => channel.send('ws-1', request(useCase, { attachments: [{ filename: 'a.eml', contentType: 'multipart/mixed; boundary=x', content: new Uint8Array([120]) }] })),
    'invalid-header',
    'send',
  );
  assert.match(multipart.message, /attachments\[0\]\.content-type/);
  const many = Array.from({ length: 51 }, (_, i) => ({ address: `p${i}@patient.example` }));
  throwsKind(() => channel.send('ws-1', request(useCase, { to: many })), 'too-many-recipients', 'send');
  const policy = channel.suppression.getPolicy('ws-1', setup.id);
  assert.equal(policy.maxRecipients, null);
  assert.equal(channel.suppression.setPolicy('ws-1', setup.id, { ...policy, maxRecipients: 1 }).maxRecipients, 1);
  throwsKind(() => channel.send('ws-1', request(useCase, { cc: [{ address: 'sam@patient.example' }] })), 'too-many-recipients', 'send');
  const sent = channel.send('ws-1', request(useCase, { to: [{ address: 'x@Bücher.example' }], text: 'a\r.\r\nMAIL FROM:<x@evil.example>\n' }));
  assert.ok(sent.messageId.endsWith('@clinic.example'));
});
