//! mailroom-bench: the component in wasmtime against the same Rust logic
//! compiled natively. Run by `bash tests/bench/run.sh`, which builds what it
//! needs and prints the table; not part of the tests (no assertions on time).
//!
//! ```text
//! cargo bench -p host-demo --bench mailroom-bench -- \
//!     --corpus DIR [--corpus DIR ...] [--rounds N] [--cold-rounds N] [--out FILE.json]
//! ```
//!
//! Every measurement is a median over rounds; in each round the two peers
//! run back to back, in alternating order, on the same inputs.
//!
//! - `parse`: `guest::inbound::parse` natively against
//!   `host_demo::Mailroom::parse` (a fresh instance per call, as the host
//!   does), over the whole corpus, over its small messages (< 64 KiB), and on
//!   one tiny message (the per-call cost of the sandbox);
//! - `send`: `outbound.send` on a fresh in-memory store and recording
//!   transport, natively against wasmtime, for three kinds of request;
//! - `cold`: a fresh process (this binary, `cold` mode) from `main` to the
//!   first parse's answer, with the compiled component from the cache
//!   (`target/mailroom-cache/*.cwasm`) and with the cache file removed first
//!   (compiled by cranelift, then written back).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use host_demo::{CacheStatus, Clock, Limits, Mailroom};
use serde_json::{Value, json};

/// Messages below this size are "small".
const SMALL: usize = 64 * 1024;

/// The message of the per-call row and of the cold start.
const TINY: &[u8] = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\
Message-ID: <1@example.com>\r\n\r\nHello.\r\n";

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; ignore it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("cold") => return cold_child(),
        Some("loop") => return profile_loop(&args[1..]),
        _ => {}
    }

    let mut corpus_dirs = Vec::new();
    let mut rounds = 15usize;
    let mut cold_rounds = 7usize;
    let mut out: Option<PathBuf> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--corpus" => corpus_dirs.push(PathBuf::from(value()?)),
            "--rounds" => rounds = value()?.parse()?,
            "--cold-rounds" => cold_rounds = value()?.parse()?,
            "--out" => out = Some(PathBuf::from(value()?)),
            other => bail!("unknown argument {other}"),
        }
    }
    if corpus_dirs.is_empty() {
        corpus_dirs.push(host_demo::workspace_dir().join("tests/fixtures/inbound"));
    }
    let corpus = load_corpus(&corpus_dirs)?;
    let small: Vec<Vec<u8>> = corpus.iter().filter(|m| m.len() < SMALL).cloned().collect();
    let tiny = vec![TINY.to_vec(); 200];

    let mailroom = Mailroom::load_default()?;
    eprintln!(
        "mailroom-bench: {} messages, {:.1} MB; {} rounds",
        corpus.len(),
        total(&corpus) as f64 / 1e6,
        rounds
    );

    let parse = json!({
        "all": parse_pair(&mailroom, &corpus, rounds)?,
        "small": parse_pair(&mailroom, &small, rounds)?,
        "tiny": parse_pair(&mailroom, &tiny, rounds)?,
    });
    let send = send_all(&mailroom, rounds)?;
    let cold = cold_start(&mailroom, cold_rounds)?;
    let report = json!({ "parse": parse, "send": send, "cold": cold });
    let text = serde_json::to_string_pretty(&report)?;
    match out {
        Some(path) => std::fs::write(&path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}

fn load_corpus(dirs: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "eml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("{}", p.display())))
        .collect()
}

fn total(messages: &[Vec<u8>]) -> usize {
    messages.iter().map(Vec::len).sum()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Runs `a` and `b` once per round, alternating which goes first, after one
/// untimed warm-up each; the medians in seconds.
fn interleaved(
    rounds: usize,
    mut a: impl FnMut() -> anyhow::Result<Duration>,
    mut b: impl FnMut() -> anyhow::Result<Duration>,
) -> anyhow::Result<(f64, f64)> {
    a()?;
    b()?;
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            ta.push(secs(a()?));
            tb.push(secs(b()?));
        } else {
            tb.push(secs(b()?));
            ta.push(secs(a()?));
        }
    }
    Ok((median(ta), median(tb)))
}

fn parse_pair(mailroom: &Mailroom, messages: &[Vec<u8>], rounds: usize) -> anyhow::Result<Value> {
    let native = || {
        let limits = guest::inbound::Limits::default();
        let start = Instant::now();
        for raw in messages {
            black_box(guest::inbound::parse(black_box(raw), &limits).ok());
        }
        Ok(start.elapsed())
    };
    let wasm = || {
        let start = Instant::now();
        for raw in messages {
            black_box(mailroom.parse(black_box(raw), Limits::default())?.ok());
        }
        Ok(start.elapsed())
    };
    let (native_s, wasm_s) = interleaved(rounds, native, wasm)?;
    Ok(json!({
        "messages": messages.len(),
        "bytes": total(messages),
        "native_s": native_s,
        "wasm_s": wasm_s,
    }))
}

// ---------------------------------------------------------------------------
// outbound.send

struct SendKind {
    name: &'static str,
    count: usize,
    html: bool,
    attachment: usize,
    reply: bool,
}

