//! One store conformance suite, run on every `Store` the host offers:
//! `MemoryStore` (the reference), `SqliteStore` and `PostgresStore` on a
//! real PostgreSQL server (`support_pg`). Versions, conflicts, deletes,
//! cursor paging, the byte order of keys, binary values, and two handles
//! racing on one key: exactly one write of each round wins.
//!
//! PostgreSQL also faces bad input: a wrong URL, the server going away
//! mid-run (`unavailable`, then answers again once it is back, nothing
//! half-written) and a schema from a newer host (refused, clearly).

mod common;
mod support_pg;

use std::path::PathBuf;

use host_demo::host::postgres::PostgresStore;
use host_demo::host::sqlite::SqliteStore;
use host_demo::host::store::{Expect, StoreError};
use host_demo::{MemoryStore, Store};

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

/// The whole suite on fresh stores from `open` (each call an empty store,
/// or for [`racing`], a second handle on the same one).
fn suite(name: &str, open: &mut dyn FnMut() -> Box<dyn Store>) {
    versions(&mut *open());
    deletes(&mut *open());
    paging(&mut *open());
    byte_order(&mut *open());
    values(&mut *open());
    eprintln!("{name}: conformance suite passed");
}

fn versions(s: &mut dyn Store) {
    assert_eq!(s.put("k", b"a", Expect::Absent), Ok(1));
    assert!(conflict(s.put("k", b"b", Expect::Absent)));
    assert!(conflict(s.put("k", b"b", Expect::Version(2))));
    assert!(conflict(s.put("k", b"b", Expect::Version(0))));
    assert_eq!(s.put("k", b"b", Expect::Version(1)), Ok(2));
    assert_eq!(s.put("k", b"c", Expect::Any), Ok(3));
    assert_eq!(s.put("fresh", b"x", Expect::Any), Ok(1));
    assert!(conflict(s.put("new", b"x", Expect::Version(1))));
    let entry = s.get("k").expect("get").expect("present");
    assert_eq!((entry.value, entry.version), (b"c".to_vec(), 3));
    assert_eq!(s.get("missing"), Ok(None));
    assert_eq!(s.get("new"), Ok(None), "a failed put writes nothing");
    let unchanged = s.get("k").expect("get").expect("present");
    assert_eq!(unchanged.version, 3, "a failed put changes nothing");
}

fn deletes(s: &mut dyn Store) {
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
    assert_eq!(s.delete("k", Expect::Any), Ok(()));
    assert_eq!(s.get("k"), Ok(None));
}

fn paging(s: &mut dyn Store) {
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

    // 250 keys in pages of 7: each once, in order, the last page without a
    // cursor.
    for i in 0..250 {
        s.put(&format!("p/{i:04}"), b"v", Expect::Absent)
            .expect("put");
    }
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = s.list("p/", cursor.as_deref(), 7).expect("list");
        assert!(page.keys.len() <= 7);
        seen.extend(page.keys);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = (0..250).map(|i| format!("p/{i:04}")).collect();
    assert_eq!(seen, expected);
}

