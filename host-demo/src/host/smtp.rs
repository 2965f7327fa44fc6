//! A [`Transport`] that relays each message to an SMTP server (lettre's
//! blocking client, TLS by rustls).
//!
//! The message bytes go out exactly as the component produced them (only the
//! SMTP dot-stuffing the protocol requires is applied on the wire). The relay
//! answers while `submit` waits: a 5xx reply is [`TransportError::Rejected`],
//! a 4xx reply, a refused connection or a timeout
//! [`TransportError::Unavailable`], anything else [`TransportError::Other`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use lettre::Transport as _;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::host::transport::{Outgoing, Transport, TransportError};

/// The default connect, read and write timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text (`smtp://…?tls=none`); only for a relay on a trusted
    /// network.
    None,
    /// STARTTLS, failing if the relay does not offer it (`smtp://`, or
    /// `?tls=starttls` / `?tls=required`).
    StartTls,
    /// STARTTLS when the relay offers it, else plain text
    /// (`?tls=opportunistic`).
    Opportunistic,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// A relay's settings, usually parsed from a URL by [`SmtpSettings::parse`].
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The relay's host name or IP address (also the name its certificate
    /// must carry).
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// TLS on the connection.
    pub security: Security,
    /// User name and password for AUTH.
    pub credentials: Option<(String, String)>,
    /// The AUTH mechanisms to try, in order; empty for PLAIN then LOGIN.
    pub mechanisms: Vec<AuthMechanism>,
    /// The name sent in EHLO; `None` for this machine's host name.
    pub helo: Option<String>,
    /// A PEM file of extra trusted root certificates (a private relay's CA),
    /// trusted besides the Mozilla roots built in.
    pub ca_file: Option<PathBuf>,
    /// Connect, read and write timeout.
    pub timeout: Duration,
}

/// An SMTP AUTH mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    /// RFC 4616 PLAIN.
    Plain,
    /// The LOGIN mechanism.
    Login,
}

/// The password is never printed.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("mechanisms", &self.mechanisms)
            .field("helo", &self.helo)
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpSettings {
    /// Parses a relay URL:
    ///
    /// - `smtp://[user:pass@]host[:port][?tls=starttls|required|opportunistic|none]`:
    ///   STARTTLS required unless `tls` says otherwise; port 587, or 25 with
    ///   `tls=none`;
    /// - `smtps://[user:pass@]host[:port]`: implicit TLS, port 465.
    ///
    /// Further query keys: `auth=plain|login` (repeatable, or
    /// comma-separated), `helo=NAME` and `ca=PATH` (a PEM file of extra
    /// trusted roots). User and password are percent-decoded.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(text).map_err(|e| anyhow::anyhow!("not a URL: {e}"))?;
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => bail!("no relay host in the URL"),
        };
        let mut tls = None;
        let mut mechanisms = Vec::new();
        let mut helo = None;
        let mut ca_file = None;
        for (key, value) in url.query_pairs() {
            match &*key {
                "tls" => tls = Some(value.into_owned()),
                "auth" => {
                    for name in value.split(',').filter(|n| !n.is_empty()) {
                        mechanisms.push(match name.to_ascii_lowercase().as_str() {
                            "plain" => AuthMechanism::Plain,
                            "login" => AuthMechanism::Login,
                            _ => bail!("auth={name:?}: expected plain or login"),
                        });
                    }
                }
                "helo" if !value.is_empty() => helo = Some(value.into_owned()),
                "ca" if !value.is_empty() => ca_file = Some(PathBuf::from(&*value)),
                _ => bail!("unknown URL parameter {key:?} (known: tls, auth, helo, ca)"),
            }
        }
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("starttls" | "required")) => (Security::StartTls, 587),
            ("smtp", Some("opportunistic")) => (Security::Opportunistic, 587),
            ("smtp", Some("none")) => (Security::None, 25),
            ("smtps", None | Some("implicit")) => (Security::Implicit, 465),
            ("smtp" | "smtps", Some(other)) => bail!(
                "tls={other:?}: expected starttls, opportunistic or none (smtp://), \
                 or nothing (smtps://)"
            ),
            (scheme, _) => bail!("scheme {scheme:?}: expected smtp or smtps"),
        };
        if url.path().len() > 1 {
            bail!("unexpected path {:?} (use ?helo=NAME)", url.path());
        }
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some((
                percent_decode(user).context("user name")?,
                percent_decode(password.unwrap_or("")).context("password")?,
            )),
        };
        if ca_file.is_some() && security == Security::None {
            bail!("ca= is given but tls=none");
        }
        if credentials.is_none() && !mechanisms.is_empty() {
            bail!("auth= is given but the URL has no user and password");
        }
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            credentials,
            mechanisms,
            helo,
            ca_file,
            timeout: DEFAULT_TIMEOUT,
        })
    }
}

fn percent_decode(text: &str) -> anyhow::Result<String> {
    Ok(percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| anyhow::anyhow!("not UTF-8 once percent-decoded"))?
        .into_owned())
}

