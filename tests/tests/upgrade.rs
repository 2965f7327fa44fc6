//! Rolling upgrade: release 1's stored data (`tests/fixtures/upgrade/`)
//! read and continued by this build.

use conformance::upgrade::{dump, dump_path, write_scenarios};
use conformance::upgrade::{load_entries, release_1_store};
use guest::env::FixedEnv;
use guest::inbound::Limits;
use guest::inbound::receive::{Envelope, Resolution, receive};
use guest::messages::{Direction, MessageRecord};
use guest::outbound::{Recipient, SendRequest};
use guest::reporting::{Counts, Subject};
use guest::store::MemoryStore;
use guest::store::{Expect, Store};
use guest::suppression::Decision;
use guest::transport::RecordingTransport;
use guest::{keys, records, tenant};

/// Writes `tests/fixtures/upgrade/release-1-store.json` from the source
/// scenarios. Run only to capture a release's data, with that release's
/// code: `cargo test --release -p conformance --test upgrade -- --ignored`.
#[test]
#[ignore]
fn write_release_1_store() {
    let mut store = MemoryStore::default();
    write_scenarios(&mut store);
    let by = std::env::var("MAILROOM_RELEASE").unwrap_or_else(|_| "unnamed".into());
    std::fs::write(dump_path(), dump(&store, &by)).expect("dump written");
}

const WORKSPACE: &str = "ws-riverside";
/// Later on release 1's day (day 20514), so the counters continue.
const LATER: i64 = 1_772_460_000;
const DAY: std::ops::Range<u64> = 1_772_438_400..1_772_524_800;

