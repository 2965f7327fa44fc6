//! DNS for setup verification.
//!
//! The component does not resolve names itself (a WIT call is synchronous
//! and JS resolvers are not): `setups.lookups` lists the names and types to
//! resolve, the host answers each with a [`DnsAnswer`], and `setups.verify`
//! checks the answers. [`Resolve`] is that host side:
//!
//! - [`Resolver`] asks one configured nameserver (UDP, then TCP for
//!   truncated answers) through hickory-resolver;
//! - [`Zone`] answers from records held in memory, as if they were
//!   published: for tests, and for checking records before they go live.
//!
//! [`Mailroom::verify_setup_with`](crate::Mailroom::verify_setup_with) runs
//! lookups, resolution and verification in one call.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType as HickoryType};

use crate::setups::{DnsAnswer, DnsRecord, DnsResult, Lookup, MxAnswer, RecordType};

/// The longest character-string a TXT record holds (RFC 1035 3.3).
pub const MAX_CHARACTER_STRING: usize = 255;

/// Answers the component's lookups.
pub trait Resolve {
    /// Resolves one lookup. Failures are answers too (`no-such-name`,
    /// `timeout`, …): the component decides what they mean for the setup.
    fn resolve(&self, lookup: &Lookup) -> DnsResult;

    /// Resolves every lookup, in order.
    fn resolve_all(&self, lookups: &[Lookup]) -> Vec<DnsAnswer> {
        lookups
            .iter()
            .map(|lookup| DnsAnswer {
                name: lookup.name.clone(),
                type_: lookup.type_,
                result: self.resolve(lookup),
            })
            .collect()
    }
}

/// Splits a TXT value into character-strings of at most
/// [`MAX_CHARACTER_STRING`] bytes, at character boundaries, as it is
/// published (a 2048-bit DKIM key takes two). An empty value is one empty
/// string.
pub fn txt_strings(value: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut rest = value;
    while rest.len() > MAX_CHARACTER_STRING {
        let mut cut = MAX_CHARACTER_STRING;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        strings.push(head.to_string());
        rest = tail;
    }
    strings.push(rest.to_string());
    strings
}

