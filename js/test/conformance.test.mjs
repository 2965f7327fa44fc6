// Conformance: every tests/fixtures/inbound/NAME.eml that has a NAME.json
// beside it must parse (default limits) to exactly that canonical JSON.
// The goldens are shared with the Rust runner, which writes them.
//
// MAILROOM_FIXTURES_DIR=/some/dir points the runner at another directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, MailroomParseError } from '../src/index.js';
import { canonicalJson } from '../src/canonical.js';

const HINT = 'goldens are rewritten by MAILROOM_BLESS=1 (Rust runner)';
const dir =
  process.env.MAILROOM_FIXTURES_DIR ??
  fileURLToPath(new URL('../../tests/fixtures/inbound/', import.meta.url));

const emls = existsSync(dir)
  ? readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
  : [];
const cases = emls.map((eml) => {
  const name = eml.slice(0, -'.eml'.length);
  return { name, eml: join(dir, eml), json: join(dir, `${name}.json`) };
});
const runnable = cases.filter((c) => existsSync(c.json));

function actualJson(raw) {
  try {
    return canonicalJson(parse(raw));
  } catch (err) {
    if (err instanceof MailroomParseError) return canonicalJson(err);
    throw err;
  }
}

/** A unified-style hunk around the first and last differing lines. */
function diff(expected, actual, name) {
  const e = expected.split('\n');
  const a = actual.split('\n');
  let start = 0;
  while (start < e.length && start < a.length && e[start] === a[start]) start++;
  let endE = e.length;
  let endA = a.length;
  while (endE > start && endA > start && e[endE - 1] === a[endA - 1]) {
    endE--;
    endA--;
  }
  const CONTEXT = 3;
  const MAX = 20;
  const from = Math.max(0, start - CONTEXT);
  const cap = (lines, sign) => {
    const shown = lines.slice(0, MAX).map((l) => `${sign}${l}`);
    if (lines.length > MAX) shown.push(`${sign}... (${lines.length - MAX} more lines)`);
    return shown;
  };
  return [
    `--- ${name}.json (expected)`,
    `+++ ${name} via the Node facade (actual)`,
    `@@ -${from + 1} +${from + 1} @@`,
    ...e.slice(from, start).map((l) => ` ${l}`),
    ...cap(e.slice(start, endE), '-'),
    ...cap(a.slice(start, endA), '+'),
    ...e.slice(endE, endE + CONTEXT).map((l) => ` ${l}`),
  ].join('\n');
}

test(`conformance: at least one NAME.eml + NAME.json in ${dir}`, () => {
  assert.ok(runnable.length > 0, `no conformance case ran: no NAME.eml with a NAME.json beside it in ${dir}`);
});

for (const c of cases) {
  if (!runnable.includes(c)) {
    test(`conformance: ${c.name}`, { skip: `no ${c.name}.json beside it` }, () => {});
    continue;
  }
  test(`conformance: ${c.name}`, () => {
    const expected = readFileSync(c.json, 'utf8');
    const actual = actualJson(readFileSync(c.eml));
    if (actual !== expected) {
      assert.fail(`${c.name}: canonical JSON differs from ${c.json}\n${diff(expected, actual, c.name)}\n\n${HINT}`);
    }
  });
}
