//! A real mail client's threading agrees with ours: the messages of the
//! `threads/five-rounds` scenario (ours as the transport got them, the
//! patient's as received) go into a Maildir, and notmuch must show the
//! five-message conversation as one thread and the second conversation as
//! another.

use std::path::Path;
use std::process::Command;

use conformance::root;
use conformance::scenario::{run_native, substitute};
use serde_json::Value;

const CONVERSATION: [&str; 5] = ["out1", "in1", "out2", "in2", "out3"];
const SECOND: [&str; 2] = ["other-thread", "other-thread-reply"];

#[test]
fn notmuch_threads_the_conversation() {
    let notmuch = Command::new("notmuch").arg("--version").output();
    assert!(
        notmuch.is_ok_and(|o| o.status.success()),
        "notmuch is not installed (Debian package `notmuch`; .ci/run installs it)"
    );
    let path = root().join("tests/fixtures/threads/five-rounds.json");
    let scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let transcript = run_native(&scenario);

    let dir = std::env::temp_dir().join(format!("mailroom-notmuch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let maildir = dir.join("mail");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let mut outbound = transcript.transport.iter();
    for step in scenario["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().unwrap_or_default();
        let raw = match step["call"].as_str() {
            Some("outbound.send") if step["expect"].get("ok").is_some() => {
                outbound.next().and_then(|m| m["raw"].as_str()).map(str::to_string)
            }
            Some("inbound.receive") => {
                substitute(&step["args"], &transcript.steps)[0].as_str().map(str::to_string)
            }
            _ => None,
        };
        let Some(raw) = raw else { continue };
        if CONVERSATION.contains(&name) || SECOND.contains(&name) {
            std::fs::write(maildir.join("new").join(format!("{name}.eml")), raw).expect("write");
        }
    }

    let config = dir.join("notmuch-config");
    std::fs::write(
        &config,
        format!(
            "[database]\npath={}\n[user]\nname=Test\nprimary_email=test@example.org\n\
             [new]\ntags=inbox;\n[maildir]\nsynchronize_flags=false\n",
            maildir.display()
        ),
    )
    .expect("config");
    run(&config, &["new", "--quiet"]);
    let threads: Value = serde_json::from_str(&run(&config, &["search", "--format=json", "*"]))
        .expect("notmuch JSON");
    let mut totals: Vec<u64> = threads
        .as_array()
        .expect("a thread list")
        .iter()
        .filter_map(|t| t["total"].as_u64())
        .collect();
    totals.sort_unstable();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        totals,
        [2, 5],
        "notmuch should show one thread of five and one of two:\n{threads:#}"
    );
}

fn run(config: &Path, args: &[&str]) -> String {
    let out = Command::new("notmuch")
        .env("NOTMUCH_CONFIG", config)
        .args(args)
        .output()
        .expect("notmuch runs");
    assert!(
        out.status.success(),
        "notmuch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