/// Every key of `store` through the records layer: in a family, decoding
/// (release 1's through the upgrade), re-encoding at this version.
fn walk(store: &guest::store::MemoryStore) -> usize {
    let mut versioned = 0;
    for (key, entry) in store.entries() {
        assert!(keys::family(key).is_some(), "{key} is in no key family");
        let again = records::reencode(key, &entry.value)
            .unwrap_or_else(|e| panic!("{key} does not decode: {e}"));
        assert_eq!(
            records::reencode(key, &again).expect("re-decodes"),
            again,
            "{key}: the upgrade is not stable"
        );
        versioned += usize::from(entry.value.starts_with(br#"{"v":2,"#));
    }
    versioned
}

fn setup_of(store: &mut guest::store::MemoryStore, domain: &str) -> String {
    records::read::<String>(store, &keys::domain(domain))
        .expect("read")
        .expect("release 1 verified the domain")
        .0
}

fn counts(store: &mut guest::store::MemoryStore, setup: &str) -> Counts {
    tenant::reporting_count(
        store,
        WORKSPACE,
        &Subject::Setup(setup.into()),
        DAY.start,
        DAY.end,
    )
    .expect("counts")
    .counts
}

fn send(to: &str, use_case: &str, in_reply_to: Option<String>) -> SendRequest {
    SendRequest {
        use_case: use_case.into(),
        to: vec![Recipient {
            name: None,
            address: to.into(),
        }],
        cc: vec![],
        subject: "After the upgrade".into(),
        text: Some("Written by the new release.".into()),
        html: None,
        attachments: vec![],
        in_reply_to,
        idempotency_key: None,
    }
}

#[test]
fn every_release_1_key_decodes() {
    let store = release_1_store();
    assert!(store.entries().count() > 100);
    assert_eq!(walk(&store), 0, "release 1 wrote no versions");
}

#[test]
fn release_1_data_continues_under_this_release() {
    let mut store = release_1_store();
    let mut env = FixedEnv::new(LATER, 19);
    let mut transport = RecordingTransport::default();

    // A reply to release 1's last message of the five-rounds thread.
    let riverside = setup_of(&mut store, "riverside-clinic.example");
    let prefix = format!("message/{riverside}/");
    let last: MessageRecord = load_entries()
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(k, e)| records::decode::<MessageRecord>(k, &e.value).ok())
        .filter(|r| r.direction == Direction::Outbound)
        .max_by_key(|r| r.chain.len())
        .expect("release 1 sent in this setup");
    assert!(last.chain.len() >= 4, "a long thread: {:?}", last.chain);
    let thread = last.thread_id.clone().expect("a thread");
    let patient = last.to[0].clone();
    let raw = format!(
        "From: <{patient}>\r\nTo: <appointments@riverside-clinic.example>\r\n\
         Subject: Re: after the upgrade\r\nMessage-ID: <upgrade-1@patient.example>\r\n\
         In-Reply-To: <{}>\r\nDate: Mon, 2 Mar 2026 14:00:00 +0000\r\n\r\nThank you.\r\n",
        last.message_id
    );
    let envelope = Envelope {
        mail_from: Some(patient.clone()),
        rcpt_to: vec!["appointments@riverside-clinic.example".into()],
    };
    let got = receive(
        &mut store,
        &mut env,
        raw.as_bytes(),
        &envelope,
        &Limits::default(),
    )
    .expect("received");
    let Resolution::Matched(assoc) = &got.resolution else {
        panic!("the reply did not match: {:?}", got.resolution);
    };
    assert_eq!(assoc.thread_id, thread);
    let mut chain = last.chain.clone();
    chain.push(last.message_id.clone());
    chain.push(got.message_id.clone());
    assert_eq!(got.references, chain, "the full References chain");

    // Our answer continues the thread with the whole chain.
    let sent = tenant::send(
        &mut store,
        &mut transport,
        &mut env,
        WORKSPACE,
        &send(&patient, &assoc.use_case, Some(got.message_id.clone())),
    )
    .expect("sent");
    assert_eq!(sent.thread_id, thread);
    assert_eq!(sent.references, chain);
    let wire = String::from_utf8_lossy(&transport.sent[0].raw).into_owned();
    let unfolded = wire.replace("\r\n ", " ");
    let references = unfolded
        .lines()
        .find(|l| l.starts_with("References:"))
        .expect("a References field");
    for id in &chain {
        assert!(
            references.contains(&format!("<{id}>")),
            "{id} in {references}"
        );
    }

    // Suppressions of release 1 still hold; its counters continue.
    let decisions = setup_of(&mut store, "decisions-clinic.example");
    let appointments = "uc_837d78de5c331583";
    let newsletter = "uc_233d29d4aa089972";
    for (use_case, address) in [
        (appointments, "soft@patient.example"),
        (newsletter, "comp@patient.example"),
        (newsletter, "reader@patient.example"),
    ] {
        let decision =
            tenant::suppression_check(&mut store, &mut env, WORKSPACE, use_case, address)
                .expect("checked");
        assert!(
            matches!(decision, Decision::Suppressed(_)),
            "{address}: {decision:?}"
        );
    }
    let refused = tenant::send(
        &mut store,
        &mut transport,
        &mut env,
        WORKSPACE,
        &send("soft@patient.example", appointments, None),
    );
    assert!(refused.is_err(), "a suppressed address was sent to");
    let before = counts(&mut store, &decisions);
    assert_eq!(before.sent, 7, "release 1's count");
    tenant::send(
        &mut store,
        &mut transport,
        &mut env,
        WORKSPACE,
        &SendRequest {
            idempotency_key: Some("upgrade-1".into()),
            ..send("new@patient.example", appointments, None)
        },
    )
    .expect("sent");
    let after = counts(&mut store, &decisions);
    assert_eq!(after.sent, before.sent + 1);
    assert_eq!(
        Counts { sent: 0, ..after },
        Counts { sent: 0, ..before },
        "only `sent` moved"
    );

    // Everything decodes, old and new; what this release wrote is version 2.
    assert!(walk(&store) >= 4, "this release's records carry versions");
}

#[test]
fn a_record_from_a_newer_release_is_refused_by_name() {
    let mut store = release_1_store();
    let key = keys::use_case("uc_837d78de5c331583");
    let entry = store.get(&key).expect("get").expect("present");
    let mut newer = b"{\"v\":3,".to_vec();
    newer.extend_from_slice(&entry.value[1..]);
    store.put(&key, &newer, Expect::Any).expect("put");
    let err =
        tenant::use_cases_get(&mut store, WORKSPACE, "uc_837d78de5c331583").expect_err("refused");
    let text = format!("{err:?}");
    assert!(text.contains(&key) && text.contains("version 3"), "{text}");
}
