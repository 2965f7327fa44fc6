//! mailroom-bench: the component in wasmtime against the same Rust logic
//! compiled natively. Run by `bash tests/bench/run.sh`, which builds what it
//! needs and prints the table; not part of the tests (no assertions on time).
//!
//! ```text
//! cargo bench -p host-demo --bench mailroom-bench -- \
//!     --corpus DIR [--corpus DIR ...] [--real-corpus DIR] [--rounds N] \
//!     [--cold-rounds N] [--out FILE.json]
//! cargo bench -p host-demo --bench mailroom-bench -- keygen [ROUNDS]
//! ```
//!
//! `--corpus` directories are read one level deep, `--real-corpus` (real
//! mail, e.g. `../shared/corpus`) recursively and reported as its own rows.
//!
//! Every measurement is a median over rounds; in each round the two peers
//! run back to back, in alternating order, on the same inputs.
//!
//! - `parse`: `guest::inbound::parse` natively against
//!   `host_demo::Mailroom::parse` (a fresh instance per call, as the host
//!   does), over the whole corpus, over its small messages (< 64 KiB), and on
//!   one tiny message (the per-call cost of the sandbox), and over the real
//!   corpus when one is given;
//! - `send`: `outbound.send` on a fresh in-memory store and recording
//!   transport, natively against wasmtime, for three kinds of request;
//! - `keygen`: `setups.create` (an RSA-2048 key) natively against wasmtime,
//!   one seed per round (also alone: `keygen [ROUNDS]`, of the component
//!   `$MAILROOM_COMPONENT` names, so two builds can be compared);
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
        Some("memory") => return memory_child(&args[1..]),
        Some("keygen") => {
            let rounds = args.get(1).map_or(Ok(5), |n| n.parse())?;
            println!("{}", keygen(&load()?, rounds)?);
            return Ok(());
        }
        _ => {}
    }

    let mut corpus_dirs = Vec::new();
    let mut real_dir: Option<PathBuf> = None;
    let mut rounds = 15usize;
    let mut cold_rounds = 7usize;
    let mut out: Option<PathBuf> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--corpus" => corpus_dirs.push(PathBuf::from(value()?)),
            "--real-corpus" => real_dir = Some(PathBuf::from(value()?)),
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
    let real = match &real_dir {
        Some(dir) => {
            let mut files = Vec::new();
            eml_files(dir, &mut files)?;
            files.sort();
            read_all(&files)?
        }
        None => Vec::new(),
    };
    let small: Vec<Vec<u8>> = corpus.iter().filter(|m| m.len() < SMALL).cloned().collect();
    let tiny = vec![TINY.to_vec(); 200];

    let mailroom = load()?;
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
        "real": if real.is_empty() { Value::Null } else { parse_pair(&mailroom, &real, rounds)? },
    });
    let send = send_all(&mailroom, rounds)?;
    let keygen = keygen(&mailroom, rounds.clamp(1, 5))?;
    let memory = memory_all(&corpus, &real)?;
    // `--cold-rounds 0` skips the cold start (no fresh process is run).
    let cold = if cold_rounds == 0 {
        Value::Null
    } else {
        cold_start(&mailroom, cold_rounds)?
    };
    let report = json!({
        "parse": parse,
        "send": send,
        "keygen": keygen,
        "memory": memory,
        "cold": cold,
    });
    let text = serde_json::to_string_pretty(&report)?;
    match out {
        Some(path) => std::fs::write(&path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}

/// The component as the host loads it: the instance pool from the settings'
/// environment variables (`MAILROOM_INSTANCE_POOL=0`: a fresh memory per
/// call, the host before the pool, for comparison;
/// `MAILROOM_KEEP_RESIDENT_MIB`).
fn load() -> anyhow::Result<Mailroom> {
    let settings = host_demo::config::Config::load(None)?;
    Mailroom::builder()
        .instance_pool(settings.instance_pool()?)
        .build()
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
    read_all(&files)
}

fn read_all(files: &[PathBuf]) -> anyhow::Result<Vec<Vec<u8>>> {
    files
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("{}", p.display())))
        .collect()
}

/// Every `*.eml` under `dir`, at any depth.
fn eml_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            eml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.push(path);
        }
    }
    Ok(())
}

fn total(messages: &[Vec<u8>]) -> usize {
    messages.iter().map(Vec::len).sum()
}

/// The median; `NaN` (JSON `null`) of nothing.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
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
        idempotency_key: None,
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
        idempotency_key: None,
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
        bounce_domain: None,
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
                bounce_domain: None,
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
// DKIM key generation (`setups.create`)

/// `setups.create` (an RSA-2048 key from the random stream) natively and in
/// wasmtime, one per round, the same seed for both peers and a new one each
/// round (prime search takes longer for some seeds than others).
fn keygen(base: &Mailroom, rounds: usize) -> anyhow::Result<Value> {
    let options = setups_options();
    let (mut native, mut wasm) = (Vec::new(), Vec::new());
    for (round, seed) in (0..rounds).zip(101u64..) {
        let native_run = || -> anyhow::Result<f64> {
            let mut store = guest::store::MemoryStore::default();
            let mut env = guest::env::FixedEnv::new(1_772_442_000, seed);
            let start = Instant::now();
            guest::setups::create(&mut store, &mut env, "ws-1", "clinic.example", &options.0)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            Ok(secs(start.elapsed()))
        };
        let wasm_run = || -> anyhow::Result<f64> {
            let mailroom = Mailroom::builder()
                .reuse_component(base)
                .clock(Clock::Fixed {
                    start: 1_772_442_000,
                })
                .random_seed(seed)
                .build()?;
            let start = Instant::now();
            mailroom
                .create_setup("ws-1", "clinic.example", &options.1)?
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            Ok(secs(start.elapsed()))
        };
        if round % 2 == 0 {
            native.push(native_run()?);
            wasm.push(wasm_run()?);
        } else {
            wasm.push(wasm_run()?);
            native.push(native_run()?);
        }
    }
    Ok(json!({
        "count": rounds,
        "native_s": median(native),
        "wasm_s": median(wasm),
    }))
}

