//! The HTTP API (`host-demo serve`) against real peers: curl performs the
//! RFC 8058 one-click, eight concurrent clients send through a server that
//! is SIGKILLed and restarted, and the typed calls and JSON codec behind
//! every endpoint answer every scenario fixture exactly.
//!
//! Needs the component: `cargo build -p guest --target wasm32-wasip2 --release`;
//! and curl (`apt-get install curl`) for the one-click test, which says
//! NOT RUN without it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use host_demo::host::sqlite::SqliteStore;
use host_demo::{Clock, Mailroom, Store, scenario};
use serde_json::{Value, json};

mod common;
use common::Server;

const UNSUBSCRIBE_BASE: &str = "https://mailroom.example/unsubscribe";
/// The operator's key of every test server; tests act for [`WORKSPACE`]
/// through it (`tests/auth.rs` covers workspace keys).
const ADMIN_KEY: &str = "admin-key-of-the-http-tests";
/// The ingest secret of every test server.
const INGEST_SECRET: &str = "ingest-secret-of-the-http-tests";
const WORKSPACE: &str = "ws-1";

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir(&format!("http-{name}"))
}

/// Starts `host-demo serve` on `data_dir` (SQLite store, Maildir outbox)
/// with the tests' keys and more settings `extra` (top-level TOML lines).
fn start_with(data_dir: &Path, extra: &str) -> Server {
    let top = format!("unsubscribe-base = \"{UNSUBSCRIBE_BASE}\"\n{extra}");
    let platform = format!(
        "admin-key = \"{ADMIN_KEY}\"\ningest-secret = \"{INGEST_SECRET}\"\n\
         posted-dns-answers = true\nsends-per-second = 1000"
    );
    Server::start(&common::settings(data_dir, &top, &platform))
}

/// [`start_with`] and no more settings.
fn start(data_dir: &Path) -> Server {
    start_with(data_dir, "")
}

