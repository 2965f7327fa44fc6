// Engagement tracking over fetch, for Cloudflare Workers and Deno: the open
// pixel `GET /t/o/TOKEN` and tracked links `GET|HEAD /t/c/TOKEN` that
// mailroom writes into marketing HTML (base `https://INBOUND-HOST/t` by
// default, `tracking.setBase` to change it).
//
//   deno run --allow-net --allow-read --allow-env examples/tracking/worker.mjs
//
// handleTracking answers the 43-byte GIF (no-cache) or a 302 to the URL
// stored with the message, a plain 404 page for a forged or unknown token,
// and null for any other path, so the Worker keeps its own routes. The
// component classifies each request human or machine (Apple's privacy
// prefetch, link scanners) and counts it; `reporting.countEngagement` reads
// the counts. A real deployment gives createAsyncChannel a KV-backed store
// (kvStore) shared with the sender.

import { createChannel, handleTracking } from '@mailroom/channel';

/** A fetch handler over `channel` (createChannel or createAsyncChannel). */
export function trackingHandler(channel) {
  return async (request) => (await handleTracking(channel, request)) ?? new Response('not found\n', { status: 404 });
}

// Cloudflare Workers: `export default { fetch }` with the channel built per isolate.
let channel = null;
export default {
  fetch(request) {
    channel ??= createChannel();
    return trackingHandler(channel)(request);
  },
};

if (globalThis.Deno && import.meta.main) Deno.serve({ port: 8080 }, trackingHandler(createChannel()));
