//! A [`Transport`] that delivers into a local Maildir: an outbox a person or
//! a separate relay process can read.
//!
//! Each message is written byte for byte as the component produced it (it is
//! DKIM-signed, so nothing is added) to `tmp/` under a unique name, synced,
//! then renamed into `new/`, and `new/` is synced: a message in `new/` is
//! complete and durable. The SMTP envelope, which the message itself does
//! not carry, goes to `envelopes/<name>.json` (written and synced before the
//! message appears in `new/`).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::host::transport::{Outgoing, Transport, TransportError};

/// The directory of envelope sidecars, beside `tmp`, `new` and `cur`.
pub const ENVELOPE_DIR: &str = "envelopes";

/// Delivers each message into the Maildir `<dir>/{tmp,new,cur}`.
#[derive(Debug, Clone)]
pub struct MaildirTransport {
    dir: PathBuf,
    host: String,
}

impl MaildirTransport {
    /// Uses (creating it if needed) the Maildir at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let dir = dir.into();
        for sub in ["tmp", "new", "cur", ENVELOPE_DIR] {
            let path = dir.join(sub);
            fs::create_dir_all(&path)
                .with_context(|| format!("creating Maildir directory {}", path.display()))?;
        }
        Ok(Self {
            dir,
            host: maildir_host(),
        })
    }

    /// The Maildir's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `message`; returns the file in `new/`.
    pub fn deliver(&self, message: &Outgoing) -> std::io::Result<PathBuf> {
        let name = self.unique_name();
        let tmp = self.dir.join("tmp").join(&name);
        let envelope = self.dir.join(ENVELOPE_DIR).join(format!("{name}.json"));
        let new = self.dir.join("new").join(&name);

        let result = (|| {
            write_synced(&tmp, &message.raw)?;
            let sidecar = serde_json::json!({
                "message-id": message.message_id,
                "mail-from": message.envelope.mail_from,
                "rcpt-to": message.envelope.rcpt_to,
            });
            write_synced(&envelope, sidecar.to_string().as_bytes())?;
            sync_dir(&self.dir.join(ENVELOPE_DIR))?;
            fs::rename(&tmp, &new)?;
            sync_dir(&self.dir.join("new"))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
            if !new.exists() {
                let _ = fs::remove_file(&envelope);
            }
        }
        result.map(|()| new)
    }

    /// `<seconds>.M<microseconds>P<pid>Q<counter>.<host>`, the usual unique
    /// Maildir name.
    fn unique_name(&self) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            self.host
        )
    }
}

impl Transport for MaildirTransport {
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        self.deliver(message).map(|_| ()).map_err(|e| {
            TransportError::Unavailable(format!(
                "writing to the Maildir {}: {e}",
                self.dir.display()
            ))
        })
    }
}

/// Creates `path` (it must not exist), writes `bytes` and syncs them.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Syncs a directory, so the entries renamed or created in it are durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// This machine's name with the characters Maildir reserves (`/`, `:`)
/// escaped as the convention says.
fn maildir_host() -> String {
    let name = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    name.replace('/', "\\057").replace(':', "\\072")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::transport::Envelope;

    #[test]
    fn delivers_the_exact_bytes_into_new_with_the_envelope_beside() {
        let dir = std::env::temp_dir().join(format!("mailroom-maildir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut transport = MaildirTransport::new(&dir).expect("maildir");
        let raw = b"DKIM-Signature: v=1\r\nSubject: hi\r\n\r\n.dot\r\nbody\r\n".to_vec();
        let message = Outgoing {
            message_id: "a@x".into(),
            envelope: Envelope {
                mail_from: "s@x".into(),
                rcpt_to: vec!["r@y".into(), "q@z".into()],
            },
            raw: raw.clone(),
        };
        transport.submit(&message).expect("first");
        transport.submit(&message).expect("second");

        let mut names: Vec<_> = fs::read_dir(dir.join("new"))
            .expect("new")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1]);
        for name in &names {
            assert_eq!(fs::read(dir.join("new").join(name)).expect("read"), raw);
            let sidecar = dir
                .join(ENVELOPE_DIR)
                .join(format!("{}.json", name.to_string_lossy()));
            let envelope: serde_json::Value =
                serde_json::from_slice(&fs::read(sidecar).expect("sidecar")).expect("json");
            assert_eq!(envelope["rcpt-to"], serde_json::json!(["r@y", "q@z"]));
        }
        assert_eq!(fs::read_dir(dir.join("tmp")).expect("tmp").count(), 0);
        fs::remove_dir_all(&dir).expect("clean up");
    }
}
