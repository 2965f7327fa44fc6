// The Node half of the benchmark: the JS bundle's parse() against postal-mime
// and mailparser on the same corpus, plus cold start (fresh processes, see
// cold.mjs) and a fresh instance in a warm process. Run by
// tests/bench/run.sh; not part of the tests (no assertions on time).
//
//   node bench/parse.mjs --corpus DIR [--corpus DIR ...] [--real-corpus DIR]
//                        [--rounds N] [--cold-rounds N] [--out FILE.json]
//
// --corpus directories are read one level deep; --real-corpus (real mail,
// e.g. ../shared/corpus) at any depth, reported as its own set.
//
// Every number is a median over rounds; in each round every peer parses the
// whole corpus once, the order rotating from round to round. Every peer
// produces attachments with their bytes: ours as Uint8Array, postal-mime's
// as ArrayBuffer (its default attachmentEncoding), mailparser's as Buffer.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import { parse, createChannel } from '../src/index.js';
import PostalMime from 'postal-mime';
import { simpleParser } from 'mailparser';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SMALL = 64 * 1024;
const TINY = Buffer.from(
  'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nHello.\r\n',
);

function args() {
  const out = { corpus: [], real: null, rounds: 15, coldRounds: 9, out: null };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--corpus': out.corpus.push(resolve(value())); break;
      case '--real-corpus': out.real = resolve(value()); break;
      case '--rounds': out.rounds = Number(value()); break;
      case '--cold-rounds': out.coldRounds = Number(value()); break;
      case '--out': out.out = resolve(value()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (out.corpus.length === 0) out.corpus.push(resolve(HERE, '../../tests/fixtures/inbound'));
  return out;
}

function loadCorpus(dirs) {
  const files = [];
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) if (name.endsWith('.eml')) files.push(join(dir, name));
  }
  files.sort();
  return files.map((f) => readFileSync(f));
}

/** Every `*.eml` under `dir`, at any depth, in path order. */
function loadTree(dir) {
  const files = readdirSync(dir, { recursive: true })
    .filter((name) => name.endsWith('.eml'))
    .map((name) => join(dir, name))
    .sort();
  return files.map((f) => readFileSync(f));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// Every peer touches what it produced (attachment count and bytes), so no
// work can be skipped; errors (limit fixtures, garbage) count as answers.
let sink = 0;

const PEERS = {
  mailroom: async (raw) => {
    try {
      const m = parse(raw);
      for (const a of m.attachments) sink += a.content.byteLength;
    } catch (err) {
      sink += err.kind ? 1 : 0;
    }
  },
  'postal-mime': async (raw) => {
    try {
      const m = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
      for (const a of m.attachments) sink += a.content.byteLength;
    } catch {
      sink += 1;
    }
  },
  mailparser: async (raw) => {
    try {
      const m = await simpleParser(raw);
      for (const a of m.attachments) sink += a.content.length;
    } catch {
      sink += 1;
    }
  },
};

async function pass(peer, messages) {
  const fn = PEERS[peer];
  const start = performance.now();
  for (const raw of messages) await fn(raw);
  return (performance.now() - start) / 1000;
}

async function throughput(messages, rounds) {
  const names = Object.keys(PEERS);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await pass(n, messages); // warm-up (JIT, first instance)
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const n of order) times[n].push(await pass(n, messages));
  }
  const bytes = messages.reduce((s, m) => s + m.length, 0);
  return {
    messages: messages.length,
    bytes,
    seconds: Object.fromEntries(names.map((n) => [n, median(times[n])])),
  };
}

/** A fresh channel (new instance, core modules already compiled) and one parse. */
function warmInstance(rounds) {
  const times = [];
  const store = { get: () => null, put: () => 1, delete: () => {}, list: () => ({ keys: [], cursor: null }) };
  const transport = { submit: () => {} };
  for (let r = 0; r < rounds * 10 + 5; r++) {
    const start = performance.now();
    createChannel({ store, transport }).parse(TINY);
    times.push(performance.now() - start);
  }
  const steady = [];
  for (let r = 0; r < rounds * 10; r++) {
    const start = performance.now();
    parse(TINY);
    steady.push(performance.now() - start);
  }
  return { instance_and_parse_s: median(times.slice(5)) / 1000, parse_s: median(steady) / 1000 };
}

/** Fresh `node` processes, interleaved: see cold.mjs. */
function coldStart(rounds) {
  const peers = ['mailroom', 'postal-mime', 'mailparser'];
  const runs = Object.fromEntries(peers.map((p) => [p, []]));
  for (let r = 0; r < rounds; r++) {
    for (const p of peers.map((_, i) => peers[(i + r) % peers.length])) {
      const start = performance.now();
      const child = spawnSync(process.execPath, [join(HERE, 'cold.mjs'), p], { encoding: 'utf8' });
      const processS = (performance.now() - start) / 1000;
      if (child.status !== 0) throw new Error(`cold.mjs ${p} failed: ${child.stderr}`);
      runs[p].push({ ...JSON.parse(child.stdout), process_s: processS });
    }
  }
  const out = {};
  for (const p of peers) {
    out[p] = {};
    for (const key of Object.keys(runs[p][0])) out[p][key] = median(runs[p].map((x) => x[key]));
  }
  return out;
}

const opts = args();
const corpus = loadCorpus(opts.corpus);
const small = corpus.filter((m) => m.length < SMALL);
process.stderr.write(
  `js bench: ${corpus.length} messages, ${(corpus.reduce((s, m) => s + m.length, 0) / 1e6).toFixed(1)} MB; ${opts.rounds} rounds\n`,
);
const report = {
  parse: {
    all: await throughput(corpus, opts.rounds),
    small: await throughput(small, opts.rounds),
    real: opts.real ? await throughput(loadTree(opts.real), opts.rounds) : null,
  },
  instance: warmInstance(opts.rounds),
  cold: coldStart(opts.coldRounds),
  sink,
};
const text = JSON.stringify(report, null, 2) + '\n';
if (opts.out) writeFileSync(opts.out, text);
else process.stdout.write(text);
