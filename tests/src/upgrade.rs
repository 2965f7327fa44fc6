//! Release 1's stored data (`tests/fixtures/upgrade/release-1-store.json`):
//! the scenarios it was written by, and the dump's form (every key with its
//! version and value, as UTF-8 text or, when the bytes are not UTF-8,
//! base64), so the upgrade tests load the same bytes into any store.

use std::collections::BTreeMap;

use guest::store::{Entry, MemoryStore};
use serde_json::{Map, Value, json};

use crate::root;
use crate::scenario::run_native_on;

/// Where the dump lives.
pub fn dump_path() -> std::path::PathBuf {
    root().join("tests/fixtures/upgrade/release-1-store.json")
}

/// The fixtures release 1's data was written by, in order, with the domain
/// each one's `riverside-clinic.example` became (so their setups share one
/// store) and its random seed (so their ids differ).
pub const SOURCES: &[(&str, &str, u64)] = &[
    ("threads/five-rounds", "riverside-clinic.example", 42),
    ("delivery/decisions", "decisions-clinic.example", 8058),
    ("tracking/engagement", "tracking-clinic.example", 1818),
    ("threads/ses-rewritten-id", "harbor-dental.example", 7),
];

/// Runs every source scenario on one store, checking that each step still
/// answers `ok` or `err` as its fixture does (the renaming broke nothing).
pub fn write_scenarios(store: &mut MemoryStore) {
    for (name, domain, seed) in SOURCES {
        let path = root().join(format!("tests/fixtures/{name}.json"));
        let text = std::fs::read_to_string(&path).expect("a readable fixture");
        let text = text.replace("riverside-clinic.example", domain);
        let mut scenario: Value = serde_json::from_str(&text).expect("fixture JSON");
        scenario["random-seed"] = json!(seed);
        let transcript = run_native_on(&scenario, store);
        for (step, (step_name, actual)) in scenario["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .zip(&transcript.steps)
        {
            let shape = |v: &Value| v.as_object().and_then(|o| o.keys().next().cloned());
            assert_eq!(
                shape(&step["expect"]),
                shape(actual),
                "{name}, step {step_name}: {actual}"
            );
        }
    }
}

/// The dump of a store: canonical JSON (keys in byte order, two-space
/// indent, final newline).
pub fn dump(store: &MemoryStore, written_by: &str) -> String {
    let mut entries = Map::new();
    for (key, entry) in store.entries() {
        let value = match std::str::from_utf8(&entry.value) {
            Ok(text) => json!({ "version": entry.version, "text": text }),
            Err(_) => json!({
                "version": entry.version,
                "base64": guest::thread_index::base64(&entry.value),
            }),
        };
        entries.insert(key.clone(), value);
    }
    let mut out = serde_json::to_string_pretty(&json!({
        "written-by": written_by,
        "entries": entries,
    }))
    .expect("JSON");
    out.push('\n');
    out
}

/// Every entry of the dump, in key order.
pub fn load_entries() -> BTreeMap<String, Entry> {
    let text = std::fs::read_to_string(dump_path()).expect("release-1-store.json");
    let dump: Value = serde_json::from_str(&text).expect("dump JSON");
    dump["entries"]
        .as_object()
        .expect("entries")
        .iter()
        .map(|(key, e)| {
            let value = match (e["text"].as_str(), e["base64"].as_str()) {
                (Some(t), _) => t.as_bytes().to_vec(),
                (None, Some(b)) => guest::thread_index::unbase64(b).expect("base64"),
                _ => panic!("{key}: neither text nor base64"),
            };
            let version = e["version"].as_u64().expect("version");
            (key.clone(), Entry { value, version })
        })
        .collect()
}

/// Release 1's data in a memory store.
pub fn release_1_store() -> MemoryStore {
    MemoryStore::from_entries(load_entries())
}
