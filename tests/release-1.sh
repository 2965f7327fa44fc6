#!/usr/bin/env bash
# Builds release 1 (the commit whose stored data is
# tests/fixtures/upgrade/release-1-store.json) beside this build, for the
# mixed-version upgrade test (host-demo/tests/upgrade.rs): its `host-demo`
# and its component land in target/release-1/. The sources come from this
# repository's history (`git archive`); the build shares target/, so only
# release 1's own crates compile (the dependencies are this build's, the
# lock file being the same). Its packages get another version, so cargo
# keeps their artifacts and fingerprints apart from this build's (same name,
# version and relative path would be one unit, and this build's would then
# look fresh with release 1's code in it); the binaries cargo copies to
# target/release/ and target/wasm32-wasip2/release/ are removed before and
# after (cargo copies a fresh unit's binary only where none is), and so is
# the component in deps/ (a cdylib's file name has no hash, so both builds
# write the same file; where it is missing, cargo builds it again), so the
# next build of this release puts its own back. The sources stay in
# target/release-1/src (release 1's host caches its compiled component
# under them).
set -euo pipefail
cd "$(dirname "$0")/.."

REV=4ccee012425009c7c6018140838f6a278c36a196
out=target/release-1
if [ "$(cat "$out/REV" 2>/dev/null)" = "$REV" ] && [ -x "$out/host-demo" ] && [ -f "$out/mailroom.wasm" ]; then
  exit 0
fi
if ! git cat-file -e "$REV^{commit}" 2>/dev/null; then
  echo "release 1 ($REV) is not in this clone's history (shallow?): the mixed-version upgrade test will say it is skipped" >&2
  exit 0
fi
target="$PWD/target"
src="$target/release-1/src"
rm -rf "$out"
mkdir -p "$src"
git archive "$REV" | tar -x -C "$src"
sed -i 's/^version = "0\.1\.0"$/version = "0.1.0-release.1"/' "$src/Cargo.toml"
grep -q '^version = "0.1.0-release.1"$' "$src/Cargo.toml"
uplifted() {
  rm -f target/release/host-demo target/release/mailroom-bench target/release/libhost_demo.* \
    target/wasm32-wasip2/release/{,deps/}{guest.wasm,guest.d,libguest.*}
}
uplifted
(
  cd "$src"
  CARGO_TARGET_DIR="$target" cargo build --release -p host-demo
  CARGO_TARGET_DIR="$target" cargo build --release -p guest --target wasm32-wasip2
)
cp target/release/host-demo "$out/host-demo"
cp target/wasm32-wasip2/release/guest.wasm "$out/mailroom.wasm"
uplifted
echo "$REV" >"$out/REV"
