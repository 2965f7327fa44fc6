//! A real PostgreSQL server for the tests: Debian's `postgresql` package,
//! `initdb` in a fresh directory and `pg_ctl` on a free loopback port, run as
//! the `postgres` user when the tests run as root (initdb refuses root),
//! stopped and removed when the [`Postgres`] is dropped.
//!
//! [`Postgres::start`] is `None` (the test says NOT RUN) when no PostgreSQL
//! is installed: `apt-get install postgresql`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// Not every test binary uses all of them.
#[allow(unused_imports)]
pub use crate::common::{Server, agent, free_port};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A running PostgreSQL cluster owned by the test.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The newest `/usr/lib/postgresql/<N>/bin` with `initdb`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((n, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    /// Starts a fresh cluster; `None` when PostgreSQL is not installed.
    pub fn start(name: &str) -> Option<Postgres> {
        let Some(bin) = bin_dir() else {
            eprintln!("NOT RUN: PostgreSQL is not installed (apt-get install postgresql)");
            return None;
        };
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // Under /tmp, which the postgres user can reach (the target dir may
        // not be).
        let dir = std::env::temp_dir().join(format!(
            "mailroom-pg-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the cluster directory");
        let as_postgres = is_root();
        let pg = Postgres {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory");
        }
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().expect("UTF-8 path"),
                "-A",
                "trust",
                "-U",
                "mailroom",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.pg_ctl_start();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs a PostgreSQL program, as `postgres` when we are root.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl_start(&self) {
        let data = self.data();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("UTF-8 path"),
                "-o",
                &options,
                "-l",
                log.to_str().expect("UTF-8 path"),
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once (`-m immediate`: like a crash).
    pub fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("UTF-8 path"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A fresh, empty database; its URL.
    pub fn database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the postgres database");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(name)
    }

    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://mailroom@127.0.0.1:{}/{db}", self.port)
    }

    /// The directory of the cluster.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = command
            .args([
                "-D",
                data.to_str().unwrap_or(""),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The operator's key of every replica: the tests act for [`WORKSPACE`]
/// through it.
pub const ADMIN_KEY: &str = "admin-key-of-the-replica-tests";
/// The ingest secret of every replica.
pub const INGEST_SECRET: &str = "ingest-secret-of-the-replica-tests";
/// The workspace the tests act for.
pub const WORKSPACE: &str = "ws-1";

/// The `[platform]` table of every replica: the admin key, posted DNS
/// answers, no send rate to speak of.
fn platform() -> String {
    format!(
        "\n[platform]\nadmin-key = \"{ADMIN_KEY}\"\ningest-secret = \"{INGEST_SECRET}\"\n\
         posted-dns-answers = true\nsends-per-second = 100000\n"
    )
}

/// The headers of a call as [`WORKSPACE`].
pub fn auth() -> [(&'static str, String); 2] {
    auth_as(WORKSPACE)
}

/// The headers of a call as `workspace` (through the admin key).
pub fn auth_as(workspace: &str) -> [(&'static str, String); 2] {
    [
        ("Authorization", format!("Bearer {ADMIN_KEY}")),
        ("X-Mailroom-Workspace", workspace.to_string()),
    ]
}

/// A running `host-demo serve` replica: a [`Server`] that remembers its
/// settings, so it can be started again.
pub struct Serve {
    server: Server,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its standard error, line by line.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    config: PathBuf,
    toml: String,
}

impl Serve {
    /// Starts `host-demo serve` with the settings `toml` (written to
    /// `config`), on port 0; returns once it printed its address.
    pub fn start(config: &Path, toml: &str) -> Serve {
        Serve::start_with(None, config, toml)
    }

    /// [`Serve::start`] with another build's `host-demo` and component.
    pub fn start_with(build: Option<(&Path, &Path)>, config: &Path, toml: &str) -> Serve {
        std::fs::write(
            config,
            format!("listen = \"127.0.0.1:0\"\n{toml}{}", platform()),
        )
        .expect("settings");
        let server = match build {
            Some((bin, component)) => Server::start_with(bin, Some(component), config),
            None => Server::start(config),
        };
        Serve {
            base: server.base.clone(),
            log: std::sync::Arc::clone(&server.log),
            server,
            config: config.to_path_buf(),
            toml: toml.to_string(),
        }
    }

    /// Starts it again with the same settings (a new port).
    pub fn restart(&mut self) {
        self.kill();
        let toml = self.toml.clone();
        *self = Serve::start(&self.config.clone(), &toml);
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }
}

/// Sends a request with an optional JSON body and extra headers; the status
/// and the body as JSON (`null` when empty, a string when not JSON).
pub fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value), ureq::Error> {
    call_as(agent, WORKSPACE, method, url, body)
}

/// Like [`call`], as `workspace`.
pub fn call_as(
    agent: &ureq::Agent,
    workspace: &str,
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value), ureq::Error> {
    let [(a, a_value), (w, w_value)] = auth_as(workspace);
    let mut response = match (method, body) {
        ("GET", _) => agent
            .get(url)
            .header(a, &a_value)
            .header(w, &w_value)
            .call()?,
        ("POST", Some(body)) => agent
            .post(url)
            .header(a, &a_value)
            .header(w, &w_value)
            .header("Content-Type", "application/json")
            .send(body.to_string())?,
        ("PUT", Some(body)) => agent
            .put(url)
            .header(a, &a_value)
            .header(w, &w_value)
            .header("Content-Type", "application/json")
            .send(body.to_string())?,
        ("POST", None) => agent
            .post(url)
            .header(a, &a_value)
            .header(w, &w_value)
            .send_empty()?,
        _ => panic!("unsupported {method}"),
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    let value = if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    Ok((status, value))
}

/// Like [`call`], expecting `status`.
pub fn expect(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
    status: u16,
) -> serde_json::Value {
    expect_as(agent, WORKSPACE, method, url, body, status)
}

/// Like [`expect`], as `workspace`.
pub fn expect_as(
    agent: &ureq::Agent,
    workspace: &str,
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
    status: u16,
) -> serde_json::Value {
    let (got, value) = call_as(agent, workspace, method, url, body).expect("the server answers");
    assert_eq!(got, status, "{method} {url}: {value:#}");
    value
}

/// Creates and verifies a setup of `domain` (answers given in the request)
/// and a transactional use case; returns (setup id, use case id).
pub fn verified_use_case(agent: &ureq::Agent, base: &str, domain: &str) -> (String, String) {
    verified_use_case_as(agent, WORKSPACE, base, domain)
}

/// Like [`verified_use_case`], in `workspace`.
pub fn verified_use_case_as(
    agent: &ureq::Agent,
    workspace: &str,
    base: &str,
    domain: &str,
) -> (String, String) {
    use serde_json::json;
    let expect =
        |agent: &ureq::Agent,
         method: &str,
         url: &str,
         body: Option<&serde_json::Value>,
         status: u16| { expect_as(agent, workspace, method, url, body, status) };
    let setup = expect(
        agent,
        "POST",
        &format!("{base}/setups"),
        Some(&json!({"domain": domain})),
        201,
    );
    let id = setup["id"].as_str().expect("setup id").to_string();
    let mut grouped: std::collections::BTreeMap<(String, String), Vec<serde_json::Value>> =
        std::collections::BTreeMap::new();
    for record in setup["records"].as_array().expect("records") {
        let name = record["name"].as_str().expect("name").to_string();
        let kind = record["type"].as_str().expect("type").to_string();
        let value = record["value"].as_str().expect("value");
        let item = if kind == "txt" {
            json!(
                value
                    .as_bytes()
                    .chunks(255)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
            )
        } else {
            let (preference, exchange) = value.split_once(' ').expect("MX value");
            json!({"preference": preference.parse::<u16>().expect("preference"), "exchange": exchange})
        };
        grouped.entry((name, kind)).or_default().push(item);
    }
    let answers: Vec<serde_json::Value> = grouped
        .into_iter()
        .map(|((name, kind), items)| json!({"name": name, "type": kind, "result": {kind.clone(): items}}))
        .collect();
    let verification = expect(
        agent,
        "POST",
        &format!("{base}/setups/{id}/verify"),
        Some(&json!({ "answers": answers })),
        200,
    );
    assert_eq!(
        verification["setup"]["status"], "verified",
        "{verification:#}"
    );
    let use_case = expect(
        agent,
        "POST",
        &format!("{base}/use-cases"),
        Some(&json!({
            "setup": id,
            "sender": format!("care@{domain}"),
            "type": "transactional",
            "entity-name": "Riverside Clinic",
            "use-case-name": "Care",
        })),
        201,
    );
    (
        id,
        use_case["id"].as_str().expect("use case id").to_string(),
    )
}