/// Sends a request; the status and the body as JSON (`null` when empty).
fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), ureq::Error> {
    let bearer = format!("Bearer {ADMIN_KEY}");
    let mut response = match (method, body) {
        ("GET", _) => agent
            .get(url)
            .header("Authorization", &bearer)
            .header("X-Mailroom-Workspace", WORKSPACE)
            .call()?,
        ("DELETE", _) => agent
            .delete(url)
            .header("Authorization", &bearer)
            .header("X-Mailroom-Workspace", WORKSPACE)
            .call()?,
        ("POST", Some(body)) => agent
            .post(url)
            .header("Authorization", &bearer)
            .header("X-Mailroom-Workspace", WORKSPACE)
            .header("Content-Type", "application/json")
            .send(body.to_string())?,
        ("POST", None) => agent
            .post(url)
            .header("Authorization", &bearer)
            .header("X-Mailroom-Workspace", WORKSPACE)
            .send_empty()?,
        ("PUT", Some(body)) => agent
            .put(url)
            .header("Authorization", &bearer)
            .header("X-Mailroom-Workspace", WORKSPACE)
            .header("Content-Type", "application/json")
            .send(body.to_string())?,
        _ => panic!("unsupported {method}"),
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok((status, value))
}

/// Like [`call`], expecting `status`.
fn expect(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
    status: u16,
) -> Value {
    let (got, value) = call(agent, method, url, body).expect("the server answers");
    assert_eq!(got, status, "{method} {url}: {value:#}");
    value
}

/// The DNS answers (the WIT JSON form) of a nameserver publishing exactly
/// `records`: TXT values cut into 255-byte character-strings.
fn published(records: &[Value]) -> Vec<Value> {
    let mut grouped: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for record in records {
        let name = record["name"].as_str().expect("name").to_string();
        let kind = record["type"].as_str().expect("type").to_string();
        let value = record["value"].as_str().expect("value");
        let item = match kind.as_str() {
            "txt" => json!(
                value
                    .as_bytes()
                    .chunks(255)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
            ),
            _ => {
                let (preference, exchange) = value.split_once(' ').expect("MX value");
                json!({"preference": preference.parse::<u16>().expect("preference"), "exchange": exchange})
            }
        };
        grouped.entry((name, kind)).or_default().push(item);
    }
    grouped
        .into_iter()
        .map(|((name, kind), items)| json!({"name": name, "type": kind, "result": {kind.clone(): items}}))
        .collect()
}

/// Creates and verifies a setup of `domain` and creates a use case of
/// `kind`; returns (setup id, use case id).
fn verified_use_case(
    agent: &ureq::Agent,
    server: &Server,
    domain: &str,
    kind: &str,
) -> (String, String) {
    let setup = expect(
        agent,
        "POST",
        &server.url("/setups"),
        Some(&json!({"workspace": "ws-1", "domain": domain})),
        201,
    );
    let id = setup["id"].as_str().expect("setup id").to_string();
    assert_eq!(setup["status"], "pending");
    let records = setup["records"].as_array().expect("records");
    let mx = records
        .iter()
        .find(|r| r["type"] == "mx")
        .expect("an MX record");
    assert_eq!(
        mx["value"], "10 inbound.mailroom.example",
        "the configured inbound host"
    );

    // No nameserver is configured: without answers, verification is refused.
    let refused = expect(
        agent,
        "POST",
        &server.url(&format!("/setups/{id}/verify")),
        None,
        400,
    );
    assert!(refused["error"]["bad-request"].is_string(), "{refused}");
    let verification = expect(
        agent,
        "POST",
        &server.url(&format!("/setups/{id}/verify")),
        Some(&json!({"answers": published(records)})),
        200,
    );
    assert_eq!(
        verification["setup"]["status"], "verified",
        "{verification:#}"
    );

    let use_case = expect(
        agent,
        "POST",
        &server.url("/use-cases"),
        Some(&json!({
            "setup": id,
            "sender": format!("news@{domain}"),
            "type": kind,
            "entity-name": "Riverside Shop",
            "use-case-name": format!("{kind} mail"),
        })),
        201,
    );
    (
        id,
        use_case["id"].as_str().expect("use case id").to_string(),
    )
}

/// Runs curl; its exit status, the response status and headers, and body.
fn curl(args: &[&str]) -> (String, String) {
    let output = Command::new("curl")
        .args(["-sS", "-i"])
        .args(args)
        .output()
        .expect("run curl");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_string(), b.to_string()))
        .unwrap_or((text, String::new()));
    (head, body)
}

fn status_line(head: &str) -> &str {
    head.lines().next().unwrap_or_default()
}

