// The scenario runner itself: the JSON form ↔ jco conversions by WIT type,
// placeholders, and the small WIT reader. (test/scenarios.test.mjs runs the
// fixtures.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { runScenario } from '../src/scenario.js';
import { readWit, resolve } from '../src/wit.js';

const NO_LIMITS = { 'max-bytes': null, 'max-depth': null, 'max-parts': null };

const scenario = (steps) => ({ 'clock-start': 1772442000, 'random-seed': 42, steps });

const SETUP = { name: 'setup', call: 'setups.create', args: ['ws', 'clinic.example', { 'inbound-host': 'inbound.mailroom.example', 'spf-include': null }] };
/** Publishes the setup's required records, by placeholders (a variant with a payload, a list<list<string>>, a u16). */
const VERIFY = {
  name: 'verify',
  call: 'setups.verify',
  args: [
    'ws',
    '{{setup.ok.id}}',
    [
      { name: '{{setup.ok.records.0.name}}', type: 'txt', result: { txt: [['{{setup.ok.records.0.value}}']] } },
      { name: 'clinic.example', type: 'mx', result: { mx: [{ preference: 10, exchange: 'inbound.mailroom.example' }] } },
      { name: 'clinic.example', type: 'txt', result: { txt: [['v=spf1 mx ~all']] } },
      // A variant case without payload.
      { name: '_dmarc.clinic.example', type: 'txt', result: 'no-such-name' },
      { name: 'bounce.clinic.example', type: 'mx', result: { mx: [{ preference: 10, exchange: 'inbound.mailroom.example' }] } },
      { name: 'bounce.clinic.example', type: 'txt', result: { txt: [['v=spf1 mx ~all']] } },
    ],
  ],
};

test('arguments and results follow the JSON form: enums, variants, u64, list<u8>, options', () => {
  const raw =
    'From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n' +
    '--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\nabc\r\n--x--\r\n';
  const run = runScenario(
    JSON.stringify(
      scenario([
        SETUP,
        VERIFY,
        // An enum argument is a plain string.
        { name: 'uc', call: 'use-cases.create', args: ['ws', '{{setup.ok.id}}', 'care@clinic.example', 'marketing', 'Clinic', 'Care'] },
        {
          name: 'out',
          call: 'outbound.send',
          args: [
            'ws',
            {
              'use-case': '{{uc.ok.id}}',
              to: [{ name: null, address: 'pat@patient.example' }],
              cc: [],
              subject: 'Hi {{setup.ok.domain}} {{uc.ok.type}}',
              text: 'x',
              html: null,
              attachments: [{ filename: 'a.txt', 'content-type': 'text/plain', 'content-id': null, content: 'abc' }],
              'in-reply-to': null,
            },
          ],
        },
        // A variant case whose payload is an option, given as null.
        { name: 'report', call: 'outbound.report', args: ['{{out.ok.message-id}}', { accepted: null }] },
        // A u64 argument (max-bytes) and a u64 in an error.
        { name: 'too-big', call: 'inbound.parse', args: [raw, { ...NO_LIMITS, 'max-bytes': 5 }] },
        { name: 'parsed', call: 'inbound.parse', args: [raw, NO_LIMITS] },
      ]),
    ),
  );
  const [setup, verify, uc, out, report, tooBig, parsed] = run.steps.map((s) => s.result);
  assert.deepEqual(Object.keys(setup.ok), ['id', 'workspace', 'domain', 'status', 'selector', 'next-selector', 'records', 'created-at', 'expires-at']);
  assert.equal(setup.ok['next-selector'], null);
  assert.deepEqual(Object.keys(setup.ok.records[0]), ['purpose', 'name', 'type', 'value', 'required']);
  assert.equal(verify.ok.setup.status, 'verified');
  assert.deepEqual(verify.ok.checks.map((c) => c.state), ['verified', 'verified', 'verified', { missing: 'no such name' }, 'verified', 'verified']);
  assert.equal(uc.ok.type, 'marketing');
  assert.deepEqual(Object.keys(uc.ok), ['id', 'setup', 'sender', 'type', 'entity-name', 'use-case-name', 'enabled', 'list-unsubscribe']);
  assert.deepEqual(Object.keys(out.ok), ['message-id', 'thread-id', 'in-reply-to', 'references', 'size', 'unsubscribe-url', 'replayed']);
  assert.equal(out.ok['in-reply-to'], null);
  assert.equal(typeof out.ok.size, 'number');
  assert.deepEqual(report, { ok: null });
  assert.deepEqual(tooBig, { err: { 'limit-exceeded': { limit: 'max-bytes', value: 5, message: tooBig.err['limit-exceeded'].message } } });
  const [attachment] = parsed.ok.attachments;
  assert.equal(attachment.content, `sha256:${createHash('sha256').update('abc').digest('hex')}`);
  assert.equal(attachment.size, 3);
  assert.equal(attachment.disposition, 'attachment');

  assert.equal(run.transport.length, 1);
  assert.deepEqual(Object.keys(run.transport[0]), ['message-id', 'envelope', 'raw']);
  assert.match(run.transport[0].envelope['mail-from'], /^[0-9a-f]{58}@bounce\.clinic\.example$/);
  assert.deepEqual(run.transport[0].envelope['rcpt-to'], ['pat@patient.example']);
  assert.match(run.transport[0].raw, /\r\nSubject: Hi clinic\.example marketing\r\n/);
  assert.match(run.transport[0].raw, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=clinic\.example;/);
});

