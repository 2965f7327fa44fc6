// The Node examples, with real SMTP peers: nodemailer (a real SMTP client)
// delivers a patient's reply to examples/node-smtp/receiver.mjs, which
// resolves it into the thread of the message it answers; and
// nodemailerTransport delivers what `send` submits to an smtp-server sink.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createChannel, nodemailerTransport } from '@mailroom/channel';
import { startReceiver } from '../examples/node-smtp/receiver.mjs';
import { clinic } from '../examples/clinic.mjs';

const smtpClient = (port) => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });

test('a patient reply over SMTP (nodemailer → smtp-server → receive) lands in its thread', async (t) => {
  const channel = createChannel();
  const { useCase } = await clinic(channel);
  const sent = channel.send('ws-1', {
    useCase: useCase.id,
    to: [{ name: 'Pat Doe', address: 'pat@example.com' }],
    subject: 'Your appointment on Tuesday',
    text: 'Tuesday at 9. Reply to this email to reschedule.',
  });
  const other = channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'sam@example.com' }], subject: 'Lab results', text: '…' });
  assert.notEqual(sent.threadId, other.threadId);

  const received = [];
  const { server, port } = await startReceiver({ channel, port: 0, onReceived: (r) => received.push(r) });
  t.after(() => new Promise((resolve) => server.close(resolve)));

  const info = await smtpClient(port).sendMail({
    envelope: { from: 'pat@example.com', to: ['care@clinic.example'] },
    from: 'Pat Doe <pat@example.com>',
    to: 'care@clinic.example',
    subject: 'Re: Your appointment on Tuesday',
    inReplyTo: `<${sent.messageId}>`,
    references: [`<${sent.messageId}>`],
    text: 'Could we make it 10 instead?\n\nOn Monday, Riverside Clinic wrote:\n> Tuesday at 9.\n',
  });
  assert.deepEqual(info.accepted, ['care@clinic.example']);
  assert.match(info.response, /^250 .*stored as /);

  assert.equal(received.length, 1);
  const [reply] = received;
  assert.equal(reply.resolution.kind, 'matched');
  assert.equal(reply.resolution.association.threadId, sent.threadId);
  assert.equal(reply.resolution.association.parentMessageId, sent.messageId);
  assert.equal(reply.resolution.association.senderMismatch, false);
  assert.equal(reply.newText, 'Could we make it 10 instead?');
  assert.deepEqual(reply.references, [sent.messageId, reply.messageId]);

  // Not mail: the receiver refuses it with a permanent error.
  await assert.rejects(
    smtpClient(port).sendMail({ envelope: { from: 'x@example.com', to: ['care@clinic.example'] }, raw: '\r\n' }),
    (err) => err.responseCode === 550,
  );
});

test('nodemailerTransport delivers over SMTP after send returns, then reports', async (t) => {
  const delivered = [];
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    async onData(stream, session, done) {
      const chunks = [];
      for await (const c of stream) chunks.push(c);
      delivered.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString() });
      done();
    },
    onRcptTo(address, session, done) {
      done(address.address.startsWith('nobody@') ? Object.assign(new Error('no such user'), { responseCode: 550 }) : null);
    },
  });
  await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => sink.close(resolve)));

  const reports = [];
  const transport = nodemailerTransport(smtpClient(sink.server.address().port), {
    report: (messageId, outcome) => {
      reports.push({ messageId, outcome });
      channel.report(messageId, outcome);
    },
  });
  const channel = createChannel({ transport });
  const { useCase } = await clinic(channel);
  const sent = channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'Hello', text: 'Hi Pat.' });
  const bounced = channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'nobody@example.com' }], subject: 'Hello', text: 'Hi.' });
  assert.equal(delivered.length, 0, 'submit queues; delivery happens after send returns');
  await transport.idle();

  assert.equal(delivered.length, 1);
  assert.deepEqual(delivered[0].rcptTo, ['pat@example.com']);
  assert.match(delivered[0].raw, new RegExp(`^Message-ID: <${sent.messageId}>`, 'mi'));
  assert.match(delivered[0].raw, /^DKIM-Signature: v=1; a=rsa-sha256;/m);
  assert.deepEqual(reports.find((r) => r.messageId === sent.messageId).outcome, { kind: 'accepted', providerMessageId: null });
  const failure = reports.find((r) => r.messageId === bounced.messageId).outcome;
  assert.equal(failure.kind, 'failed');
  assert.match(failure.reason, /no such user|550/);
});