/// A name as lookups compare it: lower-case, without a trailing dot.
fn bare(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// A DNS resolver that asks one nameserver, over UDP and TCP, with
/// hickory-resolver.
///
/// It owns a small current-thread tokio runtime and blocks on each lookup,
/// so it must not be used from inside an async runtime (resolve there with
/// your own resolver and call
/// [`Mailroom::verify_setup`](crate::Mailroom::verify_setup)). Nothing is
/// cached: every verification sees the DNS as it is now.
pub struct Resolver {
    runtime: tokio::runtime::Runtime,
    resolver: TokioResolver,
    nameserver: SocketAddr,
}

impl Resolver {
    /// The time one attempt may take before it is retried, by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Attempts per lookup, by default.
    pub const DEFAULT_ATTEMPTS: usize = 2;

    /// A resolver asking `nameserver`, with [`Self::DEFAULT_TIMEOUT`] and
    /// [`Self::DEFAULT_ATTEMPTS`].
    pub fn new(nameserver: SocketAddr) -> anyhow::Result<Self> {
        Self::with_timeout(nameserver, Self::DEFAULT_TIMEOUT, Self::DEFAULT_ATTEMPTS)
    }

    /// A resolver asking `nameserver`; each attempt may take `timeout`, and
    /// a lookup makes up to `attempts` (at least one).
    pub fn with_timeout(
        nameserver: SocketAddr,
        timeout: Duration,
        attempts: usize,
    ) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("starting the resolver's runtime")?;

        let mut udp = ConnectionConfig::udp();
        udp.port = nameserver.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = nameserver.port();
        let server = NameServerConfig::new(nameserver.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_name_servers(vec![server]);

        let mut options = ResolverOpts::default();
        options.timeout = timeout;
        options.attempts = attempts.max(1);
        options.cache_size = 0;
        options.preserve_intermediates = false;
        options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;

        let resolver = {
            let _context = runtime.enter();
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
                .with_options(options)
                .build()
                .context("building the resolver")?
        };
        Ok(Self {
            runtime,
            resolver,
            nameserver,
        })
    }

    /// The nameserver asked.
    pub fn nameserver(&self) -> SocketAddr {
        self.nameserver
    }

    async fn lookup(&self, lookup: &Lookup) -> DnsResult {
        let (kind, wanted) = match lookup.type_ {
            RecordType::Txt => ("TXT", HickoryType::TXT),
            RecordType::Mx => ("MX", HickoryType::MX),
        };
        // Fully qualified, so no search domain is ever appended.
        let fqdn = format!("{}.", bare(&lookup.name));
        let name = match Name::from_ascii(&fqdn) {
            Ok(name) => name,
            Err(e) => {
                return DnsResult::ServerFailure(format!("{} is not a DNS name: {e}", lookup.name));
            }
        };
        match self.resolver.lookup(name, wanted).await {
            Ok(found) => {
                let answers = found.answers().iter().filter_map(|r| match &r.data {
                    RData::TXT(txt) if wanted == HickoryType::TXT => Some(Found::Txt(
                        txt.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect(),
                    )),
                    RData::MX(mx) if wanted == HickoryType::MX => Some(Found::Mx(MxAnswer {
                        preference: mx.preference,
                        exchange: mx.exchange.to_ascii().trim_end_matches('.').to_string(),
                    })),
                    _ => None,
                });
                let (mut txt, mut mx) = (Vec::new(), Vec::new());
                for answer in answers {
                    match answer {
                        Found::Txt(strings) => txt.push(strings),
                        Found::Mx(answer) => mx.push(answer),
                    }
                }
                match lookup.type_ {
                    _ if txt.is_empty() && mx.is_empty() => DnsResult::NoRecords,
                    RecordType::Txt => DnsResult::Txt(txt),
                    RecordType::Mx => DnsResult::Mx(mx),
                }
            }
            Err(e) => classify(&e, kind, &lookup.name, self.nameserver),
        }
    }
}

/// One answer record of the type asked for.
enum Found {
    Txt(Vec<String>),
    Mx(MxAnswer),
}

/// The WIT answer for a failed lookup.
fn classify(error: &NetError, kind: &str, name: &str, nameserver: SocketAddr) -> DnsResult {
    if error.is_nx_domain() {
        DnsResult::NoSuchName
    } else if error.is_no_records_found() {
        DnsResult::NoRecords
    } else if matches!(error, NetError::Timeout)
        || matches!(error, NetError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
    {
        DnsResult::Timeout
    } else {
        DnsResult::ServerFailure(format!("{kind} {name} at {nameserver}: {error}"))
    }
}

impl Resolve for Resolver {
    fn resolve(&self, lookup: &Lookup) -> DnsResult {
        self.runtime.block_on(self.lookup(lookup))
    }

    fn resolve_all(&self, lookups: &[Lookup]) -> Vec<DnsAnswer> {
        self.runtime.block_on(async {
            let mut answers = Vec::with_capacity(lookups.len());
            for lookup in lookups {
                answers.push(DnsAnswer {
                    name: lookup.name.clone(),
                    type_: lookup.type_,
                    result: self.lookup(lookup).await,
                });
            }
            answers
        })
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("nameserver", &self.nameserver)
            .finish_non_exhaustive()
    }
}

/// Parses a nameserver: `ip:port`, `[ipv6]:port`, or a bare IP address
/// (port 53).
pub fn parse_nameserver(text: &str) -> anyhow::Result<SocketAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    bail!("{text:?} is not a nameserver address (ip:port, [ipv6]:port or ip)")
}

/// Records held in memory, answered as a nameserver publishing exactly them
/// would: the type asked for, else `no-records` for a name that has other
/// records, else `no-such-name`. Names compare without case or trailing dot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// (name, TXT character-strings), in the order added.
    txt: Vec<(String, Vec<String>)>,
    /// (name, MX answer), in the order added.
    mx: Vec<(String, MxAnswer)>,
}

impl Zone {
    /// An empty zone: every name is `no-such-name`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A zone publishing `records` (a setup's `records`) as given.
    pub fn publishing(records: &[DnsRecord]) -> anyhow::Result<Self> {
        let mut zone = Self::new();
        for record in records {
            zone.publish(record)?;
        }
        Ok(zone)
    }

