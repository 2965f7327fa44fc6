// The delivery interfaces through the facade: events and the suppression
// decision, send's typed refusal, policy and health, reports, one-click
// unsubscribe and counts, in the facade's forms (camelCase, null, Numbers,
// `{ kind, … }` variants).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createChannel, createAsyncChannel, MailroomError } from '../src/index.js';
import { clinic } from '../examples/clinic.mjs';

const NOW = 1772442000;
const clock = { now: () => ({ seconds: NOW, nanoseconds: 0 }) };

test('a hard bounce suppresses; send refuses with the suppressions; remove lifts it', async () => {
  const channel = createChannel({ clock });
  const { setup, useCase } = await clinic(channel);
  const sent = channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'Pat@Example.com' }], subject: 'Hi', text: 'Hello.' });
  assert.deepEqual(channel.suppression.check('ws-1', useCase.id, 'pat@example.com'), { kind: 'allow' });

  const recorded = channel.events.record({
    id: 'evt-1',
    messageId: sent.messageId,
    recipient: 'pat@example.com',
    kind: { kind: 'bounced', bounce: { type: 'hard', status: '5.1.1', diagnostic: 'user unknown' } },
  });
  assert.equal(recorded.duplicate, false);
  assert.equal(recorded.at, NOW);
  assert.deepEqual(recorded.kind, { kind: 'bounced', bounce: { type: 'hard', status: '5.1.1', diagnostic: 'user unknown' } });
  const [suppression] = recorded.suppressions;
  assert.deepEqual(suppression, {
    address: 'pat@example.com', scope: { kind: 'setup' }, reason: 'hard-bounce', since: NOW, until: null, event: 'evt-1', useCase: useCase.id,
  });
  assert.equal(channel.events.record({ id: 'evt-1', messageId: sent.messageId, recipient: 'pat@example.com', kind: { kind: 'delivered' } }).duplicate, true);
  assert.deepEqual(channel.suppression.check('ws-1', useCase.id, 'PAT@example.com'), { kind: 'suppressed', suppression });

  const refused = (() => {
    try {
      channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'Again', text: '…' });
    } catch (err) {
      return err;
    }
  })();
  assert.ok(refused instanceof MailroomError);
  assert.equal(refused.kind, 'suppressed');
  assert.equal(refused.call, 'send');
  assert.deepEqual(refused.suppressions, [suppression]);

  assert.deepEqual(channel.suppression.list('ws-1', setup.id).map((a) => a.address), ['pat@example.com']);
  const after = channel.suppression.remove('ws-1', setup.id, 'pat@example.com', 'patient called: address fixed');
  assert.deepEqual(after.active, []);
  assert.deepEqual(after.history.map((e) => [e.suppression.reason, e.note]), [['hard-bounce', 'patient called: address fixed']]);
  assert.deepEqual(channel.suppression.check('ws-1', useCase.id, 'pat@example.com'), { kind: 'allow' });

  assert.throws(() => channel.events.record({ id: 'evt-2', messageId: 'nope@x', recipient: 'pat@example.com', kind: { kind: 'delivered' } }),
    (err) => err instanceof MailroomError && err.kind === 'unknown-message' && err.call === 'events.record');
  assert.throws(() => channel.events.record({ id: 'e', messageId: sent.messageId, recipient: 'p@x.example', kind: { kind: 'read' } }), TypeError);

  // A provider's open lands in the engagement counters, classified by the tracking rules.
  const opened = channel.events.record({
    id: 'ses-open-1', messageId: sent.messageId, recipient: 'pat@example.com', at: NOW + 600,
    kind: { kind: 'opened', report: { userAgent: 'Mozilla/5.0', clientIp: '17.1.2.3' } },
  });
  assert.deepEqual(opened.kind, {
    kind: 'opened',
    report: { userAgent: 'Mozilla/5.0', clientIp: '17.1.2.3', url: null, classification: { agent: 'machine', proxied: false, reason: 'apple-mpp' } },
  });
  assert.deepEqual(opened.suppressions, []);
  assert.throws(() => channel.events.record({ id: 'e', messageId: sent.messageId, recipient: 'p@x.example', kind: { kind: 'clicked', report: { link: 'x' } } }), TypeError);
});

test('policy and health round-trip; counts; reports; one-click', async () => {
  const channel = createChannel({ clock });
  const { setup, useCase } = await clinic(channel, { type: 'marketing' });
  const policy = channel.suppression.getPolicy('ws-1', setup.id);
  assert.deepEqual(policy.hardBounceScope, { kind: 'setup' });
  assert.equal(policy.softBounceCount, 3);
  const changed = channel.suppression.setPolicy('ws-1', setup.id, { ...policy, softBounceCount: 5, unsubscribeScope: { kind: 'use-case', useCase: useCase.id } });
  assert.equal(changed.softBounceCount, 5);
  assert.deepEqual(channel.suppression.getPolicy('ws-1', setup.id), changed);
  assert.throws(() => channel.suppression.setPolicy('ws-1', setup.id, { ...policy, complaintWindowDays: 0 }), (err) => err.kind === 'invalid-policy');
  assert.deepEqual(channel.suppression.getHealth('ws-1', setup.id), { windowDays: 7, since: 1771891200, sent: 0, complained: 0, complaintRatePpm: 0, blocked: 0, blockedRatePpm: 0, blockedReasons: [], paused: null });

  const sent = channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'News', text: 'News.' });
  assert.match(sent.unsubscribeUrl, /^https:\/\/inbound\.mailroom\.example\/unsubscribe\/[A-Za-z0-9_-]+$/);
  const optOut = channel.unsubscribe.oneClick(sent.unsubscribeUrl, 'application/x-www-form-urlencoded', 'List-Unsubscribe=One-Click');
  assert.equal(optOut.new, true);
  assert.equal(optOut.httpStatus, 200);
  assert.equal(optOut.suppression.reason, 'unsubscribe');
  assert.throws(() => channel.unsubscribe.oneClick('garbage', null, ''), (err) => err.kind === 'invalid-token');

  const report = channel.events.ingestReport('From: a@example.com\r\nSubject: lunch?\r\n\r\nAre you free?\r\n');
  assert.deepEqual([report.format, report.class, report.outcome], ['not-a-report', 'not-a-bounce', { kind: 'ignored' }]);

  const period = channel.reporting.count('ws-1', { kind: 'setup', setup: setup.id }, NOW - 86400, NOW + 1);
  assert.ok(period.from <= NOW - 86400 && period.until > NOW, 'whole days around the range');
  assert.equal(period.counts.sent, 1);
  assert.equal(period.counts.unsubscribed, 1);
  assert.throws(() => channel.reporting.count('ws-1', { kind: 'use-case', useCase: 'uc_nope' }, 0, 1), (err) => err.kind === 'not-found');
});

test('createAsyncChannel: refused without JSPI, Promises with it', { skip: typeof WebAssembly.Suspending === 'function' ? false : 'covered under Deno and workerd' }, async () => {
  const channel = createAsyncChannel();
  assert.equal((await channel.parse('Subject: x\r\n\r\nhi')).subject, 'x');
});

test('createAsyncChannel without JSPI says what it needs', { skip: typeof WebAssembly.Suspending === 'function' && 'this runtime has JSPI' }, () => {
  assert.throws(() => createAsyncChannel(), /needs JSPI/);
});
