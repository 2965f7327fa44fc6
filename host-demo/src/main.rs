//! `host-demo`: run the mailroom component from the command line.
//!
//! `parse` prints the canonical JSON of one message; `demo` walks through
//! embedded sample messages step by step; `serve` runs the HTTP API
//! (`host_demo::http`); `receive` stores one inbound message from standard
//! input, for a Postfix `pipe` transport; `config` prints the settings.

/*
You can build and run this example with:
    cargo build -p guest --target wasm32-wasip2 --release
    cargo run --release -p host-demo -- demo
*/

mod demo;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use host_demo::config::{Config, StoreKind};
use host_demo::inbound::Envelope;
use host_demo::{Limits, Mailroom, canonical, http};
use serde_json::Value;

const EXIT_STATUS: &str = "\
Exit status: 0 on success, 2 when the component returned a parse error (its
JSON is still printed), 1 on any other failure (usage, I/O, a trap).

The component is target/wasm32-wasip2/release/guest.wasm in the workspace
(build it with `cargo build -p guest --target wasm32-wasip2 --release`), or the
file named by $MAILROOM_COMPONENT. Its compilation is cached in
target/mailroom-cache/.";

const SETTINGS: &str = "\
Settings: the defaults, then the TOML file given with --config, then the
environment: MAILROOM_DATA_DIR, MAILROOM_STORE (sqlite|memory),
MAILROOM_SMTP_URL, MAILROOM_SMTP_TIMEOUT, MAILROOM_LISTEN,
MAILROOM_INBOUND_HOST, MAILROOM_UNSUBSCRIBE_BASE, MAILROOM_NAMESERVER,
MAILROOM_MAX_MEMORY_MIB, MAILROOM_MAX_CALL_TIME_MS (an empty variable counts
as unset). `host-demo config` prints the effective settings, `host-demo
config --example` a documented file. The component is
target/wasm32-wasip2/release/guest.wasm in the workspace or
$MAILROOM_COMPONENT.";

const DEMO_HELP: &str = "\
Needs nothing installed and no settings: DNS verification is answered by a
local zone, and the channel runs on the defaults for real use in
<data-dir>/demo (default mailroom-data/demo): the SQLite store and the Maildir
outbox, never an SMTP relay (the patients are fictional). That directory's
store and outbox are started afresh on each run and kept afterwards, to look
at. Of the settings, data-dir, max-memory-mib and max-call-time-ms apply.";

const SERVE_HELP: &str = "\
Serves the platform API over the component: JSON in and out (the JSON form of
WIT values, tests/SCENARIOS.md), one component call per request, each in a
fresh sandbox, on the store and transport the settings describe (SQLite under
data-dir and a Maildir outbox unless smtp-url is set). Prints `listening on
http://ADDR` on standard error once bound (listen = \"127.0.0.1:0\" picks a
free port). SIGINT or SIGTERM stops it after the requests in flight.

Endpoints:
";

const RECEIVE_HELP: &str = "\
For a Postfix pipe(8) transport, e.g. in master.cf:

  mailroom unix - n n - - pipe
    flags=q user=mailroom argv=/usr/local/bin/host-demo --config /etc/mailroom.toml
    receive --from ${sender} --to ${recipient}

Reads one message (RFC 5322 / MIME bytes) from standard input, stores it
through inbound.receive and prints the result's JSON (the JSON form of WIT
values) on standard output.

Exit status (sysexits, as Postfix reads them): 0 the message was stored;
65 (EX_DATAERR) the message cannot be parsed (its error JSON is printed:
Postfix bounces it); 75 (EX_TEMPFAIL) anything else: the settings, the store
or the component failed, or the arguments are wrong (Postfix keeps the
message queued and retries).";

/// Run the mailroom WebAssembly component, hosted in wasmtime.
#[derive(Parser)]
#[command(name = "host-demo", version, after_help = EXIT_STATUS)]
struct Cli {
    /// Settings file (TOML); `host-demo config --example` prints one.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse one message and print its canonical JSON on standard output.
    #[command(after_help = EXIT_STATUS)]
    Parse(ParseArgs),
    /// Run a clinic's whole email lifecycle, step by step, then parse the
    /// embedded sample messages.
    #[command(after_help = DEMO_HELP)]
    Demo,
    /// Serve the HTTP API (see the endpoints below).
    #[command(after_help = format!("{SERVE_HELP}{}\n\n{SETTINGS}", http::endpoints()))]
    Serve(ServeArgs),
    /// Store one inbound message from standard input (a Postfix pipe).
    #[command(after_help = format!("{RECEIVE_HELP}\n\n{SETTINGS}"))]
    Receive(ReceiveArgs),
    /// Print the effective settings as TOML, or a documented example file.
    #[command(after_help = SETTINGS)]
    Config(ConfigArgs),
    /// Manage the API keys of `serve` (kept in the channel's store).
    #[command(subcommand, after_help = KEYS_HELP)]
    Keys(KeysCommand),
}

