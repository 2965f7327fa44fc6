//! The typed API of `Mailroom` for setups, use cases, send, report and
//! receive, its host state, fixed time and randomness, and the dynamic
//! scenario caller.
//!
//! Needs the component: `cargo build -p guest --target wasm32-wasip2 --release`.

use std::sync::OnceLock;

use host_demo::host::store::{Entry, Expect, Page, StoreError};
use host_demo::host::transport::TransportError;
use host_demo::inbound::Envelope;
use host_demo::{
    Clock, DeliveryOutcome, DnsAnswer, DnsResult, Limits, Mailroom, MemoryStore, MxAnswer,
    Outgoing, Recipient, RecordPurpose, RecordState, RecordType, Resolution, Resolve, SendError,
    SendRequest, Setup, SetupError, SetupOptions, SetupStatus, Store, Transport, UseCaseError,
    UseCaseType, Zone, scenario,
};
use serde_json::{Value, json};

const START: u64 = 1_772_442_000; // Mon, 2 Mar 2026 09:00:00 +0000
const SEED: u64 = 42;

/// The compiled component, loaded once; every test gets its own channel.
fn component() -> &'static Mailroom {
    static LOADED: OnceLock<Mailroom> = OnceLock::new();
    LOADED.get_or_init(|| Mailroom::load_default().expect("the component loads"))
}

/// A fresh channel with the scenario clock and random stream.
fn fixed() -> Mailroom {
    Mailroom::builder()
        .reuse_component(component())
        .clock(Clock::Fixed { start: START })
        .random_seed(SEED)
        .build()
        .expect("a channel")
}

