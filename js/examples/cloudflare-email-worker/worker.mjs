// A Cloudflare Email Worker: Email Routing hands `email(message, env)` the
// raw inbound message; mailroom parses it and resolves it into the thread of
// the message it answers, and the worker forwards it to the agents' inbox
// with the thread id in a header (or rejects mail that is not for us).
//
// Bindings (wrangler.toml):
//   MAILROOM_KV  a VersionedKv (see kvStore in the package README), e.g. a
//                Durable Object over Workers RPC; its get/set/delete/list may
//                be async: createAsyncChannel runs the component under JSPI
//   AGENT_INBOX  a verified destination address of the zone
//
// wrangler bundles the package as is (its .wasm files become compiled
// modules through the package's `workerd` condition); no build step.

import { createAsyncChannel, kvStore, MailroomParseError } from '@mailroom/channel';

let channel = null;

export default {
  async email(message, env) {
    channel ??= createAsyncChannel({ store: kvStore(env.MAILROOM_KV) });
    let received;
    try {
      // message.raw is a ReadableStream: read up to max-bytes (50 MiB by
      // default; a longer message is refused without being read to its end).
      received = await channel.receive(message.raw, { mailFrom: message.from, rcptTo: [message.to] });
    } catch (err) {
      if (err instanceof MailroomParseError) return message.setReject(`not a message: ${err.message}`);
      throw err; // a store failure: Email Routing retries later
    }
    if (received.autoReply !== null || received.unsubscribed !== null) return; // handled; nobody reads these
    const headers = new Headers({ 'X-Mailroom-Message-Id': received.messageId });
    if (received.resolution.kind === 'matched') headers.set('X-Mailroom-Thread', received.resolution.association.threadId);
    await message.forward(env.AGENT_INBOX, headers);
  },
};