/// Relays each message to one SMTP server, one connection per message.
#[derive(Clone)]
pub struct SmtpTransport {
    client: lettre::SmtpTransport,
    relay: String,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// A transport for the relay `settings` describe. Nothing is contacted
    /// yet.
    pub fn new(settings: &SmtpSettings) -> anyhow::Result<Self> {
        let tls_parameters = || -> anyhow::Result<TlsParameters> {
            let mut builder = TlsParameters::builder(settings.host.clone());
            if let Some(path) = &settings.ca_file {
                let pem = std::fs::read(path)
                    .with_context(|| format!("reading CA file {}", path.display()))?;
                let roots = Certificate::from_pem(&pem)
                    .with_context(|| format!("CA file {}", path.display()))?;
                builder = builder.add_root_certificate(roots);
            }
            builder
                .build_rustls()
                .with_context(|| format!("TLS settings for {}", settings.host))
        };
        let tls = match settings.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters()?),
            Security::Opportunistic => Tls::Opportunistic(tls_parameters()?),
            Security::Implicit => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = lettre::SmtpTransport::builder_dangerous(settings.host.clone())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            if !settings.mechanisms.is_empty() {
                builder = builder.authentication(
                    settings
                        .mechanisms
                        .iter()
                        .map(|m| match m {
                            AuthMechanism::Plain => Mechanism::Plain,
                            AuthMechanism::Login => Mechanism::Login,
                        })
                        .collect(),
                );
            }
        }
        if let Some(helo) = &settings.helo {
            builder = builder.hello_name(ClientId::Domain(helo.clone()));
        }
        Ok(Self {
            client: builder.build(),
            relay: format!("{}:{}", settings.host, settings.port),
        })
    }

    /// A transport for the relay URL `url` (see [`SmtpSettings::parse`]).
    pub fn from_url(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let mut settings = SmtpSettings::parse(url)?;
        settings.timeout = timeout;
        Self::new(&settings)
    }

    /// Whether the relay answers and accepts a session (EHLO, TLS and AUTH as
    /// configured).
    pub fn test_connection(&self) -> anyhow::Result<bool> {
        self.client
            .test_connection()
            .with_context(|| format!("connecting to the SMTP relay {}", self.relay))
    }
}

impl Transport for SmtpTransport {
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        let envelope = envelope(message)?;
        // lettre ends the data with "\r\n.\r\n" whatever the message ends
        // with: hand it the message without its final line break, so the relay
        // receives exactly the signed bytes.
        let raw = message.raw.strip_suffix(b"\r\n").unwrap_or(&message.raw);
        self.client
            .send_raw(&envelope, raw)
            .map(|_| ())
            .map_err(|e| transport_error(&self.relay, &e))
    }
}

/// lettre's envelope; an address it cannot carry is a rejection.
fn envelope(message: &Outgoing) -> Result<Envelope, TransportError> {
    let address = |text: &str| {
        text.parse::<Address>()
            .map_err(|e| TransportError::Rejected(format!("address {text:?}: {e}")))
    };
    let from = match message.envelope.mail_from.as_str() {
        "" | "<>" => None,
        text => Some(address(text)?),
    };
    let to = message
        .envelope
        .rcpt_to
        .iter()
        .map(|r| address(r))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(from, to)
        .map_err(|e| TransportError::Rejected(format!("envelope of {}: {e}", message.message_id)))
}

/// 5xx → rejected; 4xx, connection, network and timeouts → unavailable;
/// anything else (TLS, protocol, client) → other.
fn transport_error(relay: &str, e: &lettre::transport::smtp::Error) -> TransportError {
    let message = format!("SMTP relay {relay}: {e}");
    if e.is_permanent() {
        TransportError::Rejected(message)
    } else if e.is_transient() || e.is_timeout() || is_connection(e) {
        TransportError::Unavailable(message)
    } else {
        TransportError::Other(message)
    }
}

/// Whether the failure is reaching or keeping the connection (lettre's
/// connection and network kinds, which it does not expose by name), TLS
/// failures aside.
fn is_connection(e: &lettre::transport::smtp::Error) -> bool {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            // TLS failures (an untrusted certificate) come wrapped as
            // InvalidData: a setting to fix, not an outage.
            return io.kind() != std::io::ErrorKind::InvalidData;
        }
        source = inner.source();
    }
    e.is_transport_shutdown()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_secure_defaults() {
        let s = SmtpSettings::parse("smtp://us%40er:p%3Ass@relay.example:2587?auth=login")
            .expect("parse");
        assert_eq!(s.host, "relay.example");
        assert_eq!(s.port, 2587);
        assert_eq!(s.security, Security::StartTls);
        assert_eq!(
            s.credentials,
            Some(("us@er".to_string(), "p:ss".to_string()))
        );
        assert_eq!(s.mechanisms, [AuthMechanism::Login]);
        assert!(!format!("{s:?}").contains("p:ss"));

        let s = SmtpSettings::parse("smtps://relay.example").expect("parse");
        assert_eq!((s.port, s.security), (465, Security::Implicit));
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525?tls=none").expect("parse");
        assert_eq!((s.port, s.security), (2525, Security::None));
        assert_eq!(s.credentials, None);
        let s =
            SmtpSettings::parse("smtp://[::1]?tls=opportunistic&helo=me.example").expect("parse");
        assert_eq!((s.host.as_str(), s.port), ("::1", 587));
        assert_eq!(s.helo.as_deref(), Some("me.example"));

        for bad in [
            "http://relay.example",
            "smtp://relay.example?tls=maybe",
            "smtps://relay.example?tls=none",
            "smtp://relay.example?colour=blue",
            "smtp://relay.example?auth=plain",
            "smtp:///nohost",
            "relay.example:25",
        ] {
            assert!(SmtpSettings::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refused_connection_is_unavailable() {
        // A port just released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut transport = SmtpTransport::from_url(
            &format!("smtp://127.0.0.1:{port}?tls=none"),
            Duration::from_secs(5),
        )
        .expect("transport");
        let message = Outgoing {
            message_id: "a@x".into(),
            envelope: crate::host::transport::Envelope {
                mail_from: "s@x.example".into(),
                rcpt_to: vec!["r@y.example".into()],
            },
            raw: b"Subject: hi\r\n\r\nhi\r\n".to_vec(),
        };
        let result = transport.submit(&message);
        assert!(
            matches!(result, Err(TransportError::Unavailable(_))),
            "{result:?}"
        );
    }
}
