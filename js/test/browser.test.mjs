// In a real browser: headless Chromium (Debian's `chromium`, installed by
// .ci/run and tests/run-all.sh) loads a page that imports the package from
// a consumer project's node_modules, bundled without configuration by
// esbuild and by Vite, parses every conformance fixture from bytes and from
// each stream kind, and posts the answers to a loopback server here. Each
// answer must equal Node's and the golden canonical JSON.
//
// NOT RUN (skipped) when there is no Chromium (CHROMIUM=/path overrides
// /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { parse, MailroomParseError } from '../src/index.js';
import { canonicalJson } from '../src/canonical.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const skip = !existsSync(chromium) && `NOT RUN: no Chromium at ${chromium} (apt-get install chromium)`;

const fixturesDir = here('../../tests/fixtures/inbound/');
const fixtures = readdirSync(fixturesDir)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((f) => ({ name: f.slice(0, -4), bytes: readFileSync(join(fixturesDir, f)), golden: readFileSync(join(fixturesDir, `${f.slice(0, -4)}.json`), 'utf8') }));

/** Node's answer in the page's wire form (attachment bytes in base64). */
function nodeAnswer(bytes) {
  try {
    const m = parse(bytes);
    return { ...m, attachments: m.attachments.map((a) => ({ ...a, content: Buffer.from(a.content).toString('base64') })) };
  } catch (err) {
    if (!(err instanceof MailroomParseError)) throw err;
    return { error: { kind: err.kind, limit: err.limit, value: err.value, message: err.message } };
  }
}

/** The canonical JSON of a wire answer. */
function canonicalOfWire(w) {
  if (w.error) return canonicalJson(Object.assign(new Error(w.error.message), w.error));
  return canonicalJson({ ...w, attachments: w.attachments.map((a) => ({ ...a, content: Buffer.from(a.content, 'base64') })) });
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** Serves `root` on 127.0.0.1 with /fixtures.json, and resolves `result` with the page's POST /result. */
async function serve(root) {
  let deliver;
  const result = new Promise((resolve) => (deliver = resolve));
  const fixturesJson = JSON.stringify(fixtures.map((f) => ({ name: f.name, eml: f.bytes.toString('base64') })));
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/result') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.end('ok');
        deliver(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
      return;
    }
    if (url.pathname === '/fixtures.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(fixturesJson);
    }
    const path = normalize(join(root, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname)));
    if (!path.startsWith(root) || !existsSync(path)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    res.end(readFileSync(path));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, result, close: () => server.close() };
}

/** Opens `url` in headless Chromium until the page posts its result (or 120 s pass). */
async function inChromium(site, profile) {
  const browser = spawn(
    chromium,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, site.url],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  browser.stderr.on('data', (c) => (stderr += c));
  let timer;
  const exited = new Promise((resolve) => browser.on('exit', (code) => resolve({ error: `chromium exited (${code}): ${stderr.slice(-2000)}` })));
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve({ error: `no result in 120 s: ${stderr.slice(-2000)}` }), 120_000)));
  try {
    return await Promise.race([site.result, exited, timeout]);
  } finally {
    clearTimeout(timer);
    browser.kill('SIGKILL');
  }
}

/** A consumer project: the page and index.html, the package in node_modules (a symlink to this one). */
function project(dir) {
  mkdirSync(join(dir, 'node_modules/@mailroom'), { recursive: true });
  symlinkSync(here('..'), join(dir, 'node_modules/@mailroom/channel'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'browser-app', private: true, type: 'module' }));
  copyFileSync(here('./browser/page.mjs'), join(dir, 'page.mjs'));
  copyFileSync(here('./browser/index.html'), join(dir, 'index.html'));
}

function check(t, name, got) {
  assert.equal(got.error, undefined, got.error);
  t.diagnostic(`${name}: ${got.userAgent} (JSPI: ${got.jspi})`);
  const differ = [];
  for (const f of fixtures) {
    const node = JSON.stringify(nodeAnswer(f.bytes));
    for (const [kind, answer] of Object.entries(got.results[f.name] ?? {})) {
      if (JSON.stringify(answer) !== node || canonicalOfWire(answer) !== f.golden) differ.push(`${f.name} (${kind})`);
    }
    if (Object.keys(got.results[f.name] ?? {}).length !== 4) differ.push(`${f.name}: missing`);
  }
  assert.deepEqual(differ, [], 'answers in Chromium that differ from Node and the goldens');
}

test('esbuild (platform browser, no configuration) bundles it; Chromium parses every fixture as Node does', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-browser-esbuild-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  project(dir);
  const out = join(dir, 'out');
  await esbuild({ entryPoints: [join(dir, 'page.mjs')], bundle: true, format: 'esm', platform: 'browser', outdir: out, logLevel: 'warning' });
  // esbuild leaves `new URL('./NAME.wasm', import.meta.url)` as it is: the
  // core modules go beside the bundle (the one step the README names).
  for (const f of readdirSync(here('../dist')).filter((f) => f.endsWith('.wasm'))) copyFileSync(here(`../dist/${f}`), join(out, f));
  writeFileSync(join(out, 'index.html'), readFileSync(join(dir, 'index.html'), 'utf8').replace('./page.mjs', './page.js'));
  const site = await serve(out);
  t.after(site.close);
  check(t, 'esbuild', await inChromium(site, join(dir, 'profile')));
});

test('Vite 7 (vite build, no configuration) bundles it with the core modules as assets; Chromium parses every fixture as Node does', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-browser-vite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  project(dir);
  const { build } = await import('vite');
  await build({ root: dir, configFile: false, logLevel: 'warn', build: { outDir: join(dir, 'dist') } });
  const assets = readdirSync(join(dir, 'dist/assets'));
  assert.ok(assets.some((f) => /^mailroom\.core-.*\.wasm$/.test(f)), `Vite emitted the core module: ${assets.join(', ')}`);
  const site = await serve(join(dir, 'dist'));
  t.after(site.close);
  check(t, 'vite', await inChromium(site, join(dir, 'profile')));
});
