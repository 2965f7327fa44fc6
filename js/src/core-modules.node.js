// `#core-modules` for Node (and Deno, which resolves the "node" condition
// and has node:fs): reads `dist/*.wasm` synchronously, so `parse` stays
// synchronous and instantiation happens on the first call.

// `process.getBuiltinModule` (Node.js 20.16+, Deno 2) rather than `import ...
// from 'node:fs'`: the ESM facade of a built-in reads every export, and
// node:fs's lazy `ReadStream` getter then loads all of node:stream, 3-5 ms
// of a cold start for one synchronous read (BENCHMARKS.md, issue 20).
const { readFileSync } = builtin('node:fs');

function builtin(name) {
  if (typeof globalThis.process?.getBuiltinModule !== 'function') {
    throw new Error(`@mailroom/channel needs Node.js 20.16 or 22.3 or later (process.getBuiltinModule), not ${globalThis.process?.version}`);
  }
  return process.getBuiltinModule(name);
}

/**
 * Compiles one core module of the transpiled component.
 * @param {string} path  a file name jco chose, such as `mailroom.core.wasm`
 * @returns {WebAssembly.Module}
 */
export function getCoreModule(path) {
  const url = new URL(`../dist/${path}`, import.meta.url);
  let bytes;
  try {
    bytes = readFileSync(url);
  } catch (err) {
    throw new Error(`@mailroom/channel: cannot read ${url.pathname}; ${remedy(err, url)}`, { cause: err });
  }
  return new WebAssembly.Module(bytes);
}

/** What to do about a failed read: a missing permission is not a missing build. */
function remedy(err, url) {
  const dir = new URL('.', url).pathname;
  // Deno 2 throws NotCapable (Deno 1: PermissionDenied) without --allow-read.
  if (err?.name === 'NotCapable' || err?.name === 'PermissionDenied') {
    return `Deno has no read permission for it: run with --allow-read (or --allow-read=${dir})`;
  }
  // Node.js's permission model (--permission) without --allow-fs-read.
  if (err?.code === 'ERR_ACCESS_DENIED') {
    return `Node.js's permission model denies reading it: add --allow-fs-read=${dir}`;
  }
  return 'build it with `npm run build`';
}
