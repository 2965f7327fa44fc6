//! Outbound bytes a strict MTA and a strict verifier accept (issue 15): a
//! table of hostile sends goes through the component in wasmtime and the
//! SMTP relay transport to a raw loopback SMTP sink that records each DATA
//! section byte for byte, before dot-unstuffing. On every accepted message:
//! no bare CR or LF on the wire, no line over 998 octets, Python's `email`
//! (`policy=default`) reports zero defects, and dkimpy verifies the
//! signature. The refused sends are typed errors naming the field, and
//! nothing reaches the sink.
//!
//! Needs python3 with dkimpy (`pip install dkimpy`; the test tries to
//! install it, and prints NOT RUN and passes when it cannot) and the
//! component: `cargo build -p guest --target wasm32-wasip2 --release`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use host_demo::host::smtp::SmtpTransport;
use host_demo::host::transport::TransportError;
use host_demo::{
    Mailroom, OutgoingAttachment, Recipient, RecordPurpose, RecordingTransport, SendError,
    SendRequest, Setup, SetupOptions, SetupStatus, Transport, UseCaseType, Zone,
};
use serde_json::{Value, json};

/// A minimal SMTP server on a free loopback port: it answers EHLO, MAIL,
/// RCPT, DATA, RSET, NOOP and QUIT, and writes each DATA section exactly as
/// it came over the socket (dot-stuffed, up to and without the final
/// `CRLF.CRLF`) to `<out>/msgN.raw`.
const SINK: &str = r#"
import asyncio, os, sys

out = sys.argv[1]
count = 0

