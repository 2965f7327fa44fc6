//! The durable outbound queue of `host-demo serve` against a real relay
//! (aiosmtpd): sends answer while the relay is down, are retried with
//! `deferred` events, and are delivered exactly once when it comes up; a
//! replica SIGKILLed in the middle of a submit leaves the message to be
//! delivered after its lease expires, with the same Message-ID. (The retry
//! schedule itself is checked with a fake clock in `src/queue.rs`.)
//!
//! Needs python3 with aiosmtpd (NOT RUN without it) and the component:
//! `cargo build -p guest --target wasm32-wasip2 --release`.

mod common;
mod support_pg;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support_pg::{Serve, agent, expect, free_port, verified_use_case};

/// A relay on a given port: every message is written to `<out>/msgN.eml`
/// with `<out>/msgN.json` (its Message-ID); with `stall`, the first RCPT
/// writes `<out>/stalled` and hangs for 60 s (a relay that never answers).
const RELAY: &str = r#"
import asyncio, email, json, os, sys
from aiosmtpd.smtp import SMTP

port, out, stall = int(sys.argv[1]), sys.argv[2], sys.argv[3] == 'stall'

class Handler:
    def __init__(self):
        self.count = 0
        self.stalled = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if stall and not self.stalled:
            self.stalled = True
            open(os.path.join(out, 'stalled'), 'w').close()
            await asyncio.sleep(60)
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(out, 'msg%d' % self.count)
        message = email.message_from_bytes(envelope.original_content)
        with open(base + '.eml', 'wb') as f:
            f.write(envelope.original_content)
        with open(base + '.tmp', 'w') as f:
            json.dump({'message-id': message['Message-ID'], 'rcpt_to': envelope.rcpt_tos}, f)
        os.rename(base + '.tmp', base + '.json')
        return '250 2.0.0 queued as msg%d' % self.count

async def main():
    loop = asyncio.get_running_loop()
    # One handler for every connection: one count, one stall.
    handler = Handler()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname='relay.test', loop=loop), '127.0.0.1', port)
    print('ready', flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

fn aiosmtpd(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("NOT RUN {test}: python3 with aiosmtpd is not available");
    }
    ok
}

struct Relay(Child);

