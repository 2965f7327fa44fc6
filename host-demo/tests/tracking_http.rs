//! Engagement tracking through a real `host-demo serve` on loopback and a
//! real browser: headless Chromium (Debian's `chromium`) opens the HTML of
//! the sent message, read from the Maildir outbox, so its pixel loads from
//! the server; a mouse click on the rewritten link follows the 302 to a
//! local page. One human open and one human click are recorded and counted
//! by reporting. Then the endpoints over plain HTTP: the 43-byte GIF, HEAD
//! counted as a machine, forged, foreign and 1 MB tokens a plain 404 page
//! that records nothing, the tenant routes scoped to the caller's workspace
//! and the networks route for the operator only.
//!
//! Chromium is driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: NUL-separated JSON on fds 3 and 4), so no
//! WebSocket client is needed. It sends a desktop Chrome user agent:
//! `HeadlessChrome` is itself a scanner's mark and is classified machine.
//!
//! Needs the component (`cargo build -p guest --target wasm32-wasip2
//! --release`) and Chromium (CHROMIUM=/path overrides /usr/bin/chromium).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, agent, settings, temp_dir};
use serde_json::{Value, json};

const ADMIN: &str = "admin-key-of-the-tracking-tests";
const INGEST: &str = "ingest-secret-of-the-tracking-tests";
const WORKSPACE: &str = "ws-1";
const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

/// A request as `workspace` (through the admin key) or with `key`.
fn call(
    agent: &ureq::Agent,
    server: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
    auth: (&str, Option<&str>),
) -> (u16, Value) {
    let (key, workspace) = auth;
    let bearer = format!("Bearer {key}");
    let mut headers = vec![("authorization", bearer.as_str())];
    if let Some(w) = workspace {
        headers.push(("x-mailroom-workspace", w));
    }
    let bytes = body.map(|b| b.to_string().into_bytes());
    common::request(agent, method, &server.url(path), &headers, bytes.as_deref())
}

fn tenant(
    agent: &ureq::Agent,
    server: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let (status, value) = call(agent, server, method, path, body, (ADMIN, Some(WORKSPACE)));
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {value}"
    );
    value
}

/// The DNS answers that publish exactly `records`.
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

/// A local web site: `/hours` is a page, anything else 404; the paths
/// requested are kept.
fn destination() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header == "\r\n" => break,
                    Ok(_) => {}
                }
            }
            let (status, body) = if path == "/hours" {
                (
                    "200 OK",
                    "<!DOCTYPE html><html><head><title>Opening hours</title></head>\
                     <body><h1>Opening hours: 08:00 to 19:00</h1></body></html>",
                )
            } else {
                ("404 Not Found", "not here")
            };
            log.lock().expect("log").push(path);
            let _ = write!(
                &stream,
                "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, seen)
}

/// Headless Chromium driven over the DevTools protocol on a pipe.
struct Chromium {
    child: Child,
    commands: ChildStdin,
    messages: Receiver<Value>,
    next: u64,
    session: Option<String>,
    events: Vec<Value>,
}