#[test]
fn curl_performs_the_one_click_unsubscribe() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("NOT RUN: curl is not installed (apt-get install curl)");
        return;
    }
    let data = temp_dir("one-click");
    let server = start(&data);
    let agent = common::agent();
    let (setup, use_case) = verified_use_case(&agent, &server, "shop.example", "marketing");

    let message = json!({
        "use-case": use_case,
        "to": [{"name": "Pat Doe", "address": "Pat@Patient.example"}],
        "subject": "Spring sale",
        "text": "Everything must go.\r\nUnsubscribe: [[unsubscribe-url]]\r\n",
    });
    let sent = expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(&message),
        201,
    );
    let url = sent["unsubscribe-url"]
        .as_str()
        .expect("an unsubscribe URL");
    let token = url
        .strip_prefix(&format!("{UNSUBSCRIBE_BASE}/"))
        .unwrap_or_else(|| panic!("{url} is not under {UNSUBSCRIBE_BASE}"));
    let local = server.url(&format!("/unsubscribe/{token}"));

    // The outbox holds the signed message with both RFC 8058 headers.
    let outbox: Vec<String> = std::fs::read_dir(data.join("outbox/new"))
        .expect("the Maildir outbox")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("read"))
        .collect();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(outbox[0].contains(url), "the body carries the visible link");

    // A link scanner's GET shows a page and changes nothing.
    let (head, page) = curl(&[&local]);
    assert!(status_line(&head).contains(" 200"), "{head}");
    assert!(page.contains("<form method=\"post\">"), "{page}");
    expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(&message),
        201,
    );

    // A wrong body and a tampered token are refused; nothing is recorded.
    let (head, _) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "--data",
        "List-Unsubscribe=Yes-Please",
        &local,
    ]);
    assert!(status_line(&head).contains(" 400"), "{head}");
    let mut tampered: Vec<char> = token.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let (head, body) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "--data",
        "List-Unsubscribe=One-Click",
        &server.url(&format!("/unsubscribe/{tampered}")),
    ]);
    assert!(status_line(&head).contains(" 404"), "{head}\n{body}");
    expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(&message),
        201,
    );

    // The one-click POST, as a mail client makes it: 200, no redirect.
    for _ in 0..2 {
        let (head, body) = curl(&[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
            "--data",
            "List-Unsubscribe=One-Click",
            &local,
        ]);
        assert!(status_line(&head).contains(" 200"), "{head}\n{body}");
        assert!(!head.to_ascii_lowercase().contains("\nlocation:"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain"),
            "{head}"
        );
        assert!(!body.trim().is_empty());
    }

    // The next send to that recipient under that use case is refused.
    let refused = expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(&message),
        409,
    );
    let suppressed = refused["error"]["suppressed"]
        .as_array()
        .expect("suppressed");
    assert_eq!(suppressed.len(), 1, "{refused:#}");
    assert_eq!(suppressed[0]["address"], "pat@patient.example");
    assert_eq!(suppressed[0]["reason"], "unsubscribe");
    assert_eq!(suppressed[0]["scope"], json!({"use-case": use_case}));

    let decision = expect(
        &agent,
        "GET",
        &server.url(&format!("/suppression/{use_case}/pat@patient.example")),
        None,
        200,
    );
    assert_eq!(
        decision["suppressed"]["reason"], "unsubscribe",
        "{decision}"
    );
    let listed = expect(
        &agent,
        "GET",
        &server.url(&format!("/setups/{setup}/suppressions")),
        None,
        200,
    );
    assert_eq!(listed[0]["address"], "pat@patient.example", "{listed}");
    let counts = expect(
        &agent,
        "GET",
        &server.url(&format!("/reporting?setup={setup}")),
        None,
        200,
    );
    assert_eq!(counts["counts"]["sent"], 3, "{counts}");
    assert_eq!(counts["counts"]["unsubscribed"], 1, "{counts}");
    assert_eq!(counts["counts"]["suppressed"], 1, "{counts}");

    // Removing the suppression lets mail through again; its history stays.
    let removed = expect(
        &agent,
        "DELETE",
        &server.url(&format!(
            "/setups/{setup}/suppressions/pat@patient.example?note=asked%20again"
        )),
        None,
        200,
    );
    assert_eq!(removed["history"][0]["note"], "asked again", "{removed}");
    expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(&message),
        201,
    );

    // Typed errors keep their case and get their status.
    let unknown = expect(&agent, "GET", &server.url("/use-cases/nope"), None, 404);
    assert!(unknown["error"]["not-found"].is_string(), "{unknown}");
    let bad = json!({"use-case": use_case, "to": [{"address": "x@y.example"}], "subject": "a\r\nBcc: x", "text": "x"});
    let refused = expect(&agent, "POST", &server.url("/messages"), Some(&bad), 400);
    assert!(refused["error"]["invalid-header"].is_string(), "{refused}");
    let malformed = expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(&json!({"nope": 1})),
        400,
    );
    assert!(malformed["error"]["bad-request"].is_string(), "{malformed}");
    drop(server);
}

