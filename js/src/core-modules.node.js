// `#core-modules` for Node (and Deno, which resolves the "node" condition
// and has node:fs): reads `dist/*.wasm` synchronously, so `parse` stays
// synchronous and instantiation happens on the first call.

import { readFileSync } from 'node:fs';

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
    throw new Error(
      `@mailroom/channel: cannot read ${url.pathname}; build it with \`npm run build\``,
      { cause: err },
    );
  }
  return new WebAssembly.Module(bytes);
}
