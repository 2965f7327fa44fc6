// A Node.js SMTP receiver that feeds inbound mail to mailroom: the MX of a
// setup's `inboundHost` points here, and every accepted message goes to
// `channel.receive` with its SMTP envelope.
//
//   node examples/node-smtp/receiver.mjs          # listens on 127.0.0.1:2525
//
// Needs `npm install smtp-server` beside @mailroom/channel. A real MX also
// needs TLS (smtp-server's `key`/`cert`), size limits and spam filtering in
// front; mailroom parses hostile input safely but is not a spam filter.

import { SMTPServer } from 'smtp-server';
import { createChannel, MailroomParseError } from '@mailroom/channel';

/**
 * Starts an SMTP server that calls `channel.receive` for each message and
 * `onReceived(received)` with the answer (a Promise from createAsyncChannel
 * is awaited). A message mailroom cannot parse is refused with 550; a store
 * failure is a 451, so the sender retries.
 */
export function startReceiver({ channel, port = 2525, host = '127.0.0.1', onReceived = () => {} }) {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    size: 25 * 1024 * 1024,
    async onData(stream, session, done) {
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const envelope = {
        mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
      };
      try {
        const received = await channel.receive(Buffer.concat(chunks), envelope);
        await onReceived(received);
        done(null, `stored as ${received.messageId}`);
      } catch (err) {
        const refusal = new Error(err.message);
        refusal.responseCode = err instanceof MailroomParseError ? 550 : 451;
        done(refusal);
      }
    },
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, port: server.server.address().port }));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const channel = createChannel();
  const { port } = await startReceiver({
    channel,
    onReceived: (r) =>
      console.log(r.messageId, r.resolution.kind === 'matched' ? `thread ${r.resolution.association.threadId}` : r.resolution.reason),
  });
  console.log(`mailroom SMTP receiver on 127.0.0.1:${port}`);
}
