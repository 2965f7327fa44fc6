//! The `demo` command: a clinic's email channel from its DNS records to the
//! send decisions that bounces, complaints and unsubscribes cause, then the
//! parsing of embedded sample messages.
//!
//! Each [`Step`] prints what it does and what the component answered; the
//! lifecycle steps live in [`lifecycle`].

mod engagement;
mod lifecycle;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use host_demo::canonical::{disposition_name, limit_name};
use host_demo::config::{Config, OUTBOX_DIR, SQLITE_FILE};
use host_demo::host::maildir::MaildirTransport;
use host_demo::host::sqlite::SqliteStore;
use host_demo::{CacheStatus, Limits, Mailbox, Mailroom, ParseError, ParsedMessage};

/// A sample message shipped inside the binary.
struct Sample {
    file: &'static str,
    bytes: &'static [u8],
    title: &'static str,
    note: &'static str,
}

const APPLE_REPLY: Sample = Sample {
    file: "samples/apple-mail-reply.eml",
    bytes: include_bytes!("../../samples/apple-mail-reply.eml"),
    title: "an Apple Mail reply with a PDF between two HTML fragments",
    note: "Apple Mail puts the PDF inside multipart/alternative > multipart/mixed, \
           between two HTML fragments. The fragments are joined into one `html`, \
           and the PDF is still found; it says `inline` but no cid: URL refers \
           to it, so it is an ordinary attachment. (The \u{FFFC} in the text is \
           where Apple Mail showed the PDF.)",
};

const OUTLOOK_INLINE: Sample = Sample {
    file: "samples/outlook-inline-image.eml",
    bytes: include_bytes!("../../samples/outlook-inline-image.eml"),
    title: "an Outlook message with a cid-referenced image",
    note: "The HTML shows image001.png through src=\"cid:...\", so that part is \
           inline and named by its Content-ID, which is how a renderer finds it. \
           The logo also has a Content-ID, but the HTML never refers to it, so \
           it keeps its own file name.",
};

const GMAIL_FORWARD: Sample = Sample {
    file: "samples/gmail-forward.eml",
    bytes: include_bytes!("../../samples/gmail-forward.eml"),
    title: "a Gmail forward that carries the original message",
    note: "The forwarded message/rfc822 part is one .eml attachment, named from \
           its Subject. The CSV attached to the original stays inside that .eml; \
           the next step opens it.",
};

