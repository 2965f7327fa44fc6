// `#core-modules` for workerd (and wrangler, whose bundler makes every
// imported `.wasm` a compiled module): the core modules are module imports,
// listed by `npm run build` in dist/core-modules.workerd.js.

import { modules } from '../dist/core-modules.workerd.js';

/** @returns {WebAssembly.Module} */
export function getCoreModule(path) {
  const module = modules[path];
  if (module === undefined) throw new Error(`@mailroom/channel: no core module ${path} in dist/core-modules.workerd.js`);
  return module;
}