fn setups_options() -> (guest::setups::SetupOptions, host_demo::SetupOptions) {
    (
        guest::setups::SetupOptions {
            inbound_host: "inbound.mailroom.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
            bounce_domain: None,
        },
        host_demo::SetupOptions {
            inbound_host: "inbound.mailroom.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
            bounce_domain: None,
        },
    )
}

// ---------------------------------------------------------------------------
// Memory

/// A message of about 41 MB: text, HTML and one 30 MB attachment (base64).
fn large_message() -> Vec<u8> {
    let mut raw = b"From: a@patient.example\r\nTo: care@clinic.example\r\n\
Subject: scans\r\nMessage-ID: <large@patient.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nThe scans.\r\n--b\r\n\
Content-Type: application/pdf; name=scans.pdf\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=scans.pdf\r\n\r\n"
        .to_vec();
    let file = pseudo_random_bytes(30 * 1000 * 1000);
    for chunk in file.chunks(57) {
        raw.extend_from_slice(base64_line(chunk).as_bytes());
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}

/// `bytes` (at most 57) in base64, one MIME line with CRLF.
fn base64_line(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(80);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out.push_str("\r\n");
    out
}

/// Peak memory of parsing the largest messages of the corpora and a 41 MB
/// one, each in fresh processes (`memory wasm|native FILE`): the
/// component's peak linear memory and the process's peak RSS, against the
/// message's size.
fn memory_all(corpus: &[Vec<u8>], real: &[Vec<u8>]) -> anyhow::Result<Value> {
    let large = large_message();
    let mut largest: Vec<&Vec<u8>> = corpus.iter().chain(real).collect();
    largest.sort_by_key(|m| std::cmp::Reverse(m.len()));
    largest.truncate(2);
    largest.push(&large);
    let dir = std::env::temp_dir().join(format!("mailroom-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut out = Vec::new();
    for (i, raw) in largest.iter().enumerate() {
        let file = dir.join(format!("{i}.eml"));
        std::fs::write(&file, raw)?;
        let mut row = serde_json::Map::new();
        for which in ["wasm", "native"] {
            let output = Command::new(std::env::current_exe()?)
                .arg("memory")
                .arg(which)
                .arg(&file)
                .output()?;
            if !output.status.success() {
                bail!(
                    "memory child failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let Value::Object(fields) = serde_json::from_slice::<Value>(&output.stdout)? else {
                bail!("memory child printed no object");
            };
            for (k, v) in fields {
                row.insert(
                    if k == "bytes" {
                        k
                    } else {
                        format!("{which}_{k}")
                    },
                    v,
                );
            }
        }
        out.push(Value::Object(row));
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(Value::Array(out))
}

/// The peak resident set of this process so far (`VmHWM`), in bytes.
fn peak_rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb * 1024)
}

/// In a fresh process: parses FILE once, in wasmtime or natively; prints
/// JSON with the message size, the peak RSS before the parse (the message
/// read; wasm: the component loaded and a tiny message parsed) and after it,
/// and in wasm the component's peak linear memory.
fn memory_child(args: &[String]) -> anyhow::Result<()> {
    let [which, file] = args else {
        bail!("usage: memory wasm|native FILE");
    };
    let raw = std::fs::read(file)?;
    let (before, linear) = if which == "wasm" {
        let mailroom = load()?;
        black_box(mailroom.parse(TINY, Limits::default())?.ok());
        let before = peak_rss()?;
        black_box(mailroom.parse(&raw, Limits::default())?.ok());
        (before, Some(mailroom.peak_memory()))
    } else {
        let before = peak_rss()?;
        black_box(guest::inbound::parse(&raw, &guest::inbound::Limits::default()).ok());
        (before, None)
    };
    let after = peak_rss()?;
    println!(
        "{}",
        json!({
            "bytes": raw.len(),
            "rss_before": before,
            "rss_peak": after,
            "linear_memory_peak": linear,
        })
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Cold start

/// In a fresh process: load the component (cache or compile), parse one
/// message; prints `cache-status load_us first_parse_us` (both from the
/// start of `main`).
fn cold_child() -> anyhow::Result<()> {
    let start = Instant::now();
    let mailroom = load()?;
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
    let mailroom = load()?;
    let until = Duration::from_secs_f64(seconds.parse()?);
    // One untimed pass (first instance, cache warm-up).
    for raw in &corpus {
        black_box(mailroom.parse(raw, Limits::default())?.ok());
    }
    let cpu_start = cpu_time()?;
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
    let cpu = cpu_time()? - cpu_start;
    println!(
        "{which}: {:.1} passes/s; {:.1} µs CPU per pass ({:.1} µs per message)",
        passes as f64 / start.elapsed().as_secs_f64(),
        cpu * 1e6 / passes as f64,
        cpu * 1e6 / (passes as f64 * corpus.len() as f64),
    );
    Ok(())
}

/// CPU time (user and system) of this process's main thread so far, in
/// seconds: on a shared machine a steadier measure than the wall clock.
fn cpu_time() -> anyhow::Result<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let ns: u64 = text
        .split_whitespace()
        .next()
        .context("empty schedstat")?
        .parse()?;
    Ok(ns as f64 / 1e9)
}
