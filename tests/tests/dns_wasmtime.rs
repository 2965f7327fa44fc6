//! Setup verification against a real DNS server: dnsmasq serves exactly the
//! records a setup made in wasmtime asks for; the host's hickory resolver
//! (`host_demo::Resolver`) answers the component's lookups from it, and the
//! setup is `verified`. dnsmasq restarted without the DKIM record: verifying
//! again fails the setup, the DKIM check `missing`. SPF and DMARC as RFC
//! 7208 and 7489 read them: an `_spf` include is accepted at create; one SPF
//! record with a `+` or bare include verifies; two SPF records, `~` and `?`
//! qualifiers and a missing include are `mismatched` with the reason first;
//! two DMARC records are `mismatched`.
//!
//! Needs dnsmasq (Debian: `apt-get install dnsmasq-base`; `$DNSMASQ` names
//! another binary) and the component:
//! `cargo build -p guest --target wasm32-wasip2 --release`.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_demo::host::dns::txt_strings;
use host_demo::{
    DnsResult, Lookup, Mailroom, RecordPurpose, RecordState, RecordType, Resolve, Resolver,
    SetupOptions, SetupStatus, UseCaseError, UseCaseType, Zone,
};

const DOMAIN: &str = "dns-test.example";

/// The dnsmasq binary: `$DNSMASQ`, else `dnsmasq` on PATH or in the sbin
/// directories (not on a non-root PATH on Debian).
fn dnsmasq_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DNSMASQ").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("dnsmasq"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "dnsmasq not found (on PATH, /usr/sbin, /sbin): this test runs a real DNS \
                 server; install it (Debian/Ubuntu: apt-get install -y dnsmasq-base; \
                 .ci/run installs it) or set DNSMASQ to its path"
            )
        })
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        // One per test: tests run in parallel threads of one process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("mailroom-dns-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch directory");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A port free for both UDP and TCP on 127.0.0.1, at the time of asking.
fn free_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("a TCP port");
        let port = tcp.local_addr().expect("address").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1")
}

/// A running dnsmasq, killed (and reaped) on drop, also when a test panics.
struct Dnsmasq {
    child: Child,
    address: SocketAddr,
}

