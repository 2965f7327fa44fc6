// The suites under a Node.js with JSPI (24 or later), scenarios on both
// glues: `npm run test:node24` (which fetches Node.js 24 from npm with npx;
// not part of test:all, whose Node.js run is `npm test`).

import { loadFixtures } from './fixtures.mjs';
import { memoryKv } from './memory-kv.mjs';
import { kvStore } from '../../src/index.js';
import { runSuites } from './suites.mjs';
import { checkNoLateWrites } from './no-late-writes.mjs';

if (typeof WebAssembly.Suspending !== 'function') throw new Error(`Node.js ${process.version} has no JSPI; use Node.js 24 or later`);
const { passed, failed } = await runSuites({ ...loadFixtures(), asyncStore: () => kvStore(memoryKv()) });
// A failed call leaves nothing behind, then an async channel on the same KV
// works (issue 17).
try {
  passed.push(...(await checkNoLateWrites()).map((check) => `no late writes: ${check}`));
} catch (err) {
  failed.push({ name: 'no late writes', message: err?.stack ?? String(err) });
}
for (const f of failed) console.error(`FAIL ${f.name}\n${f.message}\n`);
console.log(`node ${process.version}: ${passed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length === 0 ? 0 : 1;