fn options() -> SetupOptions {
    SetupOptions {
        inbound_host: "inbound.mailroom.example".to_string(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
        bounce_domain: None,
    }
}

/// A new, pending setup of clinic.example.
fn pending(m: &Mailroom) -> Setup {
    m.create_setup("ws-1", "clinic.example", &options())
        .expect("no trap")
        .expect("a setup")
}

/// The answers a nameserver publishing exactly `records` gives: per name and
/// type, TXT records each as one list of character-strings of at most 255
/// bytes, MX records from `<preference> <exchange>`.
fn published(records: &[host_demo::DnsRecord]) -> Vec<DnsAnswer> {
    let mut answers: Vec<DnsAnswer> = Vec::new();
    for record in records {
        let index = match answers
            .iter()
            .position(|a| a.name == record.name && a.type_ == record.type_)
        {
            Some(index) => index,
            None => {
                answers.push(DnsAnswer {
                    name: record.name.clone(),
                    type_: record.type_,
                    result: match record.type_ {
                        RecordType::Txt => DnsResult::Txt(vec![]),
                        RecordType::Mx => DnsResult::Mx(vec![]),
                    },
                });
                answers.len() - 1
            }
        };
        match &mut answers[index].result {
            DnsResult::Txt(txt) => {
                let strings = record
                    .value
                    .as_bytes()
                    .chunks(255)
                    .map(|chunk| String::from_utf8(chunk.to_vec()).expect("ASCII records"))
                    .collect();
                txt.push(strings);
            }
            DnsResult::Mx(mx) => {
                let (preference, exchange) = record
                    .value
                    .split_once(' ')
                    .expect("<preference> <exchange>");
                mx.push(MxAnswer {
                    preference: preference.parse().expect("a preference"),
                    exchange: exchange.to_string(),
                });
            }
            other => unreachable!("{other:?}"),
        }
    }
    answers
}

/// A verified setup of clinic.example: created, then verified with answers
/// that publish its own records.
fn verified(m: &Mailroom) -> Setup {
    let setup = pending(m);
    let verification = m
        .verify_setup("ws-1", &setup.id, &published(&setup.records))
        .expect("no trap")
        .expect("verified");
    assert_eq!(
        verification.setup.status,
        SetupStatus::Verified,
        "{:#?}",
        verification.checks
    );
    verification.setup
}

/// A verified setup and a use case; returns the use case id.
fn clinic(m: &Mailroom) -> String {
    let setup = verified(m);
    m.create_use_case(
        "ws-1",
        &setup.id,
        "care@clinic.example",
        UseCaseType::Transactional,
        "Clinic",
        "Care",
    )
    .expect("no trap")
    .expect("a use case")
    .id
}

fn request(use_case: &str, subject: &str) -> SendRequest {
    SendRequest {
        use_case: use_case.to_string(),
        to: vec![Recipient {
            name: Some("Pat Doe".to_string()),
            address: "pat@patient.example".to_string(),
        }],
        cc: vec![],
        subject: subject.to_string(),
        text: Some("Hello Pat.\r\n".to_string()),
        html: None,
        attachments: vec![],
        in_reply_to: None,
        idempotency_key: None,
    }
}

#[test]
fn host_state_persists_across_calls() {
    let m = fixed();
    let setup = pending(&m);
    assert_eq!(setup.domain, "clinic.example");
    // Each call runs in a fresh wasmtime store; the channel's store is shared.
    let again = m
        .get_setup("ws-1", &setup.id)
        .expect("no trap")
        .expect("found");
    assert_eq!(again, setup);
    // A pending setup does not hold its domain: another workspace may race.
    let rival = m
        .create_setup("ws-2", "clinic.example", &options())
        .expect("no trap")
        .expect("a second pending setup");
    assert_eq!(rival.status, SetupStatus::Pending);
    // Neither workspace sees the other's setup.
    assert!(matches!(
        m.get_setup("ws-2", &setup.id).expect("no trap"),
        Err(SetupError::NotFound(_))
    ));
    assert_eq!(
        m.list_setups("ws-1").expect("no trap").expect("listed"),
        vec![setup.clone()]
    );
    assert!(
        !m.store()
            .lock()
            .expect("not poisoned")
            .list("", None, 1)
            .expect("list")
            .keys
            .is_empty()
    );
    // Another channel of the same component starts empty.
    assert!(matches!(
        fixed().get_setup("ws-1", &setup.id).expect("no trap"),
        Err(SetupError::NotFound(_))
    ));
}

#[test]
fn send_report_and_receive_a_reply() {
    let m = fixed();
    let use_case = clinic(&m);
    let sent = m
        .send("ws-1", &request(&use_case, "Your appointment"))
        .expect("no trap")
        .expect("sent");
    let messages = m
        .recorded_messages()
        .expect("the default transport records");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message_id, sent.message_id);
    // The return path of this message and recipient (VERP).
    let (token, domain) = messages[0]
        .envelope
        .mail_from
        .split_once('@')
        .expect("an address");
    assert_eq!((token.len(), domain), (58, "bounce.clinic.example"));
    assert_eq!(messages[0].envelope.rcpt_to, ["pat@patient.example"]);
    let raw = String::from_utf8_lossy(&messages[0].raw);
    assert!(
        raw.contains(&format!("Message-ID: <{}>", sent.message_id)),
        "{raw}"
    );
    // The fixed clock: 2 March 2026, 09:00 and a few reads.
    assert!(raw.contains("Date: Mon, 2 Mar 2026 09:00:0"), "{raw}");

    assert_eq!(
        m.report(&sent.message_id, &DeliveryOutcome::Accepted(None))
            .expect("no trap"),
        Ok(())
    );

    let reply = format!(
        "From: Pat Doe <pat@patient.example>\r\nTo: care@clinic.example\r\n\
         Subject: Re: Your appointment\r\nMessage-ID: <pat-1@patient.example>\r\n\
         In-Reply-To: <{}>\r\n\r\nThanks!\r\n",
        sent.message_id
    );
    let envelope = Envelope {
        mail_from: Some("pat@patient.example".to_string()),
        rcpt_to: vec!["care@clinic.example".to_string()],
    };
    let received = m
        .receive(reply.as_bytes(), &envelope, Limits::default())
        .expect("no trap")
        .expect("received");
    assert_eq!(received.message_id, "pat-1@patient.example");
    match received.resolution {
        Resolution::Matched(a) => {
            assert_eq!(a.thread_id, sent.thread_id);
            assert_eq!(a.parent_message_id, sent.message_id);
            assert_eq!(a.use_case, use_case);
            assert!(!a.sender_mismatch);
        }
        Resolution::Unmatched(why) => panic!("not matched: {why}"),
    }
}

