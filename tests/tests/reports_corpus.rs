//! The bounce and complaint analyzer on sisimai's set of real reports
//! (`../shared/corpus/sisimai-set-of-emails/maildir/{bsd,not}`): counts per
//! class and format, the share classified, and a golden of every file's
//! outcome (`tests/fixtures/reports-corpus/expected.json`; rewrite it with
//! `MAILROOM_BLESS=1`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use conformance::{blessing, root};
use guest::reports::{Class, Report, ReportFormat, analyze};
use serde_json::{Map, Value, json};

/// Files whose real nature differs from the folder sisimai filed them in:
/// `not/rb-issue-368-bug.eml` is a genuine "Mailbox full" bounce
/// notification sent by a postmaster (sisimai keeps it as a regression
/// sample for a parser crash).
const NOT_BOUNCE_EXCEPTIONS: &[&str] = &["not/rb-issue-368-bug.eml"];

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

fn name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn outcome(report: &Report) -> Value {
    let recipients: Vec<_> = report
        .findings
        .iter()
        .map(|f| f.recipient.clone())
        .collect();
    let statuses: Vec<_> = report.findings.iter().map(|f| f.status.clone()).collect();
    let reasons: Vec<_> = report.findings.iter().map(|f| f.reason.clone()).collect();
    json!({
        "format": name(report.format),
        "class": name(report.class()),
        "mta": report.mta,
        "recipients": recipients,
        "original-message-id": report.original_message_id,
        "statuses": statuses,
        "reasons": reasons,
    })
}

/// `lhost-postfix` of `lhost-postfix-01.eml`.
fn prefix(file: &str) -> &str {
    let stem = file.trim_end_matches(".eml");
    stem.rsplit_once('-').map_or(stem, |(p, _)| p)
}