impl Chromium {
    fn start(binary: &Path, profile: &Path) -> Chromium {
        // fd 3 reads commands, fd 4 writes answers: the shell points them
        // at our pipes before handing over.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<&0 4>&1 0</dev/null 1>/dev/null")
            .arg(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--user-agent={CHROME}"))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let commands = child.stdin.take().expect("stdin");
        let mut answers = child.stdout.take().expect("stdout");
        let (tx, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut pending = Vec::new();
            let mut buffer = [0u8; 65536];
            while let Ok(n) = answers.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                pending.extend_from_slice(&buffer[..n]);
                while let Some(end) = pending.iter().position(|&b| b == 0) {
                    let message: Vec<u8> = pending.drain(..=end).collect();
                    if let Ok(v) = serde_json::from_slice(&message[..end])
                        && tx.send(v).is_err()
                    {
                        return;
                    }
                }
            }
        });
        Chromium {
            child,
            commands,
            messages,
            next: 0,
            session: None,
            events: Vec::new(),
        }
    }

    fn receive(&mut self, until: Instant) -> Value {
        let wait = until.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(wait) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!("chromium did not answer in time"),
            Err(RecvTimeoutError::Disconnected) => panic!("chromium exited"),
        }
    }

    /// Sends a command (to the attached page, once there is one) and
    /// returns its result; events that arrive meanwhile are kept.
    fn send(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let mut command = json!({"id": self.next, "method": method, "params": params});
        if let Some(s) = &self.session {
            command["sessionId"] = json!(s);
        }
        let mut bytes = command.to_string().into_bytes();
        bytes.push(0);
        self.commands.write_all(&bytes).expect("write to chromium");
        self.commands.flush().expect("flush");
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let message = self.receive(until);
            if message["id"] == json!(self.next) {
                if let Some(error) = message.get("error") {
                    panic!("{method}: {error}");
                }
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// Waits for the page's event `method`, received after `from` events.
    fn wait_for(&mut self, method: &str, from: usize) {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if self.events[from.min(self.events.len())..]
                .iter()
                .any(|e| e["method"] == method)
            {
                return;
            }
            let message = self.receive(until);
            self.events.push(message);
        }
    }

    fn evaluate(&mut self, expression: &str) -> Value {
        let r = self.send(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        r["result"]["value"].clone()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `GET /messages/{id}/tracking` until `done` holds (requests are
/// answered before the browser moves on, but give the server a moment).
fn tracked(agent: &ureq::Agent, server: &Server, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let m = tenant(
            agent,
            server,
            "GET",
            &format!("/messages/{id}/tracking"),
            None,
        );
        if done(&m) || Instant::now() > until {
            return m;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn chromium_opens_and_clicks_and_reporting_counts_one_person() {
    let started = Instant::now();
    let chromium = std::env::var_os("CHROMIUM")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        chromium.is_file(),
        "no Chromium at {} (apt-get install chromium; CHROMIUM=/path overrides)",
        chromium.display()
    );
    let data = temp_dir("tracking");
    let config = settings(
        &data,
        "unsubscribe-base = \"https://mailroom.example/unsubscribe\"",
        &format!(
            "admin-key = \"{ADMIN}\"\ningest-secret = \"{INGEST}\"\nposted-dns-answers = true\nsends-per-second = 1000"
        ),
    );
    let server = Server::start(&config);
    let agent = agent();
    let (site, visits) = destination();

    // A verified setup, a marketing use case, the tracking base on this
    // server, and no scanner window (the browser clicks within seconds).
    let setup = tenant(
        &agent,
        &server,
        "POST",
        "/setups",
        Some(json!({"workspace": WORKSPACE, "domain": "riverside-clinic.example"})),
    );
    let setup_id = setup["id"].as_str().expect("setup id").to_string();
    let records = setup["records"].as_array().expect("records");
    tenant(
        &agent,
        &server,
        "POST",
        &format!("/setups/{setup_id}/verify"),
        Some(json!({"answers": published(records)})),
    );
    let use_case = tenant(
        &agent,
        &server,
        "POST",
        "/use-cases",
        Some(json!({
            "setup": setup_id, "sender": "news@riverside-clinic.example", "type": "marketing",
            "entity-name": "Riverside Clinic", "use-case-name": "Newsletter",
        })),
    );
    let uc = use_case["id"].as_str().expect("use case id").to_string();
    let settings = tenant(
        &agent,
        &server,
        "GET",
        &format!("/use-cases/{uc}/tracking"),
        None,
    );
    assert_eq!(
        settings,
        json!({"opens": true, "clicks": true, "scanner-window-secs": 10})
    );
    tenant(
        &agent,
        &server,
        "PUT",
        &format!("/use-cases/{uc}/tracking"),
        Some(json!({"opens": true, "clicks": true, "scanner-window-secs": 0})),
    );
    let base = tenant(
        &agent,
        &server,
        "PUT",
        &format!("/setups/{setup_id}/tracking-base"),
        Some(json!({"base": server.url("/t")})),
    );
    assert_eq!(base, json!(server.url("/t")));

    // Another workspace sees none of it.
    for (method, path, body) in [
        ("GET", format!("/use-cases/{uc}/tracking"), None),
        (
            "PUT",
            format!("/setups/{setup_id}/tracking-base"),
            Some(json!({"base": null})),
        ),
        (
            "GET",
            format!("/reporting/engagement?use-case={uc}&from=0&until=86400"),
            None,
        ),
    ] {
        let (status, answer) = call(
            &agent,
            &server,
            method,
            &path,
            body,
            (ADMIN, Some("ws-other")),
        );
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    // Apple's networks are the operator's: not a tenant route.
    let networks = json!(["17.0.0.0/8", "2620:149::/32"]);
    let (status, _) = call(
        &agent,
        &server,
        "PUT",
        "/tracking/networks",
        Some(networks.clone()),
        ("not-the-secret", None),
    );
    assert_eq!(status, 401);
    let (status, n) = call(
        &agent,
        &server,
        "PUT",
        "/tracking/networks",
        Some(networks),
        (INGEST, None),
    );
    assert_eq!((status, n), (200, json!(2)));

    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Spring news</title></head><body>\
         <p>Spring opening hours are online.</p>\
         <p><a id=\"hours\" href=\"{site}/hours\" style=\"font-size:32px\">Opening hours</a></p>\
         <p><a href=\"mailto:desk@riverside-clinic.example\">Write to the desk</a></p>\
         <p><a href=\"[[unsubscribe-url]]\">Unsubscribe</a></p></body></html>"
    );
    let sent = tenant(
        &agent,
        &server,
        "POST",
        "/messages",
        Some(json!({
            "use-case": uc,
            "to": [{"name": "Pat Doe", "address": "pat@patient.example"}],
            "subject": "Spring news",
            "text": format!("Opening hours: {site}/hours\r\nUnsubscribe: [[unsubscribe-url]]\r\n"),
            "html": html,
        })),
    );
    let id = sent["message-id"].as_str().expect("message id").to_string();

    // The sent HTML, from the Maildir outbox (once the queue's worker
    // delivered it), decoded by the component.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let outbox = loop {
        let outbox: Vec<_> = std::fs::read_dir(data.join("outbox/new"))
            .map(|dir| dir.map(|e| e.expect("entry").path()).collect())
            .unwrap_or_default();
        if !outbox.is_empty() || std::time::Instant::now() > deadline {
            break outbox;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(outbox.len(), 1);
    let raw = std::fs::read(&outbox[0]).expect("the sent message");
    let component = host_demo::Mailroom::load_default().expect("the component loads");
    let parsed = component
        .parse(&raw, host_demo::Limits::default())
        .expect("no trap")
        .expect("parses");
    let sent_html = parsed.html.expect("an HTML part");
    assert!(!sent_html.contains(&format!("{site}/hours")), "{sent_html}");
    assert_eq!(sent_html.matches("/t/c/").count(), 1, "{sent_html}");
    assert_eq!(sent_html.matches("/t/o/").count(), 1, "{sent_html}");
    assert!(sent_html.contains("mailto:desk@riverside-clinic.example"));
    assert!(
        parsed
            .text
            .expect("text")
            .contains(&format!("{site}/hours"))
    );
    let page = data.join("mail.html");
    std::fs::write(&page, &sent_html).expect("write the page");

    // The browser: open, wait for the pixel, click the link.
    let mut browser = Chromium::start(&chromium, &data.join("profile"));
    let targets = browser.send("Target.getTargets", json!({}));
    let target = targets["targetInfos"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["type"] == "page"))
        .map(|t| t["targetId"].clone());
    let target = match target {
        Some(t) => t,
        None => {
            browser.send("Target.createTarget", json!({"url": "about:blank"}))["targetId"].clone()
        }
    };
    let attached = browser.send(
        "Target.attachToTarget",
        json!({"targetId": target, "flatten": true}),
    );
    browser.session = attached["sessionId"].as_str().map(str::to_string);
    browser.send("Page.enable", json!({}));
    let mark = browser.events.len();
    browser.send(
        "Page.navigate",
        json!({"url": format!("file://{}", page.display())}),
    );
    browser.wait_for("Page.loadEventFired", mark);
    let pixel = browser.evaluate(
        "[...document.images].filter(i => i.src.includes('/t/o/')).map(i => [i.complete, i.naturalWidth, i.naturalHeight])",
    );
    assert_eq!(pixel, json!([[true, 1, 1]]), "the pixel loaded");
    let spot = browser.evaluate(
        "(() => { const a = document.getElementById('hours'); a.scrollIntoView(); \
         const r = a.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2, a.href]; })()",
    );
    assert!(spot[2].as_str().expect("href").contains("/t/c/"), "{spot}");
    let (x, y) = (spot[0].clone(), spot[1].clone());
    let mark = browser.events.len();
    for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
        browser.send(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
        );
    }
    browser.wait_for("Page.loadEventFired", mark);
    let landed = browser.evaluate("[location.href, document.title]");
    assert_eq!(landed, json!([format!("{site}/hours"), "Opening hours"]));
    let _ = browser.send("Browser.close", json!({}));
    drop(browser);
    assert!(visits.lock().expect("visits").iter().any(|p| p == "/hours"));

    // Another workspace does not see the message.
    let (status, answer) = call(
        &agent,
        &server,
        "GET",
        &format!("/messages/{id}/tracking"),
        None,
        (ADMIN, Some("ws-other")),
    );
    assert_eq!(status, 404, "{answer}");

    // One person opened and clicked.
    let m = tracked(&agent, &server, &id, |m| {
        m["opens-human"] == json!(1) && m["links"][0]["human"] == json!(1)
    });
    assert_eq!(m["opens-human"], json!(1), "{m}");
    assert_eq!(m["opens-machine"], json!(0), "{m}");
    assert_eq!(m["links"][0]["url"], json!(format!("{site}/hours")), "{m}");
    assert_eq!(
        (&m["links"][0]["human"], &m["links"][0]["machine"]),
        (&json!(1), &json!(0)),
        "{m}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let range = format!("from={}&until={}", now - 86_400, now + 86_400);
    let counts = tenant(
        &agent,
        &server,
        "GET",
        &format!("/reporting/engagement?use-case={uc}&{range}"),
        None,
    );
    assert_eq!(
        counts["engagement"],
        json!({
            "opens-human": 1, "opens-machine": 0, "unique-opens-human": 1, "unique-opens-machine": 0,
            "clicks-human": 1, "clicks-machine": 0, "unique-clicks-human": 1, "unique-clicks-machine": 0,
        }),
        "{counts}"
    );
    let links = tenant(
        &agent,
        &server,
        "GET",
        &format!("/reporting/link-clicks?use-case={uc}&{range}"),
        None,
    );
    assert_eq!(
        links,
        json!([{"url": format!("{site}/hours"), "human": 1, "machine": 0}])
    );
    eprintln!(
        "chromium: open and click recorded as human in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The endpoints over plain HTTP.
    let pixel_url = m["pixel-url"].as_str().expect("pixel url").to_string();
    let link_url = m["links"][0]["tracked-url"]
        .as_str()
        .expect("tracked url")
        .to_string();
    let plain: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_age(Duration::from_secs(5))
        .build()
        .into();
    let mut r = plain
        .get(&pixel_url)
        .header("user-agent", CHROME)
        .call()
        .expect("pixel");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/gif");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("no-store")
    );
    let gif = r.body_mut().read_to_vec().expect("body");
    assert_eq!(gif.len(), 43);
    assert!(gif.starts_with(b"GIF89a"));
    let r = plain
        .head(&link_url)
        .header("user-agent", CHROME)
        .call()
        .expect("head");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], format!("{site}/hours").as_str());

    let forged = server.url(&format!("/t/c/{}", "A".repeat(58)));
    let wrong_kind = link_url.replace("/t/c/", "/t/o/");
    for bad in [
        forged.as_str(),
        &server.url("/t/c/nope"),
        &server.url("/t/o/nope"),
        wrong_kind.as_str(),
    ] {
        let mut r = plain
            .get(bad)
            .header("user-agent", CHROME)
            .call()
            .expect("answer");
        assert_eq!(r.status(), 404, "{bad}");
        assert!(r.headers().get("location").is_none());
        assert!(
            r.body_mut()
                .read_to_string()
                .expect("page")
                .contains("not valid")
        );
    }
    let huge = server.url(&format!("/t/c/{}", "A".repeat(1 << 20)));
    let status = plain.get(&huge).call().map(|r| r.status().as_u16());
    assert!(
        matches!(status, Ok(400 | 404 | 414 | 431) | Err(_)),
        "{status:?}"
    );
    let after = tracked(&agent, &server, &id, |m| {
        m["links"][0]["machine"] == json!(1)
    });
    assert_eq!(after["opens-human"], json!(2), "the reload: {after}");
    assert_eq!(
        (&after["links"][0]["human"], &after["links"][0]["machine"]),
        (&json!(1), &json!(1)),
        "HEAD is a machine; the refused tokens recorded nothing: {after}"
    );
    let counts = tenant(
        &agent,
        &server,
        "GET",
        &format!("/reporting/engagement?use-case={uc}&{range}"),
        None,
    );
    assert_eq!(
        counts["engagement"]["unique-opens-human"],
        json!(1),
        "{counts}"
    );
    let log = server.log.lock().expect("log").join("\n");
    assert!(
        !log.contains(&link_url[link_url.len() - 20..]),
        "tokens are not logged"
    );
}
