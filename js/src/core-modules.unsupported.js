// `#core-modules` for runtimes without a loader yet: fails on first use, by
// name, instead of at import.

/** @returns {WebAssembly.Module} */
export function getCoreModule(path) {
  throw new Error(
    `@mailroom/channel: no loader for ${path} in this runtime yet (supported: Node.js, Deno, workerd, browsers)`,
  );
}
