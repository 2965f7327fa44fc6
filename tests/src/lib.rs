//! The conformance runner's shared parts: fixture discovery, the canonical
//! JSON of the native library, and golden comparison with `MAILROOM_BLESS=1`.

pub mod notmuch;
pub mod scenario;
pub mod upgrade;

use std::path::{Path, PathBuf};

use guest::inbound::{Attachment, Mailbox, ParseError, ParsedMessage};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A channel's native state for tests: an empty store, a recording
/// transport, a fixed clock and random stream, and one use case of the setup
/// `clinic.example` (sender `care@clinic.example`).
pub struct Clinic {
    pub store: guest::store::MemoryStore,
    pub transport: guest::transport::RecordingTransport,
    pub env: guest::env::FixedEnv,
    pub use_case: guest::use_cases::UseCase,
}

impl Clinic {
    /// A fresh clinic whose random stream is seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        use guest::{setups, use_cases};
        let mut store = guest::store::MemoryStore::default();
        let mut env = guest::env::FixedEnv::new(1_772_442_000, seed);
        let options = setups::SetupOptions {
            inbound_host: "inbound.mailroom.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
            bounce_domain: None,
        };
        let setup =
            setups::create(&mut store, &mut env, "ws", "clinic.example", &options).expect("setup");
        let verified = setups::verify(
            &mut store,
            &mut env,
            &setup.id,
            &setups::answers_publishing(&setup.records),
        )
        .expect("verification");
        assert_eq!(verified.setup.status, setups::SetupStatus::Verified);
        let use_case = use_cases::create(
            &mut store,
            &mut env,
            &setup.id,
            "care@clinic.example",
            guest::use_cases::UseCaseType::Transactional,
            "Clinic",
            "Care",
        )
        .expect("use case");
        Clinic {
            store,
            transport: Default::default(),
            env,
            use_case,
        }
    }
}

/// dkimpy, an independent DKIM verifier, through `tests/dkim/verify.py`.
pub use dkim::dkimpy;

mod dkim {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use serde_json::{Value, json};

    use crate::root;

    /// Fails with what to install when python3 or dkimpy is missing.
    fn require_dkimpy() {
        let probe = Command::new("python3")
            .args(["-c", "import dkim"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| {
                panic!("python3 is needed to run dkimpy and could not be started: {e}")
            });
        assert!(
            probe.status.success(),
            "dkimpy is not installed for python3 (pip install dkimpy; .ci/run installs it):\n{}",
            String::from_utf8_lossy(&probe.stderr)
        );
    }

    /// Runs `tests/dkim/verify.py` (dkimpy) and returns one verdict per message.
    pub fn dkimpy(records: &Value, messages: &[String]) -> Vec<String> {
        require_dkimpy();
        let mut child = Command::new("python3")
            .arg(root().join("tests/dkim/verify.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let request = json!({ "records": records, "messages": messages });
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(request.to_string().as_bytes())
            .expect("request written");
        let out = child.wait_with_output().expect("dkimpy finishes");
        assert!(
            out.status.success(),
            "tests/dkim/verify.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `(name, .eml path, .json path)` of every fixture of a suite, sorted.
pub fn fixtures(suite: &str) -> Vec<(String, PathBuf, PathBuf)> {
    let dir = root().join("tests/fixtures").join(suite);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "eml").then(|| {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let golden = path.with_extension("json");
                (name, path, golden)
            })
        })
        .collect();
    out.sort();
    out
}

/// Whether goldens are to be rewritten.
pub fn blessing() -> bool {
    std::env::var_os("MAILROOM_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the golden file; returns a report of the first
/// differing lines, or `None` when equal.
pub fn compare(golden: &Path, actual: &str) -> Option<String> {
    let expected = std::fs::read_to_string(golden).unwrap_or_default();
    if expected == actual {
        return None;
    }
    let mut report = String::new();
    let (e, a): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    let mut shown = 0;
    for i in 0..e.len().max(a.len()) {
        let (el, al) = (e.get(i).copied(), a.get(i).copied());
        if el != al {
            report.push_str(&format!(
                "  line {}:\n    - {}\n    + {}\n",
                i + 1,
                el.unwrap_or("<none>"),
                al.unwrap_or("<none>")
            ));
            shown += 1;
            if shown == 5 {
                break;
            }
        }
    }
    Some(report)
}

/// The canonical JSON of a native parse, as every host prints it.
pub fn canonical(result: &Result<ParsedMessage, ParseError>) -> String {
    let value = match result {
        Ok(m) => json!({
            "message-id": m.message_id,
            "in-reply-to": m.in_reply_to,
            "references": m.references,
            "from": mailboxes(&m.from),
            "to": mailboxes(&m.to),
            "cc": mailboxes(&m.cc),
            "reply-to": mailboxes(&m.reply_to),
            "subject": m.subject,
            "date": m.date,
            "text": m.text,
            "html": m.html,
            "attachments": m.attachments.iter().map(attachment).collect::<Vec<_>>(),
            "headers": m.headers.iter()
                .map(|h| json!({"name": h.name, "value": h.value}))
                .collect::<Vec<_>>(),
        }),
        Err(e) => {
            let message = e.message();
            json!({ "error": match e {
                ParseError::LimitExceeded { limit, value } => json!({
                    "kind": "limit-exceeded",
                    "limit": limit.name(),
                    "value": value,
                    "message": message,
                }),
                ParseError::InvalidLimits(_) => json!({"kind": "invalid-limits", "message": message}),
                ParseError::Malformed(_) => json!({"kind": "malformed", "message": message}),
            }})
        }
    };
    let mut out = serde_json::to_string_pretty(&value).expect("JSON values serialize");
    out.push('\n');
    out
}

fn mailboxes(list: &[Mailbox]) -> Vec<Value> {
    list.iter()
        .map(|m| json!({"name": m.name, "address": m.address}))
        .collect()
}

fn attachment(a: &Attachment) -> Value {
    json!({
        "filename": a.filename,
        "content-type": a.content_type,
        "content-id": a.content_id,
        "disposition": a.disposition.name(),
        "inline": a.inline,
        "size": a.content.len(),
        "sha256": hex(&Sha256::digest(&a.content)),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every `.eml` file under `../shared/corpus/`, sorted; `None` when the corpus is not beside the project.
pub fn corpus_files() -> Option<Vec<PathBuf>> {
    let dir = root().parent()?.join("shared/corpus");
    if !dir.is_dir() {
        return None;
    }
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_mail(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    Some(files)
}

fn is_mail(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "eml")
}
