// The suites under Deno: `deno run --allow-read --allow-env=JCO_DEBUG test/portable/deno.mjs`.
// Exit status 0 when every case passed.

import { loadFixtures } from './fixtures.mjs';
import { memoryKv } from './memory-kv.mjs';
import { kvStore } from '../../src/index.js';
import { runSuites } from './suites.mjs';

const { passed, failed } = await runSuites({ ...loadFixtures(), asyncStore: () => kvStore(memoryKv()) });
for (const f of failed) console.error(`FAIL ${f.name}\n${f.message}\n`);
console.log(`deno ${Deno.version.deno}: ${passed.length} passed, ${failed.length} failed`);
Deno.exit(failed.length === 0 ? 0 : 1);
