//! `host-demo`: run the mailroom component from the command line.
//!
//! `parse` prints the canonical JSON of one message; `demo` walks through
//! embedded sample messages step by step.

/*
You can build and run this example with:
    cargo build -p guest --target wasm32-wasip2 --release
    cargo run --release -p host-demo -- demo
*/

mod demo;

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use host_demo::{Limits, Mailroom, canonical};

const EXIT_STATUS: &str = "\
Exit status: 0 on success, 2 when the component returned a parse error (its
JSON is still printed), 1 on any other failure (usage, I/O, a trap).

The component is target/wasm32-wasip2/release/guest.wasm in the workspace
(build it with `cargo build -p guest --target wasm32-wasip2 --release`), or the
file named by $MAILROOM_COMPONENT. Its compilation is cached in
target/mailroom-cache/.";

/// Parse email with the mailroom WebAssembly component, hosted in wasmtime.
#[derive(Parser)]
#[command(name = "host-demo", version, after_help = EXIT_STATUS)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse one message and print its canonical JSON on standard output.
    #[command(after_help = EXIT_STATUS)]
    Parse(ParseArgs),
    /// Walk through the embedded sample messages, step by step.
    #[command(after_help = EXIT_STATUS)]
    Demo,
}

#[derive(Args)]
struct ParseArgs {
    /// The message (RFC 5322 / MIME bytes); `-` reads standard input.
    file: PathBuf,
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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Keep exit status 2 for the component's parse errors.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Parse(args) => parse(&args),
        Command::Demo => demo::run(&mut io::stdout().lock()).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        eprintln!("host-demo: error: {e:#}");
        ExitCode::FAILURE
    })
}

fn parse(args: &ParseArgs) -> anyhow::Result<ExitCode> {
    let raw = if args.file.as_os_str() == "-" {
        let mut raw = Vec::new();
        io::stdin()
            .read_to_end(&mut raw)
            .context("reading standard input")?;
        raw
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    let limits = Limits {
        max_bytes: args.max_bytes,
        max_depth: args.max_depth,
        max_parts: args.max_parts,
    };

    let mailroom = Mailroom::load_default()?;
    let result = mailroom.parse(&raw, limits)?;

    let mut stdout = io::stdout().lock();
    stdout
        .write_all(canonical::to_json(&result).as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing standard output")?;
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
