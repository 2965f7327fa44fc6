//! notmuch, a real mail client's threading: messages go into a fresh
//! Maildir and notmuch says how many messages each thread holds.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The message count of every thread notmuch sees among `messages`
/// (`(file name, raw message)`), sorted ascending.
pub fn thread_sizes(messages: &[(String, String)]) -> Vec<u64> {
    let version = Command::new("notmuch").arg("--version").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "notmuch is not installed (Debian package `notmuch`; .ci/run installs it)"
    );
    let dir = std::env::temp_dir().join(format!(
        "mailroom-notmuch-{}-{}",
        std::process::id(),
        messages.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let maildir = dir.join("mail");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    for (name, raw) in messages {
        std::fs::write(maildir.join("new").join(format!("{name}.eml")), raw).expect("write");
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
    let mut sizes: Vec<u64> = threads
        .as_array()
        .expect("a thread list")
        .iter()
        .filter_map(|t| t["total"].as_u64())
        .collect();
    sizes.sort_unstable();
    let _ = std::fs::remove_dir_all(&dir);
    sizes
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