const SEND_KINDS: &[SendKind] = &[
    SendKind {
        name: "text",
        count: 100,
        html: false,
        attachment: 0,
        reply: false,
    },
    SendKind {
        name: "reply-html",
        count: 100,
        html: true,
        attachment: 0,
        reply: true,
    },
    SendKind {
        name: "attachment-2mb",
        count: 5,
        html: true,
        attachment: 2 * 1024 * 1024,
        reply: false,
    },
];

const SENDER: &str = "care@clinic.example";
const HTML: &str = "<html><body><p>Your appointment is on <b>Friday</b> at 10:00.</p>\
<p>Reply to this message to reschedule.</p></body></html>";

fn pseudo_random_bytes(n: usize) -> Vec<u8> {
    let mut env = guest::env::FixedEnv::new(0, 7);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        out.extend_from_slice(&env.next_u64().to_le_bytes());
    }
    out.truncate(n);
    out
}

fn native_request(
    kind: &SendKind,
    use_case: &str,
    parent: Option<&str>,
    file: &[u8],
) -> guest::outbound::SendRequest {
    use guest::outbound::{OutgoingAttachment, Recipient, SendRequest};
    SendRequest {
        use_case: use_case.to_string(),
        to: vec![Recipient {
            name: Some("Pat Patient".into()),
            address: "pat@patient.example".into(),
        }],
        cc: vec![],
        subject: "Your appointment on Friday".into(),
        text: Some("Your appointment is on Friday at 10:00.\r\n".into()),
        html: kind.html.then(|| HTML.to_string()),
        attachments: if kind.attachment > 0 {
            vec![OutgoingAttachment {
                filename: "scan.pdf".into(),
                content_type: "application/pdf".into(),
                content_id: None,
                content: file.to_vec(),
            }]
        } else {
            vec![]
        },
        in_reply_to: parent.map(str::to_string),
    }
}

fn wasm_request(
    kind: &SendKind,
    use_case: &str,
    parent: Option<&str>,
    file: &[u8],
) -> host_demo::SendRequest {
    use host_demo::{OutgoingAttachment, Recipient, SendRequest};
    SendRequest {
        use_case: use_case.to_string(),
        to: vec![Recipient {
            name: Some("Pat Patient".into()),
            address: "pat@patient.example".into(),
        }],
        cc: vec![],
        subject: "Your appointment on Friday".into(),
        text: Some("Your appointment is on Friday at 10:00.\r\n".into()),
        html: kind.html.then(|| HTML.to_string()),
        attachments: if kind.attachment > 0 {
            vec![OutgoingAttachment {
                filename: "scan.pdf".into(),
                content_type: "application/pdf".into(),
                content_id: None,
                content: file.to_vec(),
            }]
        } else {
            vec![]
        },
        in_reply_to: parent.map(str::to_string),
    }
}

