// A Deno HTTP handler for RFC 8058 one-click unsubscribe: mail clients POST
// `List-Unsubscribe=One-Click` to the List-Unsubscribe URL mailroom puts in
// marketing mail (`https://INBOUND-HOST/unsubscribe/TOKEN` by default).
//
//   deno run --allow-net --allow-read --allow-env=JCO_DEBUG examples/deno-one-click/handler.mjs
//
// The answers follow wit/unsubscribe.wit: 200 with the opt-out's body (no
// redirect), 404 for a token that does not verify, 400 for a body that is
// not the one-click form, 503 when the store failed; GET is 405, since a
// link scanner's GET must not unsubscribe anyone.

import { createChannel, MailroomError } from '@mailroom/channel';

const STATUS = { 'invalid-token': 404, 'invalid-body': 400, store: 503 };

/** A `Deno.serve` handler over `channel` (createChannel or createAsyncChannel). */
export function oneClickHandler(channel) {
  return async (request) => {
    const url = new URL(request.url);
    const match = url.pathname.match(/^\/unsubscribe\/([^/]+)$/);
    if (match === null) return new Response('not found\n', { status: 404 });
    if (request.method !== 'POST') return new Response('use POST\n', { status: 405, headers: { allow: 'POST' } });
    const body = new Uint8Array(await request.arrayBuffer());
    try {
      const optOut = await channel.unsubscribe.oneClick(match[1], request.headers.get('content-type'), body);
      return new Response(optOut.body, { status: optOut.httpStatus, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    } catch (err) {
      if (!(err instanceof MailroomError)) throw err;
      return new Response(`${err.message}\n`, { status: STATUS[err.kind] ?? 500 });
    }
  };
}

if (import.meta.main) Deno.serve({ port: 8080 }, oneClickHandler(createChannel()));
