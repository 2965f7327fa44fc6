//! Inbound conformance: every `tests/fixtures/inbound/NAME.eml` parsed by the
//! native library, the component in wasmtime, the host-demo CLI and the JS
//! CLI must print exactly `NAME.json`. `MAILROOM_BLESS=1` rewrites the
//! goldens from the native library.

use std::path::Path;
use std::process::Command;

use conformance::{blessing, canonical, compare, fixtures, root};
use guest::inbound::{Limits, parse};

/// The WIT limits with every field left to its default.
const NO_LIMITS: host_demo::Limits = host_demo::Limits {
    max_bytes: None,
    max_depth: None,
    max_parts: None,
};

const SUITE: &str = "inbound";

/// Runs `host` on every fixture and fails with every mismatch listed.
fn check_all(host: &str, mut run: impl FnMut(&Path) -> String) {
    if blessing() && host != "native" {
        eprintln!("{host}: not compared while goldens are being rewritten");
        return;
    }
    let cases = fixtures(SUITE);
    assert!(
        !cases.is_empty(),
        "no fixtures found in tests/fixtures/{SUITE}"
    );
    let mut failures = Vec::new();
    for (name, eml, golden) in &cases {
        let actual = run(eml);
        if let Some(diff) = compare(golden, &actual) {
            failures.push(format!("{name}:\n{diff}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{host}: {} of {} fixtures differ from their golden JSON \
         (goldens are rewritten by MAILROOM_BLESS=1):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{host}: {} fixtures match their golden JSON", cases.len());
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn native_library_matches_goldens() {
    if blessing() {
        for (_, eml, golden) in fixtures(SUITE) {
            let json = canonical(&parse(&read(&eml), &Limits::default()));
            std::fs::write(&golden, json).expect("golden written");
        }
    }
    check_all("native", |eml| {
        canonical(&parse(&read(eml), &Limits::default()))
    });
}

#[test]
fn wasmtime_component_matches_goldens() {
    let mailroom = host_demo::Mailroom::load_default().expect("the component loads");
    check_all("wasmtime", |eml| {
        let result = mailroom
            .parse(&read(eml), NO_LIMITS)
            .unwrap_or_else(|trap| panic!("{}: trap: {trap:?}", eml.display()));
        host_demo::canonical::to_json(&result)
    });
}

/// Runs a CLI and returns its standard output; exit codes 0 and 2 (a parse
/// error, printed as JSON) are answers, anything else is a failure.
fn cli_output(command: &mut Command, eml: &Path) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{command:?} on {}: {}\n{}",
        eml.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the CLI prints UTF-8")
}

#[test]
fn host_demo_cli_matches_goldens() {
    let exe = host_demo_exe();
    check_all("host-demo CLI", |eml| {
        cli_output(Command::new(&exe).arg("parse").arg(eml), eml)
    });
}

#[test]
fn js_cli_matches_goldens() {
    let cli = root().join("js/bin/mailroom.mjs");
    assert!(
        root().join("js/dist").is_dir(),
        "the JS bundle is not built: run `npm ci && npm run build` in js/"
    );
    check_all("JS CLI (node)", |eml| {
        cli_output(Command::new("node").arg(&cli).arg("parse").arg(eml), eml)
    });
}

/// The host-demo binary of the same profile as this test.
fn host_demo_exe() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/inbound-HASH -> target/<profile>/host-demo
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a target directory");
    let bin = dir.join(format!("host-demo{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --release -p host-demo`",
        bin.display()
    );
    bin
}
