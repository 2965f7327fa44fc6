// The artifact: `npm pack`'s tarball installs into an empty project and
// works there with no build step (parse, then a channel that creates a
// setup), holds what the README promises (both licenses) and nothing from
// the tests, brings no dependency, and the README's quick start runs there
// as written and prints what the README says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));

/** The fenced blocks of `lang` in the README's section `heading`, in order. */
export function readmeBlocks(heading, lang) {
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has a "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

let project = null;
let dir = null;

test('npm pack → npm install into an empty project → import and call', (t) => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-pack-'));
  // --ignore-scripts: dist/ is built already (prepack would rebuild it).
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: pkg, encoding: 'utf8' }));
  const files = packed.files.map((f) => f.path);
  for (const f of ['src/index.js', 'src/index.d.ts', 'src/node.js', 'src/wasi.js', 'src/local-dns.js', 'dist/mailroom.js', 'dist/async/mailroom.js',
    'dist/mailroom.core.wasm', 'dist/wit.js', 'dist/core-modules.workerd.js', 'dist/core-modules.browser.js', 'README.md', 'LICENSE-APACHE', 'LICENSE-MIT']) {
    assert.ok(files.includes(f), `the tarball lacks ${f}`);
  }
  for (const f of ['LICENSE-APACHE', 'LICENSE-MIT']) {
    assert.equal(readFileSync(join(pkg, f), 'utf8'), readFileSync(join(pkg, '..', f), 'utf8'), `js/${f} is the repository's ${f}`);
  }
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('examples/') || f.startsWith('node_modules/')), 'tests and examples stay out');
  t.diagnostic(`${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${files.length} files`);

  project = join(dir, 'project');
  execFileSync('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed.filename)], { cwd: project, stdio: 'pipe' });

  // Only what package.json declares is installed: no dependencies at all.
  assert.equal(manifest.dependencies, undefined, 'no dependencies');
  const tree = JSON.parse(execFileSync('npm', ['ls', '--all', '--json'], { cwd: project, encoding: 'utf8' }));
  assert.deepEqual(Object.keys(tree.dependencies), ['@mailroom/channel']);
  assert.equal(tree.dependencies['@mailroom/channel'].dependencies, undefined, 'npm ls: @mailroom/channel has no dependencies');
  for (const f of ['LICENSE-APACHE', 'LICENSE-MIT']) {
    assert.ok(readFileSync(join(project, 'node_modules/@mailroom/channel', f), 'utf8').length > 1000, `${f} installed`);
  }

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
  assert.deepEqual(JSON.parse(out), ['hi', 'ann@example.com', 'pending', 6, 'function', 'function']);
});

test("the README's quick start runs as written in that project and prints what the README shows", (t) => {
  t.after(() => dir && rmSync(dir, { recursive: true, force: true }));
  assert.ok(project, 'the packed project was installed');
  const [install] = readmeBlocks('Quick start', 'sh');
  assert.equal(install.trim(), `npm install ${manifest.name}`);
  const [code] = readmeBlocks('Quick start', 'js');
  const [expected] = readmeBlocks('Quick start', 'text');
  writeFileSync(join(project, 'quickstart.mjs'), code);
  const out = execFileSync(process.execPath, ['quickstart.mjs'], { cwd: project, encoding: 'utf8' });
  assert.equal(out, expected);
});

test('npm publish --dry-run is clean: no warning, the manifest has what the registry shows', () => {
  for (const field of ['repository', 'homepage', 'bugs', 'license', 'description', 'types', 'engines']) {
    assert.ok(manifest[field], `package.json has ${field}`);
  }
  const run = spawnSync('npm', ['publish', '--dry-run', '--ignore-scripts', '--access', 'public'], { cwd: pkg, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /\+ @mailroom\/channel@/);
  // Every warning is about the package, but the one that says no one is
  // logged in here (the dry run does not need it).
  const warnings = run.stderr.split('\n').filter((l) => /^npm (warn|WARN|error|ERR)/.test(l) && !/requires you to be logged in/.test(l));
  assert.deepEqual(warnings, [], 'npm publish --dry-run warns');
});
