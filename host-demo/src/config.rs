//! The host demo's settings: defaults, then a TOML file, then `MAILROOM_*`
//! environment variables; [`Config::mailroom`] builds the channel they
//! describe.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::Mailroom;
use crate::host::maildir::MaildirTransport;
use crate::host::smtp::{SmtpSettings, SmtpTransport};
use crate::host::sqlite::SqliteStore;
use crate::host::store::{MemoryStore, SharedStore};

/// The SQLite file under [`Config::data_dir`].
pub const SQLITE_FILE: &str = "mailroom.sqlite3";

/// The Maildir outbox under [`Config::data_dir`], used when no relay is set.
pub const OUTBOX_DIR: &str = "outbox";

/// Settings of the host demo: defaults, then a TOML file, then `MAILROOM_*`
/// environment variables.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Where the SQLite store and the Maildir outbox live (default
    /// `mailroom-data`); env `MAILROOM_DATA_DIR`.
    pub data_dir: PathBuf,
    /// The channel's storage (default SQLite); env `MAILROOM_STORE`.
    pub store: StoreKind,
    /// The SMTP relay, e.g. `smtp://user:pass@host:587?tls=starttls`; `None`
    /// writes outgoing mail to the Maildir `<data_dir>/outbox`; env
    /// `MAILROOM_SMTP_URL`.
    pub smtp_url: Option<String>,
    /// Connect, read and write timeout of the relay, in seconds (default 30);
    /// env `MAILROOM_SMTP_TIMEOUT`.
    pub smtp_timeout_secs: u64,
    /// The HTTP listen address (default `127.0.0.1:8080`); env
    /// `MAILROOM_LISTEN`.
    pub listen: String,
    /// The host inbound mail is routed to (default
    /// `inbound.mailroom.example`); env `MAILROOM_INBOUND_HOST`.
    pub inbound_host: String,
    /// The `https` base of unsubscribe links; env
    /// `MAILROOM_UNSUBSCRIBE_BASE`.
    pub unsubscribe_base: Option<String>,
    /// The DNS server setups are verified against, `ip:port` (or a bare IP,
    /// port 53); env
    /// `MAILROOM_NAMESERVER`.
    pub nameserver: Option<String>,
    /// Cap on the component's linear memory, in MiB (default 512); env
    /// `MAILROOM_MAX_MEMORY_MIB`.
    pub max_memory_mib: u64,
    /// Cap on one call's running time, in milliseconds (default 30000); env
    /// `MAILROOM_MAX_CALL_TIME_MS`.
    pub max_call_time_ms: u64,
    /// The platform API's trust boundary and bounds (`serve`): the TOML
    /// table `[platform]`.
    pub platform: Platform,
}

