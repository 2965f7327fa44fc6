// In workerd: examples/cloudflare-email-worker/worker.mjs gets a patient's
// reply as Email Routing hands it over (a ForwardableEmailMessage whose raw
// is a stream) and forwards it with the thread id of the message it answers;
// mail answering nothing is forwarded without one, and non-mail is rejected.
// The store is a VersionedKv in memory, asynchronous (JSPI).

import worker from '../../examples/cloudflare-email-worker/worker.mjs';
import { createAsyncChannel, kvStore } from '../../src/index.js';
import { memoryKv } from './memory-kv.mjs';
import { clinic } from '../../examples/clinic.mjs';

function fakeMessage(from, to, raw) {
  const message = {
    from,
    to,
    raw: new Response(raw).body,
    headers: new Headers(),
    rawSize: raw.length,
    forwarded: [],
    rejected: null,
    setReject(reason) {
      message.rejected = reason;
    },
    async forward(address, headers) {
      message.forwarded.push({ address, thread: headers.get('X-Mailroom-Thread') });
    },
  };
  return message;
}

function check(ok, what) {
  if (!ok) throw new Error(what);
}

export default {
  async test() {
    const env = { MAILROOM_KV: memoryKv(), AGENT_INBOX: 'agents@clinic.example' };
    const channel = createAsyncChannel({ store: kvStore(env.MAILROOM_KV) });
    const { useCase } = await clinic(channel);
    const sent = await channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'Your results', text: 'All clear.' });

    const reply = fakeMessage('pat@example.com', 'care@clinic.example',
      `From: Pat <pat@example.com>\r\nTo: care@clinic.example\r\nSubject: Re: Your results\r\nMessage-ID: <r1@example.com>\r\n` +
        `In-Reply-To: <${sent.messageId}>\r\n\r\nThank you!\r\n`);
    await worker.email(reply, env);
    check(JSON.stringify(reply.forwarded) === JSON.stringify([{ address: 'agents@clinic.example', thread: sent.threadId }]),
      `reply: forwarded ${JSON.stringify(reply.forwarded)}, thread ${sent.threadId}`);

    const fresh = fakeMessage('sam@example.com', 'care@clinic.example', 'From: sam@example.com\r\nTo: care@clinic.example\r\nSubject: Hello\r\n\r\nHi.\r\n');
    await worker.email(fresh, env);
    check(JSON.stringify(fresh.forwarded) === JSON.stringify([{ address: 'agents@clinic.example', thread: null }]), 'unmatched mail is forwarded');

    const junk = fakeMessage('x@example.com', 'care@clinic.example', '');
    await worker.email(junk, env);
    check(junk.rejected !== null && junk.forwarded.length === 0, 'empty input is rejected');

    // message.raw goes to the channel as the stream it is: a message over
    // max-bytes is rejected after max-bytes + 1 bytes, not read to its end.
    let pulled = 0;
    const huge = fakeMessage('x@example.com', 'care@clinic.example', '');
    huge.raw = new ReadableStream({
      pull(controller) {
        pulled += 65536;
        controller.enqueue(new Uint8Array(65536).fill(0x61));
      },
    }, { highWaterMark: 0 });
    await worker.email(huge, env);
    check(huge.rejected !== null && /max-bytes/.test(huge.rejected), `a stream over max-bytes is rejected: ${huge.rejected}`);
    check(pulled <= 50 * 1024 * 1024 + 65536, `pulled ${pulled} bytes of an endless stream`);
    console.log('workerd: the Cloudflare Email Worker example passed');
  },
};
