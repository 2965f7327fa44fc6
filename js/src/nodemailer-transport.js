// A Transport over a nodemailer transporter (SMTP, SES, ...): submit queues,
// delivery happens after the call, and the outcome goes to `report`. Types
// and documentation: index.d.ts `nodemailerTransport`.

const bare = (id) => id.replace(/^<|>$/g, '');

/**
 * @param {{ sendMail(mail: object): Promise<object> }} transporter
 * @param {{ report?: (messageId: string, outcome: object) => unknown, providerMessageId?: (info: object) => string | null | undefined }} [options]
 */
export function nodemailerTransport(transporter, { report = () => {}, providerMessageId = () => null } = {}) {
  if (transporter === null || typeof transporter?.sendMail !== 'function') {
    throw new TypeError('nodemailerTransport: transporter must have sendMail(mail)');
  }
  const inFlight = new Set();

  async function deliver({ messageId, envelope, raw }) {
    let outcome;
    try {
      const info = await transporter.sendMail({ envelope: { from: envelope.mailFrom, to: envelope.rcptTo }, raw });
      const rejected = info?.rejected ?? [];
      const given = providerMessageId(info);
      const provider = typeof given === 'string' ? bare(given) : null;
      outcome =
        rejected.length > 0 && rejected.length === envelope.rcptTo.length
          ? { kind: 'failed', reason: `rejected: ${rejected.join(', ')}${info.response ? ` (${info.response})` : ''}` }
          : { kind: 'accepted', providerMessageId: provider !== null && provider !== messageId ? provider : null };
    } catch (err) {
      outcome = { kind: 'failed', reason: err instanceof Error ? err.message : String(err) };
    }
    await report(messageId, outcome);
  }

  return {
    submit(message) {
      const copy = {
        messageId: message.messageId,
        envelope: { mailFrom: message.envelope.mailFrom, rcptTo: [...message.envelope.rcptTo] },
        raw: message.raw.slice(),
      };
      // After the component's call has returned: report() calls the channel.
      const delivery = Promise.resolve().then(() => deliver(copy));
      inFlight.add(delivery);
      delivery.finally(() => inFlight.delete(delivery)).catch(() => {});
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