#[test]
fn header_injection_is_a_typed_invalid_header_error() {
    let m = fixed();
    let use_case = clinic(&m);
    for subject in [
        "Hello\r\nBcc: victim@example.net",
        "Hello\nBcc: victim@example.net",
        "Hello\rBcc: victim@example.net",
    ] {
        let answer = m
            .send("ws-1", &request(&use_case, subject))
            .expect("no trap");
        assert!(
            matches!(answer, Err(SendError::InvalidHeader(_))),
            "{subject:?}: {answer:?}"
        );
    }
    let mut bad_name = request(&use_case, "Hello");
    bad_name.to[0].name = Some("Pat\r\nBcc: victim@example.net".to_string());
    assert!(matches!(
        m.send("ws-1", &bad_name).expect("no trap"),
        Err(SendError::InvalidHeader(_))
    ));
    // Nothing reached the transport.
    assert_eq!(m.recorded_messages().map(|v| v.len()), Some(0));
}

#[test]
fn fixed_clock_and_seed_are_reproducible() {
    let ids = |m: &Mailroom| {
        let use_case = clinic(m);
        let sent = m
            .send("ws-1", &request(&use_case, "Hi"))
            .expect("no trap")
            .expect("sent");
        let raw = m.recorded_messages().expect("recorded")[0].raw.clone();
        (use_case, sent.message_id, sent.thread_id, raw)
    };
    let first = ids(&fixed());
    assert_eq!(first, ids(&fixed()), "same seed and clock, same answers");

    let other_seed = Mailroom::builder()
        .reuse_component(component())
        .clock(Clock::Fixed { start: START })
        .random_seed(SEED + 1)
        .build()
        .expect("a channel");
    assert_ne!(first.1, ids(&other_seed).1);

    // The default: real clock, secure randomness.
    let real = || {
        Mailroom::builder()
            .reuse_component(component())
            .build()
            .expect("a channel")
    };
    let (a, b) = (ids(&real()), ids(&real()));
    assert_ne!(a.1, b.1, "secure random ids differ");
    assert!(!String::from_utf8_lossy(&a.3).contains("Date: Mon, 2 Mar 2026 09:00:0"));
}

/// A transport that refuses everything.
struct Refusing;

impl Transport for Refusing {
    fn submit(&mut self, _: &Outgoing) -> Result<(), TransportError> {
        Err(TransportError::Rejected("no relay".to_string()))
    }
}

/// A store whose backend is down.
struct Down;

impl Store for Down {
    fn get(&mut self, _: &str) -> Result<Option<Entry>, StoreError> {
        Err(StoreError::Unavailable("down".to_string()))
    }
    fn put(&mut self, _: &str, _: &[u8], _: Expect) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable("down".to_string()))
    }
    fn delete(&mut self, _: &str, _: Expect) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("down".to_string()))
    }
    fn list(&mut self, _: &str, _: Option<&str>, _: u32) -> Result<Page, StoreError> {
        Err(StoreError::Unavailable("down".to_string()))
    }
}

#[test]
fn store_and_transport_are_swappable() {
    let m = Mailroom::builder()
        .reuse_component(component())
        .store(MemoryStore::new())
        .transport(Refusing)
        .build()
        .expect("a channel");
    let use_case = clinic(&m);
    let answer = m.send("ws-1", &request(&use_case, "Hi")).expect("no trap");
    assert!(matches!(answer, Err(SendError::Transport(_))), "{answer:?}");
    assert!(m.recorded_messages().is_none(), "a custom transport");

    let down = Mailroom::builder()
        .reuse_component(component())
        .store(Down)
        .build()
        .expect("a channel");
    let answer = down
        .create_setup("ws-1", "clinic.example", &options())
        .expect("no trap");
    assert!(matches!(answer, Err(SetupError::Store(_))), "{answer:?}");
}

