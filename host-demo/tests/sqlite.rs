//! The SQLite store: the semantics of `MemoryStore` (checked case by case
//! and against it on random operations), durability when writer processes
//! are killed with SIGKILL mid-write, and a whole channel on SQLite through
//! `Config`, reopened by a second `Mailroom`.
//!
//! Needs the component: `cargo build -p guest --target wasm32-wasip2 --release`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use host_demo::config::{Config, StoreKind};
use host_demo::host::sqlite::SqliteStore;
use host_demo::host::store::{Expect, StoreError};
use host_demo::inbound::Envelope;
use host_demo::{
    Limits, MemoryStore, Recipient, Resolution, SendRequest, SetupOptions, SetupStatus, SplitMix64,
    Store, UseCaseType, Zone,
};

/// Selects the writer mode of this test binary (see [`writer_child`]).
const WRITER_ENV: &str = "MAILROOM_SQLITE_TEST_WRITER";

/// A fresh directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailroom-sqlite-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir.join("mailroom.sqlite3")).expect("the store opens")
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

#[test]
fn versions_start_at_one_and_grow() {
    let dir = temp_dir("versions");
    let mut s = open(&dir);
    assert_eq!(s.put("k", b"a", Expect::Absent), Ok(1));
    assert!(conflict(s.put("k", b"b", Expect::Absent)));
    assert!(conflict(s.put("k", b"b", Expect::Version(2))));
    assert_eq!(s.put("k", b"b", Expect::Version(1)), Ok(2));
    assert_eq!(s.put("k", b"c", Expect::Any), Ok(3));
    assert!(conflict(s.put("new", b"x", Expect::Version(1))));
    let entry = s.get("k").expect("get").expect("present");
    assert_eq!((entry.value, entry.version), (b"c".to_vec(), 3));
    assert_eq!(s.get("missing"), Ok(None));
    assert_eq!(s.get("new"), Ok(None), "a failed put writes nothing");

    // Values are bytes, stored exactly; the empty value is a value.
    let binary: Vec<u8> = (0..=255).collect();
    assert_eq!(s.put("bin", &binary, Expect::Absent), Ok(1));
    assert_eq!(s.get("bin").expect("get").expect("present").value, binary);
    assert_eq!(s.put("empty", b"", Expect::Absent), Ok(1));
    assert_eq!(
        s.get("empty").expect("get").expect("present").value,
        Vec::<u8>::new()
    );

    // The same answers after reopening.
    drop(s);
    let mut s = open(&dir);
    let entry = s.get("k").expect("get").expect("present");
    assert_eq!((entry.value, entry.version), (b"c".to_vec(), 3));
    assert_eq!(s.put("k", b"d", Expect::Version(3)), Ok(4));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn delete_checks_its_expectation() {
    let dir = temp_dir("delete");
    let mut s = open(&dir);
    assert_eq!(s.delete("k", Expect::Absent), Ok(()));
    assert_eq!(s.delete("k", Expect::Any), Ok(()));
    assert!(conflict(s.delete("k", Expect::Version(1))));
    s.put("k", b"a", Expect::Absent).expect("put");
    assert!(conflict(s.delete("k", Expect::Absent)));
    assert!(conflict(s.delete("k", Expect::Version(2))));
    assert!(s.get("k").expect("get").is_some(), "a failed delete keeps");
    assert_eq!(s.delete("k", Expect::Version(1)), Ok(()));
    assert_eq!(s.get("k"), Ok(None));
    // A key written again after a delete starts over at version 1.
    assert_eq!(s.put("k", b"b", Expect::Absent), Ok(1));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn list_pages_by_prefix_in_byte_order() {
    let dir = temp_dir("list");
    let mut s = open(&dir);
    for key in ["b/2", "a/1", "b/1", "b/10", "b/Z", "b\u{e9}", "c", "b/"] {
        s.put(key, b"", Expect::Any).expect("put");
    }
    let page = s.list("b/", None, 2).expect("list");
    assert_eq!(page.keys, ["b/", "b/1"]);
    assert_eq!(page.cursor.as_deref(), Some("b/1"));
    let page = s.list("b/", page.cursor.as_deref(), 2).expect("list");
    assert_eq!(page.keys, ["b/10", "b/2"]);
    let page = s.list("b/", page.cursor.as_deref(), 2).expect("list");
    assert_eq!(page.keys, ["b/Z"]);
    assert_eq!(page.cursor, None);

    let all = s.list("", None, 100).expect("list");
    assert_eq!(
        all.keys,
        ["a/1", "b/", "b/1", "b/10", "b/2", "b/Z", "b\u{e9}", "c"]
    );
    assert_eq!(all.cursor, None);
    // Exactly `limit` keys left: no cursor.
    assert_eq!(s.list("b/", Some("b/2"), 1).expect("list").cursor, None);
    // A cursor before the prefix starts at the prefix.
    assert_eq!(s.list("b/", Some("a"), 1).expect("list").keys, ["b/"]);
    // A cursor after every key of the prefix gives an empty last page.
    let page = s.list("b/", Some("zz"), 5).expect("list");
    assert!(page.keys.is_empty() && page.cursor.is_none());
    assert!(matches!(s.list("", None, 0), Err(StoreError::Other(_))));
    // SQL wildcards in a prefix are plain characters.
    s.put("b%x", b"", Expect::Any).expect("put");
    s.put("b_x", b"", Expect::Any).expect("put");
    assert_eq!(s.list("b%", None, 10).expect("list").keys, ["b%x"]);
    assert_eq!(s.list("b_", None, 10).expect("list").keys, ["b_x"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// A key from a small alphabet that makes prefixes, shared stems and
/// non-ASCII bytes likely.
fn random_key(rng: &mut SplitMix64) -> String {
    const PARTS: [&str; 8] = ["a", "b", "/", "ab", "\u{e9}", "z", "0", "%"];
    let n = 1 + rng.next_u64() % 4;
    (0..n)
        .map(|_| PARTS[(rng.next_u64() % PARTS.len() as u64) as usize])
        .collect()
}

#[test]
fn random_operations_answer_as_the_memory_store_does() {
    let dir = temp_dir("differential");
    let mut sqlite = open(&dir);
    let mut memory = MemoryStore::new();
    let mut rng = SplitMix64::new(7);
    for step in 0..3000 {
        let key = random_key(&mut rng);
        let expect = match rng.next_u64() % 4 {
            0 => Expect::Absent,
            1 => Expect::Any,
            _ => Expect::Version(rng.next_u64() % 4),
        };
        match rng.next_u64() % 5 {
            0 | 1 => {
                let len = (rng.next_u64() % 8) as usize;
                let value = rng.bytes(len);
                assert_eq!(
                    sqlite.put(&key, &value, expect),
                    memory.put(&key, &value, expect),
                    "step {step}: put {key:?} {expect:?}"
                );
            }
            2 => assert_eq!(
                sqlite.delete(&key, expect),
                memory.delete(&key, expect),
                "step {step}: delete {key:?} {expect:?}"
            ),
            3 => assert_eq!(
                sqlite.get(&key),
                memory.get(&key),
                "step {step}: get {key:?}"
            ),
            _ => {
                let cursor = rng
                    .next_u64()
                    .is_multiple_of(2)
                    .then(|| random_key(&mut rng));
                let prefix: String = key.chars().take(1).collect();
                let limit = (rng.next_u64() % 5) as u32;
                assert_eq!(
                    sqlite.list(&prefix, cursor.as_deref(), limit),
                    memory.list(&prefix, cursor.as_deref(), limit),
                    "step {step}: list {prefix:?} after {cursor:?}, {limit}"
                );
            }
        }
    }
    let all = |s: &mut dyn Store| {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = s.list("", cursor.as_deref(), 3).expect("list");
            keys.extend(page.keys);
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break keys,
            }
        }
    };
    let keys = all(&mut memory);
    assert!(keys.len() > 20, "{keys:?}");
    assert_eq!(all(&mut sqlite), keys);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// Not a test on its own: with [`WRITER_ENV`] set to `<db>;<name>`, writes
/// `<name>/<n>` for n = 0, 1, … and increments the shared key `counter`
/// (read, then write with `Version`, again on conflict), printing `ack n`
/// once both returned, until killed.
#[test]
fn writer_child() {
    use std::io::Write;
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (db, name) = spec.split_once(';').expect("<db>;<name>");
    let mut store = SqliteStore::open(db).expect("the store opens");
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let value = format!("{name} wrote {n}");
        // A write that was not acknowledged may be tried again, as a client
        // does after a 503: on a loaded machine three writers can keep one
        // waiting past the busy timeout.
        loop {
            match store.put(&format!("{name}/{n:08}"), value.as_bytes(), Expect::Absent) {
                Ok(_) => break,
                Err(StoreError::Unavailable(_)) => continue,
                Err(e) => panic!("put: {e:?}"),
            }
        }
        loop {
            let current = match store.get("counter") {
                Ok(current) => current,
                Err(StoreError::Unavailable(_)) => continue,
                Err(e) => panic!("get: {e:?}"),
            };
            let (count, expect) = match current {
                Some(entry) => (
                    String::from_utf8(entry.value)
                        .expect("UTF-8")
                        .parse::<u64>()
                        .expect("a count"),
                    Expect::Version(entry.version),
                ),
                None => (0, Expect::Absent),
            };
            match store.put("counter", (count + 1).to_string().as_bytes(), expect) {
                Ok(_) => break,
                Err(StoreError::Conflict(_) | StoreError::Unavailable(_)) => continue,
                Err(e) => panic!("counter: {e:?}"),
            }
        }
        writeln!(out, "ack {n}").expect("stdout");
        out.flush().expect("stdout");
    }
}

/// This test binary, running only [`writer_child`] in writer mode.
fn spawn_writer(db: &Path, name: &str) -> Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
        .env(WRITER_ENV, format!("{};{name}", db.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the writer starts")
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = temp_dir("sigkill");
    let db = dir.join("mailroom.sqlite3");
    let mut total_acked = 0u64;
    for round in 0..3 {
        let names: Vec<String> = (0..3).map(|w| format!("r{round}w{w}")).collect();
        let mut children: Vec<Child> = names.iter().map(|n| spawn_writer(&db, n)).collect();
        // Each writer's acknowledgements, read on a thread per writer; the
        // count so far is shared so the kill waits until all are writing.
        let progress: Vec<Arc<AtomicU64>> =
            names.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
        let readers: Vec<_> = children
            .iter_mut()
            .zip(&progress)
            .map(|(child, count)| {
                let stdout = child.stdout.take().expect("stdout");
                let count = Arc::clone(count);
                std::thread::spawn(move || {
                    let mut acked: Option<u64> = None;
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if let Some(n) = line.strip_prefix("ack ") {
                            let n = n.parse().expect("a number");
                            acked = Some(n);
                            count.store(n + 1, Ordering::SeqCst);
                        }
                    }
                    acked
                })
            })
            .collect();
        // Kill at a different moment each round, while they are all writing
        // (on a loaded machine a writer may take seconds to start).
        let started = Instant::now();
        while progress.iter().any(|c| c.load(Ordering::SeqCst) < 5) {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the writers did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100 + 150 * round));
        for child in &mut children {
            child.kill().expect("SIGKILL");
        }
        for child in &mut children {
            let status = child.wait().expect("reaped");
            assert!(!status.success(), "the writer was killed: {status:?}");
        }

        let mut store = SqliteStore::open(&db).expect("the store reopens after SIGKILL");
        for (name, reader) in names.iter().zip(readers) {
            let acked = reader.join().expect("reader");
            let Some(last) = acked else {
                panic!("{name} acknowledged nothing in time");
            };
            for n in 0..=last {
                let entry = store
                    .get(&format!("{name}/{n:08}"))
                    .expect("get")
                    .unwrap_or_else(|| panic!("{name}/{n} was acknowledged but is lost"));
                assert_eq!(entry.value, format!("{name} wrote {n}").into_bytes());
                assert_eq!(entry.version, 1);
            }
            total_acked += last + 1;
        }
        // Every acknowledged increment counted; at most one unacknowledged
        // increment per killed writer beyond.
        let counter = store.get("counter").expect("get").expect("counter");
        let count: u64 = String::from_utf8(counter.value)
            .expect("UTF-8")
            .parse()
            .expect("a count");
        assert_eq!(counter.version, count, "one version per increment");
        assert!(
            (total_acked..=total_acked + 3 * (round + 1)).contains(&count),
            "counter {count}, acknowledged {total_acked}"
        );
    }
    let conn = rusqlite::Connection::open(&db).expect("sqlite opens");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    drop(conn);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_channel_on_sqlite_survives_a_restart() {
    let dir = temp_dir("channel");
    let config = Config {
        data_dir: dir.clone(),
        store: StoreKind::Sqlite,
        ..Config::default()
    };
    let options = SetupOptions {
        inbound_host: config.inbound_host.clone(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
        bounce_domain: None,
    };

    let (setup, use_case, sent) = {
        let mailroom = config.mailroom().expect("a channel");
        let setup = mailroom
            .create_setup("ws-sqlite", "durable-clinic.example", &options)
            .expect("no trap")
            .expect("a setup");
        let zone = Zone::publishing(&setup.records).expect("a zone");
        let verification = mailroom
            .verify_setup_with("ws-sqlite", &setup.id, &zone)
            .expect("no trap")
            .expect("checked");
        assert_eq!(verification.setup.status, SetupStatus::Verified);
        let use_case = mailroom
            .create_use_case(
                "ws-sqlite",
                &setup.id,
                "care@durable-clinic.example",
                UseCaseType::Transactional,
                "Durable Clinic",
                "Care",
            )
            .expect("no trap")
            .expect("a use case");
        let sent = mailroom
            .send(
                "ws-sqlite",
                &SendRequest {
                    use_case: use_case.id.clone(),
                    to: vec![Recipient {
                        name: None,
                        address: "pat@patient.example".to_string(),
                    }],
                    cc: vec![],
                    subject: "Stored".to_string(),
                    text: Some("Kept on disk.\r\n".to_string()),
                    html: None,
                    attachments: vec![],
                    in_reply_to: None,
                    idempotency_key: None,
                },
            )
            .expect("no trap")
            .expect("sent");
        (verification.setup, use_case, sent)
    };
    assert!(dir.join("mailroom.sqlite3").is_file());

    // Without a relay, the message is in the Maildir outbox, signed.
    let new: Vec<PathBuf> = std::fs::read_dir(dir.join("outbox/new"))
        .expect("outbox")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(new.len(), 1);
    let raw = String::from_utf8(std::fs::read(&new[0]).expect("read")).expect("UTF-8");
    assert!(raw.starts_with("DKIM-Signature: "), "{raw}");
    assert!(raw.contains(&format!("Message-ID: <{}>", sent.message_id)));

    // A second channel on the same data directory sees it all.
    let again = config.mailroom().expect("a second channel");
    assert_eq!(
        again.get_setup("ws-sqlite", &setup.id).expect("no trap"),
        Ok(setup.clone())
    );
    assert_eq!(
        again
            .get_use_case("ws-sqlite", &use_case.id)
            .expect("no trap"),
        Ok(use_case.clone())
    );
    assert_eq!(
        again
            .list_use_cases("ws-sqlite", &setup.id)
            .expect("no trap"),
        Ok(vec![use_case.clone()])
    );
    assert!(matches!(
        again
            .create_setup("ws-other", "durable-clinic.example", &options)
            .expect("no trap"),
        Err(host_demo::SetupError::DomainTaken(_))
    ));
    // A reply threads onto the message the first channel sent.
    let reply = format!(
        "From: Pat <pat@patient.example>\r\nTo: care@durable-clinic.example\r\n\
         Subject: Re: Stored\r\nMessage-ID: <pat-9@patient.example>\r\n\
         In-Reply-To: <{}>\r\n\r\nThanks\r\n",
        sent.message_id
    );
    let received = again
        .receive(
            reply.as_bytes(),
            &Envelope {
                mail_from: Some("pat@patient.example".to_string()),
                rcpt_to: vec!["care@durable-clinic.example".to_string()],
            },
            Limits::default(),
        )
        .expect("no trap")
        .expect("received");
    match received.resolution {
        Resolution::Matched(a) => assert_eq!(a.thread_id, sent.thread_id),
        Resolution::Unmatched(why) => panic!("not matched: {why}"),
    }
    drop(again);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn two_channels_share_one_database() {
    let dir = temp_dir("shared");
    let config = Config {
        data_dir: dir.clone(),
        store: StoreKind::Sqlite,
        ..Config::default()
    };
    let options = SetupOptions {
        inbound_host: config.inbound_host.clone(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
        bounce_domain: None,
    };
    let first = config.mailroom().expect("a channel");
    let second = config.mailroom().expect("another channel");
    let start = Instant::now();
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = [&first, &second]
            .into_iter()
            .enumerate()
            .flat_map(|(c, m)| {
                let options = &options;
                (0..4).map(move |i| (c, i, m, options))
            })
            .map(|(c, i, m, options)| {
                scope.spawn(move || {
                    m.create_setup("ws-sqlite", &format!("d{c}-{i}.example"), options)
                        .expect("no trap")
                        .expect("a setup")
                        .id
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(start.elapsed() < Duration::from_secs(60));
    for id in &ids {
        assert!(
            first.get_setup("ws-sqlite", id).expect("no trap").is_ok(),
            "{id}"
        );
        assert!(
            second.get_setup("ws-sqlite", id).expect("no trap").is_ok(),
            "{id}"
        );
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_store_in_a_missing_directory_is_created() {
    let dir = temp_dir("nested");
    let path = dir.join("a/b/mailroom.sqlite3");
    let mut s = SqliteStore::open(&path).expect("opens");
    assert_eq!(s.put("k", b"v", Expect::Absent), Ok(1));
    assert_eq!(s.path(), path);
    // Not a database: a clear error naming the file.
    let bogus = dir.join("bogus.sqlite3");
    std::fs::write(
        &bogus,
        b"this is not an SQLite database, just some text....",
    )
    .expect("write");
    let e = SqliteStore::open(&bogus).expect_err("not a database");
    assert!(format!("{e:#}").contains("bogus.sqlite3"), "{e:#}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}
