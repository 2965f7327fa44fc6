//! An independent verifier accepts our signatures: the messages the
//! `setups/dkim-and-dns` scenario sends natively (before and after a key
//! rotation) pass dkimpy, and a copy altered after signing fails.

use conformance::scenario::run_native;
use conformance::{dkimpy, root};
use serde_json::Value;

/// The DKIM records the setups of a transcript published, by name.
fn dkim_records(transcript: &conformance::scenario::Transcript) -> Value {
    let mut records = serde_json::Map::new();
    for (_, result) in &transcript.steps {
        let setup = result
            .pointer("/ok/records")
            .or(result.pointer("/ok/setup/records"));
        for r in setup.and_then(Value::as_array).into_iter().flatten() {
            if r["purpose"] == "dkim" {
                records.insert(
                    r["name"].as_str().unwrap_or_default().into(),
                    r["value"].clone(),
                );
            }
        }
    }
    Value::Object(records)
}

fn sent(transcript: &conformance::scenario::Transcript) -> Vec<String> {
    transcript
        .transport
        .iter()
        .filter_map(|m| m["raw"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn dkimpy_verifies_native_signatures() {
    let path = root().join("tests/fixtures/setups/dkim-and-dns.json");
    let scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let transcript = run_native(&scenario);
    let mut messages = sent(&transcript);
    assert_eq!(
        messages.len(),
        2,
        "a message before and one after the rotation"
    );
    let altered = messages[0].replacen("check-up", "check-ups", 1);
    assert_ne!(altered, messages[0]);
    messages.push(altered);
    assert_eq!(
        dkimpy(&dkim_records(&transcript), &messages),
        ["pass", "pass", "fail"]
    );
}

/// Replies carry In-Reply-To and References, which are signed too.
#[test]
fn dkimpy_verifies_every_reply_of_a_conversation() {
    let path = root().join("tests/fixtures/threads/five-rounds.json");
    let scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let transcript = run_native(&scenario);
    let messages = sent(&transcript);
    assert!(messages.iter().any(|m| m.contains("\r\nReferences: ")));
    let verdicts = dkimpy(&dkim_records(&transcript), &messages);
    assert_eq!(verdicts, vec!["pass"; messages.len()]);
}

/// Tracked marketing mail: the rewritten HTML (tracked link, pixel) is what
/// is signed, and dkimpy verifies it.
#[test]
fn dkimpy_verifies_tracked_mail() {
    let path = root().join("tests/fixtures/tracking/engagement.json");
    let scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let transcript = run_native(&scenario);
    let messages = sent(&transcript);
    assert_eq!(messages.len(), 3);
    let verdicts = dkimpy(&dkim_records(&transcript), &messages);
    assert_eq!(verdicts, vec!["pass"; messages.len()]);
}