async def session(reader, writer):
    global count
    writer.write(b'220 sink.test ESMTP\r\n')
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb in (b'EHLO', b'HELO'):
            writer.write(b'250-sink.test\r\n250 8BITMIME\r\n')
        elif verb == b'DATA':
            writer.write(b'354 go ahead\r\n')
            await writer.drain()
            data = await reader.readuntil(b'\r\n.\r\n')
            count += 1
            path = os.path.join(out, 'msg%d' % count)
            with open(path + '.tmp', 'wb') as f:
                f.write(data[:-5])
            os.rename(path + '.tmp', path + '.raw')
            writer.write(b'250 2.0.0 queued as msg%d\r\n' % count)
        elif verb == b'QUIT':
            writer.write(b'221 bye\r\n')
            await writer.drain()
            break
        else:
            writer.write(b'250 ok\r\n')
        await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(session, '127.0.0.1', 0, limit=1 << 26)
    print('port', server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// Checks each wire capture (JSON on stdin: the DKIM record and the
/// captures) and prints one JSON verdict per message.
const CHECK: &str = r#"
import email, email.policy, json, re, sys
import dkim

request = json.load(sys.stdin)
records = {k.lower().rstrip('.'): v for k, v in request['records'].items()}

def dnsfunc(name, timeout=5):
    key = name.decode() if isinstance(name, bytes) else name
    value = records.get(key.lower().rstrip('.'))
    return value.encode() if value is not None else None

for wire in request['wire']:
    wire = wire.encode('latin-1')
    problems = []
    if re.search(rb'\r(?!\n)', wire):
        problems.append('bare CR on the wire')
    if re.search(rb'(?<!\r)\n', wire):
        problems.append('bare LF on the wire')
    lines = wire.split(b'\r\n')
    longest = max(len(l) for l in lines)
    if longest > 998:
        problems.append('a line of %d octets' % longest)
    # SMTP transparency (RFC 5321 4.5.2): a leading dot was doubled.
    message = b'\r\n'.join(l[1:] if l.startswith(b'.') else l for l in lines) + b'\r\n'
    msg = email.message_from_bytes(message, policy=email.policy.default)
    defects = []
    for part in msg.walk():
        defects += [type(d).__name__ for d in part.defects]
        for name, value in part.items():
            defects += ['%s: %s' % (name, type(d).__name__) for d in getattr(value, 'defects', ())]
        if not part.is_multipart():
            part.get_content()
    text = msg.get_body(('plain',))
    print(json.dumps({
        'problems': problems,
        'defects': defects,
        'dkim': bool(dkim.verify(message, dnsfunc=dnsfunc)),
        'text': text.get_content() if text is not None else None,
        'to': str(msg['to']),
    }), flush=True)
"#;

const DOMAIN: &str = "wire-clinic.example";

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

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailroom-wire-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The running sink; killed when dropped.
struct Sink {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Sink {
    fn start() -> Sink {
        let dir = temp_dir();
        let script = dir.join("sink.py");
        std::fs::write(&script, SINK).expect("script");
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
            .expect("the sink's port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the sink did not start: {line:?}"));
        Sink { child, port, out }
    }

    /// Every DATA section received, in order.
    fn received(&self) -> Vec<Vec<u8>> {
        (1..)
            .map(|n| self.out.join(format!("msg{n}.raw")))
            .take_while(|p| p.exists())
            .map(|p| std::fs::read(p).expect("capture"))
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Records what it submits, then relays it.
struct Tee {
    recorder: RecordingTransport,
    relay: SmtpTransport,
}

impl Transport for Tee {
    fn submit(&mut self, message: &host_demo::Outgoing) -> Result<(), TransportError> {
        self.recorder.submit(message)?;
        self.relay.submit(message)
    }
}

fn recipients(list: &[(&str, &str)]) -> Vec<Recipient> {
    list.iter()
        .map(|(name, address)| Recipient {
            name: (!name.is_empty()).then(|| name.to_string()),
            address: address.to_string(),
        })
        .collect()
}

fn attachment(
    filename: &str,
    content_type: &str,
    cid: Option<&str>,
    content: &[u8],
) -> OutgoingAttachment {
    OutgoingAttachment {
        filename: filename.to_string(),
        content_type: content_type.to_string(),
        content_id: cid.map(str::to_string),
        content: content.to_vec(),
    }
}

/// What each hostile send is: a name, the request, and for sends that go
/// out the plain text Python must read back (after CRLF normalisation).
fn table(use_case: &str) -> Vec<(&'static str, SendRequest, Option<String>)> {
    let base = |text: &str| SendRequest {
        use_case: use_case.to_string(),
        to: recipients(&[("Pat", "pat@patient.example")]),
        cc: vec![],
        subject: "Your appointment".to_string(),
        text: Some(text.to_string()),
        html: None,
        attachments: vec![],
        in_reply_to: None,
        idempotency_key: None,
    };
    let smuggle = "a\r.\r\nMAIL FROM:<x@evil.example>\r\nRCPT TO:<y@victim.example>\r\nDATA\r\nowned\r\n.\r\n";
    let mut out = vec![
        (
            "bare-cr-smuggling",
            base(smuggle),
            Some(smuggle.replace('\r', "\n").replace("\n\n", "\n")),
        ),
        (
            "bare-lf-and-dots",
            base(".\n..two\n.one\nend\n."),
            Some(".\n..two\n.one\nend\n.\n".into()),
        ),
        (
            "nul-and-escape",
            base("before\0after\r\n\u{1b}[31mred"),
            Some("before\0after\n\u{1b}[31mred\n".into()),
        ),
        (
            "long-line",
            base(&"x".repeat(5000)),
            Some(format!("{}\n", "x".repeat(5000))),
        ),
    ];
    let mut r = base("Hello.\r\n");
    r.html = Some("<p>NUL\0 and \r bare CR</p>\n<p>line two</p>".into());
    out.push(("html-nul-bare-cr", r, Some("Hello.\n".into())));
    let mut r = base("Hello.\r\n");
    r.subject = "Réunion d'équipe — ".repeat(50);
    out.push(("long-non-ascii-subject", r, None));
    let mut r = base("Hello.\r\n");
    r.subject = "word ".repeat(399);
    r.to = (0..25)
        .map(|i| Recipient {
            name: Some(format!("{} Ünïcödé {i}", "N".repeat(200))),
            address: format!("{}{i:02}@patient.example", "l".repeat(62)),
        })
        .collect();
    r.cc = (0..25)
        .map(|i| Recipient {
            name: Some(format!("Plain \"quoted\" name, with comma {i}")),
            address: format!("c{i}@patient.example"),
        })
        .collect();
    out.push(("fifty-long-recipients", r, None));
    let mut r = base("Hello.\r\n");
    r.to = recipients(&[
        ("", "x@Bücher.example"),
        ("Quoted", "\"a b\"@patient.example"),
    ]);
    out.push(("u-label-and-quoted", r, None));
    let mut r = base("See attached.\r\n");
    r.attachments = vec![
        attachment(
            "Jahresabschluß «2024» \"final\".txt",
            "Text/Plain; Charset=\"utf-8\"",
            None,
            b"bare\rCR and NUL\0 in a text file\n",
        ),
        attachment(
            &format!("{}.pdf", "long name ".repeat(24)),
            &format!("application/pdf; note=\"{}\"", "v".repeat(400)),
            None,
            b"%PDF-1.4",
        ),
    ];
    out.push(("attachments", r, Some("See attached.\n".into())));
    let mut r = base("Logo below.\r\n");
    r.html = Some("<p><img src=\"cid:logo@clinic\"></p>".into());
    r.attachments = vec![attachment(
        "logo.png",
        "image/png",
        Some("<logo@clinic>"),
        &[0x89, b'P', b'N', b'G', 0, 13, 10],
    )];
    out.push(("inline-image", r, Some("Logo below.\n".into())));
    out
}

fn refusals(use_case: &str) -> Vec<(&'static str, SendRequest, &'static str)> {
    let base = || SendRequest {
        use_case: use_case.to_string(),
        to: recipients(&[("", "pat@patient.example")]),
        cc: vec![],
        subject: "Hi".to_string(),
        text: Some("Hi.".to_string()),
        html: None,
        attachments: vec![],
        in_reply_to: None,
        idempotency_key: None,
    };
    let mut out = Vec::new();
    let mut r = base();
    r.to = recipients(&[("", "a@b@patient.example")]);
    out.push(("two-at", r, "to[0].address"));
    let mut r = base();
    r.cc = recipients(&[("", &format!("{}@patient.example", "l".repeat(100_000)))]);
    out.push(("long-local", r, "cc[0].address"));
    let mut r = base();
    r.to = recipients(&[("", "jürgen@patient.example")]);
    out.push(("utf8-local", r, "SMTPUTF8"));
    let mut r = base();
    r.attachments = vec![attachment(
        "a.eml",
        "multipart/mixed; boundary=x",
        None,
        b"x",
    )];
    out.push(("multipart-attachment", r, "attachments[0].content-type"));
    let mut r = base();
    r.attachments = vec![attachment("a.pdf", "application/pdf; x=\"y", None, b"x")];
    out.push(("open-quote", r, "attachments[0].content-type"));
    let mut r = base();
    r.to = (0..10_000)
        .map(|i| Recipient {
            name: None,
            address: format!("p{i}@patient.example"),
        })
        .collect();
    out.push(("ten-thousand", r, "limit is 50"));
    out
}

#[test]
fn hostile_sends_reach_a_raw_smtp_sink_clean_and_verifiable() {
    if !python_module("dkim", "dkimpy") {
        println!(
            "NOT RUN hostile_sends_reach_a_raw_smtp_sink_clean_and_verifiable: python3 with dkimpy is not available"
        );
        return;
    }
    let sink = Sink::start();
    let recorder = RecordingTransport::new();
    let mailroom = Mailroom::builder()
        .transport(Tee {
            recorder: recorder.clone(),
            relay: SmtpTransport::from_url(
                &format!("smtp://127.0.0.1:{}?tls=none", sink.port),
                Duration::from_secs(20),
            )
            .expect("transport"),
        })
        .build()
        .expect("a channel");
    let (setup, use_case) = clinic(&mailroom);

    for (name, request, field) in refusals(&use_case) {
        let result = mailroom.send("ws-wire", &request).expect("no trap");
        let message = match result {
            Err(
                SendError::InvalidHeader(m)
                | SendError::Smtputf8Required(m)
                | SendError::TooManyRecipients(m),
            ) => m,
            other => panic!("{name}: expected a typed refusal, got {other:?}"),
        };
        assert!(message.contains(field), "{name}: {message}");
    }
    assert!(
        sink.received().is_empty(),
        "a refused send reached the sink"
    );

    let table = table(&use_case);
    for (name, request, _) in &table {
        mailroom
            .send("ws-wire", request)
            .expect("no trap")
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    // One transaction per recipient (each from its own return path), the
    // same bytes: the first of each message stands for it.
    let all_wire = sink.received();
    let all_submitted = recorder.messages();
    assert_eq!(all_wire.len(), all_submitted.len());
    let firsts: Vec<usize> = (0..all_submitted.len())
        .filter(|&i| i == 0 || all_submitted[i].message_id != all_submitted[i - 1].message_id)
        .collect();
    for i in 1..all_submitted.len() {
        if !firsts.contains(&i) {
            assert_eq!(all_submitted[i].raw, all_submitted[i - 1].raw);
            assert_eq!(all_wire[i], all_wire[i - 1]);
        }
    }
    let wire: Vec<_> = firsts.iter().map(|&i| all_wire[i].clone()).collect();
    let submitted: Vec<_> = firsts.iter().map(|&i| all_submitted[i].clone()).collect();
    assert_eq!(wire.len(), table.len());
    for (i, (name, _, _)) in table.iter().enumerate() {
        // What was submitted, dot-stuffed, is what crossed the wire.
        let stuffed: Vec<u8> = String::from_utf8_lossy(&submitted[i].raw)
            .split("\r\n")
            .map(|l| {
                if l.starts_with('.') {
                    format!(".{l}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n")
            .into_bytes();
        let trimmed = stuffed.strip_suffix(b"\r\n").unwrap_or(&stuffed);
        assert_eq!(
            trimmed,
            wire[i].as_slice(),
            "{name}: the wire differs from the submitted bytes"
        );
    }

    let verdicts = check(&setup, &wire);
    assert_eq!(verdicts.len(), table.len());
    for ((name, _, text), verdict) in table.iter().zip(&verdicts) {
        assert_eq!(verdict["problems"], json!([]), "{name}: {verdict}");
        assert_eq!(verdict["defects"], json!([]), "{name}: {verdict}");
        assert_eq!(verdict["dkim"], true, "{name}: dkimpy does not verify it");
        if let Some(text) = text {
            let read = verdict["text"]
                .as_str()
                .unwrap_or_default()
                .replace("\r\n", "\n");
            assert_eq!(&read, text, "{name}: {verdict}");
        }
    }
    let to = |name: &str| {
        let i = table
            .iter()
            .position(|(n, _, _)| *n == name)
            .expect("in the table");
        verdicts[i]["to"].as_str().unwrap_or_default().to_string()
    };
    assert!(
        to("u-label-and-quoted").contains("x@xn--bcher-kva.example"),
        "{}",
        to("u-label-and-quoted")
    );
    assert!(to("u-label-and-quoted").contains("\"a b\"@patient.example"));
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
        .create_setup("ws-wire", DOMAIN, &options)
        .expect("no trap")
        .expect("a setup");
    let zone = Zone::publishing(&setup.records).expect("a zone");
    let verification = mailroom
        .verify_setup_with("ws-wire", &setup.id, &zone)
        .expect("no trap")
        .expect("checked");
    assert_eq!(verification.setup.status, SetupStatus::Verified);
    let use_case = mailroom
        .create_use_case(
            "ws-wire",
            &setup.id,
            &format!("care@{DOMAIN}"),
            UseCaseType::Transactional,
            "Wire Clinic",
            "Care",
        )
        .expect("no trap")
        .expect("a use case")
        .id;
    (verification.setup, use_case)
}

/// Python's verdict on each capture (see [`CHECK`]).
fn check(setup: &Setup, wire: &[Vec<u8>]) -> Vec<Value> {
    let dkim = setup
        .records
        .iter()
        .find(|r| r.purpose == RecordPurpose::Dkim)
        .expect("a DKIM record");
    // Bytes as latin-1 code points: every byte survives JSON.
    let wire: Vec<String> = wire
        .iter()
        .map(|w| w.iter().map(|&b| char::from(b)).collect())
        .collect();
    let request = json!({ "records": { dkim.name.clone(): dkim.value }, "wire": wire });
    let mut child = Command::new("python3")
        .args(["-c", CHECK])
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
    let out = child.wait_with_output().expect("python finishes");
    assert!(
        out.status.success(),
        "the checker: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a verdict"))
        .collect()
}
