//! Helpers the HTTP tests share: a real `host-demo serve` on loopback, a
//! blocking client, dnsmasq, free ports.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_host-demo");

/// A fresh directory under the test target's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The settings file of a server on `data_dir`: `top` (top-level TOML
/// lines) and `platform` (lines of the `[platform]` table).
pub fn settings(data_dir: &Path, top: &str, platform: &str) -> PathBuf {
    let config = data_dir.with_extension("toml");
    std::fs::write(
        &config,
        format!(
            "data-dir = {}\nlisten = \"127.0.0.1:0\"\n{top}\n[platform]\n{platform}\n",
            json!(data_dir.to_str().expect("UTF-8 path"))
        ),
    )
    .expect("write settings");
    config
}

/// `host-demo --config FILE ARGS…` with no `MAILROOM_*` variables.
pub fn host_demo(config: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command.arg("--config").arg(config).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("MAILROOM_") && key != "MAILROOM_COMPONENT" {
            command.env_remove(key);
        }
    }
    command.output().expect("run host-demo")
}

/// A running `host-demo serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `host-demo --config CONFIG serve`; returns once it printed its
    /// address.
    pub fn start(config: &Path) -> Server {
        Server::start_with(Path::new(BIN), None, config)
    }

    /// Starts another build's `host-demo` (`bin`), with its `component`
    /// when given.
    pub fn start_with(bin: &Path, component: Option<&Path>, config: &Path) -> Server {
        let mut command = Command::new(bin);
        command
            .arg("--config")
            .arg(config)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("MAILROOM_") && key != "MAILROOM_COMPONENT" {
                command.env_remove(key);
            }
        }
        if let Some(component) = component {
            command.env("MAILROOM_COMPONENT", component);
        }
        let mut child = command.spawn().expect("spawn host-demo serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = tx.send(address.to_string());
                }
                lines.lock().expect("log").push(line);
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "host-demo serve printed no address:\n{}",
                    log.lock().expect("log").join("\n")
                );
            }
        };
        Server { child, base, log }
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's resident set now and at its peak, in KiB (Linux).
    pub fn rss_kib(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        // Under the server's idle limit (header-timeout-ms, 10 s), so a
        // pooled connection is never one the server is closing.
        .max_idle_age(Duration::from_secs(5))
        .build()
        .into()
}

/// A request with `headers`; the status and the body as JSON (`null` when
/// empty, a string when not JSON).
pub fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Value) {
    let answer = match method {
        "GET" | "DELETE" | "HEAD" => {
            let mut r = match method {
                "GET" => agent.get(url),
                "HEAD" => agent.head(url),
                _ => agent.delete(url),
            };
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        _ => {
            let mut r = match method {
                "POST" => agent.post(url),
                _ => agent.put(url),
            };
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            match body {
                Some(b) => r.send(b),
                None => r.send_empty(),
            }
        }
    };
    let mut response = answer.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// dnsmasq: on PATH or in the sbin directories.
pub fn dnsmasq() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("dnsmasq"))
        .find(|candidate| candidate.is_file())
}

/// A port free for both UDP and TCP on 127.0.0.1, at the time of asking.
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("a TCP port");
        let port = tcp.local_addr().expect("address").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1")
}

/// dnsmasq serving `records` (setup record JSON: name, type, value) for
/// the zone `domain` on 127.0.0.1:`port`; killed on drop.
pub struct Dns(Child);

impl Dns {
    pub fn start(dnsmasq: &Path, dir: &Path, port: u16, zones: &[&str], records: &[Value]) -> Dns {
        let mut conf = String::new();
        for zone in zones {
            conf.push_str(&format!("local=/{zone}/\n"));
        }
        for record in records {
            let name = record["name"].as_str().expect("name");
            let value = record["value"].as_str().expect("value");
            match record["type"].as_str() {
                Some("txt") => {
                    let chunks: Vec<String> = value
                        .as_bytes()
                        .chunks(255)
                        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                        .collect();
                    conf.push_str(&format!("txt-record={name},{}\n", chunks.join(",")));
                }
                _ => {
                    let (preference, exchange) = value.split_once(' ').expect("MX value");
                    conf.push_str(&format!("mx-host={name},{exchange},{preference}\n"));
                }
            }
        }
        let file = dir.join(format!("dnsmasq-{port}.conf"));
        std::fs::write(&file, conf).expect("write dnsmasq.conf");
        let child = Command::new(dnsmasq)
            .args(["--no-daemon", "--no-resolv", "--no-hosts"])
            .args(["--listen-address=127.0.0.1", "--bind-interfaces"])
            .arg(format!("--port={port}"))
            .arg(format!("--conf-file={}", file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "dnsmasq did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Dns(child)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