#[test]
fn reports_corpus() {
    let base = root().join("../shared/corpus/sisimai-set-of-emails/maildir");
    if !base.join("bsd").is_dir() {
        eprintln!("NOT RUN: {} is missing", base.join("bsd").display());
        return;
    }
    let mut actual = Map::new();
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_format: BTreeMap<String, usize> = BTreeMap::new();
    let mut missed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut bounces, mut classified, mut with_recipient, mut with_original) = (0, 0, 0, 0);
    let mut wrong = Vec::new();

    for folder in ["bsd", "not"] {
        for path in eml_files(&base.join(folder)) {
            let file = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let key = format!("{folder}/{file}");
            let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{key}: {e}"));
            let report = std::panic::catch_unwind(|| analyze(&raw))
                .unwrap_or_else(|_| panic!("{key}: the analyzer panicked"));
            let class = report.class();
            *per_class.entry(name(class)).or_default() += 1;
            *per_format.entry(name(report.format)).or_default() += 1;
            if report.findings.iter().any(|f| f.recipient.is_some()) {
                with_recipient += 1;
            }
            if report.original_message_id.is_some() {
                with_original += 1;
            }
            let expected_bounce = folder == "bsd" && !file.starts_with("rfc3834-");
            if expected_bounce {
                bounces += 1;
                if class == Class::NotABounce {
                    missed
                        .entry(prefix(&file).to_string())
                        .or_default()
                        .push(file.clone());
                } else {
                    classified += 1;
                }
            }
            let not_spam = report
                .findings
                .iter()
                .any(|f| f.feedback_type.as_deref() == Some("not-spam"));
            let ok = if folder == "not" {
                NOT_BOUNCE_EXCEPTIONS.contains(&key.as_str())
                    || (class == Class::NotABounce
                        && matches!(
                            report.format,
                            ReportFormat::NotAReport | ReportFormat::AutoReply
                        ))
            } else if file.starts_with("arf-") {
                not_spam || class == Class::Complaint
            } else if file.starts_with("rfc3834-") {
                class == Class::NotABounce
            } else {
                true
            };
            if !ok {
                wrong.push(format!("{key}: {:?} {:?}", report.format, class));
            }
            actual.insert(key, outcome(&report));
        }
    }

    eprintln!("reports corpus: {} files", actual.len());
    for (class, n) in &per_class {
        eprintln!("  class  {n:>4}  {class}");
    }
    for (format, n) in &per_format {
        eprintln!("  format {n:>4}  {format}");
    }
    eprintln!(
        "  classified {classified}/{bounces} bounces ({:.1}%); {with_recipient} with a recipient, \
         {with_original} with the original Message-ID",
        100.0 * classified as f64 / bounces.max(1) as f64
    );
    for (prefix, files) in &missed {
        eprintln!("  missed {prefix}: {}", files.join(" "));
    }

    let golden = root().join("tests/fixtures/reports-corpus/expected.json");
    let text = serde_json::to_string_pretty(&Value::Object(actual.clone())).expect("json") + "\n";
    if blessing() {
        std::fs::create_dir_all(golden.parent().expect("parent")).expect("golden folder");
        std::fs::write(&golden, &text).expect("golden written");
    } else {
        let expected: Map<String, Value> = std::fs::read_to_string(&golden)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let mut differ: Vec<String> = actual
            .iter()
            .filter(|(k, v)| expected.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: expected {:?}\n    got {v}", expected.get(k)))
            .collect();
        differ.extend(
            expected
                .keys()
                .filter(|k| !actual.contains_key(*k))
                .map(|k| format!("{k}: in the golden, not in the corpus")),
        );
        assert!(
            differ.is_empty(),
            "{} files differ from {} (MAILROOM_BLESS=1 rewrites it):\n{}",
            differ.len(),
            golden.display(),
            differ.join("\n")
        );
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

/// `events.ingest-report` in wasmtime gives, for every report of the corpus,
/// the JSON the native library gives (no message is stored, so each report
/// is unmatched or ignored, and its analysis is compared whole).
#[test]
fn ingest_report_is_the_same_in_wasmtime() {
    let dir = root().join("../shared/corpus/sisimai-set-of-emails/maildir");
    if !dir.is_dir() {
        eprintln!("NOT RUN: {} is missing", dir.display());
        return;
    }
    let mailroom = host_demo::Mailroom::load_default().expect("the component loads");
    let mut store = guest::store::MemoryStore::default();
    let mut env = guest::env::FixedEnv::new(1_772_442_000, 1);
    let mut differ = Vec::new();
    for path in eml_files(&dir.join("bsd"))
        .into_iter()
        .chain(eml_files(&dir.join("not")))
    {
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let native = match guest::events::ingest_report(&mut store, &mut env, &raw) {
            Ok(r) => json!({ "ok": r }),
            Err(e) => json!({ "err": e }),
        };
        let bytes = Value::Array(raw.iter().map(|b| json!(b)).collect());
        let wasm = host_demo::scenario::call(&mailroom, "events.ingest-report", &[bytes])
            .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        if wasm != native {
            differ.push(path.display().to_string());
        }
    }
    assert!(
        differ.is_empty(),
        "wasmtime and native differ on:\n{}",
        differ.join("\n")
    );
}

/// Where we hold that sisimai's expected answer is wrong, or that it means
/// something else by the same word; each pair is left out of the agreement
/// (and printed), never hidden by a lower threshold. Keyed by sisimai's
/// reason, with our class:
///
/// - `suspend` (sisimai: not hard): a mailbox the provider has suspended or
///   disabled does not take mail, and issue 16 names "mailbox
///   disabled/suspended" as an address failure; we suppress it (hard) and
///   `suppression.remove` lifts it when the patient says it works again.
/// - `filtered` (sisimai: not hard) where the server's own words say the
///   user is unknown ("550 Unknown user", "No such user", "User unknown in
///   local recipient table"): sisimai files such answers as `filtered` when
///   they come after DATA or from a filtering appliance; the server still
///   says the address does not exist, and we believe the text.
/// - `networkerror` (not hard) where the text is an NXDOMAIN for the
///   recipient's domain ("Domain name not found"; Gmail reports it with
///   4.0.0): a domain that does not exist is an address failure.
/// - `notaccept` marked not hard (Gmail's "doesn't receive email according
///   to the administrator", a null MX, with 4.0.0): sisimai marks the other
///   9 `notaccept` samples hard; a domain that accepts no mail is one.
const REASON_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "suspend",
        "*",
        "a suspended or disabled mailbox is an address failure here",
    ),
    (
        "filtered",
        "user-unknown",
        "the server said the user is unknown; sisimai files it as filtered",
    ),
    (
        "networkerror",
        "host-unknown",
        "the recipient's domain does not exist (NXDOMAIN)",
    ),
    (
        "notaccept",
        "not-accepting",
        "the recipient's domain accepts no mail (null MX)",
    ),
];

/// Files where we believe sisimai's expectation is wrong for this file,
/// with why.
const FILE_EXCEPTIONS: &[(&str, &str)] = &[(
    "rfc3464-01.eml",
    "sisimai's table says mailboxfull twice; the report says \"550 5.1.1 ... User Unknown\"",
)];

/// bounce / complaint / neither.
fn kind_of_class(class: Class) -> &'static str {
    match class {
        Class::Complaint => "complaint",
        Class::NotABounce => "neither",
        Class::Hard | Class::Soft | Class::Blocked => "bounce",
    }
}

fn kind_of_reason(reason: &str) -> &'static str {
    match reason {
        "feedback" => "complaint",
        "vacation" | "delivered" => "neither",
        _ => "bounce",
    }
}