/// The platform API's secrets, ceilings and rates (README, "The platform
/// API"). Each has an env variable `MAILROOM_<NAME>`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Platform {
    /// The operator's key: acts for the workspace named by the
    /// `X-Mailroom-Workspace` header, and on the ingest routes. Unset: no
    /// admin key. Env `MAILROOM_ADMIN_KEY`.
    pub admin_key: Option<String>,
    /// The secret of the ingest routes (`/inbound`, `/reports`, `/events`,
    /// `/messages/{id}/outcome`), as `Authorization: Bearer …`. Unset: only
    /// the admin key opens them. Env `MAILROOM_INGEST_SECRET`.
    pub ingest_secret: Option<String>,
    /// Accept DNS answers posted to `/setups/{id}/verify` (default false).
    /// ONLY for tests: whoever posts answers can verify any domain. Env
    /// `MAILROOM_POSTED_DNS_ANSWERS`.
    pub posted_dns_answers: bool,
    /// Seconds a new setup may stay pending (default 259200, 72 hours).
    /// Env `MAILROOM_PENDING_TTL_SECS`.
    pub pending_ttl_secs: u64,
    /// Ceiling of the parse limit `max-bytes` (default 52428800): a request
    /// asking for more gets this. Env `MAILROOM_MAX_BYTES`.
    pub max_bytes: u64,
    /// Ceiling of `max-depth` (default 64). Env `MAILROOM_MAX_DEPTH`.
    pub max_depth: u32,
    /// Ceiling of `max-parts` (default 5000). Env `MAILROOM_MAX_PARTS`.
    pub max_parts: u32,
    /// Component calls at once (default twice the CPUs, at least 2); each
    /// may use `max-memory-mib`. Env `MAILROOM_MAX_CALLS`.
    pub max_calls: usize,
    /// Open connections at most (default 256); more wait in the kernel's
    /// backlog. Env `MAILROOM_MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// Time to read a request's headers, in ms (default 10000); a slower
    /// client is disconnected. Env `MAILROOM_HEADER_TIMEOUT_MS`.
    pub header_timeout_ms: u64,
    /// Time to read a request's body and answer it, in ms (default 60000);
    /// then 408. Env `MAILROOM_REQUEST_TIMEOUT_MS`.
    pub request_timeout_ms: u64,
    /// Setup creations per workspace per minute (default 6); more get 429
    /// with Retry-After. Env `MAILROOM_SETUPS_PER_MINUTE`.
    pub setups_per_minute: u32,
    /// Sends per workspace per second (default 20, bursts of as many);
    /// more get 429. Env `MAILROOM_SENDS_PER_SECOND`.
    pub sends_per_second: u32,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            admin_key: None,
            ingest_secret: None,
            posted_dns_answers: false,
            pending_ttl_secs: 72 * 3600,
            max_bytes: 50 * 1024 * 1024,
            max_depth: 64,
            max_parts: 5000,
            max_calls: std::thread::available_parallelism()
                .map_or(2, |n| n.get().saturating_mul(2).max(2)),
            max_connections: 256,
            header_timeout_ms: 10_000,
            request_timeout_ms: 60_000,
            setups_per_minute: 6,
            sends_per_second: 20,
        }
    }
}

/// Which storage backs the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// [`SqliteStore`] at `<data_dir>/mailroom.sqlite3`: durable.
    Sqlite,
    /// [`MemoryStore`]: lost when the process exits.
    Memory,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("mailroom-data"),
            store: StoreKind::Sqlite,
            smtp_url: None,
            smtp_timeout_secs: 30,
            listen: "127.0.0.1:8080".to_string(),
            inbound_host: "inbound.mailroom.example".to_string(),
            unsubscribe_base: None,
            nameserver: None,
            max_memory_mib: 512,
            max_call_time_ms: 30_000,
            platform: Platform::default(),
        }
    }
}

