// The page Chromium loads (bundled by test/browser.test.mjs with esbuild,
// and by Vite): imports the package as a browser bundle resolves it (the
// `browser` condition: core modules fetched and compiled with
// WebAssembly.compileStreaming), parses every conformance fixture from
// bytes and from each stream kind, and posts the answers back to the test's
// loopback server, attachment bytes in base64.

import { parse, parseAsync, MailroomParseError } from '@mailroom/channel';

const base64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const toBase64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

/** An answer as JSON-safe data: the message with contents in base64, or the parse error. */
function answer(fn) {
  const wire = (m) => ({ ...m, attachments: m.attachments.map((a) => ({ ...a, content: toBase64(a.content) })) });
  const fail = (err) => {
    if (!(err instanceof MailroomParseError)) throw err;
    return { error: { kind: err.kind, limit: err.limit, value: err.value, message: err.message } };
  };
  try {
    const out = fn();
    return out instanceof Promise ? out.then(wire, fail) : wire(out);
  } catch (err) {
    return fail(err);
  }
}

const KINDS = {
  ReadableStream: (b) => new Blob([b]).stream(),
  Blob: (b) => new Blob([b]),
  Response: (b) => new Response(b),
};

async function run() {
  const fixtures = await (await fetch('/fixtures.json')).json();
  const results = {};
  for (const { name, eml } of fixtures) {
    const bytes = base64(eml);
    results[name] = { bytes: answer(() => parse(bytes)) };
    for (const [kind, make] of Object.entries(KINDS)) results[name][kind] = await answer(() => parseAsync(make(bytes)));
  }
  return { userAgent: navigator.userAgent, jspi: typeof WebAssembly.Suspending === 'function', results };
}

run().then(
  (body) => fetch('/result', { method: 'POST', body: JSON.stringify(body) }),
  (err) => fetch('/result', { method: 'POST', body: JSON.stringify({ error: String(err?.stack ?? err) }) }),
);
