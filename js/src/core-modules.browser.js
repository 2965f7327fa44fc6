// `#core-modules` for browsers (condition `browser`, which esbuild, Vite and
// webpack set for browser builds): dist/core-modules.browser.js fetches the
// core modules and compiles them (WebAssembly.compileStreaming) while the
// package is imported, so the facade stays synchronous once the import
// resolved.

import { modules } from '../dist/core-modules.browser.js';

/** @returns {WebAssembly.Module} */
export function getCoreModule(path) {
  const module = modules[path];
  if (module === undefined) throw new Error(`@mailroom/channel: no core module ${path} in dist/core-modules.browser.js`);
  return module;
}
