//! Many `host-demo serve` replicas on one PostgreSQL database (a real
//! server, `support_pg`) give the answers of one: 8 concurrent senders reply
//! in one thread through two and three replicas, one of the three SIGKILLed
//! mid-run and restarted. Every acknowledged message is stored once with a
//! consistent References chain, all in one thread, delivered through the
//! outbound queue into exactly one replica's Maildir outbox (a second copy
//! only for a message whose queue history shows the killed replica's
//! attempt), and the reporting counters equal the sends: exactly the
//! acknowledged ones when nothing is killed.
//!
//! Needs PostgreSQL (`apt-get install postgresql`; NOT RUN without it) and
//! the component: `cargo build -p guest --target wasm32-wasip2 --release`.

mod common;
mod support_pg;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use host_demo::Store;
use host_demo::host::postgres::PostgresStore;
use serde_json::{Value, json};
use support_pg::{Postgres, Serve, agent, call, expect, verified_use_case};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir(&format!("replicas-{name}"))
}

/// One acknowledged send.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    parent: String,
    references: Vec<String>,
}

/// The Message-IDs in a Maildir outbox, each with its number of copies.
fn outbox(dir: &std::path::Path, into: &mut HashMap<String, usize>) {
    let Ok(entries) = std::fs::read_dir(dir.join("outbox/envelopes")) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        let name = path.file_stem().expect("name").to_owned();
        if !dir.join("outbox/new").join(&name).is_file() {
            continue;
        }
        let envelope: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
        *into
            .entry(envelope["message-id"].as_str().expect("id").to_string())
            .or_default() += 1;
    }
}

