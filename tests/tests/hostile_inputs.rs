//! The worst inputs we know, built to be slow or large (deep nesting,
//! hundreds of thousands of parts, huge header lines, pathological encoded
//! words, endless recipient groups) and every finding of the fuzzers
//! (`tests/fixtures/hostile/*.eml`), fed to `inbound.parse`,
//! `inbound.receive` and `events.ingest-report` natively, in wasmtime (with
//! its memory and call-time caps) and in Node. Every host must answer, with
//! a result or a typed error, never a trap, and all three must agree.

use std::process::Command;
use std::time::{Duration, Instant};

use conformance::root;
use conformance::scenario::run_native;
use serde_json::{Value, json};

const DOMAIN: &str = "clinic.example";

/// `(name, raw)`: inputs built to be slow or large. `MID` stands for the
/// Message-ID of a message the clinic sent.
fn worst_inputs() -> Vec<(String, String)> {
    let head = "From: a@patient.example\r\nTo: appointments@clinic.example\r\n\
                Message-ID: <w@patient.example>\r\nIn-Reply-To: <MID>\r\n";
    let mut out = Vec::new();

    let mut nested = String::from(head);
    for i in 0..10_000 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    out.push(("nesting-10000-multiparts".into(), nested));

    let mut parts = format!("{head}Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n");
    for _ in 0..200_000 {
        parts.push_str("--p\r\n\r\n");
    }
    out.push(("200000-empty-parts".into(), parts));

    out.push((
        "subject-line-2mib".into(),
        format!("{head}Subject: {}\r\n\r\nbody\r\n", "a".repeat(2 << 20)),
    ));

    let words = vec!["=?utf-8?b?w6k=?="; 100_000].join(" ");
    out.push((
        "100000-encoded-words".into(),
        format!("{head}Subject: {words}\r\n\r\nbody\r\n"),
    ));

    let mut iso = String::from(head);
    iso.push_str("Subject: ");
    for _ in 0..20_000 {
        iso.push_str("=?iso-2022-jp?b?GyRCJEIbKEI=?=");
    }
    out.push((
        "20000-adjacent-iso-2022-jp-words".into(),
        iso + "\r\n\r\nx\r\n",
    ));

    let mut fields = String::from(head);
    for i in 0..50_000 {
        fields.push_str(&format!("X-Field-{i}: value\r\n"));
    }
    out.push(("50000-header-fields".into(), fields + "\r\nbody\r\n"));

    out.push((
        "base64-2mib-one-line".into(),
        format!(
            "{head}Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=x.bin\r\n\r\n{}\r\n",
            "QUFB".repeat(512 * 1024)
        ),
    ));

    let mut near =
        format!("{head}Content-Type: multipart/mixed; boundary=\"bound\"\r\n\r\n--bound\r\n\r\n");
    for _ in 0..100_000 {
        near.push_str("--boun\r\n");
    }
    out.push(("100000-near-boundaries".into(), near + "--bound--\r\n"));

    let mut rfc822 = String::from(head);
    for _ in 0..2_000 {
        rfc822.push_str("Content-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\n");
    }
    out.push(("2000-nested-messages".into(), rfc822 + "\r\nend\r\n"));

    let ids: Vec<String> = (0..50_000)
        .map(|i| format!("<r{i}@patient.example>"))
        .collect();
    out.push((
        "references-50000-ids".into(),
        format!("{head}References: {} <MID>\r\n\r\nreply\r\n", ids.join(" ")),
    ));

    let mut dsn = format!(
        "From: MAILER-DAEMON@mx.patient.example\r\nTo: appointments@{DOMAIN}\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"d\"\r\n\r\n\
         --d\r\nContent-Type: text/plain\r\n\r\nfailed\r\n\r\n\
         --d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.patient.example\r\n"
    );
    for i in 0..20_000 {
        dsn.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; u{i}@patient.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        ));
    }
    dsn.push_str(
        "\r\n--d\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <MID>\r\n\r\n--d--\r\n",
    );
    out.push(("dsn-20000-recipients".into(), dsn));

    let diagnostic = "no such user ".repeat(100_000);
    out.push((
        "qmail-1mib-diagnostic".into(),
        format!(
            "From: MAILER-DAEMON@mx.patient.example\r\nSubject: failure notice\r\n\r\n\
             Hi. This is the qmail-send program at mx.patient.example.\r\n\
             I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
             This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n\
             <pat@patient.example>:\r\n{diagnostic}\r\n\r\n\
             --- Below this line is a copy of the message.\r\n\r\nMessage-ID: <MID>\r\n\r\nx\r\n"
        ),
    ));
    out
}

/// The fuzzers' findings, as fixtures.
fn findings() -> Vec<(String, String)> {
    let dir = root().join("tests/fixtures/hostile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let raw = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let raw = String::from_utf8(raw)
                .unwrap_or_else(|_| panic!("{}: hostile fixtures are UTF-8", p.display()));
            (name, raw)
        })
        .collect()
}