/// One step of the demo.
enum Step {
    /// Compile (or load from the cache) and link the component.
    Load,
    /// One step of the clinic's lifecycle.
    Life(Life),
    /// Parse a sample and show what it yields.
    Parse(&'static Sample),
    /// Parse the first `.eml` attachment of a sample, as a message of its own.
    OpenForwarded(&'static Sample),
    /// Show that a hostile message meets a limit, not a crash.
    DeepNesting { depth: usize },
}

/// The lifecycle steps, in order.
#[derive(Clone, Copy)]
enum Life {
    Setup,
    Verify,
    UseCases,
    Confirmation,
    PatientReply,
    OurReply,
    Newsletter,
    Engagement,
    Bounce,
    Complaint,
    Unsubscribe,
    Decisions,
}

const STEPS: &[Step] = &[
    Step::Load,
    Step::Life(Life::Setup),
    Step::Life(Life::Verify),
    Step::Life(Life::UseCases),
    Step::Life(Life::Confirmation),
    Step::Life(Life::PatientReply),
    Step::Life(Life::OurReply),
    Step::Life(Life::Newsletter),
    Step::Life(Life::Engagement),
    Step::Life(Life::Bounce),
    Step::Life(Life::Complaint),
    Step::Life(Life::Unsubscribe),
    Step::Life(Life::Decisions),
    Step::Parse(&APPLE_REPLY),
    Step::Parse(&OUTLOOK_INLINE),
    Step::Parse(&GMAIL_FORWARD),
    Step::OpenForwarded(&GMAIL_FORWARD),
    Step::DeepNesting { depth: 10_000 },
];

impl Step {
    fn title(&self) -> String {
        match self {
            Step::Load => "Load the mailroom component into wasmtime".to_string(),
            Step::Life(life) => match life {
                Life::Setup => "Register the clinic's sending domain: its DNS records",
                Life::Verify => "Verify the records (answered by a local zone)",
                Life::UseCases => "Create two use cases: appointments and a newsletter",
                Life::Confirmation => "Send an appointment confirmation (transactional)",
                Life::PatientReply => {
                    "Receive the patient's reply: iPhone Mail, a PDF, References stripped"
                }
                Life::OurReply => "Answer in the same thread",
                Life::Newsletter => "Send the newsletter (marketing, one-click unsubscribe)",
                Life::Engagement => {
                    "Opens and clicks: people told from Apple's prefetch and scanners"
                }
                Life::Bounce => "Ingest a bounce report (RFC 3464)",
                Life::Complaint => "Ingest a spam complaint (RFC 5965 ARF)",
                Life::Unsubscribe => "A patient unsubscribes with one click (RFC 8058)",
                Life::Decisions => "The send decisions they caused",
            }
            .to_string(),
            Step::Parse(sample) => format!("Parse {}", sample.title),
            Step::OpenForwarded(sample) => {
                format!("Open the message forwarded in {}", sample.file)
            }
            Step::DeepNesting { depth } => {
                format!("Parse a hostile message: multipart nested {depth} levels deep")
            }
        }
    }
}

/// What the steps share.
struct Demo<'a> {
    out: &'a mut dyn Write,
    config: &'a Config,
    mailroom: Option<Mailroom>,
    clinic: Option<lifecycle::Clinic>,
}

/// The demo's own directory under the data directory: started afresh on
/// every run, so the clinic's domain can be registered again.
pub const DEMO_DIR: &str = "demo";

/// Runs every step in order, stopping at the first failure. The channel runs
/// on the settings' defaults for real use, in `<data-dir>/demo`: the SQLite
/// store and the Maildir outbox (never an SMTP relay: the patients are
/// fictional).
pub fn run(out: &mut dyn Write, config: &Config) -> anyhow::Result<()> {
    writeln!(
        out,
        "mailroom demo: the mailroom WebAssembly component, run by a wasmtime host,\n\
         runs a clinic's email channel (setup, DNS, sends, a reply, a bounce, a\n\
         complaint, an unsubscribe), then reads {} sample messages. Each step says\n\
         what it does and what came back.",
        STEPS.iter().filter(|s| matches!(s, Step::Parse(_))).count()
    )?;
    let mut demo = Demo {
        out,
        config,
        mailroom: None,
        clinic: None,
    };
    for (i, step) in STEPS.iter().enumerate() {
        writeln!(
            demo.out,
            "\nStep {}/{}: {}",
            i + 1,
            STEPS.len(),
            step.title()
        )?;
        match step {
            Step::Load => load(&mut demo)?,
            Step::Life(life) => {
                live(&mut demo, *life).with_context(|| format!("step {}", i + 1))?;
            }
            Step::Parse(sample) => parse_sample(&mut demo, sample)
                .with_context(|| format!("step {}: {}", i + 1, sample.file))?,
            Step::OpenForwarded(sample) => open_forwarded(&mut demo, sample)
                .with_context(|| format!("step {}: {}", i + 1, sample.file))?,
            Step::DeepNesting { depth } => deep_nesting(&mut demo, *depth)?,
        }
    }
    let outbox = config.data_dir.join(DEMO_DIR).join(OUTBOX_DIR);
    let sent = std::fs::read_dir(outbox.join("new"))
        .map(|d| d.filter_map(Result::ok).count())
        .unwrap_or(0);
    writeln!(
        demo.out,
        "\nDone.\n  outbox:  {sent} messages, as sent (DKIM-signed), in {}/new\n  \
         store:   {}\n\
         `host-demo parse FILE.eml` prints the canonical JSON of any message;\n\
         `host-demo serve` runs the same channel behind an HTTP API.",
        outbox.display(),
        config.data_dir.join(DEMO_DIR).join(SQLITE_FILE).display()
    )?;
    Ok(())
}

fn live(demo: &mut Demo<'_>, life: Life) -> anyhow::Result<()> {
    let Some(m) = demo.mailroom.as_ref() else {
        bail!("the component is not loaded");
    };
    let out = &mut *demo.out;
    if let Life::Setup = life {
        demo.clinic = Some(lifecycle::setup(m, out)?);
        return Ok(());
    }
    let Some(c) = demo.clinic.as_mut() else {
        bail!("no setup yet");
    };
    match life {
        Life::Setup => Ok(()),
        Life::Verify => lifecycle::verify(m, c, out),
        Life::UseCases => lifecycle::use_cases(m, c, out),
        Life::Confirmation => lifecycle::confirmation(m, c, out),
        Life::PatientReply => lifecycle::patient_reply(m, c, out),
        Life::OurReply => lifecycle::our_reply(m, c, out),
        Life::Newsletter => lifecycle::newsletter(m, c, out),
        Life::Engagement => engagement::run(m, c.newsletter(), out),
        Life::Bounce => lifecycle::bounce(m, c, out),
        Life::Complaint => lifecycle::complaint(m, c, out),
        Life::Unsubscribe => lifecycle::unsubscribe(m, c, out),
        Life::Decisions => lifecycle::decisions(m, c, out),
    }
}

fn load(demo: &mut Demo<'_>) -> anyhow::Result<()> {
    let dir = demo.config.data_dir.join(DEMO_DIR);
    afresh(&dir)?;
    let start = Instant::now();
    let store = SqliteStore::open(dir.join(SQLITE_FILE))?;
    let outbox = MaildirTransport::new(dir.join(OUTBOX_DIR))?;
    let mailroom = Mailroom::builder()
        .max_memory(demo.config.max_memory_bytes()?)
        .max_call_time(Duration::from_millis(demo.config.max_call_time_ms))
        .instance_pool(demo.config.instance_pool()?)
        .store(store)
        .transport(outbox)
        .build()?;
    let elapsed = start.elapsed();
    let out = &mut *demo.out;
    writeln!(out, "  component:  {}", mailroom.component_path().display())?;
    let (how, cache) = match mailroom.cache_status() {
        CacheStatus::Hit(path) => ("loaded precompiled from the cache", short(path)),
        CacheStatus::Written(path) => ("compiled to native code, and cached", short(path)),
        CacheStatus::Unavailable(why) => ("compiled to native code", format!("unavailable: {why}")),
    };
    writeln!(out, "  code:       {how}, in {}", ms(elapsed))?;
    writeln!(out, "  cache:      {cache}")?;
    writeln!(
        out,
        "  sandbox:    a fresh instance per call; no environment, arguments, files,\n\
         \x20             network or stdin; linear memory capped at {} MiB, each call\n\
         \x20             at {} ms",
        demo.config.max_memory_mib, demo.config.max_call_time_ms
    )?;
    writeln!(
        out,
        "  store:      SQLite, {}",
        dir.join(SQLITE_FILE).display()
    )?;
    writeln!(
        out,
        "  transport:  the Maildir outbox {} (no SMTP relay)",
        dir.join(OUTBOX_DIR).display()
    )?;
    demo.mailroom = Some(mailroom);
    Ok(())
}

/// Empties the demo directory of what an earlier run left: its SQLite files
/// and its outbox, nothing else.
fn afresh(dir: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = dir.join(format!("{SQLITE_FILE}{suffix}"));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", file.display())),
        }
    }
    let outbox = dir.join(OUTBOX_DIR);
    match std::fs::remove_dir_all(&outbox) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", outbox.display())),
    }
}

