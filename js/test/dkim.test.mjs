// DKIM: every message the component sends is signed, checked here by an
// independent verifier (dkimpy, through ../tests/dkim/verify.py); and
// setups.verifyWithDns over a fake resolver in the shape of node:dns/promises.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createChannel, MailroomError } from '../src/index.js';

const VERIFY_PY = fileURLToPath(new URL('../../tests/dkim/verify.py', import.meta.url));
const OPTIONS = { inboundHost: 'inbound.mailroom.example' };
const decoder = new TextDecoder();

/** A TXT value as DNS carries it: character-strings of at most 255 bytes (the values are ASCII). */
const chunks = (value) => (value === '' ? [''] : value.match(/[^]{1,255}/g));

/** The answers of a resolver where the setup's records are published as listed. */
function publishedAnswers(setup) {
  const answers = new Map();
  for (const r of setup.records) {
    const key = `${r.type} ${r.name}`;
    if (!answers.has(key)) answers.set(key, { name: r.name, type: r.type, result: { kind: r.type, records: [] } });
    const [preference, exchange] = r.value.split(' ');
    answers.get(key).result.records.push(r.type === 'txt' ? chunks(r.value) : { preference: Number(preference), exchange });
  }
  return [...answers.values()];
}

/** An error as node:dns rejects with. */
const dnsError = (syscall, code, name) => Object.assign(new Error(`${syscall} ${code} ${name}`), { code, syscall, hostname: name });

/**
 * A resolver in the shape of node:dns/promises over a zone: `zone` maps a
 * name to `{ txt?: string[][], mx?: {priority, exchange}[] }`, or to a
 * function that throws (a failure to simulate). A name not in the zone is
 * NXDOMAIN (ENOTFOUND); a name without the type is ENODATA. `asked` lists
 * every query, as `type name`.
 */
