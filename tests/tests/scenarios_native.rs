//! Scenario fixtures run natively; `MAILROOM_BLESS=1` rewrites their
//! expected results from this runner.

use conformance::blessing;
use conformance::scenario::{run_native, scenario_files};
use serde_json::Value;

#[test]
fn scenarios_match_natively() {
    let files = scenario_files();
    assert!(
        !files.is_empty(),
        "no scenario fixtures under tests/fixtures/"
    );
    let mut failures = Vec::new();
    for (name, path) in &files {
        let text = std::fs::read_to_string(path).expect("a readable fixture");
        let mut scenario: Value = serde_json::from_str(&text).expect("fixture JSON");
        let transcript = run_native(&scenario);
        if blessing() {
            let steps = scenario["steps"].as_array_mut().expect("steps");
            for (step, (_, result)) in steps.iter_mut().zip(&transcript.steps) {
                step["expect"] = result.clone();
            }
            scenario["transport"] = Value::Array(transcript.transport.clone());
            let mut out = serde_json::to_string_pretty(&scenario).expect("JSON");
            out.push('\n');
            std::fs::write(path, out).expect("fixture written");
            continue;
        }
        for (step, (step_name, actual)) in scenario["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .zip(&transcript.steps)
        {
            // Compared as text, so key order counts as in the other hosts.
            if as_text(&step["expect"]) != as_text(actual) {
                failures.push(format!(
                    "{name}, step {step_name}:\n  expected {}\n  actual   {actual}",
                    step["expect"]
                ));
                break;
            }
        }
        if as_text(&scenario["transport"]) != as_text(&Value::Array(transcript.transport.clone())) {
            failures.push(format!("{name}: the transport's messages differ"));
        }
    }
    assert!(
        failures.is_empty(),
        "native: {} scenario(s) differ (fixtures are rewritten by MAILROOM_BLESS=1):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("native: {} scenarios match", files.len());
}

/// JSON text, key order kept: `Value`'s own equality ignores key order.
fn as_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