fn parse_sample(demo: &mut Demo<'_>, sample: &Sample) -> anyhow::Result<()> {
    let Some(mailroom) = demo.mailroom.as_ref() else {
        bail!("the component is not loaded");
    };
    let start = Instant::now();
    let result = mailroom.parse(sample.bytes, Limits::default())?;
    let elapsed = start.elapsed();
    let out = &mut *demo.out;
    writeln!(
        out,
        "  file:         {} ({} bytes), parsed in {}",
        sample.file,
        sample.bytes.len(),
        ms(elapsed)
    )?;
    let message = match result {
        Ok(message) => message,
        Err(e) => bail!("the component rejected it: {}", describe_error(&e)),
    };
    show_message(out, &message)?;
    writeln!(out, "  why it matters:")?;
    for line in wrap(sample.note, 72) {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

fn open_forwarded(demo: &mut Demo<'_>, sample: &Sample) -> anyhow::Result<()> {
    let Some(mailroom) = demo.mailroom.as_ref() else {
        bail!("the component is not loaded");
    };
    let outer = match mailroom.parse(sample.bytes, Limits::default())? {
        Ok(message) => message,
        Err(e) => bail!("the component rejected it: {}", describe_error(&e)),
    };
    let Some(eml) = outer
        .attachments
        .iter()
        .find(|a| a.content_type == "message/rfc822")
    else {
        bail!("it has no message/rfc822 attachment");
    };
    let start = Instant::now();
    let result = mailroom.parse(&eml.content, Limits::default())?;
    let elapsed = start.elapsed();
    let out = &mut *demo.out;
    writeln!(
        out,
        "  attachment:   {} ({} bytes), parsed in {}",
        eml.filename,
        eml.content.len(),
        ms(elapsed)
    )?;
    let message = match result {
        Ok(message) => message,
        Err(e) => bail!(
            "the component rejected {}: {}",
            eml.filename,
            describe_error(&e)
        ),
    };
    show_message(out, &message)?;
    writeln!(out, "  why it matters:")?;
    for line in wrap(
        "An enclosed message is just bytes: the same parse call opens it, with \
         its own threading ids and attachments (here the CSV).",
        72,
    ) {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

fn show_message(out: &mut dyn Write, m: &ParsedMessage) -> anyhow::Result<()> {
    let none = || "(none)".to_string();
    writeln!(out, "  from:         {}", mailboxes(&m.from))?;
    writeln!(out, "  to:           {}", mailboxes(&m.to))?;
    if !m.cc.is_empty() {
        writeln!(out, "  cc:           {}", mailboxes(&m.cc))?;
    }
    if !m.reply_to.is_empty() {
        writeln!(out, "  reply-to:     {}", mailboxes(&m.reply_to))?;
    }
    writeln!(
        out,
        "  subject:      {}",
        m.subject.clone().unwrap_or_else(none)
    )?;
    writeln!(
        out,
        "  date:         {}",
        m.date.clone().unwrap_or_else(none)
    )?;
    writeln!(out, "  threading:")?;
    writeln!(
        out,
        "    message-id:   {}",
        m.message_id.clone().unwrap_or_else(none)
    )?;
    list(out, "    in-reply-to:  ", &m.in_reply_to)?;
    list(out, "    references:   ", &m.references)?;
    match &m.text {
        Some(text) => {
            writeln!(
                out,
                "  text:         {} characters; it begins:",
                text.chars().count()
            )?;
            for line in excerpt(text, 4, 68) {
                writeln!(out, "    | {line}")?;
            }
        }
        None => writeln!(out, "  text:         (none)")?,
    }
    match &m.html {
        Some(html) => writeln!(out, "  html:         {} bytes", html.len())?,
        None => writeln!(out, "  html:         (none)")?,
    }
    writeln!(out, "  attachments:  {}", m.attachments.len())?;
    for (i, a) in m.attachments.iter().enumerate() {
        writeln!(out, "    {}. {}", i + 1, a.filename)?;
        writeln!(
            out,
            "       {}, {} bytes, disposition {}, inline: {}{}",
            a.content_type,
            a.size,
            disposition_name(a.disposition),
            if a.inline {
                "yes (the HTML refers to it by cid:)"
            } else {
                "no"
            },
            a.content_id
                .as_ref()
                .map(|id| format!(", content-id <{id}>"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

fn deep_nesting(demo: &mut Demo<'_>, depth: usize) -> anyhow::Result<()> {
    let Some(mailroom) = demo.mailroom.as_ref() else {
        bail!("the component is not loaded");
    };
    let raw = nested_multipart(depth);
    let start = Instant::now();
    let result = mailroom.parse(&raw, Limits::default())?;
    let elapsed = start.elapsed();
    let out = &mut *demo.out;
    writeln!(
        out,
        "  input:        generated, {} bytes, answered in {}",
        raw.len(),
        ms(elapsed)
    )?;
    match result {
        Err(e @ ParseError::LimitExceeded(_)) => {
            writeln!(out, "  answer:       {}", describe_error(&e))?;
            writeln!(out, "  why it matters:")?;
            for line in wrap(
                "Limits (max-bytes, max-depth, max-parts) bound the work of every call, \
                 and the host caps the component's memory, so a hostile message gets a \
                 typed error instead of exhausting the stack or the host.",
                72,
            ) {
                writeln!(out, "    {line}")?;
            }
            Ok(())
        }
        Err(e) => bail!(
            "expected a limit-exceeded error, got {}",
            describe_error(&e)
        ),
        Ok(_) => bail!("expected a limit-exceeded error, but the message parsed"),
    }
}

/// A message whose multiparts nest `depth` levels deep.
fn nested_multipart(depth: usize) -> Vec<u8> {
    let mut m = String::from("From: mallory@example.net\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
    for i in 0..depth {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    m.push_str("Content-Type: text/plain\r\n\r\nhello\r\n");
    for i in (0..depth).rev() {
        m.push_str(&format!("--b{i}--\r\n"));
    }
    m.into_bytes()
}

fn describe_error(e: &ParseError) -> String {
    match e {
        ParseError::LimitExceeded(l) => format!(
            "limit-exceeded ({} = {}): {}",
            limit_name(l.limit),
            l.value,
            l.message
        ),
        ParseError::InvalidLimits(message) => format!("invalid-limits: {message}"),
        ParseError::Malformed(message) => format!("malformed: {message}"),
    }
}

fn mailboxes(list: &[Mailbox]) -> String {
    if list.is_empty() {
        return "(none)".to_string();
    }
    list.iter()
        .map(|m| match (&m.name, &m.address) {
            (Some(name), Some(address)) => format!("{name} <{address}>"),
            (None, Some(address)) => address.clone(),
            (Some(name), None) => name.clone(),
            (None, None) => "(empty)".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(out: &mut dyn Write, label: &str, ids: &[String]) -> anyhow::Result<()> {
    if ids.is_empty() {
        writeln!(out, "{label}(none)")?;
    }
    for (i, id) in ids.iter().enumerate() {
        let label = if i == 0 {
            label.to_string()
        } else {
            " ".repeat(label.len())
        };
        writeln!(out, "{label}{id}")?;
    }
    Ok(())
}

/// The first `lines` non-blank lines of `text`, each at most `width`
/// characters, with "…" when something was left out.
fn excerpt(text: &str, lines: usize, width: usize) -> Vec<String> {
    let mut all = text.lines().map(str::trim_end).filter(|l| !l.is_empty());
    let mut shown: Vec<String> = all.by_ref().take(lines).map(|l| clip(l, width)).collect();
    if all.next().is_some() {
        shown.push("…".to_string());
    }
    shown
}

fn clip(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        line.to_string()
    } else {
        let mut clipped: String = line.chars().take(width.saturating_sub(1)).collect();
        clipped.push('…');
        clipped
    }
}

/// Splits `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A path relative to the workspace when it is inside it.
fn short(path: &Path) -> String {
    let workspace = host_demo::workspace_dir();
    let shown = path.strip_prefix(&workspace).unwrap_or(path);
    shown.display().to_string()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