function fakeResolver(zone) {
  const asked = [];
  const query = (syscall, type) => async (name) => {
    asked.push(`${type} ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 1)); // really asynchronous
    const entry = zone[name];
    if (entry === undefined) throw dnsError(syscall, 'ENOTFOUND', name);
    if (typeof entry === 'function') return entry(syscall, type, name);
    if (entry[type] === undefined) throw dnsError(syscall, 'ENODATA', name);
    return entry[type];
  };
  return { asked, resolveTxt: query('queryTxt', 'txt'), resolveMx: query('queryMx', 'mx') };
}

/** The zone where every record of `setup` is published, as node:dns answers. */
function zoneOf(setup) {
  const zone = {};
  for (const r of setup.records) {
    const entry = (zone[r.name] ??= {});
    if (r.type === 'txt') {
      (entry.txt ??= []).push(chunks(r.value));
    } else {
      const [priority, exchange] = r.value.split(' ');
      (entry.mx ??= []).push({ priority: Number(priority), exchange });
    }
  }
  return zone;
}

/**
 * Runs dkimpy over `messages` (Uint8Arrays or strings) with `records` (DKIM
 * name → TXT value) as DNS. Returns 'pass' / 'fail' per message, or null
 * when python3 or dkimpy is missing.
 */
function dkimpy(records, messages) {
  const input = JSON.stringify({
    records,
    messages: messages.map((m) => (typeof m === 'string' ? m : decoder.decode(m))),
  });
  const run = spawnSync('python3', [VERIFY_PY], { input, encoding: 'utf8' });
  if (run.error?.code === 'ENOENT' || /No module named .?dkim/.test(run.stderr ?? '')) return null;
  assert.equal(run.status, 0, `verify.py failed: ${run.stderr}`);
  return run.stdout.trim().split('\n');
}

/**
 * A conversation, made once: a verified setup and a use case; a new
 * message (with Cc, non-ASCII text); the patient's reply, received; our
 * reply to it (In-Reply-To, References, html, an inline image). The system
 * clock (dkimpy refuses a `t=` in the future) and the secure random source.
 */
let made = null;
function conversation() {
  if (made !== null) return made;
  const channel = createChannel();
  const created = channel.setups.create('ws-1', 'clinic.example', OPTIONS);
  const { setup } = channel.setups.verify('ws-1', created.id, publishedAnswers(created));
  assert.equal(setup.status, 'verified');
  const useCase = channel.useCases.create('ws-1', {
    setup: setup.id,
    sender: 'care@clinic.example',
    type: 'transactional',
    entityName: 'Riverside Clinic — Care',
    useCaseName: 'Care',
  });
  const sent = channel.send('ws-1', {
    useCase: useCase.id,
    to: [{ name: 'Pat Doe', address: 'pat@patient.example' }],
    cc: [{ address: 'kin@patient.example' }],
    subject: 'Your appointment — Tuesday',
    text: 'Tuesday at 9, room 4.\r\nBring your card. Café opens at 8.\r\n',
  });
  const received = channel.receive(
    'From: Pat Doe <pat@patient.example>\r\nTo: care@clinic.example\r\nSubject: Re: Your appointment\r\n' +
      `Message-ID: <pat-1@patient.example>\r\nIn-Reply-To: <${sent.messageId}>\r\nReferences: <${sent.messageId}>\r\n` +
      '\r\nTuesday works.\r\n',
    { mailFrom: 'pat@patient.example', rcptTo: ['care@clinic.example'] },
  );
  assert.equal(received.resolution.kind, 'matched');
  const reply = channel.send('ws-1', {
    useCase: useCase.id,
    to: [{ name: 'Pat Doe', address: 'pat@patient.example' }],
    subject: 'Re: Your appointment',
    text: 'See you then.\r\n',
    html: '<p>See you <b>then</b>. <img src="cid:map@clinic.example"></p>',
    attachments: [{ filename: 'map.png', contentType: 'image/png', contentId: 'map@clinic.example', content: Uint8Array.of(137, 80, 78, 71, 0, 255) }],
    inReplyTo: received.messageId,
  });
  assert.equal(reply.inReplyTo, 'pat-1@patient.example');
  assert.deepEqual(channel.transport.sent.map((m) => m.messageId), [sent.messageId, reply.messageId]);
  const [first, second] = channel.transport.sent.map((m) => decoder.decode(m.raw));
  made = { setup, first, second, records: { [setup.records[0].name]: setup.records[0].value } };
  return made;
}

/** The DKIM-Signature field's value as sent (folded). */
const signatureField = (raw) => raw.match(/^DKIM-Signature: ([^]*?)\r\n(?![ \t])/)[1];

/**
 * Checks the signature's tags as RFC 6376 writes them: folding white space
 * only where the grammar allows it (around `;` and `=`, around the `:` of
 * `h=`, inside base64), so that the field's relaxed form is the one signed.
 * Returns the tags, unfolded.
 */
function tags(raw) {
  const field = signatureField(raw);
  const out = {};
  for (const tag of field.split(';')) {
    const m = tag.match(/^\s*([a-z]+)\s*=\s*([^]*?)\s*$/);
    if (m === null) continue;
    const [, name, value] = m;
    if (name === 'b' || name === 'bh') {
      assert.match(value, /^[A-Za-z0-9+/=\s]+$/, `${name}=`);
      out[name] = value.replace(/\s+/g, '');
    } else if (name === 'h') {
      // sig-h-tag = "h" [FWS] "=" [FWS] hdr-name *( [FWS] ":" [FWS] hdr-name ): no FWS inside a header name.
      assert.match(value, /^[!-9;-~]+(?:\s*:\s*[!-9;-~]+)*$/, `h= may be folded around its colons only, not inside a header name: ${JSON.stringify(value)}`);
      out.h = value.replace(/\s+/g, '');
    } else {
      assert.doesNotMatch(value, /\s/, `${name}= holds white space: ${JSON.stringify(value)}`);
      out[name] = value;
    }
  }
  return out;
}

test('DKIM: a new message is signed; dkimpy passes it and fails copies altered after signing', (t) => {
  const { first, records } = conversation();
  const sig = tags(first);
  assert.deepEqual([sig.v, sig.a, sig.c, sig.d, sig.s], ['1', 'rsa-sha256', 'relaxed/relaxed', 'clinic.example', 'mailroom1']);
  assert.ok(Math.abs(Number(sig.t) - Date.now() / 1000) < 600, `t=${sig.t} is now`);
  assert.equal(sig.h, 'from:to:cc:subject:date:message-id:mime-version:content-type');

  const altered = [
    first.replace('Tuesday at 9', 'Tuesday at 7'), // the body
    first.replace(/\r\nCc: [^\r]*\r\n/, '\r\nCc: <mallory@evil.example>\r\n'), // a signed header
  ];
  assert.ok(altered.every((raw) => raw !== first));
  const verdicts = dkimpy(records, [first, ...altered]);
  if (verdicts === null) return t.skip('NOT RUN: python3 with dkimpy is needed (pip install dkimpy)');
  assert.deepEqual(verdicts, ['pass', 'fail', 'fail']);

  // Another key published at the selector's name: fail.
  const { setup } = conversation();
  const other = createChannel().setups.create('ws-2', 'other.example', OPTIONS).records[0].value;
  assert.deepEqual(dkimpy({ [setup.records[0].name]: other }, [first]), ['fail']);
});

test('DKIM: a reply is signed over In-Reply-To and References; dkimpy passes it and fails copies altered after signing', (t) => {
  const { second, records } = conversation();
  const sig = tags(second);
  assert.equal(sig.h, 'from:to:subject:date:message-id:in-reply-to:references:mime-version:content-type');

  const altered = [
    second.replace('See you then.', 'See you never.'), // the body
    second.replace(/\r\nSubject: Re: Your appointment\r\n/, '\r\nSubject: Re: Your appointment (moved)\r\n'),
    second.replace(/\r\nIn-Reply-To: <[^>]+>\r\n/, '\r\nIn-Reply-To: <other@patient.example>\r\n'),
  ];
  assert.ok(altered.every((raw) => raw !== second));
  const verdicts = dkimpy(records, [second, ...altered]);
  if (verdicts === null) return t.skip('NOT RUN: python3 with dkimpy is needed (pip install dkimpy)');
  assert.deepEqual(verdicts, ['pass', 'fail', 'fail', 'fail']);
});

test('verifyWithDns: resolves every lookup with the resolver, then verifies', async () => {
  const channel0 = createChannel();
  const created = channel0.setups.create('ws-1', 'clinic.example', OPTIONS);

  // Published: verified.
  const published = fakeResolver(zoneOf(created));
  const channel = createChannel({ store: channel0.store, dns: published });
  const verification = await channel.setups.verifyWithDns('ws-1', created.id);
  assert.deepEqual(published.asked.sort(), channel.setups.lookups('ws-1', created.id).map((l) => `${l.type} ${l.name}`).sort());
  assert.equal(verification.setup.status, 'verified');
  assert.deepEqual(verification.checks.map((c) => c.state), Array(4).fill({ kind: 'verified' }));
  assert.deepEqual(channel.setups.get('ws-1', created.id), verification.setup);

  // A use case can be made now, and sends.
  const useCase = channel.useCases.create('ws-1', { setup: created.id, sender: 'care@clinic.example', type: 'transactional', entityName: 'C', useCaseName: 'Care' });
  channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@patient.example' }], subject: 'Hi', text: 'x' });
  assert.equal(channel.transport.sent.length, 1);
});

test('verifyWithDns: NXDOMAIN for the DKIM name leaves the setup pending with that record missing', async () => {
  const channel0 = createChannel();
  const created = channel0.setups.create('ws-1', 'clinic.example', OPTIONS);
  const zone = zoneOf(created);
  delete zone['mailroom1._domainkey.clinic.example'];
  const channel = createChannel({ store: channel0.store, dns: fakeResolver(zone) });

  const { setup, checks } = await channel.setups.verifyWithDns('ws-1', created.id);
  assert.equal(setup.status, 'pending');
  assert.deepEqual(
    checks.map((c) => [c.record.purpose, c.state]),
    [
      ['dkim', { kind: 'missing', reason: 'no such name' }],
      ['inbound-mx', { kind: 'verified' }],
      ['spf', { kind: 'verified' }],
      ['dmarc', { kind: 'verified' }],
    ],
  );
  assert.throws(
    () => channel.useCases.create('ws-1', { setup: created.id, sender: 'care@clinic.example', type: 'transactional', entityName: 'C', useCaseName: 'Care' }),
    (err) => err instanceof MailroomError && err.kind === 'setup-not-verified',
  );

  // Resolver failures map to results by their node:dns codes; they never reject.
  const failing = (code) => (syscall, type, name) => {
    throw dnsError(syscall, code, name);
  };
  const broken = createChannel({
    store: channel0.store,
    dns: fakeResolver({
      'mailroom1._domainkey.clinic.example': { txt: [['v=DKIM1; k=rsa; p=AAAA']] },
      'clinic.example': (syscall, type, name) => {
        if (type === 'mx') throw dnsError(syscall, 'ESERVFAIL', name);
        throw dnsError(syscall, 'ETIMEOUT', name);
      },
      '_dmarc.clinic.example': failing('ENODATA'),
    }),
  });
  const states = (await broken.setups.verifyWithDns('ws-1', created.id)).checks.map((c) => c.state);
  assert.deepEqual(states, [
    { kind: 'mismatched', found: ['v=DKIM1; k=rsa; p=AAAA'] },
    { kind: 'missing', reason: 'dns server failure: queryMx ESERVFAIL clinic.example' },
    { kind: 'missing', reason: 'dns timeout' },
    { kind: 'missing', reason: 'no records' },
  ]);
  // A mismatched required record fails the setup.
  assert.equal(broken.setups.get('ws-1', created.id).status, 'failed');

  // ETIMEDOUT is a timeout too; an error without a code, and an answer of the wrong shape, are server failures.
  const odd = createChannel({
    store: channel0.store,
    dns: {
      resolveTxt: async (name) => {
        if (name.startsWith('_dmarc.')) throw Object.assign(new Error('socket timed out'), { code: 'ETIMEDOUT' });
        if (name.startsWith('mailroom1.')) throw new Error('resolver on fire');
        return 'v=spf1 mx ~all';
      },
      resolveMx: () => [{ priority: 70000, exchange: 'inbound.mailroom.example' }], // not even a Promise
    },
  });
  const oddStates = (await odd.setups.verifyWithDns('ws-1', created.id)).checks.map((c) => c.state);
  assert.deepEqual(oddStates, [
    { kind: 'missing', reason: 'dns server failure: resolver on fire' },
    { kind: 'missing', reason: "dns server failure: the resolver's resolveMx answered with something other than an array of { priority (0 to 65535), exchange }" },
    { kind: 'missing', reason: "dns server failure: the resolver's resolveTxt answered with something other than an array of arrays of strings" },
    { kind: 'missing', reason: 'dns timeout' },
  ]);
  // Transient failures keep the status.
  assert.equal(odd.setups.get('ws-1', created.id).status, 'failed');
});

test('verifyWithDns: errors of the component reject, a resolver without the methods is a TypeError', async () => {
  const channel = createChannel({ dns: fakeResolver({}) });
  await assert.rejects(channel.setups.verifyWithDns('ws-1', 'set_missing'), (err) => {
    return err instanceof MailroomError && err.kind === 'not-found' && err.call === 'setups.verifyWithDns';
  });
  await assert.rejects(channel.setups.verifyWithDns('ws-1', 42), TypeError);
  assert.throws(() => createChannel({ dns: {} }), TypeError);
  assert.throws(() => createChannel({ dns: { resolveTxt() {} } }), /dns\.resolveMx must be a function/);
});