fn run(replicas: usize, kill: bool) {
    const SENDERS: usize = 8;
    const PER_SENDER: usize = 12;
    let Some(pg) = Postgres::start(&format!("replicas{replicas}")) else {
        return;
    };
    let url = pg.database("mailroom");
    let root_dir = temp_dir(&format!("{replicas}-{kill}"));
    let mut servers: Vec<Serve> = (0..replicas)
        .map(|n| {
            let data = root_dir.join(format!("r{n}"));
            Serve::start(
                &root_dir.join(format!("r{n}.toml")),
                &format!(
                    "data-dir = {}\nstore = \"postgres\"\npostgres-url = \"{url}\"\n\
                     postgres-pool-size = 4\nqueue-lease-secs = 5\nsmtp-timeout-secs = 2\n\
                     queue-poll-ms = 200\n",
                    json!(data.to_str().expect("UTF-8"))
                ),
            )
        })
        .collect();
    let agent = agent();
    let (setup, use_case) = verified_use_case(&agent, &servers[0].base, "replicas.example");
    // Every replica sees what another created.
    for server in &servers {
        expect(
            &agent,
            "GET",
            &server.url(&format!("/use-cases/{use_case}")),
            None,
            200,
        );
        assert_eq!(
            call(&agent, "GET", &server.url("/readyz"), None)
                .expect("ready")
                .0,
            200
        );
    }
    let root = expect(
        &agent,
        "POST",
        &servers[0].url("/messages"),
        Some(
            &json!({"use-case": use_case, "to": [{"address": "pat@patient.example"}],
                     "subject": "One conversation", "text": "Hello.\r\n"}),
        ),
        201,
    );
    let root_id = root["message-id"].as_str().expect("id").to_string();
    let thread = root["thread-id"].clone();

    let bases = Arc::new(Mutex::new(
        servers.iter().map(|s| s.base.clone()).collect::<Vec<_>>(),
    ));
    let latest = Arc::new(Mutex::new(root_id.clone()));
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(400);
    let senders: Vec<_> = (0..SENDERS)
        .map(|n| {
            let (bases, latest, acked, count) = (
                Arc::clone(&bases),
                Arc::clone(&latest),
                Arc::clone(&acked),
                Arc::clone(&count),
            );
            let use_case = use_case.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let agent = support_pg::agent();
                let mut turn = n;
                for i in 0..PER_SENDER {
                    loop {
                        if Instant::now() > deadline {
                            return Err(format!("sender {n}: out of time"));
                        }
                        // Round robin over the replicas, like a load balancer.
                        turn += 1;
                        let base = {
                            let bases = bases.lock().expect("bases");
                            bases[turn % bases.len()].clone()
                        };
                        let parent = latest.lock().expect("latest").clone();
                        let body = json!({
                            "use-case": use_case,
                            "to": [{"address": "pat@patient.example"}],
                            "subject": "Re: One conversation",
                            "text": format!("Sender {n}, reply {i}.\r\n"),
                            "in-reply-to": parent,
                        });
                        match call(&agent, "POST", &format!("{base}/messages"), Some(&body)) {
                            Ok((201, sent)) => {
                                let id =
                                    sent["message-id"].as_str().unwrap_or_default().to_string();
                                let references = sent["references"]
                                    .as_array()
                                    .map(|r| {
                                        r.iter()
                                            .filter_map(|v| v.as_str().map(String::from))
                                            .collect()
                                    })
                                    .unwrap_or_default();
                                acked.lock().expect("acked").push(Acked {
                                    id: id.clone(),
                                    parent,
                                    references,
                                });
                                *latest.lock().expect("latest") = id;
                                count.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            // A store conflict that ran out of retries is the
                            // caller's to retry, as 503 says.
                            Ok((503, _)) => std::thread::sleep(Duration::from_millis(20)),
                            Ok((status, answer)) => {
                                return Err(format!("sender {n}: {status} {answer}"));
                            }
                            // That replica is down: the next one.
                            Err(_) => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                }
                Ok(())
            })
        })
        .collect();

    let mut killed_at = None;
    if kill {
        while count.load(Ordering::SeqCst) < SENDERS * PER_SENDER / 3 {
            assert!(Instant::now() < deadline, "the senders stalled");
            std::thread::sleep(Duration::from_millis(5));
        }
        servers[1].kill();
        killed_at = Some(count.load(Ordering::SeqCst));
        std::thread::sleep(Duration::from_millis(300));
        servers[1].restart();
        bases.lock().expect("bases")[1] = servers[1].base.clone();
    }
    for sender in senders {
        sender
            .join()
            .expect("a sender panicked")
            .expect("a sender failed");
    }
    let acked = acked.lock().expect("acked").clone();
    assert_eq!(acked.len(), SENDERS * PER_SENDER);

    // The queue delivers every acknowledged message (any replica's worker).
    let wait = Instant::now() + Duration::from_secs(120);
    loop {
        let mut pending = 0;
        for (n, sent) in acked.iter().enumerate() {
            let server = &servers[n % replicas];
            let state = expect(
                &agent,
                "GET",
                &server.url(&format!("/messages/{}", sent.id)),
                None,
                200,
            );
            if state["state"] != "delivered" {
                pending += 1;
            }
        }
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < wait,
            "{pending} messages not delivered\n{}",
            servers
                .iter()
                .map(Serve::log_text)
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // Every acknowledged message is stored with its whole chain, in one
    // thread.
    let mut store = PostgresStore::connect(&url, 1).expect("connect");
    let mut record = |id: &str| -> Value {
        let entry = store
            .get(&format!("message/{setup}/{id}"))
            .expect("read the store")
            .unwrap_or_else(|| panic!("acknowledged message {id} is not in the store"));
        serde_json::from_slice(&entry.value).expect("a JSON record")
    };
    for sent in &acked {
        let stored = record(&sent.id);
        let parent = record(&sent.parent);
        let mut expected: Vec<String> =
            serde_json::from_value(parent["chain"].clone()).expect("chain");
        expected.push(sent.parent.clone());
        if expected.len() > 100 {
            let mut bounded = vec![expected[0].clone()];
            bounded.extend_from_slice(&expected[expected.len() - 99..]);
            expected = bounded;
        }
        assert_eq!(sent.references, expected, "the references of {}", sent.id);
        assert_eq!(stored["chain"], json!(expected), "the chain of {}", sent.id);
        assert_eq!(stored["thread-id"], thread, "{} left the thread", sent.id);
        assert_eq!(sent.references.first(), Some(&root_id));
    }

    // In exactly one outbox, once; twice only after the killed replica's
    // attempt (at least once: a worker killed mid-submit).
    let mut copies = HashMap::new();
    for n in 0..replicas {
        outbox(&root_dir.join(format!("r{n}")), &mut copies);
    }
    let mut redelivered = 0;
    for sent in &acked {
        let n = copies.get(&sent.id).copied().unwrap_or(0);
        assert!(n >= 1, "{} is in no outbox", sent.id);
        if n > 1 {
            let state = expect(
                &agent,
                "GET",
                &servers[0].url(&format!("/messages/{}", sent.id)),
                None,
                200,
            );
            assert!(
                kill && state["attempts"].as_u64() > Some(1),
                "{} delivered {n} times: {state:#}",
                sent.id
            );
            redelivered += 1;
        }
    }

    // Reporting: the sent counter counts each completed send once.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let report = expect(
        &agent,
        "GET",
        &servers[replicas - 1].url(&format!(
            "/reporting?use-case={use_case}&from={}&until={}",
            now - 2 * 86_400,
            now + 86_400
        )),
        None,
        200,
    );
    let sent_count = report["counts"]["sent"]
        .as_u64()
        .unwrap_or_else(|| panic!("no sent count in {report:#}"));
    let acknowledged = acked.len() as u64 + 1;
    let mut stored_messages = 0u64;
    let mut cursor: Option<String> = None;
    let mut store = PostgresStore::connect(&url, 1).expect("connect");
    loop {
        let page = store
            .list(&format!("message/{setup}/"), cursor.as_deref(), 500)
            .expect("list");
        stored_messages += page.keys.len() as u64;
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if kill {
        // A send killed after it counted but before it answered counts
        // without an acknowledgement; one killed before it counted is stored
        // without a count. Never fewer than acknowledged.
        assert!(
            sent_count >= acknowledged && sent_count <= stored_messages,
            "sent {sent_count}, acknowledged {acknowledged}, stored {stored_messages}"
        );
    } else {
        assert_eq!(sent_count, acknowledged, "{report:#}");
        assert_eq!(stored_messages, acknowledged);
    }
    eprintln!(
        "{replicas} replicas: {} acknowledged, killed after {killed_at:?}, {redelivered} \
         redelivered after the kill, sent counter {sent_count}, stored {stored_messages}",
        acked.len()
    );
    drop(servers);
    let _ = std::fs::remove_dir_all(&root_dir);
}

#[test]
fn two_replicas_on_one_database_answer_like_one() {
    run(2, false);
}

#[test]
fn three_replicas_one_killed_lose_nothing_acknowledged() {
    run(3, true);
}

/// POSTs `body` to `url` with an `Idempotency-Key`; the status, the body
/// text and whether it was a replay.
fn post_with_key(agent: &ureq::Agent, url: &str, key: &str, body: &Value) -> (u16, String, bool) {
    post_with_key_as(agent, support_pg::WORKSPACE, url, key, body)
}

/// Like [`post_with_key`], as `workspace`.
fn post_with_key_as(
    agent: &ureq::Agent,
    workspace: &str,
    url: &str,
    key: &str,
    body: &Value,
) -> (u16, String, bool) {
    let [(a, a_value), (w, w_value)] = support_pg::auth_as(workspace);
    let mut response = agent
        .post(url)
        .header(a, &a_value)
        .header(w, &w_value)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", key)
        .send(body.to_string())
        .expect("the server answers");
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().expect("body"),
        replayed,
    )
}

#[test]
fn one_idempotency_key_sends_once_across_two_replicas() {
    let Some(pg) = Postgres::start("idempotency") else {
        return;
    };
    let url = pg.database("mailroom");
    let root_dir = temp_dir("idempotency");
    let servers: Vec<Serve> = (0..2)
        .map(|n| {
            let data = root_dir.join(format!("r{n}"));
            Serve::start(
                &root_dir.join(format!("r{n}.toml")),
                &format!(
                    "data-dir = {}\nstore = \"postgres\"\npostgres-url = \"{url}\"\nqueue-poll-ms = 100\n",
                    json!(data.to_str().expect("UTF-8"))
                ),
            )
        })
        .collect();
    let agent = agent();
    let (_, use_case) = verified_use_case(&agent, &servers[0].base, "once.example");
    let body = json!({"use-case": use_case, "to": [{"address": "pat@patient.example"}],
                      "subject": "Your reminder", "text": "Tomorrow at 9.\r\n"});

    // The same request with one key, posted to both replicas at once, four
    // times over.
    let answers: Vec<(u16, String, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|n| {
                let (url, body) = (servers[n % 2].url("/messages"), body.clone());
                scope.spawn(move || post_with_key(&agent_for_thread(), &url, "reminder-42", &body))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a client panicked"))
            .collect()
    });
    // The same answer every time, but for `replayed` (true, and the header,
    // on the answers that sent nothing).
    let first = &answers[0];
    assert_eq!(first.0, 201, "{}", first.1);
    let sent: Value = serde_json::from_str(&first.1).expect("JSON");
    for answer in &answers {
        let mut this: Value = serde_json::from_str(&answer.1).expect("JSON");
        assert_eq!(this["replayed"], json!(answer.2), "{}", answer.1);
        this["replayed"] = sent["replayed"].clone();
        assert_eq!((answer.0, &this), (first.0, &sent), "the same answer");
    }
    assert_eq!(
        answers.iter().filter(|a| !a.2).count(),
        1,
        "one ran, the others replayed"
    );
    let id = sent["message-id"].as_str().expect("id").to_string();

    // A changed body with that key: 409, nothing sent.
    let mut changed = body.clone();
    changed["text"] = json!("Tomorrow at 10.\r\n");
    let (status, text, _) = post_with_key(
        &agent,
        &servers[1].url("/messages"),
        "reminder-42",
        &changed,
    );
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("idempotency-key-reused"), "{text}");
    // Keys are the workspace's: another workspace's first request with the
    // same key runs (and sends its own message).
    let (_, other_use_case) =
        support_pg::verified_use_case_as(&agent, "ws-2", &servers[1].base, "other.example");
    let mut theirs = body.clone();
    theirs["use-case"] = json!(other_use_case);
    let (status, text, replayed) = post_with_key_as(
        &agent,
        "ws-2",
        &servers[1].url("/messages"),
        "reminder-42",
        &theirs,
    );
    assert_eq!((status, replayed), (201, false), "{text}");
    let other: Value = serde_json::from_str(&text).expect("JSON");
    let other_id = other["message-id"].as_str().expect("id").to_string();
    assert_ne!(other_id, id);
    // A key too long: 400.
    let long = "k".repeat(300);
    let (status, _, _) = post_with_key(&agent, &servers[0].url("/messages"), &long, &body);
    assert_eq!(status, 400);

    // One message in the outboxes, once delivered.
    let deadline = Instant::now() + Duration::from_secs(60);
    while expect(
        &agent,
        "GET",
        &servers[0].url(&format!("/messages/{id}")),
        None,
        200,
    )["state"]
        != "delivered"
    {
        assert!(Instant::now() < deadline, "not delivered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while expect(
        &agent,
        "GET",
        &servers[0].url(&format!("/messages/{other_id}")),
        None,
        200,
    )["state"]
        != "delivered"
    {
        assert!(Instant::now() < deadline, "not delivered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut copies = HashMap::new();
    for n in 0..2 {
        outbox(&root_dir.join(format!("r{n}")), &mut copies);
    }
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert_eq!(copies.get(&id), Some(&1));
    assert_eq!(copies.get(&other_id), Some(&1));
    drop(servers);
    let _ = std::fs::remove_dir_all(&root_dir);
}

fn agent_for_thread() -> ureq::Agent {
    agent()
}
