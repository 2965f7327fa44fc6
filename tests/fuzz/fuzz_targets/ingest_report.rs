//! `events.ingest-report` on any bytes, with the clinic's sent message id
//! spliced in where the input says `MID`: no panic; recipients are
//! addresses; ingesting the same report again records nothing new.

#![no_main]

#[path = "common.rs"]
mod common;

use guest::events::{ReportOutcome, ingest_report};
use libfuzzer_sys::fuzz_target;

fn splice(raw: &[u8], id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i..].starts_with(b"MID") {
            out.extend_from_slice(id.as_bytes());
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

fuzz_target!(|raw: &[u8]| {
    let clinic = common::clinic();
    let mut store = clinic.store.clone();
    let mut env = clinic.env.clone();
    let raw = splice(raw, &clinic.sent.message_id);
    let Ok(first) = ingest_report(&mut store, &mut env, &raw) else {
        return;
    };
    for f in &first.findings {
        if let Some(r) = &f.recipient {
            assert!(!r.contains(['\r', '\n', '<', '>']), "recipient {r:?}");
        }
        if let Some(d) = &f.diagnostic {
            assert!(d.len() <= 500, "diagnostic of {} bytes", d.len());
        }
    }
    let again = ingest_report(&mut store, &mut env, &raw).expect("the second time answers too");
    assert_eq!(first.findings, again.findings);
    if let ReportOutcome::Matched(list) = again.outcome {
        assert!(list.iter().all(|r| r.duplicate), "a report counted twice");
    }
});