/// `answers` in the scenario JSON form.
fn answers_json(answers: &[DnsAnswer]) -> Value {
    let kind = |t: RecordType| match t {
        RecordType::Txt => "txt",
        RecordType::Mx => "mx",
    };
    answers
        .iter()
        .map(|a| {
            let result = match &a.result {
                DnsResult::Txt(txt) => json!({ "txt": txt }),
                DnsResult::Mx(mx) => json!({ "mx": mx
                    .iter()
                    .map(|m| json!({"preference": m.preference, "exchange": m.exchange}))
                    .collect::<Vec<_>>() }),
                other => panic!("not a published answer: {other:?}"),
            };
            json!({"name": a.name, "type": kind(a.type_), "result": result})
        })
        .collect()
}

/// The conversation of `send_report_and_receive_a_reply`, as a scenario;
/// `answers` verify the setup.
fn conversation(answers: Value) -> Value {
    json!({
        "description": "typed and dynamic calls agree",
        "clock-start": START,
        "random-seed": SEED,
        "steps": [
            {"name": "setup", "call": "setups.create", "args": ["ws-1", "clinic.example",
             {"inbound-host": "inbound.mailroom.example", "spf-include": null}]},
            {"name": "verify", "call": "setups.verify", "args": ["ws-1", "{{setup.ok.id}}", answers]},
            {"name": "uc", "call": "use-cases.create",
             "args": ["ws-1", "{{setup.ok.id}}", "care@clinic.example", "transactional", "Clinic", "Care"]},
            {"name": "out", "call": "outbound.send", "args": ["ws-1", {
                "use-case": "{{uc.ok.id}}",
                "to": [{"name": "Pat Doe", "address": "pat@patient.example"}],
                "cc": [], "subject": "Hi", "text": "Hello Pat.\r\n", "html": null,
                "attachments": [], "in-reply-to": null}]},
            {"name": "report", "call": "outbound.report",
             "args": ["{{out.ok.message-id}}", {"accepted": null}]},
            {"name": "bad", "call": "outbound.report",
             "args": ["nobody@clinic.example", {"failed": "550"}]},
            {"name": "in", "call": "inbound.receive", "args": [
                "From: pat@patient.example\r\nTo: care@clinic.example\r\nMessage-ID: <pat-1@patient.example>\r\nIn-Reply-To: <{{out.ok.message-id}}>\r\nSubject: Re: Hi\r\n\r\nThanks!\r\n",
                {"mail-from": null, "rcpt-to": []},
                {"max-bytes": null, "max-depth": null, "max-parts": null}]}
        ]
    })
}

