// The artifact: `npm pack`'s tarball installs into an empty project and
// works there with no build step (parse, then a channel that creates a
// setup), and it holds what the README promises and nothing from the tests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));

test('npm pack → npm install into an empty project → import and call', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // --ignore-scripts: dist/ is built already (prepack would rebuild it).
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: pkg, encoding: 'utf8' }));
  const files = packed.files.map((f) => f.path);
  for (const f of ['src/index.js', 'src/index.d.ts', 'src/node.js', 'dist/mailroom.js', 'dist/async/mailroom.js', 'dist/mailroom.core.wasm', 'dist/wit.js', 'dist/core-modules.workerd.js', 'README.md']) {
    assert.ok(files.includes(f), `the tarball lacks ${f}`);
  }
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('examples/') || f.startsWith('node_modules/')), 'tests and examples stay out');
  t.diagnostic(`${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${files.length} files`);

  const project = join(dir, 'project');
  execFileSync('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed.filename)], { cwd: project, stdio: 'pipe' });
  writeFileSync(
    join(project, 'main.js'),
    `import { parse, createChannel, kvStore } from '@mailroom/channel';
import { nodeDns } from '@mailroom/channel/node';
const m = parse('From: Ann <ann@example.com>\\r\\nSubject: hi\\r\\n\\r\\nbody');
const channel = createChannel();
const setup = channel.setups.create('ws', 'clinic.example', { inboundHost: 'in.example' });
console.log(JSON.stringify([m.subject, m.from[0].address, setup.status, setup.records.length, typeof kvStore, typeof nodeDns().resolveTxt]));
`,
  );
  const out = execFileSync(process.execPath, ['main.js'], { cwd: project, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['hi', 'ann@example.com', 'pending', 4, 'function', 'function']);
});
