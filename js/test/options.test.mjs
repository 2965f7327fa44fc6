// Issue 17: per-call option objects refuse unknown keys (as config does), a
// failed call leaves nothing behind (items 7 and 9), and Deno without
// --allow-read names the missing permission.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createChannel, parse } from '../src/index.js';
import { clinic } from '../examples/clinic.mjs';
import { checkNoLateWrites } from './portable/no-late-writes.mjs';

const RAW = 'From: pat@example.com\r\nTo: care@clinic.example\r\nSubject: Hi\r\n\r\nHello\r\n';

function typeError(f, pattern) {
  assert.throws(f, (err) => err instanceof TypeError && pattern.test(err.message), String(pattern));
}

test('a failed call leaves the KV unchanged (microtasks and timers run after it)', async () => {
  const ran = await checkNoLateWrites();
  assert.ok(ran.includes('KV unchanged after microtasks and timers'), ran.join('; '));
});

test('parse and receive: a typo in limits or the envelope is a TypeError naming it', () => {
  typeError(() => parse(RAW, { maxbytes: 100 }), /parse: limits\.maxbytes is not an option \(limits takes maxBytes, maxDepth, maxParts\)/);
  const channel = createChannel();
  typeError(() => channel.receive(RAW, { mailfrom: 'pat@example.com' }), /receive: envelope\.mailfrom is not an option/);
  typeError(() => channel.receive(RAW, null, { maxParts: 10, depth: 3 }), /receive: limits\.depth is not an option/);
  // Known keys still work, undefined ones included.
  assert.equal(parse(RAW, { maxBytes: 1000, maxDepth: undefined }).subject, 'Hi');
  assert.equal(channel.receive(RAW, { mailFrom: 'pat@example.com', rcptTo: [] }).message.subject, 'Hi');
});

test('every other per-call object refuses unknown keys', async () => {
  const channel = createChannel();
  const { setup, useCase } = await clinic(channel);
  const send = (request) => () => channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'S', text: 't', ...request });
  typeError(send({ replyTo: 'x' }), /send: request\.replyTo is not an option/);
  typeError(send({ to: [{ address: 'pat@example.com', nmae: 'Pat' }] }), /send: request\.to\[0\]\.nmae is not an option/);
  typeError(send({ attachments: [{ filename: 'a', contentType: 'text/plain', content: 'x', inline: true }] }), /request\.attachments\[0\]\.inline/);
  typeError(() => channel.setups.create('ws', 'b.example', { inboundHost: 'mx.example', spfinclude: 'x' }), /setups\.create: options\.spfinclude is not an option/);
  typeError(() => channel.setups.verify('ws-1', setup.id, [{ name: 'x', type: 'txt', result: { kind: 'txt', records: [], ttl: 5 } }]), /answers\[0\]\.result\.ttl/);
  typeError(() => channel.report('a@b', { kind: 'accepted', providerId: 'x' }), /report: outcome\.providerId is not an option/);
  typeError(() => channel.useCases.create('ws-1', { setup: setup.id, sender: 's@clinic.example', type: 'transactional', entityName: 'E', useCaseName: 'U', enabled: true }), /useCases\.create: useCase\.enabled/);
  typeError(() => channel.suppression.list('ws-1', setup.id, { limit: 5, after: 'x' }), /suppression\.list: page\.after is not an option/);
  typeError(() => channel.events.record({ id: 'e', messageId: 'a@b', recipient: 'p@x', kind: { kind: 'delivered', at: 5 } }), /events\.record: event\.kind\.at is not an option/);
  typeError(() => channel.events.record({ id: 'e', messageId: 'a@b', recipient: 'p@x', kind: { kind: 'bounced', bounce: { type: 'hard', code: '5.1.1' } } }), /event\.kind\.bounce\.code/);
  typeError(() => channel.reporting.count('ws-1', { kind: 'setup', setup: setup.id, useCase: useCase.id }, 0, 1), /reporting\.count: subject\.useCase is not an option/);
  const policy = channel.suppression.getPolicy('ws-1', setup.id);
  typeError(() => channel.suppression.setPolicy('ws-1', setup.id, { ...policy, hardBounceScope: { kind: 'setup', useCase: 'x' } }), /policy\.hardBounceScope\.useCase/);
  typeError(() => channel.suppression.setPolicy('ws-1', setup.id, { ...policy, softBounces: 3 }), /setPolicy: policy\.softBounces is not an option/);
  // And the well-formed calls pass.
  assert.deepEqual(channel.suppression.setPolicy('ws-1', setup.id, policy), policy);
  assert.equal(typeof send({})().messageId, 'string');
});

/** The npm-installed Deno, if there is one. */
function denoBinary() {
  const bin = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
  if (!existsSync(bin)) return null;
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? bin : null;
}

test('Deno without --allow-read: the error names the permission, not the build', (t) => {
  const deno = denoBinary();
  if (deno === null) {
    t.skip('no working node_modules/.bin/deno (npm ci installs it)');
    return;
  }
  const script = fileURLToPath(new URL('./portable/deno-no-read.mjs', import.meta.url));
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const out = spawnSync(deno, ['run', '--no-prompt', '--allow-env', script], { encoding: 'utf8', cwd });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /no read permission .*--allow-read/);
  assert.doesNotMatch(out.stdout, /npm run build/);
});