test('the same scenario gives the same answers every run', () => {
  const steps = [
    SETUP,
    VERIFY,
    { name: 'uc', call: 'use-cases.create', args: ['ws', '{{setup.ok.id}}', 'care@clinic.example', 'transactional', 'C', 'N'] },
  ];
  const first = runScenario(scenario(steps));
  assert.deepEqual(runScenario(scenario(steps)), first);
  assert.ok('ok' in first.steps[2].result);
  // The fixed random stream: the first id of seed 42 is the fixtures' own.
  assert.equal(first.steps[0].result.ok.id, 'set_956eeb2f2632d7bd');
});

test('a step that cannot run names itself', () => {
  const cases = [
    [{ name: 's', call: 'setups.nothing', args: [] }, /step "s" \(setups\.nothing\): no function nothing/],
    [{ name: 's', call: 'setups.create', args: ['ws', 'a.example'] }, /"args" must be an array of 3 \(workspace, domain, options\)/],
    [{ name: 's', call: 'setups.create', args: ['ws', 'a.example', { 'spf-include': null }] }, /field inbound-host is missing or null, and is not an option/],
    [{ name: 's', call: 'setups.verify', args: ['ws', 'x', [{ name: 'a', type: 'txt', result: 'txt' }]] }, /case txt has a payload/],
    [{ name: 's', call: 'setups.get', args: ['ws', '{{nope.ok.id}}'] }, /no earlier step named nope/],
    [{ name: 's', call: 'use-cases.create', args: ['ws', 'a', 'b', 'weekly', 'c', 'd'] }, /"weekly" is not one of transactional, marketing/],
    [{ name: 's', call: 'outbound.report', args: ['x', 'accepted'] }, /case accepted has a payload/],
    [{ name: 's', call: 'inbound.parse', args: ['x', { 'max-bytes': 1, 'extra': 2 }] }, /no field extra/],
  ];
  for (const [step, message] of cases) {
    assert.throws(() => runScenario(scenario([step])), message);
  }
});

test('the WIT reader: records, variants, enums, aliases, use, tuples, results', () => {
  const interfaces = readWit([
    {
      file: 'a.wit',
      text: `package x:y@1.0.0;
        /// doc
        interface a {
          record r { %type: u64, name: option<string>, }
          type alias = list<r>;
          enum e { one, two-words }
        }
        interface b {
          use a.{r, e as f};
          variant v { none, some(tuple<u8, string>), }
          f1: func(x: r, y: f) -> result<_, v>;
          f2: func() -> result;
          f3: func(z: list<u8>);
        }
        world w { import a; export b; }`,
    },
  ]);
  const b = interfaces.get('b');
  assert.deepEqual(resolve(interfaces, b.funcs.get('f1').params[0].type).fields.map((f) => f.name), ['type', 'name']);
  assert.deepEqual(resolve(interfaces, b.funcs.get('f1').params[1].type), { kind: 'enum', cases: ['one', 'two-words'] });
  assert.deepEqual(b.funcs.get('f1').result.ok, null);
  assert.equal(resolve(interfaces, b.funcs.get('f1').result.err).cases[1].type.kind, 'tuple');
  assert.deepEqual(b.funcs.get('f2').result, { kind: 'result', ok: null, err: null });
  assert.equal(b.funcs.get('f3').result, null);
  assert.equal(resolve(interfaces, { kind: 'ref', name: 'alias', iface: 'a' }).kind, 'list');
  assert.throws(() => readWit([{ file: 'r.wit', text: 'interface c { resource thing; }' }]), /resource/);
});
