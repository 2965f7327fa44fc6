//! Scenario fixtures run in wasmtime: each step called by name through the
//! component's exports (`host_demo::scenario`, wasmtime's dynamic `Val`
//! API), with the fixed clock and random stream of `tests/SCENARIOS.md`;
//! every step's result and the transport's messages must equal the fixture
//! exactly (key order included).
//!
//! Fixtures are written by the native runner (`scenarios_native.rs`) under
//! `MAILROOM_BLESS=1`; this runner never writes them.
//!
//! Needs the component: `cargo build -p guest --target wasm32-wasip2 --release`.

use conformance::scenario::scenario_files;
use serde_json::Value;

const HINT: &str = "fixtures are rewritten by MAILROOM_BLESS=1 (native runner)";

/// Exact comparison: the same JSON with the same key order (`Value`'s own
/// equality ignores the order of object keys).
fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .zip(a)
                    .all(|((ek, ev), (ak, av))| ek == ak && same(ev, av))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| same(e, a))
        }
        _ => expected == actual,
    }
}

/// Where two messages' `raw` texts first differ, as a note.
fn first_raw_difference(expected: &Value, actual: &Value) -> String {
    let (Some(e), Some(a)) = (expected["raw"].as_str(), actual["raw"].as_str()) else {
        return String::new();
    };
    let mut lines = e.split("\r\n").zip(a.split("\r\n")).enumerate();
    match lines.find(|(_, (e, a))| e != a) {
        Some((n, (e, a))) => format!(
            "\n  raw line {}: expected {e:?}\n              actual   {a:?}",
            n + 1
        ),
        None if e != a => "\n  raw: one is a prefix of the other".to_string(),
        None => String::new(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|_| value.to_string())
        .replace('\n', "\n    ")
}

/// The differences between a fixture and what wasmtime answered, if any.
fn compare(
    name: &str,
    scenario: &Value,
    transcript: &host_demo::scenario::Transcript,
) -> Option<String> {
    let steps = scenario["steps"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        let step_name = step["name"].as_str().unwrap_or("?");
        let Some((_, actual)) = transcript.steps.get(i) else {
            return Some(format!("{name}, step {step_name}: not run"));
        };
        if !same(&step["expect"], actual) {
            return Some(format!(
                "{name}, step {step_name} ({}):\n  expected {}\n  actual   {}",
                step["call"].as_str().unwrap_or("?"),
                pretty(&step["expect"]),
                pretty(actual)
            ));
        }
    }
    let expected = scenario["transport"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let actual = &transcript.transport;
    for i in 0..expected.len().max(actual.len()) {
        let (e, a) = (expected.get(i), actual.get(i));
        if e.zip(a).is_none_or(|(e, a)| !same(e, a)) {
            return Some(format!(
                "{name}, transport message {} ({} expected, {} sent):{}\n  expected {}\n  actual   {}",
                i + 1,
                expected.len(),
                actual.len(),
                e.zip(a)
                    .map(|(e, a)| first_raw_difference(e, a))
                    .unwrap_or_default(),
                e.map_or_else(|| "(none)".to_string(), pretty),
                a.map_or_else(|| "(none)".to_string(), pretty)
            ));
        }
    }
    None
}

#[test]
fn scenarios_match_in_wasmtime() {
    if conformance::blessing() {
        eprintln!(
            "wasmtime: MAILROOM_BLESS=1: scenarios not compared; the native runner rewrites them"
        );
        return;
    }
    let files = scenario_files();
    if files.is_empty() {
        eprintln!("NOT RUN: no scenario fixtures");
        return;
    }
    let mailroom = host_demo::Mailroom::load_default().expect("the component loads");
    let mut failures = Vec::new();
    for (name, path) in &files {
        let text = std::fs::read_to_string(path).expect("a readable fixture");
        let scenario: Value = serde_json::from_str(&text).expect("fixture JSON");
        match host_demo::scenario::run(&mailroom, &scenario) {
            Ok(transcript) => failures.extend(compare(name, &scenario, &transcript)),
            Err(e) => failures.push(format!("{name}: {e:#}")),
        }
    }
    assert!(
        failures.is_empty(),
        "wasmtime: {} of {} scenario(s) differ ({HINT}):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    eprintln!("wasmtime: {} scenarios match", files.len());
}