#[test]
fn inbound_and_reports_over_http() {
    let data = temp_dir("inbound");
    let server = start(&data);
    let agent = common::agent();
    let (_, use_case) = verified_use_case(&agent, &server, "clinic.example", "transactional");
    let sent = expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(
            &json!({"use-case": use_case, "to": [{"address": "pat@patient.example"}],
                     "subject": "Your appointment", "text": "See you.\r\n",
                     "attachments": [{"filename": "a.bin", "content-type": "application/octet-stream",
                                      "content": {"base64": "AAECAw=="}}]}),
        ),
        201,
    );
    let id = sent["message-id"].as_str().expect("id");
    let raw = format!(
        "From: Pat <pat@patient.example>\r\nTo: news@clinic.example\r\nSubject: Re: Your appointment\r\n\
         Message-ID: <reply-1@patient.example>\r\nIn-Reply-To: <{id}>\r\n\r\nThanks!\r\n"
    );
    let mut response = agent
        .post(&server.url("/inbound?from=pat@patient.example&to=news@clinic.example"))
        .header("Authorization", &format!("Bearer {INGEST_SECRET}"))
        .header("Content-Type", "message/rfc822")
        .send(raw.as_bytes())
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let received: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(
        received["resolution"]["matched"]["parent-message-id"], id,
        "{received:#}"
    );
    assert_eq!(
        received["references"],
        json!([id, "reply-1@patient.example"])
    );

    let mut response = agent
        .post(&server.url("/inbound"))
        .header("Authorization", &format!("Bearer {INGEST_SECRET}"))
        .send(&b""[..])
        .expect("answers");
    assert_eq!(response.status().as_u16(), 400);
    let error: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON");
    assert!(error["error"]["parse"]["malformed"].is_string(), "{error}");

    let dsn = format!(
        "From: MAILER-DAEMON@mx.patient.example\r\nTo: news@clinic.example\r\nSubject: Undelivered Mail\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nUser unknown.\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.patient.example\r\n\r\n\
         Final-Recipient: rfc822; pat@patient.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\n\r\n--b--\r\n"
    );
    let mut response = agent
        .post(&server.url("/reports"))
        .header("Authorization", &format!("Bearer {INGEST_SECRET}"))
        .send(dsn.as_bytes())
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let report: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(report["class"], "hard", "{report:#}");
    assert_eq!(
        report["outcome"]["matched"][0]["recipient"], "pat@patient.example",
        "{report:#}"
    );
    let decision = expect(
        &agent,
        "GET",
        &server.url(&format!("/suppression/{use_case}/pat@patient.example")),
        None,
        200,
    );
    assert_eq!(
        decision["suppressed"]["reason"], "hard-bounce",
        "{decision}"
    );

    let event = json!({"id": "evt-1", "message-id": id, "recipient": "pat@patient.example",
                       "at": null, "kind": "delivered"});
    let recorded = expect(&agent, "POST", &server.url("/events"), Some(&event), 200);
    assert_eq!(recorded["duplicate"], false, "{recorded}");
    let again = expect(&agent, "POST", &server.url("/events"), Some(&event), 200);
    assert_eq!(again["duplicate"], true, "{again}");
    let unknown = json!({"id": "evt-2", "message-id": "nope@x.example", "recipient": "a@b.example",
                         "at": null, "kind": "delivered"});
    expect(&agent, "POST", &server.url("/events"), Some(&unknown), 404);
}

/// The first and the newest 99 ids, as the WIT bounds References.
fn bound(ids: Vec<String>) -> Vec<String> {
    if ids.len() <= 100 {
        return ids;
    }
    let mut out = vec![ids[0].clone()];
    out.extend_from_slice(&ids[ids.len() - 99..]);
    out
}

/// One acknowledged send: HTTP 201 received.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    parent: String,
    references: Vec<String>,
}