impl Dnsmasq {
    /// Starts dnsmasq on 127.0.0.1:`port` with `conf` as its only
    /// configuration, and waits until it accepts TCP connections.
    fn start(dir: &Path, port: u16, conf: &str) -> Self {
        let conf_path = dir.join("dnsmasq.conf");
        fs::write(&conf_path, conf).expect("dnsmasq.conf written");
        let log_path = dir.join("dnsmasq.log");
        let log = fs::File::create(&log_path).expect("dnsmasq.log");
        let child = Command::new(dnsmasq_binary())
            .args([
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--conf-file={}", conf_path.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("dnsmasq starts");
        let mut server = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "dnsmasq exited ({status}) before serving:\n{}",
                    fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&server.address, Duration::from_millis(200)).is_ok() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not listen on {} within 10 s:\n{}",
                server.address,
                fs::read_to_string(&log_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A dnsmasq configuration serving exactly `zone`'s records. `local=`
/// makes dnsmasq authoritative for the domain: a name it has no record for
/// is NXDOMAIN (without it, and with no upstream, dnsmasq answers REFUSED).
fn conf(zone: &Zone) -> String {
    conf_for(DOMAIN, zone)
}

/// [`conf`] for another domain.
fn conf_for(domain: &str, zone: &Zone) -> String {
    let quoted = |s: &str| {
        assert!(
            !s.contains(['"', '\\']) && !s.chars().any(char::is_control),
            "{s:?} would need escaping in dnsmasq.conf"
        );
        format!("\"{s}\"")
    };
    let mut out = format!("local=/{domain}/\n");
    for (name, strings) in zone.txt_records() {
        let strings: Vec<String> = strings.iter().map(|s| quoted(s)).collect();
        writeln!(out, "txt-record={name},{}", strings.join(",")).expect("write");
    }
    for (name, mx) in zone.mx_records() {
        writeln!(out, "mx-host={name},{},{}", mx.exchange, mx.preference).expect("write");
    }
    out
}

#[test]
fn setups_verify_against_dnsmasq_through_hickory() {
    let mailroom = Mailroom::load_default().expect("the component loads");
    let options = SetupOptions {
        inbound_host: "inbound.mailroom.example".to_string(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
    };
    let setup = mailroom
        .create_setup("ws-dns", DOMAIN, &options)
        .expect("no trap")
        .expect("a setup");
    assert_eq!(setup.status, SetupStatus::Pending);
    let lookups = mailroom
        .setup_lookups("ws-dns", &setup.id)
        .expect("no trap")
        .expect("lookups");
    let dkim = setup
        .records
        .iter()
        .find(|r| r.purpose == RecordPurpose::Dkim)
        .expect("a DKIM record")
        .clone();

    // Exactly the records the setup asks for, long TXT values split into
    // several character-strings.
    let zone = Zone::publishing(&setup.records).expect("a zone");
    let scratch = Scratch::new();
    let port = free_port();
    let config = conf(&zone);
    assert!(
        config.contains(&format!("txt-record={},\"v=DKIM1", dkim.name)),
        "{config}"
    );
    let server = Dnsmasq::start(&scratch.0, port, &config);
    let resolver =
        Resolver::with_timeout(server.address, Duration::from_secs(2), 2).expect("a resolver");
    assert_eq!(resolver.nameserver(), server.address);

    // What hickory reads from dnsmasq: each character-string on its own.
    let dkim_lookup = Lookup {
        name: dkim.name.clone(),
        type_: RecordType::Txt,
    };
    let strings = txt_strings(&dkim.value);
    assert!(strings.len() > 1, "a 2048-bit key takes several strings");
    assert_eq!(
        resolver.resolve(&dkim_lookup),
        DnsResult::Txt(vec![strings])
    );
    // dnsmasq serves the same answers a `Zone` of the records gives.
    assert_eq!(resolver.resolve_all(&lookups), zone.resolve_all(&lookups));
    // A name with records, but none of the type asked for.
    assert_eq!(
        resolver.resolve(&Lookup {
            name: dkim.name.clone(),
            type_: RecordType::Mx,
        }),
        DnsResult::NoRecords
    );

    let verification = mailroom
        .verify_setup_with("ws-dns", &setup.id, &resolver)
        .expect("no trap")
        .expect("checked");
    assert_eq!(
        verification.setup.status,
        SetupStatus::Verified,
        "{:#?}",
        verification.checks
    );
    assert!(
        verification
            .checks
            .iter()
            .all(|c| c.state == RecordState::Verified),
        "{:#?}",
        verification.checks
    );
    mailroom
        .create_use_case(
            "ws-dns",
            &setup.id,
            "care@dns-test.example",
            UseCaseType::Transactional,
            "Clinic",
            "Care",
        )
        .expect("no trap")
        .expect("a use case of a verified setup");

    // The DKIM record taken down: dnsmasq restarted without it.
    server.stop();
    let mut without = zone.clone();
    without.remove(&dkim.name, RecordType::Txt);
    let server = Dnsmasq::start(&scratch.0, port, &conf(&without));
    assert_eq!(resolver.resolve(&dkim_lookup), DnsResult::NoSuchName);

    let verification = mailroom
        .verify_setup_with("ws-dns", &setup.id, &resolver)
        .expect("no trap")
        .expect("checked");
    assert_eq!(
        verification.setup.status,
        SetupStatus::Failed,
        "{:#?}",
        verification.checks
    );
    let failing: Vec<_> = verification
        .checks
        .iter()
        .filter(|c| c.state != RecordState::Verified)
        .collect();
    assert_eq!(failing.len(), 1, "{failing:#?}");
    assert_eq!(failing[0].record, dkim, "the check names the DKIM record");
    assert!(
        matches!(&failing[0].state, RecordState::Missing(why) if why.contains("no such name")),
        "{:?}",
        failing[0].state
    );
    assert!(matches!(
        mailroom
            .create_use_case(
                "ws-dns",
                &setup.id,
                "billing@dns-test.example",
                UseCaseType::Transactional,
                "Clinic",
                "Billing",
            )
            .expect("no trap"),
        Err(UseCaseError::SetupNotVerified(_))
    ));
    drop(server);
}

/// Verifies `setup` against dnsmasq serving `zone`; the SPF and DMARC states.
fn spf_and_dmarc(
    mailroom: &Mailroom,
    setup: &str,
    domain: &str,
    zone: &Zone,
    scratch: &Scratch,
) -> (SetupStatus, RecordState, RecordState) {
    let server = Dnsmasq::start(&scratch.0, free_port(), &conf_for(domain, zone));
    let resolver =
        Resolver::with_timeout(server.address, Duration::from_secs(2), 2).expect("a resolver");
    let verification = mailroom
        .verify_setup_with("ws-spf", setup, &resolver)
        .expect("no trap")
        .expect("checked");
    let state = |purpose| {
        verification
            .checks
            .iter()
            .find(|c| c.record.purpose == purpose)
            .map(|c| c.state.clone())
            .expect("a check")
    };
    let out = (
        verification.setup.status,
        state(RecordPurpose::Spf),
        state(RecordPurpose::Dmarc),
    );
    server.stop();
    out
}

fn reason(state: &RecordState) -> &str {
    match state {
        RecordState::Mismatched(list) => list.first().map(String::as_str).unwrap_or_default(),
        other => panic!("not mismatched: {other:?}"),
    }
}

#[test]
fn spf_and_dmarc_verify_as_rfc_7208_reads_against_dnsmasq() {
    const SPF_DOMAIN: &str = "spf-test.example";
    let mailroom = Mailroom::load_default().expect("the component loads");
    let options = SetupOptions {
        inbound_host: "inbound.mailroom.example".to_string(),
        spf_include: Some("_spf.google.com".to_string()),
        unsubscribe_base: None,
        pending_ttl: None,
    };
    let setup = mailroom
        .create_setup("ws-spf", SPF_DOMAIN, &options)
        .expect("no trap")
        .expect("an _spf include is a domain-spec");
    let spf = setup
        .records
        .iter()
        .find(|r| r.purpose == RecordPurpose::Spf)
        .expect("an SPF record");
    assert_eq!(spf.value, "v=spf1 include:_spf.google.com ~all");
    let zone_with = |spf: &[&str], dmarc: &[&str]| {
        let mut zone = Zone::new();
        for r in &setup.records {
            if !matches!(r.purpose, RecordPurpose::Spf | RecordPurpose::Dmarc) {
                zone.publish(r).expect("published");
            }
        }
        for v in spf {
            zone.add_txt(SPF_DOMAIN, v);
        }
        zone.add_txt(SPF_DOMAIN, "google-site-verification=abc");
        for v in dmarc {
            zone.add_txt(&format!("_dmarc.{SPF_DOMAIN}"), v);
        }
        zone
    };
    let scratch = Scratch::new();
    let dmarc = ["v=DMARC1; p=none"];

    let (status, spf_state, dmarc_state) = spf_and_dmarc(
        &mailroom,
        &setup.id,
        SPF_DOMAIN,
        &zone_with(&["v=spf1 include:_spf.google.com ~all"], &dmarc),
        &scratch,
    );
    assert_eq!(
        (status, &spf_state, &dmarc_state),
        (
            SetupStatus::Verified,
            &RecordState::Verified,
            &RecordState::Verified
        )
    );

    let (status, spf_state, _) = spf_and_dmarc(
        &mailroom,
        &setup.id,
        SPF_DOMAIN,
        &zone_with(
            &["v=spf1 include:_spf.google.com ~all", "v=spf1 mx -all"],
            &dmarc,
        ),
        &scratch,
    );
    assert_eq!(status, SetupStatus::Failed);
    assert_eq!(
        reason(&spf_state),
        "multiple SPF records, a permerror (RFC 7208 4.5)"
    );
    match &spf_state {
        RecordState::Mismatched(list) => assert_eq!(list.len(), 3, "{list:?}"),
        other => panic!("{other:?}"),
    }

    for (record, word) in [
        ("v=spf1 ~include:_spf.google.com -all", "softfail"),
        ("v=spf1 ?include:_spf.google.com -all", "neutral"),
        (
            "v=spf1 include:amazonses.com -all",
            "has no include:_spf.google.com",
        ),
    ] {
        let (status, spf_state, _) = spf_and_dmarc(
            &mailroom,
            &setup.id,
            SPF_DOMAIN,
            &zone_with(&[record], &dmarc),
            &scratch,
        );
        assert_eq!(status, SetupStatus::Failed, "{record}");
        assert!(reason(&spf_state).contains(word), "{record}: {spf_state:?}");
    }

    let (status, spf_state, dmarc_state) = spf_and_dmarc(
        &mailroom,
        &setup.id,
        SPF_DOMAIN,
        &zone_with(
            &["v=spf1 +include:_spf.google.com ~all"],
            &["v=DMARC1; p=none", "v=DMARC1; p=reject"],
        ),
        &scratch,
    );
    assert_eq!(spf_state, RecordState::Verified);
    assert!(
        reason(&dmarc_state).contains("multiple DMARC records"),
        "{dmarc_state:?}"
    );
    // DMARC is recommended, not required: the setup stands on the others.
    assert_eq!(status, SetupStatus::Verified);
}
