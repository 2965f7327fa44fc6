//! An independent verifier accepts the signatures the component makes in
//! wasmtime: a new message (text, HTML and an attachment) and a reply, taken
//! from the recording transport, pass dkimpy (`tests/dkim/verify.py`); copies
//! altered after signing fail.
//!
//! Needs python3 with dkimpy (`pip install dkimpy`) and the component:
//! `cargo build -p guest --target wasm32-wasip2 --release`.

use conformance::dkimpy;
use host_demo::inbound::Envelope;
use host_demo::{
    Limits, Mailroom, OutgoingAttachment, Recipient, RecordPurpose, Resolution, SendRequest,
    SetupOptions, SetupStatus, UseCaseType, Zone,
};
use serde_json::json;

const DOMAIN: &str = "signed-clinic.example";

fn to_pat() -> Vec<Recipient> {
    vec![Recipient {
        name: Some("Pat Doe".to_string()),
        address: "pat@patient.example".to_string(),
    }]
}

/// `raw` with its body's first `from` replaced by `to`.
fn alter_body(raw: &str, from: &str, to: &str) -> String {
    let (head, body) = raw.split_once("\r\n\r\n").expect("a body");
    assert!(body.contains(from), "{from:?} not in the body:\n{body}");
    format!("{head}\r\n\r\n{}", body.replacen(from, to, 1))
}

#[test]
fn dkimpy_verifies_wasmtime_signatures() {
    // The real clock and secure randomness, as in production.
    let mailroom = Mailroom::load_default().expect("the component loads");
    let options = SetupOptions {
        inbound_host: "inbound.mailroom.example".to_string(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
        bounce_domain: None,
    };
    let setup = mailroom
        .create_setup("ws-dkim", DOMAIN, &options)
        .expect("no trap")
        .expect("a setup");
    let zone = Zone::publishing(&setup.records).expect("a zone");
    let verification = mailroom
        .verify_setup_with("ws-dkim", &setup.id, &zone)
        .expect("no trap")
        .expect("checked");
    assert_eq!(verification.setup.status, SetupStatus::Verified);
    let use_case = mailroom
        .create_use_case(
            "ws-dkim",
            &setup.id,
            &format!("care@{DOMAIN}"),
            UseCaseType::Transactional,
            "Riverside Clinic",
            "Care",
        )
        .expect("no trap")
        .expect("a use case")
        .id;

    let first = mailroom
        .send(
            "ws-dkim",
            &SendRequest {
                use_case: use_case.clone(),
                to: to_pat(),
                cc: vec![],
                subject: "Your appointment on Friday".to_string(),
                text: Some("Hello Pat,\r\n\r\nSee you on Friday at 10:00.\r\n".to_string()),
                html: Some(
                    "<p>Hello Pat,</p><p>See you on <b>Friday</b> at 10:00.</p>".to_string(),
                ),
                attachments: vec![OutgoingAttachment {
                    filename: "directions.txt".to_string(),
                    content_type: "text/plain".to_string(),
                    content_id: None,
                    content: b"Second floor, room 12.\n".to_vec(),
                }],
                in_reply_to: None,
                idempotency_key: None,
            },
        )
        .expect("no trap")
        .expect("sent");

    let reply = format!(
        "From: Pat Doe <pat@patient.example>\r\nTo: care@{DOMAIN}\r\n\
         Subject: Re: Your appointment on Friday\r\n\
         Message-ID: <pat-1@patient.example>\r\nIn-Reply-To: <{}>\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nCan we make it 11:00?\r\n",
        first.message_id
    );
    let received = mailroom
        .receive(
            reply.as_bytes(),
            &Envelope {
                mail_from: Some("pat@patient.example".to_string()),
                rcpt_to: vec![format!("care@{DOMAIN}")],
            },
            Limits::default(),
        )
        .expect("no trap")
        .expect("received");
    assert!(
        matches!(received.resolution, Resolution::Matched(_)),
        "{:?}",
        received.resolution
    );

    let answer = mailroom
        .send(
            "ws-dkim",
            &SendRequest {
                use_case,
                to: to_pat(),
                cc: vec![],
                subject: "Re: Your appointment on Friday".to_string(),
                text: Some("Hello Pat,\r\n\r\n11:00 is fine.\r\n".to_string()),
                html: None,
                attachments: vec![],
                in_reply_to: Some("pat-1@patient.example".to_string()),
                idempotency_key: None,
            },
        )
        .expect("no trap")
        .expect("sent");
    assert_eq!(answer.in_reply_to.as_deref(), Some("pat-1@patient.example"));

    let outbox = mailroom.recorded_messages().expect("recorded");
    assert_eq!(outbox.len(), 2);
    let mut messages: Vec<String> = outbox
        .iter()
        .map(|m| String::from_utf8(m.raw.clone()).expect("UTF-8 messages"))
        .collect();
    assert!(messages[1].contains("\r\nIn-Reply-To: <pat-1@patient.example>\r\n"));
    assert!(messages.iter().all(|m| m.starts_with("DKIM-Signature:")));

    // Altered after signing: one body character, then a signed header.
    messages.push(alter_body(&messages[1], "11:00", "12:00"));
    messages.push(messages[0].replacen(
        "Subject: Your appointment on Friday",
        "Subject: Your appointment on Monday",
        1,
    ));
    assert_ne!(messages[3], messages[0]);

    let dkim = setup
        .records
        .iter()
        .find(|r| r.purpose == RecordPurpose::Dkim)
        .expect("a DKIM record");
    let records = json!({ dkim.name.clone(): dkim.value });
    assert_eq!(
        dkimpy(&records, &messages),
        ["pass", "pass", "fail", "fail"],
        "new message, reply, reply with its body altered, message with its subject altered"
    );
}
