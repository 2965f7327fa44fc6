#!/usr/bin/env bash
# The benchmark command (not part of the tests): builds what it needs (the
# component, the JS bundle, the release bench binary), generates the corpus
# into target/bench-corpus/, runs every peer side by side and prints one
# table of ratios. Results: target/bench-results/ (rust.json, js.json,
# table.md). See BENCHMARKS.md.
#
#   bash tests/bench/run.sh
#   BENCH_ROUNDS=5 BENCH_COLD_ROUNDS=3 bash tests/bench/run.sh   # quicker
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROUNDS=${BENCH_ROUNDS:-15}
COLD_ROUNDS=${BENCH_COLD_ROUNDS:-9}
SEED=${BENCH_SEED:-20260301}
OUT=$ROOT/target/bench-results
mkdir -p "$OUT"

echo "== build: component, JS bundle, bench binary" >&2
cargo build -q -p guest --target wasm32-wasip2 --release
if [ ! -d js/node_modules ]; then (cd js && npm ci --no-audit --no-fund); fi
(cd js && npm run -s build)
cargo bench -q -p host-demo --bench mailroom-bench --no-run

echo "== corpus" >&2
python3 tests/bench/gen_corpus.py --out "$ROOT/target/bench-corpus" --seed "$SEED" >&2
CORPUS=(--corpus "$ROOT/tests/fixtures/inbound" --corpus "$ROOT/target/bench-corpus")
# Real mail (690 messages from public test suites), reported as its own rows.
REAL=${BENCH_REAL_CORPUS:-$ROOT/../shared/corpus}
if [ -d "$REAL" ]; then CORPUS+=(--real-corpus "$REAL"); else echo "no real corpus at $REAL" >&2; fi

echo "== wasmtime vs native (mailroom-bench)" >&2
cargo bench -q -p host-demo --bench mailroom-bench -- "${CORPUS[@]}" \
  --rounds "$ROUNDS" --cold-rounds "$COLD_ROUNDS" --out "$OUT/rust.json"

echo "== Node: JS bundle vs postal-mime and mailparser" >&2
(cd js && node bench/parse.mjs "${CORPUS[@]}" \
  --rounds "$ROUNDS" --cold-rounds "$COLD_ROUNDS" --out "$OUT/js.json")

echo "== sizes" >&2
WASM=target/wasm32-wasip2/release/guest.wasm
PACK=$(cd js && npm pack --dry-run --ignore-scripts --json 2>/dev/null)
node -e '
  const [wasm, gz, pack] = process.argv.slice(1);
  const p = JSON.parse(pack)[0];
  console.log(JSON.stringify({ wasm: +wasm, wasm_gzip: +gz, npm_packed: p.size, npm_unpacked: p.unpackedSize, npm_files: p.entryCount }));
' "$(wc -c <"$WASM")" "$(gzip -9 -c "$WASM" | wc -c)" "$PACK" >"$OUT/sizes.json"

node -e '
  const [nproc, cpu, node, rustc, rounds, cold, seed] = process.argv.slice(1);
  const v = (p) => JSON.parse(require("fs").readFileSync(`js/node_modules/${p}/package.json`)).version;
  const lock = require("fs").readFileSync("Cargo.lock", "utf8");
  const wasmtime = (lock.match(/name = "wasmtime"\nversion = "([^"]+)"/) || [])[1];
  console.log(JSON.stringify({ nproc: +nproc, cpu, node, rustc, wasmtime, postal_mime: v("postal-mime"),
    mailparser: v("mailparser"), rounds: +rounds, cold_rounds: +cold, seed: +seed }));
' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
  "$(node --version)" "$(rustc --version)" "$ROUNDS" "$COLD_ROUNDS" "$SEED" >"$OUT/machine.json"

node tests/bench/table.mjs "$OUT" | tee "$OUT/table.md"
