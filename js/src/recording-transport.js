// A transport that accepts every message and keeps it: the default
// `transport` of createChannel, and the transport of the scenario runner.
// Types: index.d.ts.

/** Accepts every message and keeps a copy in `sent`, in order. */
export class RecordingTransport {
  /** @type {{ messageId: string, envelope: { mailFrom: string, rcptTo: string[] }, raw: Uint8Array }[]} */
  sent = [];

  /** @param {{ messageId: string, envelope: { mailFrom: string, rcptTo: string[] }, raw: Uint8Array }} message */
  submit(message) {
    this.sent.push({
      messageId: message.messageId,
      envelope: { mailFrom: message.envelope.mailFrom, rcptTo: [...message.envelope.rcptTo] },
      raw: message.raw.slice(),
    });
  }
}