#[test]
fn scenario_results_match_the_typed_api() {
    // The typed calls first; the same seed makes the same setup, so its
    // published records verify the scenario's setup too.
    let m = fixed();
    let typed_setup = pending(&m);
    let answers = published(&typed_setup.records);
    m.verify_setup("ws-1", &typed_setup.id, &answers)
        .expect("no trap")
        .expect("verified");
    let use_case = m
        .create_use_case(
            "ws-1",
            &typed_setup.id,
            "care@clinic.example",
            UseCaseType::Transactional,
            "Clinic",
            "Care",
        )
        .expect("no trap")
        .expect("a use case")
        .id;
    let sent = m
        .send("ws-1", &request(&use_case, "Hi"))
        .expect("no trap")
        .expect("sent");

    let transcript = scenario::run(component(), &conversation(answers_json(&answers)))
        .expect("the scenario runs");
    let step = |name: &str| -> &Value {
        &transcript
            .steps
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("step {name}"))
            .1
    };

    let setup = step("setup");
    assert_eq!(setup["ok"]["domain"], "clinic.example");
    // Records: WIT field order.
    let keys: Vec<&str> = setup["ok"]
        .as_object()
        .expect("a record")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "workspace",
            "domain",
            "status",
            "selector",
            "next-selector",
            "records",
            "created-at",
            "expires-at"
        ]
    );
    assert_eq!(setup["ok"]["id"], typed_setup.id.as_str());
    assert_eq!(setup["ok"]["status"], "pending");
    assert_eq!(step("verify")["ok"]["setup"]["status"], "verified");
    assert_eq!(step("uc")["ok"]["id"], use_case.as_str());
    assert_eq!(step("uc")["ok"]["type"], "transactional");
    assert_eq!(
        step("out"),
        &json!({"ok": {
            "message-id": sent.message_id,
            "thread-id": sent.thread_id,
            "in-reply-to": null,
            "references": [],
            "size": sent.size,
            "unsubscribe-url": null,
        }})
    );
    assert_eq!(step("report"), &json!({"ok": null}));
    assert!(step("bad")["err"]["unknown-message"].is_string());
    let matched = &step("in")["ok"]["resolution"]["matched"];
    assert_eq!(matched["thread-id"], sent.thread_id.as_str());
    assert_eq!(step("in")["ok"]["auto-reply"], Value::Null);

    let typed = m.recorded_messages().expect("recorded");
    assert_eq!(
        transcript.transport,
        [scenario::outgoing_json(&typed[0])],
        "same bytes through both APIs"
    );
    assert_eq!(
        transcript.transport[0]["envelope"]["rcpt-to"],
        json!(["pat@patient.example"])
    );
}