fn scenario() -> Value {
    let answers = json!([
        { "name": format!("mailroom1._domainkey.{DOMAIN}"), "type": "txt",
          "result": { "txt": [["{{setup.ok.records.0.value}}"]] } },
        { "name": DOMAIN, "type": "mx",
          "result": { "mx": [{ "preference": 10, "exchange": "inbound.mailroom.example" }] } },
        { "name": DOMAIN, "type": "txt", "result": { "txt": [["v=spf1 mx ~all"]] } },
    ]);
    let mut steps = vec![
        json!({ "name": "setup", "call": "setups.create",
                "args": ["ws", DOMAIN, { "inbound-host": "inbound.mailroom.example" }] }),
        json!({ "name": "verify", "call": "setups.verify", "args": ["ws", "{{setup.ok.id}}", answers] }),
        json!({ "name": "uc", "call": "use-cases.create",
                "args": ["ws", "{{setup.ok.id}}", format!("appointments@{DOMAIN}"), "transactional",
                         "Clinic", "Appointments"] }),
        json!({ "name": "out", "call": "outbound.send",
                "args": ["ws", { "use-case": "{{uc.ok.id}}",
                           "to": [{ "address": "pat@patient.example" }], "cc": [],
                           "subject": "Hello", "text": "Hello.", "attachments": [] }] }),
    ];
    let no_limits = json!({ "max-bytes": null, "max-depth": null, "max-parts": null });
    let envelope = json!({ "mail-from": null, "rcpt-to": [format!("appointments@{DOMAIN}")] });
    for (name, raw) in worst_inputs().into_iter().chain(findings()) {
        let raw = raw.replace("MID", "{{out.ok.message-id}}");
        steps.push(
            json!({ "name": format!("parse {name}"), "call": "inbound.parse",
                           "args": [raw, no_limits] }),
        );
        steps.push(
            json!({ "name": format!("receive {name}"), "call": "inbound.receive",
                           "args": [raw, envelope, no_limits] }),
        );
        steps.push(json!({ "name": format!("ingest-report {name}"),
                           "call": "events.ingest-report", "args": [raw] }));
    }
    json!({ "clock-start": 1_772_442_000, "random-seed": 666, "steps": steps })
}

/// A short, stable digest of a step's result.
fn digest(v: &Value) -> String {
    use sha2::{Digest, Sha256};
    let text = v.to_string();
    let kind = match v {
        Value::Object(o) if o.contains_key("err") => {
            let e = &o["err"];
            format!(
                "err {}",
                e.as_object()
                    .and_then(|e| e.keys().next().cloned())
                    .unwrap_or_default()
            )
        }
        _ => "ok".to_string(),
    };
    format!(
        "{kind} {}",
        &guest::hex(&Sha256::digest(text.as_bytes()))[..16]
    )
}

#[test]
fn the_worst_inputs_get_answers_in_every_host() {
    let scenario = scenario();

    // Each input alone, natively, with its time: the slow ones stand out.
    let dir = root().join("target/hostile");
    std::fs::create_dir_all(&dir).expect("target/hostile");
    for (name, raw) in worst_inputs() {
        let started = Instant::now();
        let parsed = guest::inbound::parse(raw.as_bytes(), &guest::inbound::Limits::default());
        let outcome = match parsed {
            Ok(_) => "parsed".to_string(),
            Err(e) => e.message(),
        };
        eprintln!("  parse {name:<40} {:>9.1?}  {outcome}", started.elapsed());
        std::fs::write(dir.join(format!("{name}.eml")), raw).expect("written");
    }

    let started = Instant::now();
    let native = run_native(&scenario);
    eprintln!(
        "native: {} steps in {:?}",
        native.steps.len(),
        started.elapsed()
    );
    for (name, value) in native.steps.iter().skip(4) {
        eprintln!("  {:<48} {}", name, digest(value));
    }

    let mailroom = host_demo::Mailroom::builder()
        .random_seed(666)
        .clock(host_demo::Clock::Fixed {
            start: 1_772_442_000,
        })
        .max_call_time(Duration::from_secs(120))
        .build()
        .expect("the component loads");
    let started = Instant::now();
    let wasm = host_demo::scenario::run(&mailroom, &scenario)
        .unwrap_or_else(|e| panic!("wasmtime trapped or failed: {e:#}"));
    eprintln!("wasmtime: {:?}", started.elapsed());
    for ((name, n), (_, w)) in native.steps.iter().zip(&wasm.steps) {
        assert!(
            n == w,
            "{name}: wasmtime {} but native {}",
            digest(w),
            digest(n)
        );
    }

    let file = dir.join("scenario.json");
    std::fs::write(&file, scenario.to_string()).expect("written");
    let runner = root().join("js/src/scenario.js");
    let script = format!(
        "import {{ runScenario }} from {runner:?};\n\
         import {{ readFileSync }} from 'node:fs';\n\
         const t = runScenario(JSON.parse(readFileSync({file:?}, 'utf8')));\n\
         process.stdout.write(JSON.stringify(t.steps.map((s) => s.result)));\n",
        runner = runner.display().to_string(),
        file = file.display().to_string(),
    );
    let started = Instant::now();
    let output = Command::new("node")
        .args([
            "--max-old-space-size=4096",
            "--input-type=module",
            "-e",
            &script,
        ])
        .output()
        .expect("node runs");
    eprintln!("node: {:?}", started.elapsed());
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let js: Vec<Value> = serde_json::from_slice(&output.stdout).expect("node prints JSON");
    assert_eq!(js.len(), native.steps.len());
    for ((name, n), j) in native.steps.iter().zip(&js) {
        assert!(
            n == j,
            "{name}: node {} but native {}",
            digest(j),
            digest(n)
        );
    }
}
