// Runs a worker's `test` handler in workerd: bundles it (esbuild, with the
// conditions wrangler uses: workerd, worker, browser; `mailroom-fixtures`
// aliased to the shared fixtures) into a temporary directory, writes a
// workerd config with the core modules as wasm modules, and runs `workerd
// test`. Run by Node: `node test/portable/workerd.mjs [WORKER [CLASS]]`,
// WORKER defaulting to test/portable/workerd-worker.mjs (the suites); CLASS,
// a Durable Object class WORKER exports, gets a SQLite-backed namespace
// (on disk in the temporary directory) bound as MAILROOM. Exit status 0 when the handler passed.

import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFixtures } from './fixtures.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const durable = process.argv[3];
const dir = mkdtempSync(join(tmpdir(), 'mailroom-workerd-'));
try {
  const { inbound, scenarios } = loadFixtures();
  writeFileSync(
    join(dir, 'fixtures.json'),
    JSON.stringify({ inbound: inbound.map((c) => ({ ...c, eml: Buffer.from(c.eml).toString('base64') })), scenarios }),
  );
  await build({
    entryPoints: [process.argv[2] ?? here('./workerd-worker.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['node:*', 'cloudflare:*', '*.wasm'],
    alias: { 'mailroom-fixtures': join(dir, 'fixtures.json') },
    outfile: join(dir, 'worker.js'),
    logLevel: 'warning',
  });
  if (durable) mkdirSync(join(dir, 'do'));
  const wasm = readdirSync(here('../../dist/')).filter((f) => f.endsWith('.wasm'));
  for (const f of wasm) copyFileSync(here(`../../dist/${f}`), join(dir, f));
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .worker)${
    durable ? `, (name = "do-disk", disk = (path = "${join(dir, 'do')}", writable = true))` : ''
  }]);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
${wasm.map((f) => `    (name = "${f}", wasm = embed "${f}"),`).join('\n')}
  ],
  compatibilityDate = "2025-09-01",
${
  durable
    ? `  durableObjectNamespaces = [(className = "${durable}", uniqueKey = "mailroom-test", enableSql = true)],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [(name = "MAILROOM", durableObjectNamespace = "${durable}")],
`
    : ''
}
  compatibilityFlags = ["nodejs_compat"],
);
`,
  );
  const workerd = here('../../node_modules/.bin/workerd');
  const run = spawnSync(workerd, ['test', '--experimental', join(dir, 'config.capnp')], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
