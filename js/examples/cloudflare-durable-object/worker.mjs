// A Durable Object that owns a mailroom channel on its own SQLite storage,
// and a Worker that routes the platform's calls to it (one object per
// workspace here: every call of a workspace runs in one place, in order).
//
// wrangler.toml:
//   [[durable_objects.bindings]]
//   name = "MAILROOM"
//   class_name = "MailroomChannel"
//   [[migrations]]
//   tag = "v1"
//   new_sqlite_classes = ["MailroomChannel"]
//
// `createChannel` fits: the SQL storage answers synchronously, so no JSPI
// and no async store are needed.

import { DurableObject } from 'cloudflare:workers';
import { createChannel, RecordingTransport } from '@mailroom/channel';
import { durableObjectStore } from './store.mjs';

export class MailroomChannel extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // A real deployment passes a transport that hands messages to an email
    // API (its submit must not wait for delivery).
    this.channel = createChannel({ store: durableObjectStore(ctx.storage), transport: new RecordingTransport() });
  }

  /** RPC: `outbound.send`. */
  send(request) {
    return this.channel.send(request);
  }

  /** RPC: any channel method by name, e.g. `call('setups', 'create', [...])`. */
  call(group, method, args) {
    const target = group === null ? this.channel : this.channel[group];
    return target[method](...args);
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const workspace = url.searchParams.get('workspace');
    if (request.method !== 'POST' || url.pathname !== '/messages' || !workspace) {
      return new Response('POST /messages?workspace=ID with a send request\n', { status: 404 });
    }
    const stub = env.MAILROOM.get(env.MAILROOM.idFromName(workspace));
    try {
      return Response.json(await stub.send(await request.json()), { status: 201 });
    } catch (err) {
      return Response.json({ error: { kind: err.kind ?? 'host', message: err.message } }, { status: 400 });
    }
  },
};