const KEYS_HELP: &str = "\
A workspace key acts for one workspace over the HTTP API: send it as
`Authorization: Bearer <key>`. The secret is printed once, by `create`; only
its SHA-256 is stored, beside the channel's data (the settings' store).
A revoked key answers 401 at once.";

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a key for a workspace; prints its secret once.
    Create {
        /// The workspace the key acts for.
        #[arg(long, value_name = "W")]
        workspace: String,
        /// A name for people (who or what uses it).
        #[arg(long, value_name = "N", default_value = "")]
        name: String,
    },
    /// List the keys (never their secrets), optionally of one workspace.
    List {
        /// Only this workspace's keys.
        #[arg(long, value_name = "W")]
        workspace: Option<String>,
    },
    /// Revoke a key by its id (`key_…`).
    Revoke {
        /// The key's id, as `list` shows it.
        id: String,
    },
}

#[derive(Args)]
struct ParseArgs {
    /// The message (RFC 5322 / MIME bytes); `-` reads standard input.
    file: PathBuf,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct LimitArgs {
    /// Largest input accepted, in bytes (component default: 50 MiB).
    #[arg(long, value_name = "N")]
    max_bytes: Option<u64>,
    /// Deepest MIME nesting accepted (component default: 64).
    #[arg(long, value_name = "N")]
    max_depth: Option<u32>,
    /// Most MIME parts accepted (component default: 5000).
    #[arg(long, value_name = "N")]
    max_parts: Option<u32>,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_bytes,
            max_depth: self.max_depth,
            max_parts: self.max_parts,
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// The address to listen on, over the settings' `listen`.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

#[derive(Args)]
struct ReceiveArgs {
    /// The envelope sender (MAIL FROM; Postfix: ${sender}).
    #[arg(long, value_name = "ADDR")]
    from: Option<String>,
    /// An envelope recipient (RCPT TO; Postfix: ${recipient}); repeatable.
    /// Without one, the message's To and Cc stand in.
    #[arg(long = "to", value_name = "ADDR")]
    to: Vec<String>,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct ConfigArgs {
    /// Print the documented example file instead.
    #[arg(long)]
    example: bool,
}

/// sysexits.h: the input data was incorrect.
const EX_DATAERR: u8 = 65;
/// sysexits.h: a temporary failure; the sender should retry.
const EX_TEMPFAIL: u8 = 75;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if !e.use_stderr() {
                return ExitCode::SUCCESS;
            }
            // A misconfigured Postfix pipe must not bounce mail.
            return if std::env::args().skip(1).any(|a| a == "receive") {
                ExitCode::from(EX_TEMPFAIL)
            } else {
                // Keep exit status 2 for the component's parse errors.
                ExitCode::FAILURE
            };
        }
    };
    let config = cli.config.as_deref();
    let result = match cli.command {
        Command::Parse(args) => parse(&args),
        Command::Demo => Config::load(config)
            .and_then(|c| demo::run(&mut io::stdout().lock(), &c))
            .map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve(config, &args),
        Command::Keys(command) => keys(config, &command),
        Command::Receive(args) => return receive(config, &args),
        Command::Config(args) => show_config(config, &args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("host-demo: error: {e:#}");
        ExitCode::FAILURE
    })
}