#[test]
fn nothing_acknowledged_is_lost_when_the_server_is_killed() {
    const SENDERS: usize = 8;
    const PER_SENDER: usize = 16;
    const KILL_AFTER: usize = 48;
    const PRELUDE: usize = 105;

    let data = temp_dir("sigkill");
    let mut server = start(&data);
    let agent = common::agent();
    let (setup, use_case) = verified_use_case(&agent, &server, "busy.example", "transactional");
    let root = expect(
        &agent,
        "POST",
        &server.url("/messages"),
        Some(
            &json!({"use-case": use_case, "to": [{"address": "pat@patient.example"}],
                     "subject": "A long conversation", "text": "Hello.\r\n"}),
        ),
        201,
    );
    let root_id = root["message-id"].as_str().expect("id").to_string();
    let thread = root["thread-id"].clone();
    // A chain longer than References holds (100 ids), so every concurrent
    // reply's References are bounded: the root and the newest 99.
    let mut tip = root_id.clone();
    for i in 0..PRELUDE {
        let sent = expect(
            &agent,
            "POST",
            &server.url("/messages"),
            Some(
                &json!({"use-case": use_case, "to": [{"address": "pat@patient.example"}],
                         "subject": "Re: A long conversation", "text": format!("Reply {i}.\r\n"),
                         "in-reply-to": tip}),
            ),
            201,
        );
        assert_eq!(
            sent["references"].as_array().map(Vec::len),
            Some((i + 1).min(100))
        );
        tip = sent["message-id"].as_str().expect("id").to_string();
    }

    let base = Arc::new(Mutex::new(server.base.clone()));
    // Every sender replies to the newest acknowledged message it knows of.
    let latest = Arc::new(Mutex::new(tip));
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(300);
    let senders: Vec<_> = (0..SENDERS)
        .map(|n| {
            let (base, latest, acked, count) = (
                Arc::clone(&base),
                Arc::clone(&latest),
                Arc::clone(&acked),
                Arc::clone(&count),
            );
            let use_case = use_case.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let agent = common::agent();
                for i in 0..PER_SENDER {
                    loop {
                        if Instant::now() > deadline {
                            return Err(format!("sender {n}: out of time"));
                        }
                        let parent = latest.lock().expect("latest").clone();
                        let url = format!("{}/messages", base.lock().expect("base"));
                        let body = json!({
                            "use-case": use_case,
                            "to": [{"address": "pat@patient.example"}],
                            "subject": "Re: A long conversation",
                            "text": format!("Sender {n}, reply {i}.\r\n"),
                            "in-reply-to": parent,
                        });
                        match call(&agent, "POST", &url, Some(&body)) {
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
                            Ok((status, answer)) => {
                                return Err(format!("sender {n}: {status} {answer}"));
                            }
                            // The server is down: wait for the restart.
                            Err(_) => std::thread::sleep(Duration::from_millis(50)),
                        }
                    }
                }
                Ok(())
            })
        })
        .collect();

    while count.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "the senders stalled");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    let killed_at = count.load(Ordering::SeqCst);
    server = start(&data);
    *base.lock().expect("base") = server.base.clone();

    for sender in senders {
        sender
            .join()
            .expect("a sender panicked")
            .expect("a sender failed");
    }
    let log = server.log.lock().expect("log").join("\n");
    server.kill();
    let acked = acked.lock().expect("acked").clone();
    assert_eq!(acked.len(), SENDERS * PER_SENDER);
    assert!(killed_at < acked.len(), "the kill came before the end");

    // Every acknowledged message is in the store with its whole chain.
    let mut store = SqliteStore::open(data.join("mailroom.sqlite3")).expect("open the store");
    let mut record = |id: &str| -> Value {
        let entry = store
            .get(&format!("message/{setup}/{id}"))
            .expect("read the store")
            .unwrap_or_else(|| panic!("acknowledged message {id} is not in the store\n{log}"));
        serde_json::from_slice(&entry.value).expect("a JSON record")
    };
    let mut longest = 0;
    for sent in &acked {
        let stored = record(&sent.id);
        let parent = record(&sent.parent);
        let mut expected: Vec<String> =
            serde_json::from_value(parent["chain"].clone()).expect("chain");
        expected.push(sent.parent.clone());
        let expected = bound(expected);
        assert_eq!(sent.references, expected, "the references of {}", sent.id);
        assert_eq!(
            stored["chain"],
            json!(expected),
            "the stored chain of {}",
            sent.id
        );
        assert_eq!(stored["thread-id"], thread, "{} left the thread", sent.id);
        assert_eq!(sent.references.first(), Some(&root_id));
        longest = longest.max(sent.references.len());
    }
    eprintln!(
        "{} acknowledged, killed after {killed_at}, longest chain {longest}",
        acked.len()
    );
    assert_eq!(longest, 100);

    // And in the Maildir outbox, complete.
    let mut delivered = HashMap::new();
    for entry in std::fs::read_dir(data.join("outbox/envelopes")).expect("envelopes") {
        let path = entry.expect("entry").path();
        let envelope: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
        let name = path.file_stem().expect("name").to_owned();
        if data.join("outbox/new").join(&name).is_file() {
            delivered.insert(
                envelope["message-id"].as_str().expect("id").to_string(),
                name,
            );
        }
    }
    for sent in &acked {
        assert!(
            delivered.contains_key(&sent.id),
            "{} is not in the outbox",
            sent.id
        );
    }
}

