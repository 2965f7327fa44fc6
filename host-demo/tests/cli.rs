//! Runs the built `host-demo` binary as a user would.
//!
//! Needs the component: `cargo build -p guest --target wasm32-wasip2 --release`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_host-demo");
const OUTLOOK: &[u8] = include_bytes!("../samples/outlook-inline-image.eml");

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn host-demo");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(bytes).expect("write stdin");
    }
    child.wait_with_output().expect("wait for host-demo")
}

fn json(output: &Output) -> Value {
    let text = std::str::from_utf8(&output.stdout).expect("stdout is UTF-8");
    assert!(text.ends_with("}\n"), "no final newline: {text:?}");
    serde_json::from_str(text).expect("stdout is JSON")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn parse_file_prints_canonical_json() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outlook-inline-image.eml");
    std::fs::write(&path, OUTLOOK).expect("write sample");
    let output = run(&["parse", path.to_str().expect("UTF-8 path")], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let v = json(&output);
    let keys: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "message-id",
            "in-reply-to",
            "references",
            "from",
            "to",
            "cc",
            "reply-to",
            "subject",
            "date",
            "text",
            "html",
            "attachments",
            "headers"
        ]
    );
    assert_eq!(v["subject"], "Floor plan for Building 4");
    assert_eq!(v["from"][0]["name"], "Patel, Ravi");
    let attachments = v["attachments"].as_array().expect("an array");
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["filename"], "image001.png@01DC2D1A.5E6F7A80");
    assert_eq!(attachments[0]["inline"], true);
    assert_eq!(attachments[0]["size"], 133);
    assert_eq!(attachments[1]["filename"], "contoso-logo.png");
    assert_eq!(attachments[1]["inline"], false);
    let sha = attachments[0]["sha256"].as_str().expect("a string");
    assert_eq!(sha.len(), 64);
    assert!(
        sha.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
}

#[test]
fn parse_stdin_matches_parse_file() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outlook-stdin.eml");
    std::fs::write(&path, OUTLOOK).expect("write sample");
    let from_file = run(&["parse", path.to_str().expect("UTF-8 path")], None);
    let from_stdin = run(&["parse", "-"], Some(OUTLOOK));
    assert_eq!(from_stdin.status.code(), Some(0), "{}", stderr(&from_stdin));
    assert_eq!(from_file.stdout, from_stdin.stdout);
}

#[test]
fn parse_error_exits_2_with_json() {
    let output = run(&["parse", "-", "--max-parts", "0"], Some(OUTLOOK));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(json(&output)["error"]["kind"], "invalid-limits");

    let output = run(&["parse", "-"], Some(b""));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(json(&output)["error"]["kind"], "malformed");
}