    /// Publishes one of a setup's records: a TXT value split into
    /// character-strings by [`txt_strings`], or an MX value
    /// `<preference> <exchange>`.
    pub fn publish(&mut self, record: &DnsRecord) -> anyhow::Result<&mut Self> {
        match record.type_ {
            RecordType::Txt => Ok(self.add_txt(&record.name, &record.value)),
            RecordType::Mx => {
                let mut parts = record.value.split_whitespace();
                let (Some(preference), Some(exchange), None) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    bail!(
                        "MX value {:?} is not `<preference> <exchange>`",
                        record.value
                    );
                };
                let preference = preference
                    .parse()
                    .with_context(|| format!("MX preference in {:?}", record.value))?;
                Ok(self.add_mx(&record.name, preference, exchange))
            }
        }
    }

    /// Adds a TXT record, split into character-strings by [`txt_strings`].
    pub fn add_txt(&mut self, name: &str, value: &str) -> &mut Self {
        self.add_txt_strings(name, txt_strings(value))
    }

    /// Adds a TXT record made of exactly these character-strings.
    pub fn add_txt_strings(&mut self, name: &str, strings: Vec<String>) -> &mut Self {
        self.txt.push((bare(name), strings));
        self
    }

    /// Adds an MX record.
    pub fn add_mx(&mut self, name: &str, preference: u16, exchange: &str) -> &mut Self {
        self.mx.push((
            bare(name),
            MxAnswer {
                preference,
                exchange: exchange.to_string(),
            },
        ));
        self
    }

    /// Removes every record of `name` of type `kind`.
    pub fn remove(&mut self, name: &str, kind: RecordType) -> &mut Self {
        let name = bare(name);
        match kind {
            RecordType::Txt => self.txt.retain(|(n, _)| *n != name),
            RecordType::Mx => self.mx.retain(|(n, _)| *n != name),
        }
        self
    }

    /// Every TXT record: name and character-strings, in the order added.
    pub fn txt_records(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.txt.iter().map(|(n, s)| (n.as_str(), s.as_slice()))
    }

    /// Every MX record: name and answer, in the order added.
    pub fn mx_records(&self) -> impl Iterator<Item = (&str, &MxAnswer)> {
        self.mx.iter().map(|(n, a)| (n.as_str(), a))
    }
}

