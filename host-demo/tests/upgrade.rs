//! Rolling upgrade over a real database: release 1's stored data
//! (`tests/fixtures/upgrade/release-1-store.json`, written by the component
//! before records had versions) loaded into one SQLite file (and one
//! PostgreSQL database when PostgreSQL is installed), then two `serve`
//! replicas on it take interleaved replies in a release-1 thread: one thread,
//! each References chain extending the last, release 1's suppressions
//! holding and its counters continuing, the same answers from both.
//!
//! A rolling upgrade: when `tests/release-1.sh` has built release 1 (its
//! `host-demo` and component, from this repository's history, into
//! `target/release-1/`; the README's test command does), replica 0 runs
//! release 1 and replica 1 this build, taking turns on one thread, so each
//! reads what the other wrote: release 1 reads this build's versioned
//! records (a message, a use case and a suppression policy this build
//! created) and this build reads release 1's. Without that build both
//! replicas run this one and the test says so (a failure under CI).
//! Needs the component: `cargo build -p guest --target wasm32-wasip2 --release`.

mod common;
mod support_pg;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use host_demo::Store;
use host_demo::host::store::Expect;
use serde_json::{Value, json};
use support_pg::{Postgres, Serve, agent, expect_as};

const WORKSPACE: &str = "ws-riverside";
const RELEASE_1_DAY: u64 = 1_772_438_400;

/// Release 1's entries: key, version, value.
fn release_1() -> Vec<(String, u64, Vec<u8>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/upgrade/release-1-store.json");
    let dump: Value =
        serde_json::from_slice(&std::fs::read(path).expect("the dump")).expect("JSON");
    dump["entries"]
        .as_object()
        .expect("entries")
        .iter()
        .map(|(key, e)| {
            let value = e["text"].as_str().expect("release 1 wrote text only");
            let version = e["version"].as_u64().expect("version");
            (key.clone(), version, value.as_bytes().to_vec())
        })
        .collect()
}

/// Writes every entry at its release-1 version.
fn load(store: &mut dyn Store, entries: &[(String, u64, Vec<u8>)]) {
    for (key, version, value) in entries {
        let mut expect = Expect::Absent;
        for _ in 0..*version {
            let v = store.put(key, value, expect).expect("loaded");
            expect = Expect::Version(v);
        }
    }
}

fn text(entries: &[(String, u64, Vec<u8>)], key: &str) -> Value {
    let (_, _, value) = entries
        .iter()
        .find(|(k, _, _)| k == key)
        .unwrap_or_else(|| panic!("{key} in release 1"));
    serde_json::from_slice(value).expect("JSON")
}

/// Release 1's `host-demo` and component, built by `tests/release-1.sh`.
fn release_1_build() -> Option<(PathBuf, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release-1");
    let (bin, component) = (dir.join("host-demo"), dir.join("mailroom.wasm"));
    if bin.is_file() && component.is_file() {
        return Some((bin, component));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "release 1 is not built: run tests/release-1.sh"
    );
    eprintln!(
        "NOT RUN: a release-1 replica (tests/release-1.sh builds one); both replicas run this build"
    );
    None
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir(&format!("upgrade-{name}"))
}