impl Relay {
    fn start(port: u16, out: &Path, mode: &str) -> Relay {
        std::fs::create_dir_all(out).expect("relay dir");
        let mut child = Command::new("python3")
            .args([
                "-c",
                RELAY,
                &port.to_string(),
                out.to_str().expect("UTF-8"),
                mode,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the relay");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the relay starts");
        assert_eq!(line.trim(), "ready");
        Relay(child)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Message-ID (without brackets) → copies the relay received.
fn received(out: &Path) -> HashMap<String, usize> {
    let mut copies = HashMap::new();
    for entry in std::fs::read_dir(out).into_iter().flatten() {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let meta: Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
            let id = meta["message-id"].as_str().expect("id");
            *copies
                .entry(id.trim_matches(['<', '>']).to_string())
                .or_default() += 1;
        }
    }
    copies
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir(&format!("queue-{name}"))
}

fn settings(data: &Path, port: u16) -> String {
    format!(
        "data-dir = {}\nsmtp-url = \"smtp://127.0.0.1:{port}?tls=none\"\nsmtp-timeout-secs = 2\n\
         queue-retry-base-secs = 1\nqueue-retry-max-secs = 2\nqueue-lease-secs = 4\n\
         queue-poll-ms = 100\n",
        json!(data.to_str().expect("UTF-8"))
    )
}

fn send(agent: &ureq::Agent, server: &Serve, use_case: &str, n: usize) -> String {
    let sent = expect(
        agent,
        "POST",
        &server.url("/messages"),
        Some(
            &json!({"use-case": use_case, "to": [{"address": format!("pat{n}@patient.example")}],
                     "subject": "Your results", "text": "They are ready.\r\n"}),
        ),
        201,
    );
    sent["message-id"].as_str().expect("id").to_string()
}

fn state(agent: &ureq::Agent, server: &Serve, id: &str) -> Value {
    expect(
        agent,
        "GET",
        &server.url(&format!("/messages/{id}")),
        None,
        200,
    )
}

/// Waits until every message in `ids` is delivered.
fn await_delivery(agent: &ureq::Agent, server: &Serve, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ids
        .iter()
        .all(|id| state(agent, server, id)["state"] == "delivered")
    {
        assert!(
            Instant::now() < deadline,
            "not delivered:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sends_wait_in_the_queue_while_the_relay_is_down() {
    if !aiosmtpd("sends_wait_in_the_queue_while_the_relay_is_down") {
        return;
    }
    let dir = temp_dir("down");
    let port = free_port();
    let server = Serve::start(&dir.join("serve.toml"), &settings(&dir.join("data"), port));
    let agent = agent();
    let (_, use_case) = verified_use_case(&agent, &server.base, "queued.example");

    // The relay is down: every send is acknowledged (queued) all the same.
    let ids: Vec<String> = (0..5)
        .map(|n| send(&agent, &server, &use_case, n))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ids.iter().all(|id| {
        let s = state(&agent, &server, id);
        s["state"] == "deferred" && s["attempts"].as_u64() >= Some(2)
    }) {
        assert!(
            Instant::now() < deadline,
            "no retries:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let shown = state(&agent, &server, &ids[0]);
    assert!(shown["last-error"].as_str().is_some(), "{shown:#}");
    assert!(shown["next-attempt-at"].as_u64().is_some(), "{shown:#}");
    let history = shown["history"].as_array().expect("history");
    assert!(
        history.iter().all(|a| a["outcome"] == "deferred"),
        "{shown:#}"
    );

    // The relay comes up: each message delivered exactly once.
    let out = dir.join("relay");
    let _relay = Relay::start(port, &out, "normal");
    await_delivery(&agent, &server, &ids);
    let copies = received(&out);
    for id in &ids {
        assert_eq!(copies.get(id), Some(&1), "{id}: {copies:?}");
    }
    assert_eq!(copies.len(), ids.len());

    // Each retry was a deferred event, counted.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let report = expect(
        &agent,
        "GET",
        &server.url(&format!(
            "/reporting?use-case={use_case}&from={}&until={}",
            now - 86_400,
            now + 86_400
        )),
        None,
        200,
    );
    let deferred = report["counts"]["deferred"].as_u64().expect("deferred");
    let retries: u64 = ids
        .iter()
        .map(|id| state(&agent, &server, id)["attempts"].as_u64().expect("n") - 1)
        .sum();
    assert_eq!(deferred, retries, "{report:#}");
    assert_eq!(report["counts"]["sent"], 5);
    eprintln!("5 messages delivered once after {retries} deferred attempts");
}

#[test]
fn a_replica_killed_mid_submit_leaves_the_message_to_the_lease() {
    if !aiosmtpd("a_replica_killed_mid_submit_leaves_the_message_to_the_lease") {
        return;
    }
    let dir = temp_dir("killed");
    let port = free_port();
    let out = dir.join("relay");
    let _relay = Relay::start(port, &out, "stall");
    let mut server = Serve::start(&dir.join("serve.toml"), &settings(&dir.join("data"), port));
    let agent = agent();
    let (_, use_case) = verified_use_case(&agent, &server.base, "killed.example");
    let id = send(&agent, &server, &use_case, 1);

    // The worker is inside the SMTP dialogue: kill the replica there.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.join("stalled").exists() {
        assert!(
            Instant::now() < deadline,
            "no submit:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let leased = state(&agent, &server, &id);
    assert_eq!(leased["state"], "sending", "{leased:#}");
    let killed = Instant::now();
    server.kill();
    server.restart();
    await_delivery(&agent, &server, &id_list(&id));
    // Not before the lease of the killed worker ran out (4 s).
    assert!(
        killed.elapsed() >= Duration::from_secs(2),
        "{:?}",
        killed.elapsed()
    );
    let shown = state(&agent, &server, &id);
    assert_eq!(shown["attempts"], 2, "{shown:#}");
    assert_eq!(received(&out).get(&id), Some(&1));
}

fn id_list(id: &str) -> Vec<String> {
    vec![id.to_string()]
}
