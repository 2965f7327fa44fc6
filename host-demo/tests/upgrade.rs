//! Rolling upgrade over a real database: release 1's stored data
//! (`tests/fixtures/upgrade/release-1-store.json`, written by the component
//! before records had versions) loaded into one SQLite file (and one
//! PostgreSQL database when PostgreSQL is installed), then two `serve`
//! replicas on it take interleaved replies in a release-1 thread: one thread,
//! each References chain extending the last, release 1's suppressions
//! holding and its counters continuing, the same answers from both.
//!
//! Both replicas run this build: the test shows that this release reads and
//! continues release 1's data beside itself, not a mixed-version pair (the
//! previous binary is not built here). Needs the component:
//! `cargo build -p guest --target wasm32-wasip2 --release`.

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

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("upgrade-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
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

    let servers: Vec<Serve> = (0..2)
        .map(|n| Serve::start(&dir.join(format!("r{n}.toml")), toml))
        .collect();
    let agent = agent();
    const SENDS: usize = 6;
    let mut sent = Vec::new();
    for i in 0..SENDS {
        let server = &servers[i % 2];
        let body = json!({
            "use-case": use_case,
            "to": [{"address": patient}],
            "subject": "Re: after the upgrade",
            "text": format!("Reply {i} from replica {}.\r\n", i % 2),
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
        chain.push(parent.clone());
        let references: Vec<String> =
            serde_json::from_value(answer["references"].clone()).expect("references");
        assert_eq!(references, chain, "send {i}: the chain extends the last");
        parent = answer["message-id"].as_str().expect("id").to_string();
        sent.push(parent.clone());
    }

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
        assert_eq!(counts["counts"]["sent"], 4 + SENDS, "{counts}");
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
