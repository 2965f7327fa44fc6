//! A real mail client's threading agrees with ours (notmuch).

use conformance::notmuch::thread_sizes;
use conformance::scenario::{run_native, substitute};
use conformance::{Clinic, root};
use guest::inbound::Limits;
use guest::inbound::receive::{Envelope, receive};
use guest::outbound::{Recipient, SendRequest, send};
use guest::thread::MAX_REFERENCES;
use serde_json::Value;

/// The five messages of `threads/five-rounds` (ours as the transport got
/// them, the patient's as received) are one thread; the second conversation
/// is another.
#[test]
fn notmuch_threads_the_five_rounds_scenario() {
    const KEPT: [&str; 7] = [
        "out1",
        "in1",
        "out2",
        "in2",
        "out3",
        "other-thread",
        "other-thread-reply",
    ];
    let path = root().join("tests/fixtures/threads/five-rounds.json");
    let scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let transcript = run_native(&scenario);
    let mut outbound = transcript.transport.iter();
    let mut messages = Vec::new();
    for step in scenario["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().unwrap_or_default();
        let raw = match step["call"].as_str() {
            Some("outbound.send") if step["expect"].get("ok").is_some() => outbound
                .next()
                .and_then(|m| m["raw"].as_str())
                .map(str::to_string),
            Some("inbound.receive") => substitute(&step["args"], &transcript.steps)[0]
                .as_str()
                .map(str::to_string),
            _ => None,
        };
        if let Some(raw) = raw.filter(|_| KEPT.contains(&name)) {
            messages.push((name.to_string(), raw));
        }
    }
    assert_eq!(messages.len(), KEPT.len());
    assert_eq!(thread_sizes(&messages), [2, 5]);
}

/// 150 rounds, the patient's client sending only In-Reply-To: our
/// References stay at 100 ids with the first and the newest kept, and
/// notmuch still sees one thread of 300 messages.
#[test]
fn a_long_conversation_stays_bounded_and_threaded() {
    let Clinic {
        mut store,
        mut transport,
        mut env,
        use_case: uc,
    } = Clinic::new(150);
    let mut messages = Vec::new();
    let mut first = None;
    let mut parent: Option<String> = None;
    for round in 0..150 {
        let request = SendRequest {
            use_case: uc.id.clone(),
            to: vec![Recipient {
                name: None,
                address: "pat@patient.example".into(),
            }],
            cc: Vec::new(),
            subject: "Re: Your care plan".into(),
            text: Some(format!("Round {round}.\r\n")),
            html: None,
            attachments: Vec::new(),
            in_reply_to: parent.clone(),
            idempotency_key: None,
        };
        let sent = send(&mut store, &mut transport, &mut env, &request).expect("sent");
        let first_id = first.get_or_insert_with(|| sent.message_id.clone()).clone();
        assert!(sent.references.len() <= MAX_REFERENCES, "round {round}");
        if round > 0 {
            assert_eq!(sent.references[0], first_id, "round {round} keeps the root");
            assert_eq!(
                sent.references.last(),
                parent.as_ref(),
                "round {round} ends with the parent"
            );
        }
        if round >= 60 {
            assert_eq!(sent.references.len(), MAX_REFERENCES, "round {round}");
        }
        let reply_id = format!("pat-{round}@patient.example");
        let raw = format!(
            "From: pat@patient.example\r\nTo: care@clinic.example\r\n\
             Subject: Re: Your care plan\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\
             Message-ID: <{reply_id}>\r\nIn-Reply-To: <{}>\r\n\r\nReply {round}.\r\n",
            sent.message_id
        );
        let received = receive(
            &mut store,
            &mut env,
            raw.as_bytes(),
            &Envelope::default(),
            &Limits::default(),
        )
        .expect("received");
        assert!(received.references.len() <= MAX_REFERENCES);
        assert_eq!(received.references[0], first_id);
        messages.push((format!("in-{round:03}"), raw));
        parent = Some(reply_id);
    }
    for (i, m) in transport.sent.iter().enumerate() {
        messages.push((
            format!("out-{i:03}"),
            String::from_utf8_lossy(&m.raw).into_owned(),
        ));
    }
    assert_eq!(thread_sizes(&messages), [300]);
}
