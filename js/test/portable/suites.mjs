// The conformance and scenario suites, runtime-neutral: Node, Deno and
// workerd each load the fixtures their own way (files, or a bundle) and
// call runSuites, which compares every answer with its golden as the Node
// tests do (canonical JSON byte for byte; scenario results as JSON text,
// key order included).
//
// Also the workspace scope through createChannel (scoping.mjs) and
// engagement tracking over fetch (tracking.mjs).
//
// inbound:   [{ name, eml: Uint8Array, json: string }]
// scenarios: [{ name, fixture: object }]
// Returns { passed: string[], failed: { name, message }[] }.

import { parse, MailroomParseError } from '../../src/index.js';
import { canonicalJson } from '../../src/canonical.js';
import { runScenario, runScenarioAsync } from '../../src/scenario.js';
import { inputKinds, overLimitIsNotReadToTheEnd, parsedAsync } from './streams.mjs';
import { workspaceScope } from './scoping.mjs';
import { trackingOverFetch } from './tracking.mjs';

function parsed(raw) {
  try {
    return canonicalJson(parse(raw));
  } catch (err) {
    if (err instanceof MailroomParseError) return canonicalJson(err);
    throw err;
  }
}

/** The first differing step of a scenario run, or null. */
function scenarioDiff(fixture, run) {
  for (const [i, step] of fixture.steps.entries()) {
    const got = run.steps[i];
    if (got?.name !== step.name || JSON.stringify(got.result) !== JSON.stringify(step.expect)) {
      return `step "${step.name}": expected ${JSON.stringify(step.expect)}\n  actual ${JSON.stringify(got?.result)}`;
    }
  }
  if (JSON.stringify(run.transport) !== JSON.stringify(fixture.transport ?? [])) return 'the recording transport differs';
  return null;
}

/**
 * @param {{ inbound: object[], scenarios: object[], asyncStore?: () => object, log?: (line: string) => void }} suites
 *   asyncStore: when given, every scenario runs a second time on the JSPI glue over the store it makes.
 */
export async function runSuites({ inbound, scenarios, asyncStore, log = () => {} }) {
  const passed = [];
  const failed = [];
  const check = async (name, run) => {
    try {
      const problem = await run();
      if (problem === null) passed.push(name);
      else failed.push({ name, message: problem });
    } catch (err) {
      failed.push({ name, message: err?.stack ?? String(err) });
    }
    log(`${failed.at(-1)?.name === name ? 'FAIL' : 'ok  '} ${name}`);
  };
  if (inbound.length === 0 || scenarios.length === 0) failed.push({ name: 'fixtures', message: 'no conformance or scenario fixture was loaded' });
  for (const c of inbound) {
    await check(`conformance ${c.name}`, () => (parsed(c.eml) === c.json ? null : `${c.name}: canonical JSON differs from the golden`));
  }
  // Stream inputs: every kind parses each fixture to its golden.
  for (const [kind, make] of inputKinds()) {
    await check(`stream input: ${kind}, every conformance fixture`, async () => {
      const differ = [];
      for (const c of inbound) if ((await parsedAsync(canonicalJson, make(c.eml))) !== c.json) differ.push(c.name);
      return differ.length === 0 ? null : `differs from the golden: ${differ.join(', ')}`;
    });
  }
  await check('stream input over max-bytes: refused, not read to the end', overLimitIsNotReadToTheEnd);
  for (const s of scenarios) {
    await check(`scenario ${s.name}`, () => scenarioDiff(s.fixture, runScenario(s.fixture)));
    if (asyncStore) {
      await check(`scenario ${s.name} (async store, JSPI)`, async () =>
        scenarioDiff(s.fixture, await runScenarioAsync(s.fixture, { store: asyncStore() })));
    }
  }
  await check('workspace scope through createChannel', workspaceScope);
  await check('engagement tracking over fetch (handleTracking)', trackingOverFetch);
  return { passed, failed };
}