/// The compiled component, loaded once.
fn component() -> &'static Mailroom {
    static LOADED: OnceLock<Mailroom> = OnceLock::new();
    LOADED.get_or_init(|| Mailroom::load_default().expect("the component loads"))
}

/// Runs a scenario fixture with every call made through the typed methods
/// and the JSON codec the HTTP API uses (`Mailroom::call_json`).
fn run_typed(fixture: &Value) -> Vec<(String, Value)> {
    let channel = Mailroom::builder()
        .reuse_component(component())
        .clock(Clock::Fixed {
            start: fixture["clock-start"].as_u64().expect("clock-start"),
        })
        .random_seed(fixture["random-seed"].as_u64().expect("random-seed"))
        .build()
        .expect("a channel");
    let mut done: Vec<(String, Value)> = Vec::new();
    for step in fixture["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().expect("name").to_string();
        let target = step["call"].as_str().expect("call");
        let args: Vec<Value> = step["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| scenario::substitute(v, &done).expect("substitutes"))
                    .collect()
            })
            .unwrap_or_default();
        let result = channel.call_json(target, &args).expect("no trap");
        done.push((name, result));
    }
    done
}

#[test]
fn typed_calls_answer_like_the_fixtures() {
    let fixtures = host_demo::workspace_dir().join("tests/fixtures");
    let mut checked = HashMap::<String, usize>::new();
    for suite in ["threads", "setups", "delivery"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures.join(suite))
            .expect("a fixture suite")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let fixture: Value =
                serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
            let steps = fixture["steps"].as_array().expect("steps");
            for (step, (name, got)) in steps.iter().zip(run_typed(&fixture)) {
                assert_eq!(&step["expect"], &got, "{} step {name}", file.display());
                let call = step["call"].as_str().expect("call").to_string();
                *checked.entry(call).or_default() += 1;
            }
        }
    }
    // Every export a fixture calls went through the typed path.
    assert!(checked.len() >= 20, "too few exports covered: {checked:?}");
}

#[test]
fn verify_resolves_through_the_configured_nameserver() {
    let Some(dnsmasq) = common::dnsmasq() else {
        eprintln!("NOT RUN: dnsmasq is not installed (apt-get install dnsmasq-base)");
        return;
    };
    let domain = "http-dns.example";
    let port = common::free_port();
    let data = temp_dir("dns");
    let server = start_with(&data, &format!("nameserver = \"127.0.0.1:{port}\"\n"));
    let agent = common::agent();
    let setup = expect(
        &agent,
        "POST",
        &server.url("/setups"),
        Some(&json!({"workspace": "ws-1", "domain": domain,
                     "options": {"inbound-host": "mx.mailroom.example"}})),
        201,
    );
    let id = setup["id"].as_str().expect("id");

    // The records as published, served by dnsmasq.
    let records = setup["records"].as_array().expect("records");
    let dns = common::Dns::start(&dnsmasq, &data, port, &[domain], records);

    let verification = expect(
        &agent,
        "POST",
        &server.url(&format!("/setups/{id}/verify")),
        None,
        200,
    );
    drop(dns);
    assert_eq!(
        verification["setup"]["status"], "verified",
        "{verification:#}"
    );
    for check in verification["checks"].as_array().expect("checks") {
        assert_eq!(check["state"], "verified", "{check}");
    }
}
