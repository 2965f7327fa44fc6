//! Rolling upgrade: release 1's stored data (`tests/fixtures/upgrade/`)
//! read and continued by this build.

use conformance::upgrade::{dump, dump_path, write_scenarios};
use guest::store::MemoryStore;

/// Writes `tests/fixtures/upgrade/release-1-store.json` from the source
/// scenarios. Run only to capture a release's data, with that release's
/// code: `cargo test --release -p conformance --test upgrade -- --ignored`.
#[test]
#[ignore]
fn write_release_1_store() {
    let mut store = MemoryStore::default();
    write_scenarios(&mut store);
    let by = std::env::var("MAILROOM_RELEASE").unwrap_or_else(|_| "unnamed".into());
    std::fs::write(dump_path(), dump(&store, &by)).expect("dump written");
}