/// Two replicas with settings `toml` on a database holding release 1.
fn continue_on_two_replicas(dir: &std::path::Path, toml: &str) -> Vec<String> {
    let entries = release_1();
    let setup = text(&entries, "domain/riverside-clinic.example");
    let setup = setup.as_str().expect("id");
    let use_case = text(&entries, &format!("use-case-name/{setup}/appointments"));
    let use_case = use_case.as_str().expect("id");
    // Release 1's longest outbound chain in that setup: the thread's tip.
    let tip = entries
        .iter()
        .filter(|(k, _, _)| k.starts_with(&format!("message/{setup}/")))
        .map(|(_, _, v)| serde_json::from_slice::<Value>(v).expect("JSON"))
        .filter(|r| r["direction"] == "outbound")
        .max_by_key(|r| r["chain"].as_array().map_or(0, Vec::len))
        .expect("a sent message");
    let thread = tip["thread-id"].clone();
    let patient = tip["to"][0].as_str().expect("to").to_string();
    let mut parent = tip["message-id"].as_str().expect("id").to_string();
    let mut chain: Vec<String> = serde_json::from_value(tip["chain"].clone()).expect("chain");

    let old = release_1_build();
    let servers = [
        Serve::start_with(
            old.as_ref().map(|(b, c)| (b.as_path(), c.as_path())),
            &dir.join("r0.toml"),
            toml,
        ),
        Serve::start(&dir.join("r1.toml"), toml),
    ];
    let agent = agent();
    const SENDS: usize = 6;
    let mut sent = Vec::new();
    // Replica 1 (this build) first: release 1 then threads onto a message
    // record this build wrote.
    for i in 0..SENDS {
        let server = &servers[(i + 1) % 2];
        let body = json!({
            "use-case": use_case,
            "to": [{"address": patient}],
            "subject": "Re: after the upgrade",
            "text": format!("Reply {i} from replica {}.\r\n", (i + 1) % 2),
            "in-reply-to": parent,
        });
        let answer = expect_as(
            &agent,
            WORKSPACE,
            "POST",
            &server.url("/messages"),
            Some(&body),
            201,
        );
        assert_eq!(answer["thread-id"], thread, "send {i}: one thread");
        // Release 1's answer has no `replayed` (idempotency came after it):
        // the replica is what it claims to be.
        let release_1 = (i + 1) % 2 == 0 && old.is_some();
        assert_eq!(answer.get("replayed").is_none(), release_1, "{answer}");
        chain.push(parent.clone());
        let references: Vec<String> =
            serde_json::from_value(answer["references"].clone()).expect("references");
        assert_eq!(references, chain, "send {i}: the chain extends the last");
        parent = answer["message-id"].as_str().expect("id").to_string();
        sent.push(parent.clone());
    }

    // Objects this build creates, used through release 1: a use case
    // (a stored use case and its name index) and a suppression policy.
    let created = expect_as(
        &agent,
        WORKSPACE,
        "POST",
        &servers[1].url("/use-cases"),
        Some(&json!({
            "setup": setup,
            "sender": "after-upgrade@riverside-clinic.example",
            "type": "transactional",
            "entity-name": "Riverside Clinic",
            "use-case-name": "after-upgrade",
        })),
        201,
    );
    let policy_url = format!("/setups/{setup}/policy");
    let policy = expect_as(
        &agent,
        WORKSPACE,
        "GET",
        &servers[1].url(&policy_url),
        None,
        200,
    );
    expect_as(
        &agent,
        WORKSPACE,
        "PUT",
        &servers[1].url(&policy_url),
        Some(&policy),
        200,
    );
    for server in &servers {
        let read = expect_as(
            &agent,
            WORKSPACE,
            "GET",
            &server.url(&policy_url),
            None,
            200,
        );
        assert_eq!(read, policy, "the policy this build wrote reads alike");
        let use_case = expect_as(
            &agent,
            WORKSPACE,
            "GET",
            &server.url(&format!(
                "/use-cases/{}",
                created["id"].as_str().expect("id")
            )),
            None,
            200,
        );
        assert_eq!(
            use_case, created,
            "the use case this build wrote reads alike"
        );
    }
    let other = expect_as(
        &agent,
        WORKSPACE,
        "POST",
        &servers[0].url("/messages"),
        Some(&json!({
            "use-case": created["id"],
            "to": [{"address": "new-patient@patient.example"}],
            "subject": "Sent by release 1 through a use case this build created",
            "text": "Hello.\r\n",
        })),
        201,
    );
    sent.push(other["message-id"].as_str().expect("id").to_string());

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let newsletter = text(
        &entries,
        &format!(
            "use-case-name/{}/newsletter",
            text(&entries, "domain/decisions-clinic.example")
                .as_str()
                .expect("id")
        ),
    );
    let mut answers = Vec::new();
    for server in &servers {
        let counts = expect_as(
            &agent,
            WORKSPACE,
            "GET",
            &server.url(&format!(
                "/reporting?setup={setup}&from={RELEASE_1_DAY}&until={}",
                now + 86_400
            )),
            None,
            200,
        );
        // Release 1 sent 4 in this setup; the counters continue exactly.
        assert_eq!(counts["counts"]["sent"], 4 + SENDS + 1, "{counts}");
        let decision = expect_as(
            &agent,
            WORKSPACE,
            "GET",
            &server.url(&format!(
                "/suppression/{}/comp@patient.example",
                newsletter.as_str().expect("id")
            )),
            None,
            200,
        );
        assert_eq!(decision["suppressed"]["reason"], "complaint", "{decision}");
        for id in &sent {
            let state = expect_as(
                &agent,
                WORKSPACE,
                "GET",
                &server.url(&format!("/messages/{id}")),
                None,
                200,
            );
            assert_eq!(state["message-id"], json!(id), "{state}");
        }
        answers.push(format!("{counts}{decision}"));
    }
    assert_eq!(answers[0], answers[1], "both replicas answer alike");
    sent
}

#[test]
fn release_1_on_sqlite_continues_on_two_replicas() {
    let dir = temp_dir("sqlite");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    {
        let mut store = host_demo::host::sqlite::SqliteStore::open(data.join("mailroom.sqlite3"))
            .expect("open");
        load(&mut store, &release_1());
    }
    let toml = format!(
        "data-dir = {}\nqueue-poll-ms = 200\n",
        json!(data.to_str().expect("UTF-8"))
    );
    let sent = continue_on_two_replicas(&dir, &toml);
    // What this release wrote carries its record version; release 1's
    // records are untouched until written.
    let mut store =
        host_demo::host::sqlite::SqliteStore::open(data.join("mailroom.sqlite3")).expect("open");
    let setup = release_1()
        .into_iter()
        .find(|(k, _, _)| k == "domain/riverside-clinic.example")
        .map(|(_, _, v)| serde_json::from_slice::<String>(&v).expect("id"))
        .expect("setup");
    let entry = store
        .get(&format!("message/{setup}/{}", sent[0]))
        .expect("read")
        .expect("stored");
    assert!(entry.value.starts_with(br#"{"v":2,"#), "a versioned record");
}

#[test]
fn release_1_on_postgres_continues_on_two_replicas() {
    let Some(pg) = Postgres::start("upgrade") else {
        return;
    };
    let url = pg.database("mailroom");
    {
        let mut store =
            host_demo::host::postgres::PostgresStore::connect(&url, 1).expect("connect");
        load(&mut store, &release_1());
    }
    let dir = temp_dir("postgres");
    let toml = format!(
        "data-dir = {}\nstore = \"postgres\"\npostgres-url = \"{url}\"\n\
         postgres-pool-size = 2\nqueue-poll-ms = 200\n",
        json!(dir.join("data").to_str().expect("UTF-8"))
    );
    continue_on_two_replicas(&dir, &toml);
}
