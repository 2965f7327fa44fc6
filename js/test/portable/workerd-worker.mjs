// The suites inside workerd: test/portable/workerd.mjs bundles this worker
// with the fixtures (there is no file system) and runs its `test` handler
// with `workerd test`.

import fixtures from 'mailroom-fixtures'; // aliased by workerd.mjs
import { memoryKv } from './memory-kv.mjs';
import { kvStore } from '../../src/index.js';
import { runSuites } from './suites.mjs';

const base64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

export default {
  async test() {
    const inbound = fixtures.inbound.map((c) => ({ ...c, eml: base64(c.eml) }));
    const { passed, failed } = await runSuites({ inbound, scenarios: fixtures.scenarios, asyncStore: () => kvStore(memoryKv()) });
    for (const f of failed) console.error(`FAIL ${f.name}\n${f.message}\n`);
    console.log(`workerd: ${passed.length} passed, ${failed.length} failed`);
    if (failed.length > 0) throw new Error(`${failed.length} failed`);
  },
};
