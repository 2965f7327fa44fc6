// Scenarios: every tests/fixtures/<suite>/NAME.json in a suite other than
// `inbound` (tests/SCENARIOS.md) must give, step by step, exactly the
// results in its `expect` (same JSON, same key order), and the recording
// transport must hold exactly its `transport`. The native runner writes the
// fixtures; this is the Node host agreeing with it.
//
// MAILROOM_SCENARIOS_DIR=/some/dir points the runner at another fixtures
// directory (holding suite directories).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { runScenario } from '../src/scenario.js';

const HINT = 'fixtures are rewritten by MAILROOM_BLESS=1 (native runner)';
const dir = process.env.MAILROOM_SCENARIOS_DIR ?? fileURLToPath(new URL('../../tests/fixtures/', import.meta.url));

const fixtures = [];
if (existsSync(dir)) {
  for (const suite of readdirSync(dir).sort()) {
    if (suite === 'inbound' || suite === 'reports-corpus' || suite === 'upgrade' || !statSync(join(dir, suite)).isDirectory()) continue;
    for (const file of readdirSync(join(dir, suite)).sort()) {
      if (file.endsWith('.json')) fixtures.push({ name: `${suite}/${file.slice(0, -'.json'.length)}`, path: join(dir, suite, file) });
    }
  }
}

/** Equal as JSON values and as JSON text (so key order counts too). */
const same = (a, b) => isDeepStrictEqual(a, b) && JSON.stringify(a) === JSON.stringify(b);

/** The first differing lines of two pretty JSON texts, with a little context. */
function diff(expected, actual) {
  const e = JSON.stringify(expected, null, 2).split('\n');
  const a = JSON.stringify(actual, null, 2).split('\n');
  let start = 0;
  while (start < e.length && start < a.length && e[start] === a[start]) start++;
  let endE = e.length;
  let endA = a.length;
  while (endE > start && endA > start && e[endE - 1] === a[endA - 1]) {
    endE--;
    endA--;
  }
  const MAX = 30;
  const cap = (lines, sign) =>
    lines.slice(0, MAX).map((l) => `${sign}${l}`).concat(lines.length > MAX ? [`${sign}... (${lines.length - MAX} more lines)`] : []);
  return [
    '--- expected',
    '+++ actual (Node)',
    ...e.slice(Math.max(0, start - 3), start).map((l) => ` ${l}`),
    ...cap(e.slice(start, endE), '-'),
    ...cap(a.slice(start, endA), '+'),
    ...e.slice(endE, endE + 3).map((l) => ` ${l}`),
  ].join('\n');
}

if (fixtures.length === 0) {
  test('scenarios', { skip: `NOT RUN: no scenario fixtures (tests/fixtures/<suite>/*.json outside inbound/) in ${dir}` }, () => {});
}

for (const f of fixtures) {
  test(`scenario ${f.name}`, () => {
    const fixture = JSON.parse(readFileSync(f.path, 'utf8'));
    const actual = runScenario(fixture);
    assert.equal(actual.steps.length, fixture.steps.length);
    fixture.steps.forEach((step, i) => {
      const got = actual.steps[i];
      assert.equal(got.name, step.name);
      if (!same(got.result, step.expect)) {
        assert.fail(
          `${f.name}: step "${step.name}" (${step.call}) differs from ${f.path}\n` +
            `expected: ${JSON.stringify(step.expect)}\n` +
            `actual:   ${JSON.stringify(got.result)}\n` +
            `${diff(step.expect, got.result)}\n\n${HINT}`,
        );
      }
    });
    const expected = fixture.transport ?? [];
    if (!same(actual.transport, expected)) {
      assert.fail(
        `${f.name}: the recording transport differs from "transport" in ${f.path}\n` +
          `${diff(expected, actual.transport)}\n\n${HINT}`,
      );
    }
  });
}