/// `kind.count` sends natively on a fresh store; the time of the sends only.
fn native_sends(kind: &SendKind, file: &[u8]) -> anyhow::Result<Duration> {
    use guest::{env::FixedEnv, setups, store::MemoryStore, transport::RecordingTransport};
    let mut store = MemoryStore::default();
    let mut transport = RecordingTransport::default();
    let mut env = FixedEnv::new(1_772_442_000, 42);
    let options = setups::SetupOptions {
        inbound_host: "inbound.mailroom.example".into(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
    };
    let setup = setups::create(&mut store, &mut env, "ws-1", "clinic.example", &options)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    setups::verify(
        &mut store,
        &mut env,
        &setup.id,
        &setups::answers_publishing(&setup.records),
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let use_case = guest::use_cases::create(
        &mut store,
        &mut env,
        &setup.id,
        SENDER,
        guest::use_cases::UseCaseType::Transactional,
        "Clinic",
        "Care",
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let requests: Vec<_> = (0..kind.count)
        .map(|_| native_request(kind, &use_case.id, None, file))
        .collect();
    let mut parent: Option<String> = None;
    let start = Instant::now();
    for mut request in requests {
        if kind.reply {
            request.in_reply_to = parent.take();
        }
        let sent = guest::outbound::send(&mut store, &mut transport, &mut env, &request)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        parent = Some(sent.message_id);
    }
    let elapsed = start.elapsed();
    black_box(transport.sent.len());
    Ok(elapsed)
}

/// The same sends through wasmtime, on a fresh `Mailroom` (in-memory store,
/// recording transport) sharing the compiled component.
fn wasm_sends(base: &Mailroom, kind: &SendKind, file: &[u8]) -> anyhow::Result<Duration> {
    let mailroom = Mailroom::builder()
        .reuse_component(base)
        .clock(Clock::Fixed {
            start: 1_772_442_000,
        })
        .random_seed(42)
        .build()?;
    let setup = mailroom
        .create_setup(
            "ws-1",
            "clinic.example",
            &host_demo::SetupOptions {
                inbound_host: "inbound.mailroom.example".into(),
                spf_include: None,
                unsubscribe_base: None,
                pending_ttl: None,
            },
        )?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    mailroom
        .verify_setup_with(
            "ws-1",
            &setup.id,
            &host_demo::Zone::publishing(&setup.records)?,
        )?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let use_case = mailroom
        .create_use_case(
            "ws-1",
            &setup.id,
            SENDER,
            host_demo::UseCaseType::Transactional,
            "Clinic",
            "Care",
        )?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let requests: Vec<_> = (0..kind.count)
        .map(|_| wasm_request(kind, &use_case.id, None, file))
        .collect();
    let mut parent: Option<String> = None;
    let start = Instant::now();
    for mut request in requests {
        if kind.reply {
            request.in_reply_to = parent.take();
        }
        let sent = mailroom
            .send("ws-1", &request)?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        parent = Some(sent.message_id);
    }
    let elapsed = start.elapsed();
    black_box(mailroom.recorded_messages().map(|m| m.len()));
    Ok(elapsed)
}

fn send_all(mailroom: &Mailroom, rounds: usize) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for kind in SEND_KINDS {
        let file = pseudo_random_bytes(kind.attachment);
        let (native_s, wasm_s) = interleaved(
            rounds,
            || native_sends(kind, &file),
            || wasm_sends(mailroom, kind, &file),
        )?;
        out.insert(
            kind.name.into(),
            json!({ "count": kind.count, "native_s": native_s, "wasm_s": wasm_s }),
        );
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------
// Cold start

/// In a fresh process: load the component (cache or compile), parse one
/// message; prints `cache-status load_us first_parse_us` (both from the
/// start of `main`).
fn cold_child() -> anyhow::Result<()> {
    let start = Instant::now();
    let mailroom = Mailroom::load_default()?;
    let loaded = start.elapsed();
    let answer = mailroom.parse(TINY, Limits::default())?;
    let parsed = start.elapsed();
    anyhow::ensure!(answer.is_ok(), "the tiny message did not parse");
    let status = match mailroom.cache_status() {
        CacheStatus::Hit(_) => "hit",
        CacheStatus::Written(_) => "written",
        CacheStatus::Unavailable(_) => "unavailable",
    };
    println!("{status} {} {}", loaded.as_micros(), parsed.as_micros());
    Ok(())
}

struct ColdRun {
    load_s: f64,
    first_parse_s: f64,
    process_s: f64,
}

fn run_cold_child(expect: &str) -> anyhow::Result<ColdRun> {
    let exe = std::env::current_exe()?;
    let start = Instant::now();
    let output = Command::new(&exe).arg("cold").output()?;
    let process_s = secs(start.elapsed());
    if !output.status.success() {
        bail!(
            "cold child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8(output.stdout)?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [status, load, first] = fields[..] else {
        bail!("cold child printed {text:?}");
    };
    if status != expect {
        bail!("cold child: cache {status}, expected {expect}");
    }
    Ok(ColdRun {
        load_s: load.parse::<f64>()? / 1e6,
        first_parse_s: first.parse::<f64>()? / 1e6,
        process_s,
    })
}

fn cold_start(mailroom: &Mailroom, rounds: usize) -> anyhow::Result<Value> {
    let cache_file: Option<&Path> = match mailroom.cache_status() {
        CacheStatus::Hit(p) | CacheStatus::Written(p) => Some(p),
        CacheStatus::Unavailable(_) => None,
    };
    let mut cached = Vec::new();
    let mut compiled = Vec::new();
    for _ in 0..rounds {
        // The cache is warm here: the previous compile run wrote it back.
        cached.push(run_cold_child("hit")?);
        if let Some(path) = cache_file {
            std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
            compiled.push(run_cold_child("written")?);
        }
    }
    let summary = |runs: &[ColdRun]| {
        json!({
            "load_s": median(runs.iter().map(|r| r.load_s).collect()),
            "first_parse_s": median(runs.iter().map(|r| r.first_parse_s).collect()),
            "process_s": median(runs.iter().map(|r| r.process_s).collect()),
        })
    };
    Ok(json!({
        "cached": summary(&cached),
        "compiled": if compiled.is_empty() { Value::Null } else { summary(&compiled) },
    }))
}

// ---------------------------------------------------------------------------
// For profilers

/// `loop native|wasm SECONDS DIR...`: parses the corpus over and over, for
/// `perf record` or `valgrind --tool=callgrind`; prints passes per second.
fn profile_loop(args: &[String]) -> anyhow::Result<()> {
    let [which, seconds, dirs @ ..] = args else {
        bail!("usage: loop native|wasm SECONDS DIR...");
    };
    let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
    let corpus = load_corpus(&dirs)?;
    let mailroom = Mailroom::load_default()?;
    let until = Duration::from_secs_f64(seconds.parse()?);
    let start = Instant::now();
    let mut passes = 0u64;
    while passes == 0 || start.elapsed() < until {
        for raw in &corpus {
            if which == "native" {
                black_box(guest::inbound::parse(raw, &guest::inbound::Limits::default()).ok());
            } else {
                black_box(mailroom.parse(raw, Limits::default())?.ok());
            }
        }
        passes += 1;
    }
    println!(
        "{which}: {:.1} passes/s",
        passes as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}