/// Byte order, not a collation's: capitals before small letters, `-` `.`
/// `/` in ASCII order, and code points above U+FFFF after U+FF61 (UTF-16
/// would put them before).
fn byte_order(s: &mut dyn Store) {
    let keys = [
        "k/\u{10000}",
        "k/a",
        "k/B",
        "k/a.b",
        "k/a-b",
        "k/a/b",
        "k/\u{ff61}",
        "k/\u{e9}",
        "k/e",
        "k/Z",
        "k/ ",
    ];
    for key in keys {
        s.put(key, key.as_bytes(), Expect::Absent).expect("put");
    }
    let mut expected: Vec<&str> = keys.to_vec();
    expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let listed = s.list("k/", None, 100).expect("list").keys;
    assert_eq!(listed, expected);
    // Paging one at a time gives the same order.
    let (mut one_by_one, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = s.list("k/", cursor.as_deref(), 1).expect("list");
        one_by_one.extend(page.keys);
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(one_by_one, expected);
    // A prefix of several bytes of one character.
    assert_eq!(
        s.list("k/\u{ff61}", None, 10).expect("list").keys,
        ["k/\u{ff61}"]
    );
}

fn values(s: &mut dyn Store) {
    let binary: Vec<u8> = (0..=255).collect();
    assert_eq!(s.put("bin", &binary, Expect::Absent), Ok(1));
    assert_eq!(s.get("bin").expect("get").expect("present").value, binary);
    assert_eq!(s.put("empty", b"", Expect::Absent), Ok(1));
    assert_eq!(
        s.get("empty").expect("get").expect("present").value,
        Vec::<u8>::new()
    );
    let big = vec![0x5a; 3 * 1024 * 1024];
    assert_eq!(s.put("big", &big, Expect::Any), Ok(1));
    assert_eq!(s.get("big").expect("get").expect("present").value, big);
}

/// Two handles on one store race read-modify-writes of one counter: every
/// round exactly one wins, and nothing is lost.
fn racing(a: Box<dyn Store>, b: Box<dyn Store>) {
    let increments = |mut s: Box<dyn Store>| {
        std::thread::spawn(move || {
            let mut conflicts = 0;
            for _ in 0..200 {
                loop {
                    let (n, expect) = match s.get("counter").expect("get") {
                        Some(e) => (
                            String::from_utf8(e.value)
                                .expect("text")
                                .parse::<u64>()
                                .expect("number"),
                            Expect::Version(e.version),
                        ),
                        None => (0, Expect::Absent),
                    };
                    match s.put("counter", (n + 1).to_string().as_bytes(), expect) {
                        Ok(_) => break,
                        Err(StoreError::Conflict(_)) => conflicts += 1,
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            (s, conflicts)
        })
    };
    let (first, second) = (increments(a), increments(b));
    let (mut s, c1) = first.join().expect("first");
    let (_, c2) = second.join().expect("second");
    let entry = s.get("counter").expect("get").expect("present");
    assert_eq!(entry.value, b"400");
    assert_eq!(entry.version, 400);
    eprintln!("racing: 400 increments, {} conflicts retried", c1 + c2);
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir(&format!("conformance-{name}"))
}

#[test]
fn memory_store_conforms() {
    suite("memory", &mut || {
        Box::new(MemoryStore::new()) as Box<dyn Store>
    });
}

#[test]
fn sqlite_store_conforms() {
    let dir = temp_dir("sqlite");
    let mut n = 0;
    suite("sqlite", &mut || {
        n += 1;
        Box::new(SqliteStore::open(dir.join(format!("{n}.sqlite3"))).expect("open"))
            as Box<dyn Store>
    });
    let path = dir.join("race.sqlite3");
    racing(
        Box::new(SqliteStore::open(&path).expect("open")),
        Box::new(SqliteStore::open(&path).expect("open")),
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn postgres_store_conforms() {
    let Some(pg) = support_pg::Postgres::start("conformance") else {
        return;
    };
    let mut n = 0;
    suite("postgres", &mut || {
        n += 1;
        let url = pg.database(&format!("suite{n}"));
        Box::new(PostgresStore::connect(&url, 2).expect("connect")) as Box<dyn Store>
    });
    let url = pg.database("race");
    racing(
        Box::new(PostgresStore::connect(&url, 1).expect("connect")),
        Box::new(PostgresStore::connect(&url, 1).expect("connect")),
    );
    // One pool, many threads at once (each its own fork).
    let url = pg.database("race_forks");
    let shared = PostgresStore::connect(&url, 4).expect("connect");
    racing(
        shared.fork().expect("a fork"),
        shared.fork().expect("a fork"),
    );
}

#[test]
fn postgres_refuses_bad_urls_and_survives_the_server_going_away() {
    let Some(pg) = support_pg::Postgres::start("bad") else {
        return;
    };
    // Not a URL, a closed port, an unknown database: errors, not hangs.
    let e = PostgresStore::connect("postgres://[nonsense", 1).expect_err("bad URL");
    assert!(format!("{e:#}").contains("postgres-url"), "{e:#}");
    let closed = support_pg::free_port();
    let e = PostgresStore::connect(&format!("postgres://mailroom@127.0.0.1:{closed}/x"), 1)
        .expect_err("closed port");
    assert!(format!("{e:#}").contains("PostgreSQL"), "{e:#}");
    let e = PostgresStore::connect(&pg.url("nosuchdb"), 1).expect_err("unknown db");
    assert!(format!("{e:#}").contains("postgres-url"), "{e:#}");

    let url = pg.database("away");
    let mut s = PostgresStore::connect(&url, 2).expect("connect");
    assert_eq!(s.put("k", b"one", Expect::Absent), Ok(1));
    pg.stop();
    match s.put("k", b"two", Expect::Version(1)) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(matches!(s.get("k"), Err(StoreError::Unavailable(_))));
    pg.restart();
    // Broken connections are replaced; the failed write wrote nothing.
    let mut answered = None;
    for _ in 0..50 {
        match s.get("k") {
            Ok(entry) => {
                answered = entry;
                break;
            }
            Err(StoreError::Unavailable(_)) => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    let entry = answered.expect("the store answers again");
    assert_eq!((entry.value, entry.version), (b"one".to_vec(), 1));
    assert_eq!(s.put("k", b"two", Expect::Version(1)), Ok(2));
}

#[test]
fn postgres_refuses_a_newer_schema() {
    let Some(pg) = support_pg::Postgres::start("schema") else {
        return;
    };
    let url = pg.database("schema");
    // A new database: migrate creates the schema, then finds it current.
    let first = host_demo::host::postgres::migrate(&url).expect("migrate");
    assert!(first.contains("was at version 0"), "{first}");
    let again = host_demo::host::postgres::migrate(&url).expect("migrate again");
    assert!(again.contains("nothing to do"), "{again}");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    client
        .batch_execute("UPDATE mailroom_schema SET version = 99")
        .expect("pretend a newer host migrated");
    let e = PostgresStore::connect(&url, 1).expect_err("a newer schema is refused");
    let text = format!("{e:#}");
    assert!(
        text.contains("version 99") && text.contains("newer"),
        "{text}"
    );
}
