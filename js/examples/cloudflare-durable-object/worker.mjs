// A Durable Object that owns a mailroom channel on its own SQLite storage,
// and a Worker that routes the platform's calls to it (one object per
// workspace here: every call of a workspace runs in one place, in order).
// The Worker authenticates the caller and passes the workspace first, as
// every scoped export takes it.
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

  /** RPC: `outbound.send` for `workspace` (the Worker authenticated it). */
  send(workspace, request) {
    return this.channel.send(workspace, request);
  }
}

/**
 * The workspace a request acts for: its `Authorization: Bearer KEY` looked
 * up in the secret `API_KEYS` (JSON: key → workspace). Never a workspace the
 * request names itself: that is the trust boundary.
 */
function workspaceOf(request, env) {
  const auth = request.headers.get('authorization') ?? '';
  const key = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  const keys = JSON.parse(env.API_KEYS ?? '{}');
  return Object.hasOwn(keys, key) ? keys[key] : null;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== 'POST' || url.pathname !== '/messages') {
      return new Response('POST /messages with a send request\n', { status: 404 });
    }
    const workspace = workspaceOf(request, env);
    if (workspace === null) return new Response('unauthorized\n', { status: 401 });
    const stub = env.MAILROOM.get(env.MAILROOM.idFromName(workspace));
    try {
      return Response.json(await stub.send(workspace, await request.json()), { status: 201 });
    } catch (err) {
      return Response.json({ error: { kind: err.kind ?? 'host', message: err.message } }, { status: 400 });
    }
  },
};
