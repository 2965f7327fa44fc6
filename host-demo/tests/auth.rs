//! The platform API's trust boundary, against a real `host-demo serve` over
//! HTTP: every route × every kind of credential, keys made and revoked by
//! the CLI, verification that only the domain's real DNS (dnsmasq) can
//! pass, and the bounds (ceilings, slow clients, rates, memory).
//!
//! Needs the component (`cargo build -p guest --target wasm32-wasip2
//! --release`); the race test needs dnsmasq and says NOT RUN without it.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Dns, Server, agent, dnsmasq, free_port, host_demo, request, settings, temp_dir};
use host_demo::config::Config;
use host_demo::{Recipient, SendRequest, SetupOptions, UseCaseType, Zone};
use serde_json::{Value, json};

/// One credential kind: its name, the headers it sends, the status expected.
type Case<'a> = (&'a str, Vec<(&'a str, String)>, u16);

const ADMIN: &str = "admin-key-of-the-auth-tests";
const INGEST: &str = "ingest-secret-of-the-auth-tests";

/// Makes a workspace key with the CLI; returns (secret, id).
fn make_key(config: &std::path::Path, workspace: &str) -> (String, String) {
    let out = host_demo(
        config,
        &["keys", "create", "--workspace", workspace, "--name", "test"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_string();
    let id = String::from_utf8_lossy(&out.stderr)
        .split('\t')
        .next()
        .expect("an id")
        .to_string();
    assert!(
        secret.starts_with("mrk_") && id.starts_with("key_"),
        "{secret} {id}"
    );
    (secret, id)
}

/// A verified setup, a use case and one sent message of `workspace`, made
/// through the library on the server's store before it starts.
fn seed(config: &std::path::Path, workspace: &str) -> (String, String) {
    let config = Config::load(Some(config)).expect("settings");
    let m = config.mailroom().expect("a channel");
    let options = SetupOptions {
        inbound_host: "inbound.mailroom.example".into(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
        bounce_domain: None,
    };
    let setup = m
        .create_setup(workspace, "tenant-a.example", &options)
        .expect("no trap")
        .expect("a setup");
    let zone = Zone::publishing(&setup.records).expect("a zone");
    m.verify_setup_with(workspace, &setup.id, &zone)
        .expect("no trap")
        .expect("verified");
    let uc = m
        .create_use_case(
            workspace,
            &setup.id,
            "care@tenant-a.example",
            UseCaseType::Transactional,
            "Tenant A",
            "Care",
        )
        .expect("no trap")
        .expect("a use case");
    m.send(
        workspace,
        &SendRequest {
            use_case: uc.id.clone(),
            to: vec![Recipient {
                name: None,
                address: "pat@patient.example".into(),
            }],
            cc: vec![],
            subject: "Hello".into(),
            text: Some("Hello.\r\n".into()),
            html: None,
            attachments: vec![],
            in_reply_to: None,
            idempotency_key: None,
        },
    )
    .expect("no trap")
    .expect("sent");
    (setup.id, uc.id)
}

#[test]
fn every_route_answers_each_credential_as_the_model_says() {
    let dir = temp_dir("auth-matrix");
    let config = settings(
        &dir,
        "",
        &format!(
            "admin-key = \"{ADMIN}\"\ningest-secret = \"{INGEST}\"\nsends-per-second = 1000\nsetups-per-minute = 1000"
        ),
    );
    let (setup, uc) = seed(&config, "ws-a");
    let (key_a, _) = make_key(&config, "ws-a");
    let (key_b, _) = make_key(&config, "ws-b");
    let (revoked, revoked_id) = make_key(&config, "ws-a");
    let out = host_demo(&config, &["keys", "revoke", &revoked_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = host_demo(&config, &["keys", "list", "--workspace", "ws-a"]);
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(!listed.contains(&key_a), "list never shows a secret");

    let server = Server::start(&config);
    let agent = agent();
    let address = "pat@patient.example";
    let send =
        json!({"use-case": uc, "to": [{"address": address}], "subject": "Hi", "text": "Hi.\r\n"});
    let new_uc = json!({"setup": setup, "sender": "news@tenant-a.example", "type": "transactional",
                        "entity-name": "Tenant A", "use-case-name": "Other"});
    let policy_path = format!("/setups/{setup}/policy");
    let (_, policy) = request(
        &agent,
        "GET",
        &server.url(&policy_path),
        &[("Authorization", &format!("Bearer {key_a}"))],
        None,
    );
    // (method, path, body, status with the right key). Mutating routes last.
    let routes: Vec<(&str, String, Option<Value>, u16)> = vec![
        ("GET", format!("/setups/{setup}"), None, 200),
        ("GET", format!("/setups/{setup}/lookups"), None, 200),
        ("GET", format!("/setups/{setup}/health"), None, 200),
        ("GET", policy_path.clone(), None, 200),
        ("GET", format!("/setups/{setup}/use-cases"), None, 200),
        ("GET", format!("/setups/{setup}/suppressions"), None, 200),
        (
            "GET",
            format!("/setups/{setup}/suppressions/{address}"),
            None,
            200,
        ),
        ("GET", format!("/use-cases/{uc}"), None, 200),
        ("GET", format!("/suppression/{uc}/{address}"), None, 200),
        ("GET", format!("/reporting?setup={setup}"), None, 200),
        ("GET", format!("/reporting?use-case={uc}"), None, 200),
        ("GET", format!("/use-cases/{uc}/tracking"), None, 200),
        ("GET", format!("/setups/{setup}/tracking-base"), None, 200),
        (
            "GET",
            format!("/reporting/engagement?use-case={uc}"),
            None,
            200,
        ),
        (
            "GET",
            format!("/reporting/link-clicks?use-case={uc}"),
            None,
            200,
        ),
        (
            "PUT",
            format!("/use-cases/{uc}/tracking"),
            Some(json!({"opens": true, "clicks": true, "scanner-window-secs": 10})),
            200,
        ),
        (
            "PUT",
            format!("/setups/{setup}/tracking-base"),
            Some(json!({"base": null})),
            200,
        ),
        ("PUT", policy_path.clone(), Some(policy.clone()), 200),
        ("POST", format!("/setups/{setup}/clear-pause"), None, 200),
        (
            "DELETE",
            format!("/setups/{setup}/suppressions/{address}"),
            None,
            200,
        ),
        (
            "PUT",
            format!("/use-cases/{uc}/list-unsubscribe"),
            Some(json!({"enabled": true})),
            200,
        ),
        ("POST", "/messages".to_string(), Some(send.clone()), 201),
        ("POST", "/use-cases".to_string(), Some(new_uc.clone()), 201),
        ("POST", format!("/setups/{setup}/rotate-dkim"), None, 200),
        ("POST", format!("/use-cases/{uc}/disable"), None, 200),
    ];
    // Every tenant route of the API's one route list is in the matrix, but
    // those the tests below check on their own (creating and listing setups,
    // verification through dnsmasq).
    let matches = |pattern: &str, path: &str| {
        let path = path.split('?').next().unwrap_or(path);
        let (p, q): (Vec<&str>, Vec<&str>) =
            (pattern.split('/').collect(), path.split('/').collect());
        p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| a.starts_with('{') || a == b)
    };
    for route in host_demo::http::ROUTES {
        let elsewhere = matches!(
            (route.method, route.path),
            ("POST" | "GET", "/setups")
                | ("POST", "/setups/{id}/verify")
                // A tracked message's view: tests/tracking_http.rs.
                | ("GET", "/messages/{id}/tracking")
        );
        if route.access == host_demo::http::Access::Tenant && !elsewhere {
            assert!(
                routes
                    .iter()
                    .any(|(m, p, _, _)| *m == route.method && matches(route.path, p)),
                "{} {} is missing from the matrix",
                route.method,
                route.path
            );
        }
    }
    let bearer = |k: &str| format!("Bearer {k}");
    let mut failures = Vec::new();
    for (method, path, body, ok) in &routes {
        let body = body.as_ref().map(|b| b.to_string().into_bytes());
        let json_type = ("Content-Type", "application/json");
        let cases: Vec<Case> = vec![
            ("no key", vec![], 401),
            (
                "a bad key",
                vec![("Authorization", bearer("mrk_0123456789abcdef"))],
                401,
            ),
            (
                "another workspace's key",
                vec![("Authorization", bearer(&key_b))],
                404,
            ),
            (
                "a revoked key",
                vec![("Authorization", bearer(&revoked))],
                401,
            ),
            (
                "the ingest secret",
                vec![("Authorization", bearer(INGEST))],
                401,
            ),
            (
                "the right key",
                vec![("Authorization", bearer(&key_a))],
                *ok,
            ),
        ];
        for (what, headers, expected) in cases {
            let mut headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            headers.push(json_type);
            let (status, answer) =
                request(&agent, method, &server.url(path), &headers, body.as_deref());
            if status != expected {
                failures.push(format!(
                    "{method} {path} with {what}: {status}, expected {expected}: {answer}"
                ));
            }
            if expected == 401 && status == 401 {
                assert!(answer["error"]["unauthorized"].is_string(), "{answer}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Listings show only the caller's own objects.
    let (status, mine) = request(
        &agent,
        "GET",
        &server.url("/setups"),
        &[("Authorization", &bearer(&key_a))],
        None,
    );
    assert_eq!(
        (status, mine.as_array().map(Vec::len)),
        (200, Some(1)),
        "{mine}"
    );
    let (status, theirs) = request(
        &agent,
        "GET",
        &server.url("/setups"),
        &[("Authorization", &bearer(&key_b))],
        None,
    );
    assert_eq!((status, theirs), (200, json!([])));
    // The admin key acts for the workspace it names, and must name one.
    let admin = bearer(ADMIN);
    let (status, _) = request(
        &agent,
        "GET",
        &server.url(&format!("/setups/{setup}")),
        &[("Authorization", &admin), ("X-Mailroom-Workspace", "ws-a")],
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = request(
        &agent,
        "GET",
        &server.url(&format!("/setups/{setup}")),
        &[("Authorization", &admin), ("X-Mailroom-Workspace", "ws-b")],
        None,
    );
    assert_eq!(status, 404);
    let (status, _) = request(
        &agent,
        "GET",
        &server.url(&format!("/setups/{setup}")),
        &[("Authorization", &admin)],
        None,
    );
    assert_eq!(status, 400);
    // A body naming another workspace is refused: the key decides.
    let (status, _) = request(
        &agent,
        "POST",
        &server.url("/setups"),
        &[
            ("Authorization", &bearer(&key_b)),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"workspace": "ws-a", "domain": "x.example"}"#),
    );
    assert_eq!(status, 400);

    // Ingest routes: the ingest secret (or the admin key), never a workspace key.
    let dsn = b"From: MAILER-DAEMON@mx.example\r\nTo: care@tenant-a.example\r\nSubject: x\r\n\r\nnothing\r\n";
    for (what, auth, expected) in [
        ("no key", None, 401),
        ("a workspace key", Some(bearer(&key_a)), 401),
        ("the ingest secret", Some(bearer(INGEST)), 200),
        ("the admin key", Some(admin.clone()), 200),
    ] {
        for path in ["/reports", "/inbound?to=care@tenant-a.example"] {
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("Authorization", a.as_str())).collect();
            let (status, answer) = request(&agent, "POST", &server.url(path), &headers, Some(dsn));
            assert_eq!(status, expected, "POST {path} with {what}: {answer}");
        }
    }
    // A refusal before the body is read says `Connection: close`, so a
    // client does not send its next request down a closing connection.
    {
        use std::io::Read;
        let mut raw = std::net::TcpStream::connect(server.base.trim_start_matches("http://"))
            .expect("connect");
        raw.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        raw.write_all(b"POST /reports HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            .expect("write");
        let mut head = [0u8; 1024];
        let n = raw.read(&mut head).expect("read");
        let head = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 401"), "{head}");
        assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
        assert!(head.contains("\r\nkeep-alive: timeout="), "{head}");
    }
    // Public routes need nothing.
    let (status, _) = request(
        &agent,
        "GET",
        &server.url("/unsubscribe/whatever"),
        &[],
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = request(
        &agent,
        "POST",
        &server.url("/unsubscribe/forged"),
        &[],
        Some(b"List-Unsubscribe=One-Click"),
    );
    assert_eq!(status, 404);
    let (status, health) = request(&agent, "GET", &server.url("/healthz"), &[], None);
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    // The request log names the caller, never a secret.
    let log = server.log.lock().expect("log").join("\n");
    assert!(log.contains("ws-a/key_"), "{log}");
    assert!(
        !log.contains(&key_a) && !log.contains(ADMIN),
        "secrets in the log"
    );
}

#[test]
fn only_the_domain_whose_records_are_published_verifies() {
    let Some(dnsmasq) = dnsmasq() else {
        eprintln!("NOT RUN: dnsmasq is not installed (apt-get install dnsmasq-base)");
        return;
    };
    let dir = temp_dir("auth-race");
    let port = free_port();
    let config = settings(
        &dir,
        &format!("nameserver = \"127.0.0.1:{port}\""),
        "pending-ttl-secs = 40\nsetups-per-minute = 1000",
    );
    let (owner, _) = make_key(&config, "ws-owner");
    let (rival, _) = make_key(&config, "ws-rival");
    let server = Server::start(&config);
    let agent = agent();
    let create = |key: &str| {
        let (status, setup) = request(
            &agent,
            "POST",
            &server.url("/setups"),
            &[
                ("Authorization", &format!("Bearer {key}")),
                ("Content-Type", "application/json"),
            ],
            Some(br#"{"domain": "contested.example"}"#),
        );
        assert_eq!(status, 201, "{setup}");
        setup
    };
    let owned = create(&owner);
    let rivals = create(&rival);
    assert_eq!(owned["status"], "pending");
    assert_eq!(
        rivals["status"], "pending",
        "a pending setup does not lock the domain"
    );
    let verify = |key: &str, id: &str, body: Option<&[u8]>| {
        request(
            &agent,
            "POST",
            &server.url(&format!("/setups/{id}/verify")),
            &[
                ("Authorization", &format!("Bearer {key}")),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    };
    // Forged answers: refused, whatever they say.
    let forged = json!({"answers": []}).to_string();
    let (status, answer) = verify(
        &rival,
        rivals["id"].as_str().expect("id"),
        Some(forged.as_bytes()),
    );
    assert_eq!(status, 400, "{answer}");
    // Only the owner's records are published.
    let _dns = Dns::start(
        &dnsmasq,
        &dir,
        port,
        &["contested.example"],
        owned["records"].as_array().expect("records"),
    );
    let (status, v) = verify(&rival, rivals["id"].as_str().expect("id"), None);
    assert_eq!(status, 200, "{v}");
    assert_ne!(v["setup"]["status"], "verified", "{v}");
    let (status, v) = verify(&owner, owned["id"].as_str().expect("id"), None);
    assert_eq!(
        (status, &v["setup"]["status"]),
        (200, &json!("verified")),
        "{v}"
    );
    // The rival's pending setup expires; it can no longer verify.
    let expires_at = rivals["expires-at"].as_u64().expect("expires-at");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    std::thread::sleep(Duration::from_secs(expires_at.saturating_sub(now) + 1));
    let rival_id = rivals["id"].as_str().expect("id");
    let (status, shown) = request(
        &agent,
        "GET",
        &server.url(&format!("/setups/{rival_id}")),
        &[("Authorization", &format!("Bearer {rival}"))],
        None,
    );
    assert_eq!(
        (status, &shown["status"]),
        (200, &json!("expired")),
        "{shown}"
    );
    let (status, v) = verify(&rival, rival_id, None);
    assert_eq!(status, 409, "{v}");
    assert!(v["error"]["expired"].is_string(), "{v}");
    // A new setup for a verified domain is taken.
    let (status, taken) = request(
        &agent,
        "POST",
        &server.url("/setups"),
        &[
            ("Authorization", &format!("Bearer {rival}")),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"domain": "contested.example"}"#),
    );
    assert_eq!(status, 409, "{taken}");
}

#[test]
fn one_tenant_cannot_stall_another_and_slow_clients_are_cut() {
    let dir = temp_dir("auth-bounds");
    let config = settings(
        &dir,
        "",
        "header-timeout-ms = 1500\nsetups-per-minute = 4\nmax-calls = 4",
    );
    let (noisy, _) = make_key(&config, "ws-noisy");
    let (quiet, _) = make_key(&config, "ws-quiet");
    let server = Server::start(&config);
    let base = server.url("");
    // 20 setup creations at once from one workspace.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (noisy, base) = (noisy.clone(), base.clone());
                scope.spawn(move || {
                    let body = format!("{{\"domain\": \"n{i}.example\"}}");
                    request(
                        &agent(),
                        "POST",
                        &format!("{base}/setups"),
                        &[
                            ("Authorization", &format!("Bearer {noisy}")),
                            ("Content-Type", "application/json"),
                        ],
                        Some(body.as_bytes()),
                    )
                    .0
                })
            })
            .collect();
        // Meanwhile another workspace answers within a second.
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let (status, _) = request(
            &agent(),
            "GET",
            &format!("{base}/setups"),
            &[("Authorization", &format!("Bearer {quiet}"))],
            None,
        );
        let quiet_took = started.elapsed();
        assert_eq!(status, 200);
        assert!(
            quiet_took < Duration::from_secs(1),
            "the quiet tenant waited {quiet_took:?}"
        );
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(created + limited, 20, "{statuses:?}");
    assert!(limited >= 15, "{statuses:?}");

    // Clients that send a header byte a second are disconnected.
    let address = server.base.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let mut slow: Vec<std::net::TcpStream> = (0..50)
        .map(|_| std::net::TcpStream::connect(&address).expect("connect"))
        .collect();
    let mut open = slow.len();
    while open > 0 && started.elapsed() < Duration::from_secs(10) {
        open = 0;
        for stream in &mut slow {
            if stream.write_all(b"X").is_ok() && stream.flush().is_ok() {
                open += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(1000));
    }
    assert_eq!(
        open,
        0,
        "slow clients still open after {:?}",
        started.elapsed()
    );
}

#[test]
fn hostile_inbound_load_stays_within_the_ceilings() {
    let dir = temp_dir("auth-load");
    let config = settings(
        &dir,
        "",
        &format!("ingest-secret = \"{INGEST}\"\nmax-calls = 4"),
    );
    let server = Server::start(&config);
    // 300,000 tiny parts in 12 MB, asking for a million.
    let mut raw = String::from(
        "From: a@b.example\r\nTo: care@x.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
    );
    for _ in 0..300_000 {
        raw.push_str("--b\r\n\r\nx\r\n");
    }
    raw.push_str("--b--\r\n");
    let raw = raw.into_bytes();
    let (baseline, _) = server.rss_kib().unwrap_or((0, 0));
    let url = server.url("/inbound?max-parts=1000000&to=care@x.example");
    let statuses: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (url, raw) = (url.clone(), raw.clone());
                scope.spawn(move || {
                    request(
                        &agent(),
                        "POST",
                        &url,
                        &[("Authorization", &format!("Bearer {INGEST}"))],
                        Some(&raw),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for (status, answer) in &statuses {
        assert_eq!(*status, 413, "{answer}");
        assert_eq!(
            answer["error"]["parse"]["limit-exceeded"]["limit"], "max-parts",
            "{answer}"
        );
    }
    let (now, peak) = server.rss_kib().unwrap_or((0, 0));
    eprintln!("server RSS: baseline {baseline} KiB, peak {peak} KiB, after {now} KiB");
    // The bound: max-calls × (a body of at most max-bytes + the call's own
    // working set) over the baseline; here far below, since the ceiling
    // stops the parse at 5,000 parts.
    assert!(
        peak < baseline + 4 * 200 * 1024,
        "peak {peak} KiB over baseline {baseline} KiB"
    );
}
