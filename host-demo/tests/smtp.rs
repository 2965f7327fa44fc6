//! The SMTP relay transport against a real SMTP server (aiosmtpd): the
//! channel built by `Config` relays exactly the DKIM-signed bytes the
//! component produced (dkimpy verifies them as received), a refused
//! recipient is the typed `rejected` error and the message is recorded
//! failed, a 4xx is `unavailable`, and AUTH over STARTTLS and implicit TLS
//! (a test CA trusted through `ca=`) work.
//!
//! Needs python3 with aiosmtpd and dkimpy (`pip install aiosmtpd dkimpy`;
//! the test tries to install them, and prints NOT RUN and passes when it
//! cannot), openssl for the TLS test, and the component:
//! `cargo build -p guest --target wasm32-wasip2 --release`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use host_demo::config::{Config, StoreKind};
use host_demo::host::smtp::SmtpTransport;
use host_demo::host::transport::{Envelope, TransportError};
use host_demo::{
    Mailroom, Outgoing, Recipient, RecordPurpose, RecordingTransport, SendError, SendRequest,
    Setup, SetupOptions, SetupStatus, Transport, UseCaseType, Zone,
};
use serde_json::{Value, json};

/// The relay: an aiosmtpd server on a free loopback port. Recipients whose
/// local part is `nobody` get 550, `later` 451; every accepted message is
/// written to `<out>/msgN.eml` (the bytes after SMTP's dot-unstuffing) and
/// `<out>/msgN.json` (envelope, TLS, AUTH, EHLO name). Options (JSON):
/// `auth: [user, password]` requires AUTH; `starttls: [cert, key]` requires
/// STARTTLS; `implicit: [cert, key]` speaks TLS from the first byte.
const SERVER: &str = r#"
import asyncio, json, os, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult

out, opts = sys.argv[1], json.loads(sys.argv[2])

class Handler:
    def __init__(self):
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.rsplit('@', 1)[0].lower()
        if local == 'nobody':
            return '550 5.1.1 <%s>: recipient unknown' % address
        if local == 'later':
            return '451 4.3.0 try again later'
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(out, 'msg%d' % self.count)
        with open(base + '.eml', 'wb') as f:
            f.write(envelope.original_content)
        meta = {
            'mail_from': envelope.mail_from,
            'rcpt_to': envelope.rcpt_tos,
            'tls': server.transport.get_extra_info('ssl_object') is not None,
            'authenticated': bool(session.authenticated),
            'helo': session.host_name,
        }
        with open(base + '.tmp', 'w') as f:
            json.dump(meta, f)
        os.rename(base + '.tmp', base + '.json')
        return '250 2.0.0 queued as msg%d' % self.count

def context(pair):
    if not pair:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pair[0], pair[1])
    return ctx

def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = opts['auth']
    ok = auth_data.login == user.encode() and auth_data.password == password.encode()
    # handled=False: aiosmtpd answers a failure with 535 itself.
    return AuthResult(success=ok, handled=False)

