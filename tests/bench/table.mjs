// Prints the benchmark's one table (Markdown) from the results run.sh wrote:
//   node tests/bench/table.mjs target/bench-results
// Inputs: rust.json (mailroom-bench), js.json (js/bench/parse.mjs),
// sizes.json and machine.json (run.sh).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'target/bench-results';
const read = (name) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
const rust = read('rust.json');
const js = read('js.json');
const sizes = read('sizes.json');
const machine = read('machine.json');

const ms = (s) => (s * 1000 < 10 ? (s * 1000).toFixed(2) : (s * 1000).toFixed(1)) + ' ms';
const us = (s) => (s * 1e6).toFixed(1) + ' µs';
const time = (s) => (s < 1e-3 ? us(s) : ms(s));
const rate = (n, bytes, s) => `${Math.round(n / s).toLocaleString('en-US')} msg/s, ${(bytes / 1e6 / s).toFixed(0)} MB/s`;
const kb = (b) => `${(b / 1024).toFixed(0)} KiB`;
/** ours vs peer, both times: "2.10x faster" / "1.30x slower". */
const ratio = (ours, peer) => (ours <= peer ? `${(peer / ours).toFixed(2)}x faster` : `${(ours / peer).toFixed(2)}x slower`);
const check = (ok) => (ok ? 'met' : '**missed**');

const rows = [];
const row = (what, ours, peer, r, goal = '') => rows.push([what, ours, peer, r, goal]);

// Inbound parse on Node.
for (const [subset, label] of [['all', 'whole corpus'], ['small', 'messages < 64 KiB'], ['real', 'real mail (../shared/corpus)']]) {
  const p = js.parse[subset];
  if (!p) continue;
  const ours = p.seconds.mailroom;
  const head = `${p.messages} msgs, ${(p.bytes / 1e6).toFixed(1)} MB`;
  for (const peer of ['postal-mime', 'mailparser']) {
    const theirs = p.seconds[peer];
    const goal = peer === 'postal-mime' && subset === 'all' ? `≥ 1.5x faster: ${check(theirs / ours >= 1.5)}` : '';
    row(
      `Node parse, ${label} (${head}): JS bundle vs ${peer}`,
      rate(p.messages, p.bytes, ours),
      rate(p.messages, p.bytes, theirs),
      ratio(ours, theirs),
      goal,
    );
  }
}

// Sandbox cost: wasmtime vs native.
for (const [subset, label] of [['all', 'whole corpus'], ['small', 'messages < 64 KiB'], ['tiny', 'one 92-byte message x200'], ['real', 'real mail (../shared/corpus)']]) {
  const p = rust.parse[subset];
  if (!p) continue;
  const goal = subset === 'all' ? `within 1.3x: ${check(p.wasm_s / p.native_s <= 1.3)}` : '';
  row(
    `wasmtime parse, ${label}: component vs native Rust`,
    subset === 'tiny' ? `${us(p.wasm_s / p.messages)}/msg` : rate(p.messages, p.bytes, p.wasm_s),
    subset === 'tiny' ? `${us(p.native_s / p.messages)}/msg` : rate(p.messages, p.bytes, p.native_s),
    ratio(p.wasm_s, p.native_s),
    goal,
  );
}

// Outbound compose.
for (const [kind, p] of Object.entries(rust.send)) {
  row(
    `outbound.send + DKIM rsa-sha256 (${kind}, ${p.count} sends, fresh store): wasmtime vs native`,
    `${us(p.wasm_s / p.count)}/send`,
    `${us(p.native_s / p.count)}/send`,
    ratio(p.wasm_s, p.native_s),
  );
}

// DKIM key generation.
if (rust.keygen) {
  row(
    `setups.create (RSA-2048 DKIM key generation, median of ${rust.keygen.count} seeds): wasmtime vs native`,
    time(rust.keygen.wasm_s),
    time(rust.keygen.native_s),
    ratio(rust.keygen.wasm_s, rust.keygen.native_s),
  );
}

// Peak memory of one large message.
const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
for (const m of rust.memory ?? []) {
  row(
    `peak memory parsing one ${mb(m.bytes)} message: wasmtime host RSS (linear memory) vs native RSS`,
    `${mb(m.wasm_rss_peak)} (${mb(m.wasm_linear_memory_peak)}), ${(m.wasm_rss_peak / m.bytes).toFixed(2)}x the message`,
    `${mb(m.native_rss_peak)}, ${(m.native_rss_peak / m.bytes).toFixed(2)}x the message`,
    ratio(m.wasm_rss_peak, m.native_rss_peak),
  );
}

