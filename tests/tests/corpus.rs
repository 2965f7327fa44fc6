//! Real mail written by other projects (`../shared/corpus/`): the native
//! library and the component in wasmtime parse every message without a panic
//! or a trap, and give the same canonical JSON.

use std::collections::BTreeMap;

use conformance::{canonical, corpus_files};
use guest::inbound::{Limits, parse};

/// The WIT limits with every field left to its default.
const NO_LIMITS: host_demo::Limits = host_demo::Limits {
    max_bytes: None,
    max_depth: None,
    max_parts: None,
};

#[test]
fn corpus_parses_identically_natively_and_in_wasmtime() {
    let Some(files) = corpus_files() else {
        eprintln!("NOT RUN: ../shared/corpus/ is not beside the project");
        return;
    };
    assert!(!files.is_empty(), "the corpus holds no .eml file");
    let mailroom = host_demo::Mailroom::load_default().expect("the component loads");
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for path in &files {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let native = std::panic::catch_unwind(|| parse(&raw, &Limits::default()))
            .unwrap_or_else(|_| panic!("{}: the native parser panicked", path.display()));
        let outcome = match &native {
            Ok(_) => "parsed".to_string(),
            Err(e) => format!("error {}", e.message()),
        };
        *outcomes.entry(outcome).or_default() += 1;
        let wasm = mailroom
            .parse(&raw, NO_LIMITS)
            .unwrap_or_else(|trap| panic!("{}: trap: {trap:?}", path.display()));
        if host_demo::canonical::to_json(&wasm) != canonical(&native) {
            mismatches.push(path.display().to_string());
        }
    }
    eprintln!("corpus: {} messages", files.len());
    for (outcome, count) in &outcomes {
        eprintln!("  {count:>5}  {outcome}");
    }
    assert!(
        mismatches.is_empty(),
        "wasmtime and native differ on:\n{}",
        mismatches.join("\n")
    );
}

/// With `MAILROOM_CORPUS_DUMP=DIR`, writes the native library's canonical
/// JSON of every corpus message to `DIR` (one file per message, named by its
/// path), for comparing two versions of the parser; otherwise does nothing.
#[test]
fn corpus_dump_for_comparison() {
    let Some(dir) = std::env::var_os("MAILROOM_CORPUS_DUMP") else {
        return;
    };
    let Some(files) = corpus_files() else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("dump folder");
    let base = conformance::root()
        .parent()
        .map(|p| p.join("shared/corpus"));
    for path in &files {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = base
            .as_deref()
            .and_then(|b| path.strip_prefix(b).ok())
            .unwrap_or(path)
            .display()
            .to_string()
            .replace('/', "__");
        let json = canonical(&parse(&raw, &Limits::default()));
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{name}.json")),
            json,
        )
        .expect("dump written");
    }
}
