#!/usr/bin/env bash
# Fuzzes the component's parsers and decisions with cargo-fuzz (libFuzzer),
# natively, with the project's pinned toolchain (no sanitizer: the code has
# no unsafe; a panic, an abort, an input slower than 10 s or a process over
# 2 GiB is a finding).
#
#   bash tests/fuzz/run.sh                      # every target, 30 s each (CI)
#   bash tests/fuzz/run.sh --time 600 parse     # one target, 10 minutes
#   bash tests/fuzz/run.sh --runs 1000000 parse ingest_report   # the long run
#
# Seeds: the project's fixtures and ../shared/corpus, read in place. New
# inputs go to target/fuzz/corpus/<target>/, findings to
# target/fuzz/artifacts/<target>/; each finding becomes a fixture in
# tests/fixtures/hostile/ (tests/fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

limit=(-max_total_time=30)
case "${1:-}" in
  --time) limit=(-max_total_time="$2"); shift 2 ;;
  --runs) limit=(-runs="$2"); shift 2 ;;
esac
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(parse receive ingest_report unsubscribe_token send_headers dns_verify)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
(cd tests/fuzz && cargo fuzz build --fuzz-dir . -O -s none)

corpus=$root/../shared/corpus
seeds_mail=("$root/tests/fixtures/inbound")
seeds_reports=()
if [ -d "$corpus" ]; then
  seeds_mail+=("$corpus/mail-parser-resources/resources/eml" "$corpus/postal-mime-fixtures/test/fixtures")
  seeds_reports+=("$corpus/sisimai-set-of-emails/maildir" "$corpus/postal-mime-fixtures/test/fixtures")
else
  echo "NOTE: ../shared/corpus/ is missing; seeding from the project's fixtures only" >&2
fi

for t in "${targets[@]}"; do
  case "$t" in
    parse|receive) seeds=("${seeds_mail[@]}") ;;
    ingest_report) seeds=("${seeds_reports[@]}" "$root/tests/fixtures/inbound") ;;
    *) seeds=() ;;
  esac
  mkdir -p "target/fuzz/corpus/$t" "target/fuzz/artifacts/$t"
  echo "== fuzz $t ${limit[*]}"
  "tests/fuzz/target/x86_64-unknown-linux-gnu/release/$t" \
    "target/fuzz/corpus/$t" "${seeds[@]}" \
    "${limit[@]}" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="target/fuzz/artifacts/$t/" -print_final_stats=1 2>&1 \
    | grep --line-buffered -E '^(==|#[0-9]+[[:space:]]+(DONE|INITED)|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|INFO: (Running|Loaded|seed)|.*(ERROR|panicked|Test unit written|SUMMARY|deadly|timeout|out-of-memory)).*' || true
  if [ -n "$(ls -A "target/fuzz/artifacts/$t")" ]; then
    echo "FINDING in $t: target/fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