impl Config {
    /// Defaults, then `file` (TOML) if given, then the environment. Errors
    /// name the bad setting.
    ///
    /// An environment variable that is set but empty counts as unset.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading settings file {}", path.display()))?;
                Self::from_toml(&text)
                    .with_context(|| format!("in settings file {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Settings from TOML text over the defaults (no environment, not
    /// validated).
    pub fn from_toml(text: &str) -> anyhow::Result<Config> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
    }

    /// Overrides settings from the `MAILROOM_*` variables `var` returns.
    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let number = |name: &str| -> anyhow::Result<Option<u64>> {
            get(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .with_context(|| format!("{name}={v:?} is not a whole number"))
                })
                .transpose()
        };
        if let Some(v) = get("MAILROOM_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("MAILROOM_STORE") {
            self.store = match v.as_str() {
                "sqlite" => StoreKind::Sqlite,
                "memory" => StoreKind::Memory,
                _ => bail!("MAILROOM_STORE={v:?}: expected \"sqlite\" or \"memory\""),
            };
        }
        if let Some(v) = get("MAILROOM_SMTP_URL") {
            self.smtp_url = Some(v);
        }
        if let Some(v) = number("MAILROOM_SMTP_TIMEOUT")? {
            self.smtp_timeout_secs = v;
        }
        if let Some(v) = get("MAILROOM_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("MAILROOM_INBOUND_HOST") {
            self.inbound_host = v;
        }
        if let Some(v) = get("MAILROOM_UNSUBSCRIBE_BASE") {
            self.unsubscribe_base = Some(v);
        }
        if let Some(v) = get("MAILROOM_NAMESERVER") {
            self.nameserver = Some(v);
        }
        if let Some(v) = number("MAILROOM_MAX_MEMORY_MIB")? {
            self.max_memory_mib = v;
        }
        if let Some(v) = number("MAILROOM_MAX_CALL_TIME_MS")? {
            self.max_call_time_ms = v;
        }
        let small = |name: &str, v: u64| {
            u32::try_from(v).with_context(|| format!("{name}={v} is too large"))
        };
        let p = &mut self.platform;
        if let Some(v) = get("MAILROOM_ADMIN_KEY") {
            p.admin_key = Some(v);
        }
        if let Some(v) = get("MAILROOM_INGEST_SECRET") {
            p.ingest_secret = Some(v);
        }
        if let Some(v) = get("MAILROOM_POSTED_DNS_ANSWERS") {
            p.posted_dns_answers = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => bail!("MAILROOM_POSTED_DNS_ANSWERS={v:?}: expected true or false"),
            };
        }
        if let Some(v) = number("MAILROOM_PENDING_TTL_SECS")? {
            p.pending_ttl_secs = v;
        }
        if let Some(v) = number("MAILROOM_MAX_BYTES")? {
            p.max_bytes = v;
        }
        if let Some(v) = number("MAILROOM_MAX_DEPTH")? {
            p.max_depth = small("MAILROOM_MAX_DEPTH", v)?;
        }
        if let Some(v) = number("MAILROOM_MAX_PARTS")? {
            p.max_parts = small("MAILROOM_MAX_PARTS", v)?;
        }
        if let Some(v) = number("MAILROOM_MAX_CALLS")? {
            p.max_calls = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = number("MAILROOM_MAX_CONNECTIONS")? {
            p.max_connections = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = number("MAILROOM_HEADER_TIMEOUT_MS")? {
            p.header_timeout_ms = v;
        }
        if let Some(v) = number("MAILROOM_REQUEST_TIMEOUT_MS")? {
            p.request_timeout_ms = v;
        }
        if let Some(v) = number("MAILROOM_SETUPS_PER_MINUTE")? {
            p.setups_per_minute = small("MAILROOM_SETUPS_PER_MINUTE", v)?;
        }
        if let Some(v) = number("MAILROOM_SENDS_PER_SECOND")? {
            p.sends_per_second = small("MAILROOM_SENDS_PER_SECOND", v)?;
        }
        Ok(())
    }

    /// Checks what can be checked without side effects.
    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.smtp_url {
            SmtpSettings::parse(url).context("smtp-url")?;
        }
        if self.smtp_timeout_secs == 0 {
            bail!("smtp-timeout-secs must be at least 1");
        }
        if let Some(ns) = &self.nameserver {
            crate::host::dns::parse_nameserver(ns).context("nameserver")?;
        }
        if let Some(base) = &self.unsubscribe_base
            && !base.starts_with("https://")
        {
            bail!("unsubscribe-base {base:?} must be an https:// URL");
        }
        if self.inbound_host.trim().is_empty() {
            bail!("inbound-host must not be empty");
        }
        if self.max_memory_mib == 0 {
            bail!("max-memory-mib must be at least 1");
        }
        self.max_memory_bytes()?;
        if self.max_call_time_ms == 0 {
            bail!("max-call-time-ms must be at least 1");
        }
        let p = &self.platform;
        for (name, secret) in [
            ("admin-key", &p.admin_key),
            ("ingest-secret", &p.ingest_secret),
        ] {
            if let Some(secret) = secret
                && secret.len() < 16
            {
                bail!("{name} must be at least 16 characters");
            }
        }
        if !(1..=30 * 24 * 3600).contains(&p.pending_ttl_secs) {
            bail!("pending-ttl-secs must be between 1 and 2592000");
        }
        if p.max_bytes == 0 {
            bail!("max-bytes must be at least 1");
        }
        for (name, v) in [
            ("max-depth", p.max_depth),
            ("max-parts", p.max_parts),
            ("setups-per-minute", p.setups_per_minute),
            ("sends-per-second", p.sends_per_second),
        ] {
            if v == 0 {
                bail!("{name} must be at least 1");
            }
        }
        if p.max_calls == 0 || p.max_connections == 0 {
            bail!("max-calls and max-connections must be at least 1");
        }
        if p.header_timeout_ms == 0 || p.request_timeout_ms == 0 {
            bail!("header-timeout-ms and request-timeout-ms must be at least 1");
        }
        Ok(())
    }

    /// [`max_memory_mib`](Self::max_memory_mib) in bytes.
    pub fn max_memory_bytes(&self) -> anyhow::Result<usize> {
        self.max_memory_mib
            .checked_mul(1024 * 1024)
            .and_then(|b| usize::try_from(b).ok())
            .with_context(|| format!("max-memory-mib {} is too large", self.max_memory_mib))
    }

    /// The store these settings name, opened (SQLite: created if missing).
    pub fn open_store(&self) -> anyhow::Result<SharedStore> {
        Ok(match self.store {
            StoreKind::Sqlite => crate::host::store::shared(SqliteStore::open(self.sqlite_path())?),
            StoreKind::Memory => crate::host::store::shared(MemoryStore::new()),
        })
    }

    /// The SQLite file: `<data_dir>/mailroom.sqlite3`.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join(SQLITE_FILE)
    }

    /// The Maildir outbox: `<data_dir>/outbox`.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join(OUTBOX_DIR)
    }

    /// A `Mailroom` built on these settings: the default component, memory
    /// and call-time caps, the SQLite store at `<data_dir>/mailroom.sqlite3`
    /// (or memory), and the SMTP relay or the Maildir outbox.
    pub fn mailroom(&self) -> anyhow::Result<Mailroom> {
        self.validate()?;
        let mut builder = Mailroom::builder()
            .max_memory(self.max_memory_bytes()?)
            .max_call_time(Duration::from_millis(self.max_call_time_ms));
        builder = builder.shared_store(self.open_store()?);
        builder = match &self.smtp_url {
            Some(url) => {
                let mut settings = SmtpSettings::parse(url).context("smtp-url")?;
                settings.timeout = Duration::from_secs(self.smtp_timeout_secs);
                builder.transport(SmtpTransport::new(&settings)?)
            }
            None => builder.transport(MaildirTransport::new(self.outbox_dir())?),
        };
        builder.build()
    }

    /// A documented example file (TOML) with every setting, for `--help` and
    /// the README.
    pub const EXAMPLE: &'static str = r#"# mailroom host demo settings (TOML). Every key is optional; a MAILROOM_*
