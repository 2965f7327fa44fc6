//! The bounce path end to end (issue 16, item 4), through a real
//! `host-demo serve`: a setup with its own bounce domain, whose MX and SPF
//! dnsmasq serves and `verify` checks through the resolver; a send relayed
//! to a real SMTP server (aiosmtpd) with one VERP return path per
//! recipient as MAIL FROM; an asynchronous DSN that quotes nothing of the
//! original, posted to `/inbound` addressed to one return path, found and
//! classified (hard: exactly that recipient suppressed); the same DSN to
//! the patient-facing address still read as a report; a forged token
//! ignored with nothing written.
//!
//! Needs the component (`cargo build -p guest --target wasm32-wasip2
//! --release`), python3 with aiosmtpd and dnsmasq; says NOT RUN without the
//! peers.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Dns, Server, agent, dnsmasq, free_port, request, settings, temp_dir};
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-of-the-bounce-path-test";
const INGEST: &str = "ingest-secret-of-the-bounce-path-test";
const WORKSPACE: &str = "ws-verp";
const DOMAIN: &str = "verp-clinic.example";
const BOUNCE_DOMAIN: &str = "returns.verp-clinic.example";

/// An aiosmtpd server accepting everything; each message's envelope goes to
/// `<out>/msgN.json`.
const SERVER: &str = r#"
import asyncio, json, os, sys
from aiosmtpd.smtp import SMTP

out = sys.argv[1]

class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(out, 'msg%d' % self.count)
        with open(base + '.eml', 'wb') as f:
            f.write(envelope.original_content)
        with open(base + '.tmp', 'w') as f:
            json.dump({'mail_from': envelope.mail_from, 'rcpt_to': envelope.rcpt_tos}, f)
        os.rename(base + '.tmp', base + '.json')
        return '250 2.0.0 queued as msg%d' % self.count

