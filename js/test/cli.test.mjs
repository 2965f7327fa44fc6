// The mailroom CLI: same bytes as the facade's canonical JSON, exit codes,
// and a hostile, deeply nested message.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, MailroomParseError } from '../src/index.js';
import { canonicalJson } from '../src/canonical.js';

const BIN = fileURLToPath(new URL('../bin/mailroom.mjs', import.meta.url));

function mailroom(args, input) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

function canonical(raw, limits) {
  try {
    return canonicalJson(parse(raw, limits));
  } catch (err) {
    if (err instanceof MailroomParseError) return canonicalJson(err);
    throw err;
  }
}

const SAMPLE = [
  'From: "Ann Example" <ann@example.com>',
  'To: bob@example.org, Team: carol@example.net, dave@example.net;',
  'Cc: =?utf-8?q?Ren=C3=A9?= <rene@example.com>',
  'Subject: =?utf-8?b?UXVhcnRlcmx5IHLDqXBvcnQ=?=',
  'Message-ID: <q3@example.com>',
  'In-Reply-To: <q2@example.com>',
  'References: <q1@example.com> <q2@example.com>',
  'Date: Tue, 1 Jul 2025 10:00:00 +0200',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  '--outer',
  'Content-Type: multipart/related; boundary="rel"',
  '',
  '--rel',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  '--alt',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Numbers attached =E2=80=94 see the chart.',
  '--alt',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Numbers attached. <img src="cid:chart@example.com"></p>',
  '--alt--',
  '--rel',
  'Content-Type: image/png',
  'Content-ID: <chart@example.com>',
  'Content-Transfer-Encoding: base64',
  '',
  'iVBORw0KGgo=',
  '--rel--',
  '--outer',
  'Content-Type: text/csv; name="q3.csv"',
  'Content-Disposition: attachment; filename="q3.csv"',
  '',
  'quarter,revenue',
  'q3,42',
  '--outer--',
  '',
].join('\r\n');

/** A message whose multiparts nest `levels` deep, with a text part innermost. */
function nested(levels) {
  const lines = [
    'From: deep@example.com',
    'Subject: deep',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b0"',
    '',
  ];
  for (let i = 1; i < levels; i++) {
    lines.push(`--b${i - 1}`, `Content-Type: multipart/mixed; boundary="b${i}"`, '');
  }
  lines.push(`--b${levels - 1}`, 'Content-Type: text/plain', '', 'innermost', `--b${levels - 1}--`);
  for (let i = levels - 2; i >= 0; i--) lines.push(`--b${i}--`);
  lines.push('');
  return lines.join('\r\n');
}

let dir;
let samplePath;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-cli-'));
  samplePath = join(dir, 'sample.eml');
  writeFileSync(samplePath, SAMPLE);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('cli: parse FILE prints the facade canonical JSON, exit 0', () => {
  const r = mailroom(['parse', samplePath]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.stdout, canonical(Buffer.from(SAMPLE)));
  const json = JSON.parse(r.stdout);
  assert.equal(json.subject, 'Quarterly réport');
  assert.deepEqual(
    json.attachments.map((a) => [a.filename, a.inline]),
    [['chart@example.com', true], ['q3.csv', false]],
  );
});

test('cli: "-" reads standard input', () => {
  const r = mailroom(['parse', '-'], SAMPLE);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, canonical(Buffer.from(SAMPLE)));
});

test('cli: a parse error prints its JSON, exit 2', () => {
  const r = mailroom(['parse', samplePath, '--max-parts', '2']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, canonical(Buffer.from(SAMPLE), { maxParts: 2 }));
  assert.equal(JSON.parse(r.stdout).error.limit, 'max-parts');

  const zero = mailroom(['parse', samplePath, '--max-bytes=0']);
  assert.equal(zero.status, 2);
  assert.equal(JSON.parse(zero.stdout).error.kind, 'invalid-limits');
});

test('cli: usage errors and unreadable files exit 1 with nothing on stdout', () => {
  for (const args of [[], ['frob'], ['parse'], ['parse', samplePath, '--max-depth', 'x'], ['parse', join(dir, 'missing.eml')]]) {
    const r = mailroom(args);
    assert.equal(r.status, 1, `args ${JSON.stringify(args)}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^mailroom: /);
  }
});

test('cli: --help', () => {
  const r = mailroom(['--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: mailroom parse FILE\.eml/);
});

test('a 10,000-level nested multipart is limit-exceeded max-depth, not a trap', () => {
  const raw = nested(10_000);
  assert.throws(
    () => parse(raw),
    (err) =>
      err instanceof MailroomParseError &&
      err.kind === 'limit-exceeded' &&
      err.limit === 'max-depth' &&
      err.value === 64,
  );
  // At the largest max-depth too.
  assert.throws(() => parse(raw, { maxDepth: 1024 }), { kind: 'limit-exceeded', limit: 'max-depth', value: 1024 });
  // The instance is still healthy.
  assert.equal(parse(nested(3)).text, 'innermost');

  const path = join(dir, 'deep.eml');
  writeFileSync(path, raw);
  const r = mailroom(['parse', path]);
  assert.equal(r.status, 2, r.stderr);
  const { error } = JSON.parse(r.stdout);
  assert.equal(error.kind, 'limit-exceeded');
  assert.equal(error.limit, 'max-depth');
  assert.equal(error.value, 64);
});