# environment variable overrides the file (an empty variable counts as unset).

# Where the SQLite store (mailroom.sqlite3) and the Maildir outbox live.
# env MAILROOM_DATA_DIR
data-dir = "mailroom-data"

# "sqlite" (durable, <data-dir>/mailroom.sqlite3) or "memory".
# env MAILROOM_STORE
store = "sqlite"

# The SMTP relay for outgoing mail. Without it, messages are written to the
# Maildir <data-dir>/outbox. Forms:
#   smtp://user:pass@host:587?tls=starttls   STARTTLS required (the default)
#   smtp://host:587?tls=opportunistic        STARTTLS when offered
#   smtp://127.0.0.1:2525?tls=none           plain text
#   smtps://user:pass@host:465               implicit TLS
# Extra query keys: auth=plain|login, helo=NAME, ca=PATH (a PEM file of
# extra trusted roots, for a relay with a private CA). Percent-encode
# reserved characters in the user and password.
# env MAILROOM_SMTP_URL
# smtp-url = "smtp://user:pass@smtp.example.net:587?tls=starttls"

# Connect, read and write timeout of the relay, in seconds.
# env MAILROOM_SMTP_TIMEOUT
smtp-timeout-secs = 30

# The HTTP listen address.
# env MAILROOM_LISTEN
listen = "127.0.0.1:8080"

# The host inbound mail is routed to (the MX of reply addresses).
# env MAILROOM_INBOUND_HOST
inbound-host = "inbound.mailroom.example"

# The https base of List-Unsubscribe links.
# env MAILROOM_UNSUBSCRIBE_BASE
# unsubscribe-base = "https://mailroom.example/unsubscribe"