#[test]
fn host_failure_exits_1() {
    let output = run(&["parse", "/nonexistent/message.eml"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(stderr(&output).contains("/nonexistent/message.eml"));

    let output = run(&["parse"], None);
    assert_eq!(output.status.code(), Some(1), "usage errors are not exit 2");
}

#[test]
fn deep_nesting_is_a_limit_not_a_trap() {
    let depth = 10_000;
    let mut raw =
        String::from("From: mallory@example.net\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
    for i in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    raw.push_str("Content-Type: text/plain\r\n\r\nhello\r\n");
    for i in (0..depth).rev() {
        raw.push_str(&format!("--b{i}--\r\n"));
    }

    let output = run(&["parse", "-"], Some(raw.as_bytes()));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let error = &json(&output)["error"];
    assert_eq!(error["kind"], "limit-exceeded");
    assert_eq!(error["limit"], "max-depth");
    assert_eq!(error["value"], 64);
}

#[test]
fn demo_runs_every_step() {
    let data = std::env::temp_dir().join(format!("mailroom-cli-demo-{}", std::process::id()));
    let demo = || {
        Command::new(BIN)
            .arg("demo")
            .env("MAILROOM_DATA_DIR", &data)
            .stdin(Stdio::null())
            .output()
            .expect("run host-demo demo")
    };
    // Twice: each run starts its store and outbox afresh.
    let first = demo();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let output = demo();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let outbox = data.join("demo/outbox/new");
    let sent: Vec<_> = std::fs::read_dir(&outbox)
        .expect("the outbox")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("a message"))
        .collect();
    assert_eq!(sent.len(), 6, "messages in {}", outbox.display());
    let signed = |m: &Vec<u8>| m.windows(15).any(|w| w == b"DKIM-Signature:");
    assert!(sent.iter().all(signed), "every message is DKIM-signed");
    assert!(data.join("demo/mailroom.sqlite3").is_file());
    std::fs::remove_dir_all(&data).expect("clean up");
    let text = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    for needle in [
        "Venue contract (signed).pdf",
        "image001.png@01DC2D1A.5E6F7A80",
        "Guest list for the October offsite.eml",
        "guests.csv",
        "limit-exceeded (max-depth = 64)",
        "machine (apple-mpp)",
        "human (person)",
        "Done.",
    ] {
        assert!(
            text.contains(needle),
            "demo output lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
fn help_on_each_command() {
    for args in [
        &["--help"][..],
        &["parse", "--help"],
        &["demo", "--help"],
        &["serve", "--help"],
        &["receive", "--help"],
        &["config", "--help"],
    ] {
        let output = run(args, None);
        assert_eq!(output.status.code(), Some(0));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("Usage:"), "{text}");
        if args.len() == 2 && args[0] != "parse" && args[0] != "demo" {
            assert!(
                text.contains("MAILROOM_DATA_DIR"),
                "{args:?} names the settings"
            );
        }
    }
    let serve = run(&["serve", "--help"], None);
    let text = String::from_utf8_lossy(&serve.stdout);
    for endpoint in [
        "POST   /messages",
        "POST   /unsubscribe/{token}",
        "POST   /inbound",
    ] {
        assert!(
            text.contains(endpoint),
            "serve --help lacks {endpoint}:\n{text}"
        );
    }
    let receive = run(&["receive", "--help"], None);
    assert!(String::from_utf8_lossy(&receive.stdout).contains("EX_TEMPFAIL"));
}

/// Runs `host-demo --config SETTINGS ARGS` with no `MAILROOM_*` variable
/// but the component's.
fn run_with_settings(settings: &std::path::Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut command = Command::new(BIN);
    command.arg("--config").arg(settings).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("MAILROOM_") && key != "MAILROOM_COMPONENT" {
            command.env_remove(key);
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn host-demo");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    // The command may exit before reading (a settings error).
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child.wait_with_output().expect("wait for host-demo")
}

/// A settings file with its data directory under the test's temporary
/// directory, fresh.
fn settings(name: &str, extra: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the directory");
    let path = dir.join("settings.toml");
    let data = dir.join("data");
    std::fs::write(
        &path,
        format!(
            "data-dir = {:?}\n{extra}",
            data.to_str().expect("UTF-8 path")
        ),
    )
    .expect("write settings");
    path
}

#[test]
fn receive_stores_a_message_for_postfix() {
    let path = settings("receive", "");
    let output = run_with_settings(
        &path,
        &[
            "receive",
            "--from",
            "ravi@contoso.example",
            "--to",
            "ops@venue.example",
        ],
        OUTLOOK,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let v = json(&output);
    assert!(v["resolution"]["unmatched"].is_string(), "{v:#}");
    assert_eq!(v["message"]["subject"], "Floor plan for Building 4");
    let content = v["message"]["attachments"][0]["content"]
        .as_str()
        .expect("a string");
    assert!(content.starts_with("sha256:"), "{content}");
    let sqlite = path.with_file_name("data").join("mailroom.sqlite3");
    assert!(
        sqlite.is_file(),
        "the message is stored in {}",
        sqlite.display()
    );

    // Unparseable input: EX_DATAERR, with the error's JSON.
    let output = run_with_settings(&path, &["receive"], b"");
    assert_eq!(output.status.code(), Some(65), "{}", stderr(&output));
    assert!(json(&output)["error"]["parse"]["malformed"].is_string());
    let output = run_with_settings(&path, &["receive", "--max-parts", "1"], OUTLOOK);
    assert_eq!(output.status.code(), Some(65), "{}", stderr(&output));
    assert_eq!(
        json(&output)["error"]["parse"]["limit-exceeded"]["limit"],
        "max-parts"
    );
}

#[test]
fn receive_defers_when_it_cannot_store() {
    // The data directory cannot be created: a file is in the way.
    let path = settings("receive-blocked", "");
    std::fs::write(path.with_file_name("data"), b"not a directory").expect("write");
    let output = run_with_settings(&path, &["receive"], OUTLOOK);
    assert_eq!(output.status.code(), Some(75), "{}", stderr(&output));
    assert!(output.stdout.is_empty());

    // Broken settings and wrong arguments defer too: Postfix keeps the mail.
    let broken = settings("receive-broken", "colour = \"blue\"\n");
    let output = run_with_settings(&broken, &["receive"], OUTLOOK);
    assert_eq!(output.status.code(), Some(75), "{}", stderr(&output));
    assert!(stderr(&output).contains("colour"), "{}", stderr(&output));
    let output = run_with_settings(&path, &["receive", "--bogus"], OUTLOOK);
    assert_eq!(output.status.code(), Some(75), "{}", stderr(&output));
}

#[test]
fn config_prints_settings_that_load_back() {
    let path = settings(
        "config",
        "listen = \"127.0.0.1:9999\"\nsmtp-url = \"smtp://user:secret@relay.example:587\"\n",
    );
    let output = run_with_settings(&path, &["config"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("user:********@relay.example"), "{text}");
    assert!(
        !text.contains("user:secret"),
        "the password is not shown: {text}"
    );

    // Printed without the password, the file loads back to the same settings.
    let again = path.with_file_name("again.toml");
    std::fs::write(&again, text.replace("********", "x")).expect("write");
    let output = run_with_settings(&again, &["config"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), text);

    let output = run(&["config", "--example"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let example = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(example.contains("MAILROOM_SMTP_URL"), "{example}");
    let reloaded = path.with_file_name("example.toml");
    std::fs::write(&reloaded, &example).expect("write");
    let output = run_with_settings(&reloaded, &["config"], b"");
    assert_eq!(
        output.status.code(),
        Some(0),
        "the example loads: {}",
        stderr(&output)
    );
}