fn parse(args: &ParseArgs) -> anyhow::Result<ExitCode> {
    let raw = if args.file.as_os_str() == "-" {
        read_stdin()?
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };

    let mailroom = Mailroom::load_default()?;
    let result = mailroom.parse(&raw, args.limits.limits())?;

    write_stdout(canonical::to_json(&result).as_bytes())?;
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn read_stdin() -> anyhow::Result<Vec<u8>> {
    let mut raw = Vec::new();
    io::stdin()
        .read_to_end(&mut raw)
        .context("reading standard input")?;
    Ok(raw)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("writing standard output")
}

fn serve(file: Option<&Path>, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(file)?;
    if let Some(listen) = &args.listen {
        config.listen.clone_from(listen);
    }
    // Structured logs on standard error: a line per request (method, path,
    // caller, status, ms) and per component call (export, ms, outcome,
    // memory high-water mark). `RUST_LOG` filters them (default `info`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(false)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(http::serve(&config))?;
    Ok(ExitCode::SUCCESS)
}

fn receive(file: Option<&Path>, args: &ReceiveArgs) -> ExitCode {
    let outcome = (|| -> anyhow::Result<(Value, ExitCode)> {
        let config = Config::load(file)?;
        let raw = read_stdin()?;
        let mailroom = config.mailroom()?;
        let envelope = Envelope {
            mail_from: args.from.clone(),
            rcpt_to: args.to.clone(),
        };
        let result = http::receive(&mailroom, &raw, &envelope, args.limits.limits())?;
        let code = match result.get("err") {
            None => ExitCode::SUCCESS,
            Some(error) if error.get("parse").is_some() => ExitCode::from(EX_DATAERR),
            Some(_) => ExitCode::from(EX_TEMPFAIL),
        };
        Ok((result, code))
    })();
    match outcome {
        Ok((result, code)) => {
            let shown = match result {
                Value::Object(mut map) => match (map.remove("ok"), map.remove("err")) {
                    (Some(ok), _) => ok,
                    (None, Some(err)) => serde_json::json!({ "error": err }),
                    (None, None) => Value::Object(map),
                },
                other => other,
            };
            let mut text = serde_json::to_string_pretty(&shown).unwrap_or_default();
            text.push('\n');
            if let Err(e) = write_stdout(text.as_bytes()) {
                eprintln!("host-demo: error: {e:#}");
            }
            if code != ExitCode::SUCCESS {
                eprintln!("host-demo: the message was not stored");
            }
            code
        }
        Err(e) => {
            eprintln!("host-demo: error (retry later): {e:#}");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

fn keys(file: Option<&Path>, command: &KeysCommand) -> anyhow::Result<ExitCode> {
    let config = Config::load(file)?;
    let store = config.open_store()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let line = |k: &host_demo::auth::KeyRecord| {
        let state = match k.revoked_at {
            Some(at) => format!("revoked-at={at}"),
            None => "active".to_string(),
        };
        format!(
            "{}\t{}\t{}\tcreated-at={}\t{state}\n",
            k.id,
            Value::String(k.workspace.clone()),
            Value::String(k.name.clone()),
            k.created_at
        )
    };
    match command {
        KeysCommand::Create { workspace, name } => {
            let (secret, record) = host_demo::auth::create(&store, workspace, name, now)?;
            eprint!("{}", line(&record));
            eprintln!("The secret is shown once; keep it:");
            write_stdout(format!("{secret}\n").as_bytes())?;
        }
        KeysCommand::List { workspace } => {
            let mut out = String::new();
            for record in host_demo::auth::list(&store, workspace.as_deref())? {
                out.push_str(&line(&record));
            }
            write_stdout(out.as_bytes())?;
        }
        KeysCommand::Revoke { id } => {
            let record = host_demo::auth::revoke(&store, id, now)?;
            write_stdout(line(&record).as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_config(file: Option<&Path>, args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    if args.example {
        write_stdout(Config::EXAMPLE.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::load(file)?;
    write_stdout(settings_toml(&config).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The settings as a TOML file that `--config` reads back.
fn settings_toml(c: &Config) -> String {
    // A JSON string is a valid TOML basic string.
    let quoted = |s: &str| Value::String(s.to_string()).to_string();
    let optional = |key: &str, value: &Option<String>| match value {
        Some(v) => format!("{key} = {}\n", quoted(v)),
        None => format!("# {key} is not set\n"),
    };
    let mut out = String::from("# The effective settings (defaults, file, environment).\n");
    out.push_str(&format!(
        "data-dir = {}\n",
        quoted(&c.data_dir.to_string_lossy())
    ));
    let store = match c.store {
        StoreKind::Sqlite => "sqlite",
        StoreKind::Memory => "memory",
    };
    out.push_str(&format!("store = {}\n", quoted(store)));
    out.push_str(&optional("smtp-url", &c.smtp_url.as_deref().map(masked)));
    out.push_str(&format!("smtp-timeout-secs = {}\n", c.smtp_timeout_secs));
    out.push_str(&format!("listen = {}\n", quoted(&c.listen)));
    out.push_str(&format!("inbound-host = {}\n", quoted(&c.inbound_host)));
    out.push_str(&optional("unsubscribe-base", &c.unsubscribe_base));
    out.push_str(&optional("nameserver", &c.nameserver));
    out.push_str(&format!("max-memory-mib = {}\n", c.max_memory_mib));
    out.push_str(&format!("max-call-time-ms = {}\n", c.max_call_time_ms));
    let p = &c.platform;
    let secret = |key: &str, value: &Option<String>| match value {
        Some(_) => format!("{key} = \"****************\"\n"),
        None => format!("# {key} is not set\n"),
    };
    out.push_str("\n[platform]\n");
    out.push_str(&secret("admin-key", &p.admin_key));
    out.push_str(&secret("ingest-secret", &p.ingest_secret));
    out.push_str(&format!("posted-dns-answers = {}\n", p.posted_dns_answers));
    out.push_str(&format!("pending-ttl-secs = {}\n", p.pending_ttl_secs));
    out.push_str(&format!("max-bytes = {}\n", p.max_bytes));
    out.push_str(&format!("max-depth = {}\n", p.max_depth));
    out.push_str(&format!("max-parts = {}\n", p.max_parts));
    out.push_str(&format!("max-calls = {}\n", p.max_calls));
    out.push_str(&format!("max-connections = {}\n", p.max_connections));
    out.push_str(&format!("header-timeout-ms = {}\n", p.header_timeout_ms));
    out.push_str(&format!("request-timeout-ms = {}\n", p.request_timeout_ms));
    out.push_str(&format!("setups-per-minute = {}\n", p.setups_per_minute));
    out.push_str(&format!("sends-per-second = {}\n", p.sends_per_second));
    out
}

/// `url` with the password of its user information, if any, replaced by
/// `********`.
fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:********{}", &rest[at..]),
        None => url.to_string(),
    }
}
