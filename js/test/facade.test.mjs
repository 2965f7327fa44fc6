// The facade's own contract: inputs, plain objects with nulls, typed errors,
// and the canonical JSON shapes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parse, MailroomParseError } from '../src/index.js';
import { canonicalJson } from '../src/canonical.js';

const MINIMAL = 'From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n';

test('parse accepts a string, a Uint8Array, a subarray and an ArrayBuffer alike', () => {
  const bytes = new TextEncoder().encode(MINIMAL);
  const padded = new Uint8Array(bytes.length + 8);
  padded.set(bytes, 4);
  const expected = parse(MINIMAL);
  assert.deepEqual(parse(bytes), expected);
  assert.deepEqual(parse(padded.subarray(4, 4 + bytes.length)), expected);
  assert.deepEqual(parse(bytes.buffer.slice(0)), expected);
  assert.deepEqual(parse(Buffer.from(MINIMAL)), expected);
  assert.throws(() => parse(42), TypeError);
});

test('absent optionals are null, never undefined; the result is plain data', () => {
  const m = parse(MINIMAL);
  assert.deepEqual(m, {
    messageId: null,
    inReplyTo: [],
    references: [],
    from: [{ name: null, address: 'a@example.com' }],
    to: [],
    cc: [],
    replyTo: [],
    subject: 'hi',
    date: null,
    text: 'body\r\n',
    html: null,
    attachments: [],
    headers: [
      { name: 'From', value: 'a@example.com' },
      { name: 'Subject', value: 'hi' },
    ],
  });
  assert.deepEqual(structuredClone(m), m);
});

test('attachments: camelCase fields, number size, Uint8Array content', () => {
  const raw = [
    'From: a@example.com',
    'Content-Type: multipart/mixed; boundary=x',
    '',
    '--x',
    'Content-Type: text/plain',
    '',
    'see attached',
    '--x',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename="../../etc/passwd"',
    'Content-ID: <p1@example.com>',
    'Content-Transfer-Encoding: base64',
    '',
    'AAECAw==',
    '--x--',
    '',
  ].join('\r\n');
  const [a] = parse(raw).attachments;
  assert.equal(a.contentType, 'application/octet-stream');
  assert.equal(a.contentId, 'p1@example.com');
  assert.equal(a.disposition, 'attachment');
  assert.equal(a.inline, false);
  assert.equal(a.size, 4);
  assert.equal(typeof a.size, 'number');
  assert.ok(a.content instanceof Uint8Array);
  assert.deepEqual([...a.content], [0, 1, 2, 3]);
  assert.doesNotMatch(a.filename, /\//);

  const json = JSON.parse(canonicalJson(parse(raw)));
  assert.deepEqual(Object.keys(json.attachments[0]), [
    'filename', 'content-type', 'content-id', 'disposition', 'inline', 'size', 'sha256',
  ]);
  assert.equal(json.attachments[0].sha256, createHash('sha256').update(Uint8Array.of(0, 1, 2, 3)).digest('hex'));
});

test('canonical JSON of a message: key order, nulls, two-space indent, trailing newline', () => {
  const text = canonicalJson(parse(MINIMAL));
  assert.ok(text.endsWith('}\n'));
  assert.deepEqual(Object.keys(JSON.parse(text)), [
    'message-id', 'in-reply-to', 'references', 'from', 'to', 'cc', 'reply-to',
    'subject', 'date', 'text', 'html', 'attachments', 'headers',
  ]);
  assert.equal(text, JSON.stringify(JSON.parse(text), null, 2) + '\n');
  assert.match(text, /^{\n  "message-id": null,\n  "in-reply-to": \[\],\n/);
});

function thrown(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

test('WIT errors become MailroomParseError, with canonical JSON', () => {
  const big = thrown(() => parse(MINIMAL, { maxBytes: 10 }));
  assert.ok(big instanceof MailroomParseError);
  assert.ok(big instanceof Error);
  assert.equal(big.name, 'MailroomParseError');
  assert.equal(big.kind, 'limit-exceeded');
  assert.equal(big.limit, 'max-bytes');
  assert.equal(big.value, 10);
  assert.deepEqual(JSON.parse(canonicalJson(big)), {
    error: { kind: 'limit-exceeded', limit: 'max-bytes', value: 10, message: big.message },
  });

  const empty = thrown(() => parse(' \r\n'));
  assert.equal(empty.kind, 'malformed');
  assert.equal(empty.limit, null);
  assert.equal(empty.value, null);
  assert.equal(canonicalJson(empty), JSON.stringify({ error: { kind: 'malformed', message: empty.message } }, null, 2) + '\n');

  for (const limits of [{ maxDepth: 0 }, { maxParts: 1_000_001 }, { maxBytes: 2n ** 40n }]) {
    assert.equal(thrown(() => parse(MINIMAL, limits)).kind, 'invalid-limits', JSON.stringify(String(Object.values(limits))));
  }
  assert.throws(() => canonicalJson(new Error('boom')), TypeError);
});

test('limits no WIT integer can hold are TypeError/RangeError, not wrapped', () => {
  assert.throws(() => parse(MINIMAL, { maxDepth: 2 ** 32 + 1 }), RangeError);
  assert.throws(() => parse(MINIMAL, { maxParts: -1 }), RangeError);
  assert.throws(() => parse(MINIMAL, { maxDepth: 1.5 }), TypeError);
  assert.throws(() => parse(MINIMAL, { maxBytes: -1n }), RangeError);
  assert.throws(() => parse(MINIMAL, { maxBytes: '10' }), TypeError);
  assert.throws(() => parse(MINIMAL, 5), TypeError);
  // null and undefined take the default.
  assert.equal(parse(MINIMAL, { maxBytes: null, maxDepth: undefined }).subject, 'hi');
});

test('headers: every top-level field in order, names as written, values decoded', () => {
  const raw = [
    'Received: from mx.example.net\r\n by mx.example.org; Tue, 1 Jul 2025 10:00:00 +0000',
    'Received: from client',
    'X-Mailgun-Variables: {"user": 42}',
    'Authentication-Results: mx.example.org; spf=pass',
    'List-Id: =?utf-8?q?Caf=C3=A9?= news <news.example.com>',
    'From: a@example.com',
    'Content-Type: multipart/mixed; boundary=b',
    '',
    '--b',
    'Content-Type: text/plain',
    'X-Part: not listed',
    '',
    'hi',
    '--b--',
    '',
  ].join('\r\n');
  const { headers } = parse(raw);
  assert.deepEqual(headers, [
    { name: 'Received', value: 'from mx.example.net by mx.example.org; Tue, 1 Jul 2025 10:00:00 +0000' },
    { name: 'Received', value: 'from client' },
    { name: 'X-Mailgun-Variables', value: '{"user": 42}' },
    { name: 'Authentication-Results', value: 'mx.example.org; spf=pass' },
    { name: 'List-Id', value: 'Café news <news.example.com>' },
    { name: 'From', value: 'a@example.com' },
    { name: 'Content-Type', value: 'multipart/mixed; boundary=b' },
  ]);
  assert.deepEqual(JSON.parse(canonicalJson(parse(raw))).headers, headers);
});