/// Our answer per recipient against sisimai's own
/// (`../shared/corpus/sisimai-set-of-emails/expected-reasons.json`, 606
/// files): agreement on address failure or not (sisimai's `hard` against
/// our `hard`) at least 95%, on bounce / complaint / neither at least 99%.
/// Recipients pair by position (sisimai's `idx`); where we found fewer, the
/// report's class stands for the missing ones.
#[test]
fn agrees_with_sisimai() {
    let base = root().join("../shared/corpus/sisimai-set-of-emails");
    let Ok(text) = std::fs::read_to_string(base.join("expected-reasons.json")) else {
        eprintln!(
            "NOT RUN: {} is missing",
            base.join("expected-reasons.json").display()
        );
        return;
    };
    let expected: Map<String, Value> = serde_json::from_str(&text).expect("expected-reasons.json");
    let (mut pairs, mut hard_agree, mut kind_agree, mut excepted) =
        (0usize, 0usize, 0usize, 0usize);
    let (mut hard_total, mut kind_total) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    let mut exceptions_used = Vec::new();
    for (file, entries) in &expected {
        let path = base.join("maildir/bsd").join(file);
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let report = analyze(&raw);
        let entries: Vec<&Value> = entries.as_array().into_iter().flatten().collect();
        let agrees = |e: &Value, f: &guest::reports::Finding| {
            (f.class == Class::Hard) == e["hard"].as_bool().unwrap_or(false)
                && kind_of_class(f.class) == kind_of_reason(e["reason"].as_str().unwrap_or(""))
        };
        // sisimai names no recipient and its order may differ from ours:
        // pairs by position, or, where that agrees less, each expectation
        // takes the first unused finding that agrees with it, else the
        // first unused one.
        let by_position: Vec<Option<usize>> = (0..entries.len())
            .map(|i| (i < report.findings.len()).then_some(i))
            .collect();
        let mut unused: Vec<usize> = (0..report.findings.len()).collect();
        let greedy: Vec<Option<usize>> = entries
            .iter()
            .map(|e| {
                unused
                    .iter()
                    .position(|&n| agrees(e, &report.findings[n]))
                    .or((!unused.is_empty()).then_some(0))
                    .map(|p| unused.remove(p))
            })
            .collect();
        let score = |pairing: &[Option<usize>]| {
            entries
                .iter()
                .zip(pairing)
                .filter(|(e, n)| n.is_some_and(|n| agrees(e, &report.findings[n])))
                .count()
        };
        let pairing = if score(&greedy) > score(&by_position) {
            greedy
        } else {
            by_position
        };
        for (entry, pick) in entries.iter().zip(pairing) {
            pairs += 1;
            let idx = entry["idx"].as_u64().unwrap_or(1);
            let reason = entry["reason"].as_str().unwrap_or_default();
            let sisimai_hard = entry["hard"].as_bool().unwrap_or(false);
            let finding = pick.and_then(|n| report.findings.get(n));
            let class = finding.map_or(report.class(), |f| f.class);
            let ours = finding.and_then(|f| f.reason.clone()).unwrap_or_default();
            let why = FILE_EXCEPTIONS
                .iter()
                .find(|(f, _)| f == file)
                .map(|(_, why)| *why)
                .or_else(|| {
                    REASON_EXCEPTIONS
                        .iter()
                        .find(|(r, ours_reason, _)| {
                            *r == reason
                                && class == Class::Hard
                                && (*ours_reason == "*" || *ours_reason == ours)
                        })
                        .map(|(_, _, why)| *why)
                });
            let hard_ok = (class == Class::Hard) == sisimai_hard;
            let kind_ok = kind_of_class(class) == kind_of_reason(reason);
            let line = format!(
                "{file}#{idx}: sisimai {reason} (hard {sisimai_hard}, status {}, reply {}) / ours {} {ours} [{}]",
                entry["status"].as_str().unwrap_or_default(),
                entry["reply"].as_str().unwrap_or_default(),
                name(class),
                finding
                    .and_then(|f| f.diagnostic.as_deref())
                    .map(|d| d.chars().take(160).collect::<String>())
                    .unwrap_or_default(),
            );
            if let (Some(why), false) = (why, hard_ok && kind_ok) {
                excepted += 1;
                exceptions_used.push(format!("{line} — exception: {why}"));
                continue;
            }
            hard_total += 1;
            kind_total += 1;
            hard_agree += usize::from(hard_ok);
            kind_agree += usize::from(kind_ok);
            if !hard_ok || !kind_ok {
                disagreements.push(line);
            }
        }
    }
    let share = |a: usize, t: usize| 100.0 * a as f64 / t.max(1) as f64;
    eprintln!(
        "sisimai agreement: {} files, {pairs} recipients, {excepted} documented exceptions",
        expected.len()
    );
    eprintln!(
        "  address failure or not: {hard_agree}/{hard_total} ({:.1}%)",
        share(hard_agree, hard_total)
    );
    eprintln!(
        "  bounce/complaint/neither: {kind_agree}/{kind_total} ({:.1}%)",
        share(kind_agree, kind_total)
    );
    for line in &exceptions_used {
        eprintln!("  {line}");
    }
    for line in &disagreements {
        eprintln!("  DISAGREE {line}");
    }
    assert!(pairs >= 600, "only {pairs} recipients compared");
    assert!(
        share(hard_agree, hard_total) >= 95.0,
        "address-failure agreement {:.1}% is under 95%",
        share(hard_agree, hard_total)
    );
    assert!(
        share(kind_agree, kind_total) >= 99.0,
        "bounce/complaint/neither agreement {:.1}% is under 99%",
        share(kind_agree, kind_total)
    );
}
