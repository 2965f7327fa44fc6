//! `inbound.receive` on any bytes, into a clinic that has sent one message:
//! no panic; what is received is stored, and its chain ends with its id.

#![no_main]

#[path = "common.rs"]
mod common;

use guest::inbound::Limits;
use guest::inbound::receive::{Envelope, receive};
use guest::messages;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let clinic = common::clinic();
    let mut store = clinic.store.clone();
    let mut env = clinic.env.clone();
    let envelope = Envelope {
        mail_from: None,
        rcpt_to: vec![format!("appointments@{}", common::DOMAIN)],
    };
    let limits = Limits {
        max_bytes: None,
        max_depth: Some(32),
        max_parts: Some(500),
    };
    let Ok(received) = receive(&mut store, &mut env, raw, &envelope, &limits) else {
        return;
    };
    assert_eq!(received.references.last(), Some(&received.message_id));
    let stored = messages::find_any(&mut store, &received.message_id).expect("the store answers");
    assert!(stored.is_some(), "{} was not stored", received.message_id);
});