async def main():
    loop = asyncio.get_running_loop()
    handler = Handler()  # one for every connection: the count goes on
    server = await loop.create_server(lambda: SMTP(handler, hostname='relay.test', loop=loop),
                                      '127.0.0.1', 0)
    print('port', server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

struct Relay {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Relay {
    fn start(dir: &std::path::Path) -> Relay {
        let script = dir.join("relay.py");
        std::fs::write(&script, SERVER).expect("script");
        let out = dir.join("received");
        std::fs::create_dir_all(&out).expect("out dir");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("aiosmtpd did not start: {line:?}"));
        Relay { child, port, out }
    }

    /// The envelopes received so far, in order.
    fn envelopes(&self) -> Vec<Value> {
        (1..)
            .map(|n| self.out.join(format!("msg{n}.json")))
            .take_while(|p| p.exists())
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("meta")).expect("JSON"))
            .collect()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn aiosmtpd() -> bool {
    Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A DSN from a forwarding host: it names the address it forwarded to and
/// quotes nothing of the original (no Message-ID, no headers).
const DSN: &str = "From: MAILER-DAEMON@mx.forward.example\r\n\
To: bounces\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <dsn-1@mx.forward.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nThe mailbox does not exist.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.forward.example\r\n\r\n\
Final-Recipient: rfc822; samuel@forward.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <samuel@forward.example>: user unknown\r\n\r\n--b--\r\n";

#[test]
fn a_bounce_that_quotes_nothing_comes_home_by_its_return_path() {
    let Some(dnsmasq) = dnsmasq() else {
        println!("NOT RUN: dnsmasq is not installed (apt-get install dnsmasq-base)");
        return;
    };
    if !aiosmtpd() {
        println!("NOT RUN: python3 with aiosmtpd is not available (pip install aiosmtpd)");
        return;
    }
    let started = Instant::now();
    let dir = temp_dir("bounce-path");
    let relay = Relay::start(&dir);
    let dns_port = free_port();
    let config = settings(
        &dir.join("data"),
        &format!(
            "smtp-url = \"smtp://127.0.0.1:{}?tls=none\"\nnameserver = \"127.0.0.1:{dns_port}\"",
            relay.port
        ),
        &format!("admin-key = \"{ADMIN}\"\ningest-secret = \"{INGEST}\"\nsends-per-second = 1000"),
    );
    let server = Server::start(&config);
    let agent = agent();
    let bearer = format!("Bearer {ADMIN}");
    let tenant = [
        ("Authorization", bearer.as_str()),
        ("X-Mailroom-Workspace", WORKSPACE),
        ("Content-Type", "application/json"),
    ];
    let call = |method: &str, path: &str, body: Option<Value>| {
        let body = body.map(|b| b.to_string().into_bytes());
        request(&agent, method, &server.url(path), &tenant, body.as_deref())
    };

    // A setup whose bounce domain is configured: its MX and SPF are among
    // the records, required.
    let (status, setup) = call(
        "POST",
        "/setups",
        Some(json!({"domain": DOMAIN,
                    "options": {"inbound-host": "inbound.mailroom.example",
                                "bounce-domain": BOUNCE_DOMAIN}})),
    );
    assert_eq!(status, 201, "{setup}");
    let id = setup["id"].as_str().expect("id").to_string();
    let records = setup["records"].as_array().expect("records").clone();
    let record = |purpose: &str| {
        records
            .iter()
            .find(|r| r["purpose"] == purpose)
            .unwrap_or_else(|| panic!("no {purpose} record: {setup}"))
            .clone()
    };
    assert_eq!(
        record("bounce-mx"),
        json!({"purpose": "bounce-mx", "name": BOUNCE_DOMAIN, "type": "mx",
               "value": "10 inbound.mailroom.example", "required": true})
    );
    assert_eq!(
        record("bounce-spf"),
        json!({"purpose": "bounce-spf", "name": BOUNCE_DOMAIN, "type": "txt",
               "value": "v=spf1 mx ~all", "required": true})
    );
    // A bounce domain outside the setup's domain would not align: refused.
    let (status, refused) = call(
        "POST",
        "/setups",
        Some(json!({"domain": "other-clinic.example",
                    "options": {"bounce-domain": "bounce.elsewhere.example"}})),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["invalid-options"].is_string(), "{refused}");

    // Without the bounce records published the setup does not verify.
    let without: Vec<Value> = records
        .iter()
        .filter(|r| r["name"] != BOUNCE_DOMAIN)
        .cloned()
        .collect();
    let dns = Dns::start(&dnsmasq, &dir, dns_port, &[DOMAIN], &without);
    let (status, v) = call("POST", &format!("/setups/{id}/verify"), None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["setup"]["status"], "pending", "{v}");
    let states: Vec<(Value, Value)> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| (c["record"]["purpose"].clone(), c["state"].clone()))
        .collect();
    assert!(
        states.contains(&(json!("bounce-mx"), json!({"missing": "no such name"}))),
        "{states:?}"
    );
    drop(dns);
    // Every record published: verified, the bounce records checked through
    // the resolver like the others.
    let _dns = Dns::start(&dnsmasq, &dir, dns_port, &[DOMAIN], &records);
    let (status, v) = call("POST", &format!("/setups/{id}/verify"), None);
    assert_eq!(
        (status, &v["setup"]["status"]),
        (200, &json!("verified")),
        "{v}"
    );
    for check in v["checks"].as_array().expect("checks") {
        assert_eq!(check["state"], "verified", "{check}");
    }

    // A send to two recipients: two SMTP transactions, each from its own
    // return path at the bounce domain.
    let (status, uc) = call(
        "POST",
        "/use-cases",
        Some(
            json!({"setup": id, "sender": format!("care@{DOMAIN}"), "type": "transactional",
                    "entity-name": "Verp Clinic", "use-case-name": "Care"}),
        ),
    );
    assert_eq!(status, 201, "{uc}");
    let uc = uc["id"].as_str().expect("id").to_string();
    let (status, sent) = call(
        "POST",
        "/messages",
        Some(json!({"use-case": uc,
                    "to": [{"address": "pat@patient.example"}, {"address": "sam@patient.example"}],
                    "subject": "Your appointment", "text": "Monday at 9.\r\n"})),
    );
    assert_eq!(status, 201, "{sent}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while relay.envelopes().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the relay got {:?}",
            relay.envelopes()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let envelopes = relay.envelopes();
    assert_eq!(envelopes.len(), 2, "{envelopes:?}");
    let path_of = |rcpt: &str| {
        let e = envelopes
            .iter()
            .find(|e| e["rcpt_to"] == json!([rcpt]))
            .unwrap_or_else(|| panic!("no transaction to {rcpt}: {envelopes:?}"));
        e["mail_from"].as_str().expect("MAIL FROM").to_string()
    };
    let (pat_path, sam_path) = (
        path_of("pat@patient.example"),
        path_of("sam@patient.example"),
    );
    for path in [&pat_path, &sam_path] {
        let (token, domain) = path.split_once('@').expect("an address");
        assert_eq!(domain, BOUNCE_DOMAIN);
        assert!(
            token.len() == 58 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{path}"
        );
    }
    assert_ne!(pat_path, sam_path);
    let eml = std::fs::read_to_string(relay.out.join("msg1.eml")).expect("message");
    // The From stays the use case's sender; only the envelope changed.
    assert!(eml.contains(&format!("<care@{DOMAIN}>")), "{eml}");

    let ingest = |to: &str, body: &str| {
        let url = server.url(&format!("/inbound?from=&to={}", to.replace('@', "%40")));
        request(
            &agent,
            "POST",
            &url,
            &[
                ("Authorization", &format!("Bearer {INGEST}")),
                ("Content-Type", "message/rfc822"),
            ],
            Some(body.as_bytes()),
        )
    };
    let suppressed = |address: &str| {
        let (status, state) = call("GET", &format!("/setups/{id}/suppressions/{address}"), None);
        assert_eq!(status, 200, "{state}");
        state["active"].as_array().map_or(0, Vec::len)
    };
    let state_of_setup = || {
        (
            call("GET", &format!("/setups/{id}/suppressions"), None),
            call("GET", &format!("/reporting?setup={id}"), None),
            call("GET", &format!("/setups/{id}/health"), None),
        )
    };
    assert_eq!(
        (
            suppressed("pat@patient.example"),
            suppressed("sam@patient.example")
        ),
        (0, 0)
    );

    // A forged token (one hex digit changed) and an altered one (another
    // message's token under this domain): ignored with a note, nothing
    // written.
    let before = state_of_setup();
    let mut forged = pat_path.clone().into_bytes();
    forged[7] = if forged[7] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).expect("text");
    let (status, answer) = ingest(&forged, DSN);
    assert_eq!(status, 200, "{answer}");
    let notes = answer["notes"].to_string();
    assert!(
        notes.contains("ignored, the return path's token does not verify"),
        "{answer}"
    );
    assert_eq!(state_of_setup(), before, "a forged token wrote something");

    // The DSN to sam's return path: tied to the message and to sam though
    // it names another address and quotes nothing; hard, so sam alone is
    // suppressed.
    let (status, answer) = ingest(&sam_path, DSN);
    assert_eq!(status, 200, "{answer}");
    let notes = answer["notes"].to_string();
    assert!(
        notes.contains("read as a report (hard), 1 event(s) recorded"),
        "{answer}"
    );
    assert_eq!(
        (
            suppressed("pat@patient.example"),
            suppressed("sam@patient.example")
        ),
        (0, 1)
    );
    let (status, refused) = call(
        "POST",
        "/messages",
        Some(
            json!({"use-case": uc, "to": [{"address": "sam@patient.example"}],
                    "subject": "Again", "text": "x\r\n"}),
        ),
    );
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"]["suppressed"].is_array(), "{refused}");

    // The same DSN to the patient-facing address: still read as a report
    // (it cannot be tied to a message: unmatched).
    let (status, answer) = ingest(&format!("care@{DOMAIN}"), DSN);
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["notes"]
            .to_string()
            .contains("read as a report (hard), unmatched"),
        "{answer}"
    );
    assert_eq!(suppressed("pat@patient.example"), 0);
    println!("bounce path end to end: {:?}", started.elapsed());
}