impl Resolve for Zone {
    fn resolve(&self, lookup: &Lookup) -> DnsResult {
        let name = bare(&lookup.name);
        let txt: Vec<Vec<String>> = self
            .txt
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
            .collect();
        let mx: Vec<MxAnswer> = self
            .mx
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, a)| a.clone())
            .collect();
        match lookup.type_ {
            RecordType::Txt if !txt.is_empty() => DnsResult::Txt(txt),
            RecordType::Mx if !mx.is_empty() => DnsResult::Mx(mx),
            _ if !txt.is_empty() || !mx.is_empty() => DnsResult::NoRecords,
            _ => DnsResult::NoSuchName,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::JoinHandle;

    use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
    use hickory_resolver::proto::rr::Record;
    use hickory_resolver::proto::rr::rdata::{MX, TXT};

    use super::*;

    fn lookup(name: &str, type_: RecordType) -> Lookup {
        Lookup {
            name: name.to_string(),
            type_,
        }
    }

    #[test]
    fn txt_strings_are_at_most_255_bytes_and_join_back() {
        assert_eq!(txt_strings(""), [""]);
        assert_eq!(txt_strings("v=spf1 mx -all"), ["v=spf1 mx -all"]);
        let long = "p=".to_string() + &"A".repeat(600);
        let strings = txt_strings(&long);
        assert_eq!(
            strings.iter().map(String::len).collect::<Vec<_>>(),
            [255, 255, 92]
        );
        assert_eq!(strings.concat(), long);
        // Never inside a UTF-8 sequence.
        let wide = "é".repeat(200);
        let strings = txt_strings(&wide);
        assert!(strings.iter().all(|s| s.len() <= 255));
        assert_eq!(strings.concat(), wide);
    }

    #[test]
    fn nameservers_parse() {
        assert_eq!(
            parse_nameserver("127.0.0.1:5353").expect("ok"),
            "127.0.0.1:5353".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(parse_nameserver("::1").expect("ok").port(), 53);
        assert_eq!(parse_nameserver("[::1]:54").expect("ok").port(), 54);
        assert!(parse_nameserver("localhost:53").is_err());
    }

    #[test]
    fn a_zone_answers_like_a_nameserver() {
        let mut zone = Zone::new();
        zone.add_txt("Clinic.example.", "v=spf1 mx -all").add_mx(
            "clinic.example",
            10,
            "inbound.mailroom.example",
        );
        assert_eq!(
            zone.resolve(&lookup("clinic.example", RecordType::Txt)),
            DnsResult::Txt(vec![vec!["v=spf1 mx -all".to_string()]])
        );
        assert_eq!(
            zone.resolve(&lookup("CLINIC.example.", RecordType::Mx)),
            DnsResult::Mx(vec![MxAnswer {
                preference: 10,
                exchange: "inbound.mailroom.example".to_string()
            }])
        );
        zone.remove("clinic.example", RecordType::Mx);
        assert_eq!(
            zone.resolve(&lookup("clinic.example", RecordType::Mx)),
            DnsResult::NoRecords
        );
        assert_eq!(
            zone.resolve(&lookup("_dmarc.clinic.example", RecordType::Txt)),
            DnsResult::NoSuchName
        );
    }

    /// A one-socket UDP nameserver answering every query with `answer`
    /// until dropped.
    struct FakeServer {
        address: SocketAddr,
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    }

    impl FakeServer {
        fn start(answer: fn(&Message, &mut Message)) -> Self {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
            socket
                .set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
            let address = socket.local_addr().expect("address");
            let stop = Arc::new(AtomicBool::new(false));
            let stopping = Arc::clone(&stop);
            let thread = std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while !stopping.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buffer) else {
                        continue;
                    };
                    let Ok(query) = Message::from_vec(&buffer[..n]) else {
                        continue;
                    };
                    let mut response = Message::response(query.metadata.id, OpCode::Query);
                    response.add_queries(query.queries.clone());
                    answer(&query, &mut response);
                    let bytes = response.to_vec().expect("encode");
                    let _ = socket.send_to(&bytes, from);
                }
            });
            Self {
                address,
                stop,
                thread: Some(thread),
            }
        }

        fn resolver(&self) -> Resolver {
            Resolver::with_timeout(self.address, Duration::from_secs(2), 1).expect("resolver")
        }
    }

    impl Drop for FakeServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn question(query: &Message) -> Name {
        query.queries[0].name().clone()
    }

    #[test]
    fn txt_strings_come_back_separately_and_mx_without_the_dot() {
        let server = FakeServer::start(|query, response| {
            let name = question(query);
            match query.queries[0].query_type() {
                HickoryType::TXT => {
                    response.add_answer(Record::from_rdata(
                        name.clone(),
                        0,
                        RData::TXT(TXT::new(vec!["v=DKIM1; ".into(), "p=AB".into()])),
                    ));
                    response.add_answer(Record::from_rdata(
                        name,
                        0,
                        RData::TXT(TXT::new(vec!["other".into()])),
                    ));
                }
                _ => {
                    response.add_answer(Record::from_rdata(
                        name,
                        0,
                        RData::MX(MX::new(
                            10,
                            Name::from_ascii("inbound.mailroom.example.").expect("name"),
                        )),
                    ));
                }
            }
        });
        let resolver = server.resolver();
        let answers = resolver.resolve_all(&[
            lookup("sel._domainkey.clinic.example", RecordType::Txt),
            lookup("clinic.example", RecordType::Mx),
        ]);
        assert_eq!(
            answers[0].result,
            DnsResult::Txt(vec![
                vec!["v=DKIM1; ".to_string(), "p=AB".to_string()],
                vec!["other".to_string()],
            ])
        );
        assert_eq!(answers[0].name, "sel._domainkey.clinic.example");
        assert_eq!(
            answers[1].result,
            DnsResult::Mx(vec![MxAnswer {
                preference: 10,
                exchange: "inbound.mailroom.example".to_string()
            }])
        );
    }

    #[test]
    fn negative_answers_and_failures_are_told_apart() {
        let server = FakeServer::start(|query, response| {
            let first = question(query).to_ascii();
            response.metadata.response_code = match first.split('.').next() {
                Some("nx") => ResponseCode::NXDomain,
                Some("empty") => ResponseCode::NoError,
                Some("refused") => ResponseCode::Refused,
                _ => ResponseCode::ServFail,
            };
        });
        let resolver = server.resolver();
        let result = |name: &str| resolver.resolve(&lookup(name, RecordType::Txt));
        assert_eq!(result("nx.clinic.example"), DnsResult::NoSuchName);
        assert_eq!(result("empty.clinic.example"), DnsResult::NoRecords);
        for name in ["refused.clinic.example", "servfail.clinic.example"] {
            match result(name) {
                DnsResult::ServerFailure(why) => {
                    assert!(why.contains(name), "{why}");
                    assert!(why.contains(&server.address.to_string()), "{why}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_silent_server_is_a_timeout() {
        // Bound but never read: every query goes unanswered.
        let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let resolver = Resolver::with_timeout(
            silent.local_addr().expect("address"),
            Duration::from_millis(200),
            1,
        )
        .expect("resolver");
        assert_eq!(
            resolver.resolve(&lookup("clinic.example", RecordType::Txt)),
            DnsResult::Timeout
        );
    }
}