# The DNS server setups are verified against, ip:port.
# env MAILROOM_NAMESERVER
# nameserver = "127.0.0.1:53"

# Cap on the component's linear memory, in MiB.
# env MAILROOM_MAX_MEMORY_MIB
max-memory-mib = 512

# Cap on one call's running time, in milliseconds.
# env MAILROOM_MAX_CALL_TIME_MS
max-call-time-ms = 30000

# The platform API (host-demo serve): who may call it and how much.
# README, "The platform API". Each key also has an env variable,
# MAILROOM_<KEY> in upper case with _ for -.
[platform]
# The operator's key (at least 16 characters): acts for the workspace named
# by the X-Mailroom-Workspace header, and on the ingest routes.
# admin-key = "…"
# The secret MTAs, SES, Cloudflare and provider webhooks send as
# "Authorization: Bearer …" to /inbound, /reports, /events and
# /messages/{id}/outcome.
# ingest-secret = "…"
# Accept DNS answers posted to /setups/{id}/verify. ONLY for tests: whoever
# posts answers can verify any domain.
posted-dns-answers = false
# How long a new setup may stay pending before it expires (72 hours).
pending-ttl-secs = 259200
# Ceilings of the parse limits a request may ask for (POST /inbound); a
# request asking for more gets the ceiling.
max-bytes = 52428800
max-depth = 64
max-parts = 5000
# Component calls at once (default: twice the CPUs) and open connections.
# max-calls = 4
max-connections = 256
# A client must send its headers within header-timeout-ms, and its body
# (and get its answer) within request-timeout-ms.
header-timeout-ms = 10000
request-timeout-ms = 60000
# Per workspace: setup creations per minute and sends per second; more get
# 429 with Retry-After.
setups-per-minute = 6
sends-per-second = 20
"#;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_example_gives_the_defaults() {
        let example = Config::from_toml(Config::EXAMPLE).expect("example parses");
        let default = Config::default();
        assert_eq!(format!("{example:?}"), format!("{default:?}"));
        example.validate().expect("valid");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let mut config =
            Config::from_toml("store = \"memory\"\nmax-call-time-ms = 5\n").expect("parses");
        config
            .apply_env(env(&[
                ("MAILROOM_MAX_CALL_TIME_MS", "70"),
                ("MAILROOM_SMTP_URL", "smtp://127.0.0.1:2525?tls=none"),
                ("MAILROOM_LISTEN", ""),
            ]))
            .expect("env");
        assert_eq!(config.store, StoreKind::Memory);
        assert_eq!(config.max_call_time_ms, 70);
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(
            config.smtp_url.as_deref(),
            Some("smtp://127.0.0.1:2525?tls=none")
        );
        config.validate().expect("valid");
    }

    #[test]
    fn errors_name_the_setting() {
        let e = Config::from_toml("colour = \"blue\"\n").expect_err("unknown key");
        assert!(format!("{e:#}").contains("colour"), "{e:#}");
        let e = Config::from_toml("max-memory-mib = \"lots\"\n").expect_err("bad type");
        assert!(format!("{e:#}").contains("max-memory-mib"), "{e:#}");
        let e = Config::default()
            .apply_env(env(&[("MAILROOM_MAX_MEMORY_MIB", "12MB")]))
            .expect_err("bad number");
        assert!(
            format!("{e:#}").contains("MAILROOM_MAX_MEMORY_MIB"),
            "{e:#}"
        );
        let e = Config::default()
            .apply_env(env(&[("MAILROOM_STORE", "redis")]))
            .expect_err("bad store");
        assert!(format!("{e:#}").contains("MAILROOM_STORE"), "{e:#}");
        let config = Config {
            smtp_url: Some("ftp://x".into()),
            ..Config::default()
        };
        let e = config.validate().expect_err("bad url");
        assert!(format!("{e:#}").contains("smtp-url"), "{e:#}");
        let config = Config {
            nameserver: Some("localhost".into()),
            ..Config::default()
        };
        let e = config.validate().expect_err("bad nameserver");
        assert!(format!("{e:#}").contains("nameserver"), "{e:#}");
    }
}