// Cold start and instantiation.
const pm = js.cold['postal-mime'];
const coldGoal = (s) => `under 5 ms: ${check(s < 0.005)}`;
row(
  'Node, fresh instance in a warm process (createChannel + first parse)',
  time(js.instance.instance_and_parse_s),
  `${time(js.instance.parse_s)} (a parse on a live instance)`,
  ratio(js.instance.instance_and_parse_s, js.instance.parse_s),
  coldGoal(js.instance.instance_and_parse_s - js.instance.parse_s),
);
row(
  'Node cold, fresh process: compile + instantiate (first parse minus second)',
  time(js.cold.mailroom.instantiate_s),
  `${time(pm.instantiate_s)} (postal-mime, same measure)`,
  ratio(js.cold.mailroom.instantiate_s, pm.instantiate_s),
  coldGoal(js.cold.mailroom.instantiate_s),
);
row(
  'Node cold, fresh process: import + first parse, vs postal-mime',
  time(js.cold.mailroom.first_parse_s),
  time(pm.first_parse_s),
  ratio(js.cold.mailroom.first_parse_s, pm.first_parse_s),
);
if (js.cold.mailroom.first_parse_cpu_s !== undefined) {
  row(
    'Node cold, fresh process: import + first parse, process CPU time (all threads; less moved by a loaded machine)',
    time(js.cold.mailroom.first_parse_cpu_s),
    time(pm.first_parse_cpu_s),
    ratio(js.cold.mailroom.first_parse_cpu_s, pm.first_parse_cpu_s),
  );
}
row(
  'Node cold: import alone (no WebAssembly yet), vs postal-mime import',
  time(js.cold.mailroom.import_s),
  time(pm.import_s),
  ratio(js.cold.mailroom.import_s, pm.import_s),
);
row(
  'Node cold, whole `node` process (boot to exit), vs postal-mime',
  time(js.cold.mailroom.process_s),
  time(pm.process_s),
  ratio(js.cold.mailroom.process_s, pm.process_s),
);
if (rust.cold) {
  row(
    'wasmtime cold, cached .cwasm: main() to first parse, vs postal-mime import + first parse',
    time(rust.cold.cached.first_parse_s),
    time(pm.first_parse_s),
    ratio(rust.cold.cached.first_parse_s, pm.first_parse_s),
  );
}
if (rust.cold?.compiled) {
  row(
    'wasmtime cold, no cache (cranelift compile): main() to first parse, vs cached',
    time(rust.cold.compiled.first_parse_s),
    time(rust.cold.cached.first_parse_s),
    ratio(rust.cold.compiled.first_parse_s, rust.cold.cached.first_parse_s),
  );
}

// Sizes.
row('guest.wasm size, raw / gzip -9', `${kb(sizes.wasm)} / ${kb(sizes.wasm_gzip)}`, '', '');
row('npm tarball (npm pack --dry-run), packed / unpacked', `${kb(sizes.npm_packed)} / ${kb(sizes.npm_unpacked)}`, `${sizes.npm_files} files`, '');

// The targets of issue 20, each with its goal beside it.
const targets = [];
const target = (what, now, goal, ok) => targets.push([what, now, goal, ok === null ? '' : check(ok)]);
{
  const real = rust.parse.real;
  if (real) {
    const r = real.wasm_s / real.native_s;
    target(`wasmtime parse vs native Rust, real mail (${real.messages} msgs)`, `${r.toFixed(2)}x`, '≤ 2x (limit 1.3x)', r <= 2);
  }
  const all = rust.parse.all;
  const ra = all.wasm_s / all.native_s;
  target(`wasmtime parse vs native Rust, bench corpus (${all.messages} msgs)`, `${ra.toFixed(2)}x`, '≤ 2x (limit 1.3x)', ra <= 2);
  const tiny = rust.parse.tiny;
  const overhead = (tiny.wasm_s - tiny.native_s) / tiny.messages;
  target('wasmtime host overhead per call (92-byte message: wasm minus native)', us(overhead), '≤ 15 µs', overhead <= 15e-6);
  const cold = js.cold.mailroom.first_parse_s;
  target(
    'Node cold: import + first parse (vs postal-mime)',
    `${time(cold)} (${ratio(cold, pm.first_parse_s)})`,
    '≤ 40 ms (limit ≤ postal-mime)',
    cold <= 0.04,
  );
  target('component, gzip -9', `${(sizes.wasm_gzip / 1000).toFixed(0)} KB (${(sizes.wasm / 1000).toFixed(0)} KB raw)`, '≤ 400 KB (limit 300 KB)', sizes.wasm_gzip <= 400_000);
  target('npm tarball, packed', `${(sizes.npm_packed / 1000).toFixed(0)} KB`, '≤ 500 KB', sizes.npm_packed <= 500_000);
  if (rust.keygen) {
    target('DKIM key generation (setups.create) in wasmtime', `${time(rust.keygen.wasm_s)} (${ratio(rust.keygen.wasm_s, rust.keygen.native_s)} than native)`, '≤ 0.5 s', rust.keygen.wasm_s <= 0.5);
  }
  const send = Object.entries(rust.send).map(([k, p]) => [k, p.wasm_s / p.native_s]);
  const worst = send.reduce((a, b) => (b[1] > a[1] ? b : a));
  target(`outbound.send with DKIM, wasmtime vs native (worst kind: ${worst[0]})`, `${worst[1].toFixed(2)}x`, '≤ 3x', worst[1] <= 3);
  const big = (rust.memory ?? []).reduce((a, b) => (!a || b.bytes > a.bytes ? b : a), null);
  if (big) {
    const r = big.wasm_rss_peak / big.bytes;
    target(`peak host RSS parsing one ${mb(big.bytes)} message in wasmtime`, `${mb(big.wasm_rss_peak)}, ${r.toFixed(2)}x the message`, '≤ 2.5x the message (limit ~1x + the answer)', r <= 2.5);
  }
}
console.log('Targets (issue 20):');
console.log();
console.log('| target | now | goal | |');
console.log('| --- | --- | --- | --- |');
for (const t of targets) console.log(`| ${t.join(' | ')} |`);
console.log();

const header = ['measure', 'ours', 'peer', 'ratio (ours vs peer)', 'goal'];
const lines = [
  `| ${header.join(' | ')} |`,
  `| ${header.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];
console.log(lines.join('\n'));
console.log();
console.log(
  `Machine: ${machine.nproc} cores, ${machine.cpu}; node ${machine.node}, ${machine.rustc}; ` +
    `wasmtime ${machine.wasmtime}, postal-mime ${machine.postal_mime}, mailparser ${machine.mailparser}. ` +
    `Medians of ${machine.rounds} interleaved rounds (cold: ${machine.cold_rounds} fresh processes each); ` +
    `corpus: tests/fixtures/inbound + target/bench-corpus (seed ${machine.seed}); real mail: ../shared/corpus.`,
);
