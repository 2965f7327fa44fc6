#!/usr/bin/env bash
# Every test of every host: the README's test command.
#   1. the component (wasm32-wasip2, release), the one binary every host runs;
#   2. the JS bundle transpiled from it with jco;
#   3. Rust unit tests, the conformance runner (native, wasmtime, host-demo
#      CLI, JS CLI) and the corpus run, in one release profile;
#   4. the JS package's own tests on Node.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pinned toolchain (rust-toolchain.toml) and the component target; quick
# when already installed.
rustup toolchain install 1.98 --profile minimal --component rustfmt,clippy \
  --target wasm32-wasip2 >/dev/null

# Real peers the tests start: notmuch (a mail client's threading), dnsmasq
# (a DNS server), curl (an HTTP client), dkimpy (an independent DKIM
# verifier), aiosmtpd (an SMTP server) and PostgreSQL (the shared store of
# many replicas; the tests initdb and start their own server).
if ! command -v notmuch >/dev/null || ! command -v dnsmasq >/dev/null || ! command -v curl >/dev/null ||
  ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq notmuch dnsmasq-base curl postgresql
  else
    echo "install notmuch, dnsmasq, curl and postgresql (Debian/Ubuntu: apt-get install notmuch dnsmasq-base curl postgresql)" >&2
    exit 1
  fi
fi
# Chromium (Debian's package) for the JS package's browser test and the
# tracking test (host-demo/tests/tracking_http.rs: opens and clicks a sent message).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "install chromium (Debian/Ubuntu: apt-get install chromium) for js/test/browser.test.mjs and host-demo/tests/tracking_http.rs" >&2
    exit 1
  fi
fi
python3 -c "import dkim" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check dkimpy
python3 -c "import aiosmtpd" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check aiosmtpd

# Release 1's host and component, for the mixed-version upgrade test
# (host-demo/tests/upgrade.rs); first, since it shares target/.
bash tests/release-1.sh
cargo build -p guest --target wasm32-wasip2 --release
if [ ! -x js/node_modules/.bin/deno ] || [ ! -x js/node_modules/.bin/workerd ]; then (cd js && npm ci --no-audit --no-fund); fi
(cd js && npm run build)
cargo build --release -p host-demo
cargo test --workspace --release
bash tests/run-js.sh
# The JSPI glue (async stores) in Node.js 24 too, fetched from npm, where
# its binary runs (Linux x86-64); Node.js 20 and 22 lack JSPI.
if [ "$(uname -sm)" = "Linux x86_64" ]; then (cd js && npm run test:node24); fi