async def main():
    loop = asyncio.get_running_loop()
    handler = Handler()
    kwargs = {}
    if opts.get('auth'):
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    starttls = context(opts.get('starttls'))
    if starttls:
        kwargs.update(tls_context=starttls, require_starttls=True)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname='relay.test', loop=loop, **kwargs),
        '127.0.0.1', 0, ssl=context(opts.get('implicit')))
    print('port', server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

const DOMAIN: &str = "relayed-clinic.example";

/// Whether python3 can import `module`, installing `package` with pip once
/// if not.
fn python_module(module: &str, package: &str) -> bool {
    let import = || {
        Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if import() {
        return true;
    }
    let _ = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", package])
        .status();
    import()
}

/// Whether the peers are there; prints NOT RUN when not.
fn peers(test: &str) -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    let ready = *READY
        .get_or_init(|| python_module("aiosmtpd", "aiosmtpd") && python_module("dkim", "dkimpy"));
    if !ready {
        println!("NOT RUN {test}: python3 with aiosmtpd and dkimpy is not available");
    }
    ready
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailroom-smtp-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running aiosmtpd; killed when dropped.
struct Relay {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Relay {
    fn start(name: &str, options: Value) -> Relay {
        let dir = temp_dir(name);
        let script = dir.join("server.py");
        std::fs::write(&script, SERVER).expect("script");
        let out = dir.join("received");
        std::fs::create_dir_all(&out).expect("out dir");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&out)
            .arg(options.to_string())
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

    /// What the server accepted, in order: (envelope and session, bytes).
    fn received(&self) -> Vec<(Value, Vec<u8>)> {
        (1..)
            .map(|n| self.out.join(format!("msg{n}")))
            .take_while(|base| base.with_extension("json").exists())
            .map(|base| {
                let meta = std::fs::read(base.with_extension("json")).expect("meta");
                let raw = std::fs::read(base.with_extension("eml")).expect("message");
                (serde_json::from_slice(&meta).expect("JSON"), raw)
            })
            .collect()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A verified setup (its own records as the zone) and a use case.
fn clinic(mailroom: &Mailroom) -> (Setup, String) {
    let options = SetupOptions {
        inbound_host: "inbound.mailroom.example".to_string(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
        bounce_domain: None,
    };
    let setup = mailroom
        .create_setup("ws-smtp", DOMAIN, &options)
        .expect("no trap")
        .expect("a setup");
    let zone = Zone::publishing(&setup.records).expect("a zone");
    let verification = mailroom
        .verify_setup_with("ws-smtp", &setup.id, &zone)
        .expect("no trap")
        .expect("checked");
    assert_eq!(verification.setup.status, SetupStatus::Verified);
    let use_case = mailroom
        .create_use_case(
            "ws-smtp",
            &setup.id,
            &format!("care@{DOMAIN}"),
            UseCaseType::Transactional,
            "Relayed Clinic",
            "Care",
        )
        .expect("no trap")
        .expect("a use case")
        .id;
    (verification.setup, use_case)
}

fn request(use_case: &str, to: &[&str], text: &str) -> SendRequest {
    SendRequest {
        use_case: use_case.to_string(),
        to: to
            .iter()
            .map(|a| Recipient {
                name: None,
                address: a.to_string(),
            })
            .collect(),
        cc: vec![],
        subject: "Your appointment".to_string(),
        text: Some(text.to_string()),
        html: None,
        attachments: vec![],
        in_reply_to: None,
        idempotency_key: None,
    }
}

/// A channel from `Config` relaying to `url`, with the memory store.
fn relayed(url: String) -> (Mailroom, PathBuf) {
    let data_dir = temp_dir("data");
    let config = Config {
        data_dir: data_dir.clone(),
        store: StoreKind::Memory,
        smtp_url: Some(url),
        smtp_timeout_secs: 10,
        ..Config::default()
    };
    (config.mailroom().expect("a channel"), data_dir)
}

/// dkimpy's verdict on each message (`tests/dkim/verify.py`), the setup's
/// DKIM record answered from memory.
fn dkimpy(setup: &Setup, messages: &[Vec<u8>]) -> Vec<String> {
    let dkim = setup
        .records
        .iter()
        .find(|r| r.purpose == RecordPurpose::Dkim)
        .expect("a DKIM record");
    let messages: Vec<String> = messages
        .iter()
        .map(|m| String::from_utf8(m.clone()).expect("UTF-8 messages"))
        .collect();
    let request = json!({ "records": { dkim.name.clone(): dkim.value }, "messages": messages });
    let mut child = Command::new("python3")
        .arg(host_demo::workspace_dir().join("tests/dkim/verify.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("request written");
    let out = child.wait_with_output().expect("dkimpy finishes");
    assert!(
        out.status.success(),
        "verify.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_configured_relay_receives_the_signed_message() {
    if !peers("a_configured_relay_receives_the_signed_message") {
        return;
    }
    let relay = Relay::start("plain", json!({}));
    let (mailroom, data_dir) = relayed(format!(
        "smtp://127.0.0.1:{}?tls=none&helo=mailroom.test",
        relay.port
    ));
    let (setup, use_case) = clinic(&mailroom);
    let sent = mailroom
        .send(
            "ws-smtp",
            &request(
                &use_case,
                &["pat@patient.example", "sam@patient.example"],
                "Hello Pat,\r\n\r\nSee you on Friday.\r\n",
            ),
        )
        .expect("no trap")
        .expect("relayed");
    assert_eq!(mailroom.recorded_messages(), None, "not the recorder");

    // One SMTP transaction per recipient, each from its own return path
    // (VERP) at the bounce domain; the same bytes.
    let received = relay.received();
    assert_eq!(received.len(), 2);
    let (meta, raw) = &received[0];
    let verp = |meta: &Value| {
        let from = meta["mail_from"].as_str().expect("MAIL FROM").to_string();
        let (token, domain) = from.split_once('@').expect("an address");
        assert_eq!(domain, format!("bounce.{DOMAIN}"));
        assert!(
            token.len() == 58 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{from}"
        );
        from
    };
    assert_ne!(verp(meta), verp(&received[1].0));
    assert_eq!(meta["rcpt_to"], json!(["pat@patient.example"]));
    assert_eq!(received[1].0["rcpt_to"], json!(["sam@patient.example"]));
    assert_eq!(&received[1].1, raw);
    assert_eq!(meta["helo"], "mailroom.test");
    assert_eq!(meta["tls"], false);
    let text = String::from_utf8_lossy(raw);
    assert!(text.starts_with("DKIM-Signature: "), "{text}");
    assert!(text.contains(&format!("Message-ID: <{}>", sent.message_id)));
    assert_eq!(raw.len() as u64, sent.size, "the size the component sent");

    // As received, the signature verifies; one body byte changed, it fails.
    let text = text.into_owned();
    let altered = text.replacen("Friday", "Monday", 1).into_bytes();
    assert_ne!(&altered, raw);
    assert_eq!(dkimpy(&setup, &[raw.clone(), altered]), ["pass", "fail"]);
    // Nothing went to the Maildir outbox.
    assert!(!data_dir.join("outbox").exists());
}

/// Records what it submits, then relays it.
struct Tee {
    recorder: RecordingTransport,
    relay: SmtpTransport,
}

impl Transport for Tee {
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        self.recorder.submit(message)?;
        self.relay.submit(message)
    }
}

#[test]
fn the_relay_receives_exactly_the_submitted_bytes() {
    if !peers("the_relay_receives_exactly_the_submitted_bytes") {
        return;
    }
    let relay = Relay::start("exact", json!({}));
    let recorder = RecordingTransport::new();
    let mailroom = Mailroom::builder()
        .transport(Tee {
            recorder: recorder.clone(),
            relay: SmtpTransport::from_url(
                &format!("smtp://127.0.0.1:{}?tls=none", relay.port),
                Duration::from_secs(10),
            )
            .expect("transport"),
        })
        .build()
        .expect("a channel");
    let (setup, use_case) = clinic(&mailroom);
    // Lines starting with a dot, and a lone dot: SMTP's transparency must
    // stuff and unstuff them.
    for text in [
        "Plain text.\r\n",
        ".\r\n..two\r\n.one\r\nend\r\n.\r\n",
        "caf\u{e9} \u{2014} long line ".repeat(40).as_str(),
    ] {
        mailroom
            .send(
                "ws-smtp",
                &request(&use_case, &["pat@patient.example"], text),
            )
            .expect("no trap")
            .expect("relayed");
    }
    let submitted: Vec<Vec<u8>> = recorder.messages().into_iter().map(|m| m.raw).collect();
    let received: Vec<Vec<u8>> = relay.received().into_iter().map(|(_, raw)| raw).collect();
    assert_eq!(submitted.len(), 3);
    assert!(submitted == received, "the relay received other bytes");
    assert_eq!(dkimpy(&setup, &received), ["pass", "pass", "pass"]);
}

#[test]
fn a_refused_recipient_is_rejected_and_the_message_recorded_failed() {
    if !peers("a_refused_recipient_is_rejected_and_the_message_recorded_failed") {
        return;
    }
    let relay = Relay::start("reject", json!({}));
    let url = format!("smtp://127.0.0.1:{}?tls=none", relay.port);
    let (mailroom, _) = relayed(url.clone());
    let (setup, use_case) = clinic(&mailroom);

    let refused = mailroom
        .send(
            "ws-smtp",
            &request(
                &use_case,
                &["pat@patient.example", "nobody@patient.example"],
                "Hello.\r\n",
            ),
        )
        .expect("no trap");
    let Err(SendError::Transport(reason)) = refused else {
        panic!("expected a transport error, got {refused:?}");
    };
    assert!(reason.starts_with("rejected: "), "{reason}");
    assert!(reason.contains("550"), "{reason}");
    // One transaction per recipient: pat's went before nobody's was refused.
    assert!(
        reason.ends_with("(after 1 of 2 envelopes were handed over)"),
        "{reason}"
    );
    assert_eq!(relay.received().len(), 1, "pat's copy was delivered");

    // The channel's record of the message: failed, with the reason.
    let store = mailroom.store();
    let mut store = store.lock().expect("store");
    let prefix = format!("message/{}/", setup.id);
    let keys = store.list(&prefix, None, 100).expect("list").keys;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let record: Value =
        serde_json::from_slice(&store.get(&keys[0]).expect("get").expect("the record").value)
            .expect("JSON");
    assert_eq!(record["status"]["failed"], json!(reason), "{record}");
    drop(store);

    // The channel goes on: the next message is relayed.
    mailroom
        .send(
            "ws-smtp",
            &request(&use_case, &["pat@patient.example"], "Again.\r\n"),
        )
        .expect("no trap")
        .expect("relayed");
    assert_eq!(relay.received().len(), 2);

    // The transport's own errors, typed.
    let mut transport = SmtpTransport::from_url(&url, Duration::from_secs(10)).expect("url");
    let message = |rcpt: &str| Outgoing {
        message_id: "m@x.example".to_string(),
        envelope: Envelope {
            mail_from: "care@x.example".to_string(),
            rcpt_to: vec![rcpt.to_string()],
        },
        raw: b"Subject: hi\r\n\r\nhi\r\n".to_vec(),
    };
    let rejected = transport.submit(&message("nobody@y.example"));
    assert!(
        matches!(&rejected, Err(TransportError::Rejected(m)) if m.contains("550")),
        "{rejected:?}"
    );
    let later = transport.submit(&message("later@y.example"));
    assert!(
        matches!(&later, Err(TransportError::Unavailable(m)) if m.contains("451")),
        "{later:?}"
    );
    let bad = transport.submit(&message("not an address"));
    assert!(matches!(bad, Err(TransportError::Rejected(_))), "{bad:?}");
    assert_eq!(transport.submit(&message("ok@y.example")), Ok(()));
    assert_eq!(relay.received().len(), 3);
}

/// A test CA and a certificate for 127.0.0.1 it signed, made by openssl;
/// `None` when openssl is missing.
fn certificates(dir: &Path) -> Option<(PathBuf, PathBuf, PathBuf)> {
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    let ok = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=mailroom test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]) && openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]) && openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    ok.then(|| {
        (
            dir.join("ca.pem"),
            dir.join("leaf.pem"),
            dir.join("leaf.key"),
        )
    })
}

#[test]
fn auth_over_starttls_and_implicit_tls() {
    if !peers("auth_over_starttls_and_implicit_tls") {
        return;
    }
    let dir = temp_dir("tls");
    let Some((ca, cert, key)) = certificates(&dir) else {
        println!("NOT RUN auth_over_starttls_and_implicit_tls: openssl is not available");
        return;
    };
    let pair = json!([cert, key]);
    let ca = ca.display().to_string();
    let message = Outgoing {
        message_id: "m@x.example".to_string(),
        envelope: Envelope {
            mail_from: "care@x.example".to_string(),
            rcpt_to: vec!["pat@y.example".to_string()],
        },
        raw: b"Subject: hi\r\n\r\nhi\r\n".to_vec(),
    };
    let submit = |url: &str| {
        SmtpTransport::from_url(url, Duration::from_secs(10))
            .expect("url")
            .submit(&message)
    };

    // STARTTLS required by the server, AUTH required; the password needs
    // percent-encoding in the URL.
    let relay = Relay::start(
        "starttls",
        json!({ "auth": ["relay-user", "p@ss:word"], "starttls": pair }),
    );
    let port = relay.port;
    for auth in ["plain", "login"] {
        let url = format!("smtp://relay-user:p%40ss%3Aword@127.0.0.1:{port}?ca={ca}&auth={auth}");
        assert_eq!(submit(&url), Ok(()), "{auth}");
    }
    let received = relay.received();
    assert_eq!(received.len(), 2);
    for (meta, raw) in &received {
        assert_eq!(meta["tls"], true);
        assert_eq!(meta["authenticated"], true);
        assert_eq!(raw, &message.raw);
    }
    // A wrong password: 535, permanent.
    let wrong = submit(&format!("smtp://relay-user:nope@127.0.0.1:{port}?ca={ca}"));
    assert!(
        matches!(wrong, Err(TransportError::Rejected(_))),
        "{wrong:?}"
    );
    // Without the CA the certificate is not trusted: a TLS failure.
    let untrusted = submit(&format!("smtp://relay-user:p%40ss%3Aword@127.0.0.1:{port}"));
    assert!(
        matches!(untrusted, Err(TransportError::Other(_))),
        "{untrusted:?}"
    );
    // Plain text to a server that requires STARTTLS: refused, 530.
    let plain = submit(&format!("smtp://127.0.0.1:{port}?tls=none"));
    assert!(
        matches!(plain, Err(TransportError::Rejected(_))),
        "{plain:?}"
    );
    assert_eq!(relay.received().len(), 2);
    drop(relay);

    // Implicit TLS (smtps), through Config and a whole channel.
    let relay = Relay::start(
        "implicit",
        json!({ "auth": ["relay-user", "secret"], "implicit": pair }),
    );
    let (mailroom, _) = relayed(format!(
        "smtps://relay-user:secret@127.0.0.1:{}?ca={ca}&auth=login",
        relay.port
    ));
    let (setup, use_case) = clinic(&mailroom);
    mailroom
        .send(
            "ws-smtp",
            &request(&use_case, &["pat@patient.example"], "Over TLS.\r\n"),
        )
        .expect("no trap")
        .expect("relayed");
    let received = relay.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0["tls"], true);
    assert_eq!(received[0].0["authenticated"], true);
    assert_eq!(dkimpy(&setup, &[received[0].1.clone()]), ["pass"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
}