#[test]
fn dynamic_calls_convert_bytes_and_report_bad_calls() {
    let m = fixed();
    let raw = "From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
               Content-Type: text/plain\r\n\r\nhi\r\n--b\r\n\
               Content-Type: application/octet-stream; name=a.bin\r\n\r\nabc\r\n--b--\r\n";
    let parsed = scenario::call(&m, "inbound.parse", &[json!(raw), json!({})]).expect("called");
    let attachment = &parsed["ok"]["attachments"][0];
    assert_eq!(attachment["filename"], "a.bin");
    assert_eq!(attachment["disposition"], "unspecified");
    // list<u8> results are their SHA-256 (of "abc").
    assert_eq!(
        attachment["content"],
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let limits = json!({"max-bytes": 0, "max-depth": null, "max-parts": null});
    let refused = scenario::call(&m, "inbound.parse", &[json!(raw), limits]).expect("called");
    assert!(refused["err"]["invalid-limits"].is_string(), "{refused}");

    let error = |target: &str, args: &[Value]| {
        format!(
            "{:#}",
            scenario::call(&m, target, args).expect_err("a bad call")
        )
    };
    assert!(error("nowhere.create", &[]).contains("no interface nowhere"));
    assert!(error("setups.destroy", &[]).contains("no function destroy"));
    assert!(error("setups.create", &[json!("ws")]).contains("takes 3 arguments"));
    let options = json!({"inbound-host": "inbound.mailroom.example", "spf-include": null});
    assert!(
        error("setups.create", &[json!(1), json!("d"), options]).contains("argument workspace")
    );
    assert!(
        error(
            "use-cases.create",
            &[
                json!("ws"),
                json!("s"),
                json!("a@b"),
                json!("weekly"),
                json!("E"),
                json!("N")
            ]
        )
        .contains("no case weekly")
    );
    assert!(error("setups", &[]).contains("interface.function"));
}

#[test]
fn use_cases_need_a_verified_setup() {
    let m = fixed();
    let setup = pending(&m);
    assert_eq!(setup.status, SetupStatus::Pending);
    assert!(setup.next_selector.is_none());
    let dkim = setup
        .records
        .iter()
        .find(|r| r.purpose == RecordPurpose::Dkim)
        .expect("a DKIM record");
    assert_eq!(
        dkim.name,
        format!("{}._domainkey.clinic.example", setup.selector)
    );
    assert!(dkim.value.len() > 255, "a 2048-bit key needs two strings");
    let mx = setup
        .records
        .iter()
        .find(|r| r.purpose == RecordPurpose::InboundMx)
        .expect("an MX record");
    assert_eq!(mx.type_, RecordType::Mx);
    assert!(
        mx.value.ends_with(" inbound.mailroom.example"),
        "{}",
        mx.value
    );

    let create = |m: &Mailroom| {
        m.create_use_case(
            "ws-1",
            &setup.id,
            "care@clinic.example",
            UseCaseType::Transactional,
            "Clinic",
            "Care",
        )
        .expect("no trap")
    };
    assert!(
        matches!(create(&m), Err(UseCaseError::SetupNotVerified(_))),
        "pending"
    );

    // One lookup per name and type the records use.
    let lookups = m
        .setup_lookups("ws-1", &setup.id)
        .expect("no trap")
        .expect("lookups");
    for record in &setup.records {
        assert!(
            lookups
                .iter()
                .any(|l| l.name == record.name && l.type_ == record.type_),
            "{} is looked up",
            record.name
        );
    }
    assert!(matches!(
        m.setup_lookups("ws-1", "nope").expect("no trap"),
        Err(SetupError::NotFound(_))
    ));

    // Nothing published yet: still pending, every required record missing.
    let nothing = m
        .verify_setup_with("ws-1", &setup.id, &Zone::new())
        .expect("no trap")
        .expect("checked");
    assert_eq!(nothing.setup.status, SetupStatus::Pending);
    assert_eq!(nothing.checks.len(), setup.records.len());
    assert!(
        nothing
            .checks
            .iter()
            .all(|c| matches!(&c.state, RecordState::Missing(_))),
        "{:#?}",
        nothing.checks
    );
    assert!(matches!(create(&m), Err(UseCaseError::SetupNotVerified(_))));

    // The answers the tests build by hand and a `Zone` publishing the
    // records agree.
    let zone = Zone::publishing(&setup.records).expect("a zone");
    assert_eq!(zone.resolve_all(&lookups), published(&setup.records));
    let verification = m
        .verify_setup_with("ws-1", &setup.id, &zone)
        .expect("no trap")
        .expect("verified");
    assert_eq!(verification.setup.status, SetupStatus::Verified);
    assert!(
        verification
            .checks
            .iter()
            .all(|c| c.state == RecordState::Verified)
    );
    assert_eq!(
        m.get_setup("ws-1", &setup.id)
            .expect("no trap")
            .expect("found")
            .status,
        SetupStatus::Verified,
        "stored"
    );
    assert!(create(&m).is_ok());

    // The DKIM record removed after verification: failed, and the check
    // says the record is missing.
    let mut gone = zone.clone();
    gone.remove(&dkim.name, RecordType::Txt);
    let failed = m
        .verify_setup_with("ws-1", &setup.id, &gone)
        .expect("no trap")
        .expect("checked");
    assert_eq!(failed.setup.status, SetupStatus::Failed);
    let check = failed
        .checks
        .iter()
        .find(|c| c.record.purpose == RecordPurpose::Dkim)
        .expect("the DKIM check");
    assert!(matches!(&check.state, RecordState::Missing(_)), "{check:?}");
    assert_eq!(check.record.name, dkim.name);
}

#[test]
fn dkim_rotation_completes_once_the_new_key_is_published() {
    let m = fixed();
    let setup = verified(&m);
    let rotating = m
        .rotate_dkim("ws-1", &setup.id)
        .expect("no trap")
        .expect("rotating");
    let next = rotating.next_selector.clone().expect("a next selector");
    assert_ne!(next, setup.selector);
    assert_eq!(
        rotating.selector, setup.selector,
        "still signing with the old key"
    );
    let new_record = rotating
        .records
        .iter()
        .find(|r| r.name.starts_with(&format!("{next}.")))
        .expect("the new key's record")
        .clone();
    assert!(!new_record.required);

    // Only the old records published: nothing changes.
    let old = m
        .verify_setup_with(
            "ws-1",
            &setup.id,
            &Zone::publishing(&setup.records).expect("zone"),
        )
        .expect("no trap")
        .expect("checked");
    assert_eq!(old.setup.status, SetupStatus::Verified);
    assert_eq!(old.setup.next_selector.as_deref(), Some(next.as_str()));

    // The new key published: the rotation completes.
    let both = Zone::publishing(&rotating.records).expect("zone");
    let done = m
        .verify_setup_with("ws-1", &setup.id, &both)
        .expect("no trap")
        .expect("checked");
    assert_eq!(done.setup.status, SetupStatus::Verified);
    assert_eq!(done.setup.selector, next);
    assert_eq!(done.setup.next_selector, None);
    assert!(
        done.setup
            .records
            .iter()
            .filter(|r| r.purpose == RecordPurpose::Dkim)
            .all(|r| r.name == new_record.name && r.required)
    );
    assert!(matches!(
        m.rotate_dkim("ws-1", "nope").expect("no trap"),
        Err(SetupError::NotFound(_))
    ));
}

#[test]
fn use_cases_are_listed_and_disabled() {
    let m = fixed();
    let setup = verified(&m);
    let make = |sender: &str, name: &str| {
        m.create_use_case(
            "ws-1",
            &setup.id,
            sender,
            UseCaseType::Transactional,
            "Clinic",
            name,
        )
        .expect("no trap")
        .expect("a use case")
    };
    // Listed by lower-cased name, not in creation order nor byte order
    // ("Care" < "billing" in bytes).
    let care = make("care@clinic.example", "Care");
    let billing = make("billing@clinic.example", "billing");
    let listed = m
        .list_use_cases("ws-1", &setup.id)
        .expect("no trap")
        .expect("listed");
    assert_eq!(listed, [billing.clone(), care.clone()], "name order");
    assert!(listed.iter().all(|u| u.enabled));

    let disabled = m
        .disable_use_case("ws-1", &billing.id)
        .expect("no trap")
        .expect("disabled");
    assert!(!disabled.enabled);
    assert_eq!(
        m.get_use_case("ws-1", &billing.id).expect("no trap"),
        Ok(disabled.clone())
    );
    assert_eq!(
        m.list_use_cases("ws-1", &setup.id).expect("no trap"),
        Ok(vec![disabled, care.clone()])
    );
    let answer = m
        .send("ws-1", &request(&billing.id, "Invoice"))
        .expect("no trap");
    assert!(
        matches!(answer, Err(SendError::UseCaseDisabled(_))),
        "{answer:?}"
    );
    assert!(
        m.send("ws-1", &request(&care.id, "Hi"))
            .expect("no trap")
            .is_ok()
    );
    assert!(matches!(
        m.disable_use_case("ws-1", "nope").expect("no trap"),
        Err(UseCaseError::NotFound(_))
    ));
}

#[test]
fn outbound_mail_is_dkim_signed_with_the_setup_key() {
    let m = fixed();
    let use_case = clinic(&m);
    m.send("ws-1", &request(&use_case, "Signed"))
        .expect("no trap")
        .expect("sent");
    let raw =
        String::from_utf8(m.recorded_messages().expect("recorded")[0].raw.clone()).expect("UTF-8");
    assert!(raw.starts_with("DKIM-Signature: "), "{raw}");
    let signature = raw.split("\r\n\r\n").next().expect("headers");
    for tag in [
        "a=rsa-sha256",
        "c=relaxed/relaxed",
        "d=clinic.example",
        "s=mailroom",
    ] {
        assert!(signature.contains(tag), "{tag} in {signature}");
    }
}
