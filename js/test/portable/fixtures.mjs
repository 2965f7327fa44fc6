// Reads the shared fixtures (tests/fixtures/) with node:fs, for the Node and
// Deno runners and for bundling into the workerd test.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

const ROOT = new URL('../../../tests/fixtures/', import.meta.url);

export function loadFixtures() {
  const inboundDir = new URL('inbound/', ROOT);
  const inbound = readdirSync(inboundDir)
    .filter((f) => f.endsWith('.eml') && existsSync(new URL(f.replace(/\.eml$/, '.json'), inboundDir)))
    .sort()
    .map((f) => ({
      name: f.slice(0, -4),
      eml: new Uint8Array(readFileSync(new URL(f, inboundDir))),
      json: readFileSync(new URL(f.replace(/\.eml$/, '.json'), inboundDir), 'utf8'),
    }));
  const scenarios = [];
  for (const suite of readdirSync(ROOT).sort()) {
    if (suite === 'inbound' || suite === 'reports-corpus' || suite === 'upgrade' || !statSync(new URL(suite, ROOT)).isDirectory()) continue;
    for (const f of readdirSync(new URL(`${suite}/`, ROOT)).filter((f) => f.endsWith('.json')).sort()) {
      scenarios.push({ name: `${suite}/${f.slice(0, -5)}`, fixture: JSON.parse(readFileSync(new URL(`${suite}/${f}`, ROOT), 'utf8')) });
    }
  }
  return { inbound, scenarios };
}
