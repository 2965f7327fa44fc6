//! The pooling instance allocator keeps each call's caps: a call that grows
//! linear memory past the cap, or runs past the time cap, fails with a
//! typed [`CapExceeded`] (with the pool and without), the slot it held is
//! reused cleanly by the next call, and more concurrent calls than slots
//! wait instead of failing.

use std::time::Duration;

use host_demo::{CapExceeded, InstancePool, Limits, Mailroom};

const SMALL: &[u8] = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\
Message-ID: <1@example.com>\r\n\r\nHello.\r\n";

const CAP: usize = 32 * 1024 * 1024;

/// A 48 MiB message: more than the 32 MiB cap just to hold it.
fn big_message() -> Vec<u8> {
    let mut raw = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n\
Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    let line = [b"QUFB".repeat(19).as_slice(), b"\r\n"].concat();
    while raw.len() < 48 * 1024 * 1024 {
        raw.extend_from_slice(&line);
    }
    raw
}

fn channel(pool: InstancePool) -> Mailroom {
    Mailroom::builder()
        .max_memory(CAP)
        .instance_pool(pool)
        .build()
        .expect("the component loads")
}

fn memory_cap_fails_typed(mailroom: &Mailroom) {
    let err = mailroom
        .parse(&big_message(), Limits::default())
        .expect_err("over the memory cap");
    match err.downcast_ref::<CapExceeded>() {
        Some(CapExceeded::Memory { cap, requested }) => {
            assert_eq!(*cap, CAP);
            assert!(*requested > CAP, "{requested}");
        }
        other => panic!("expected CapExceeded::Memory, got {other:?}: {err:#}"),
    }
    assert!(format!("{err:#}").contains("memory cap 32 MiB"), "{err:#}");
    // The slot is reset: the next calls parse as on a fresh instance.
    for _ in 0..3 {
        let parsed = mailroom
            .parse(SMALL, Limits::default())
            .expect("no trap")
            .expect("parses");
        assert_eq!(parsed.subject.as_deref(), Some("hi"));
    }
}

#[test]
fn a_call_over_the_memory_cap_fails_typed_with_the_pool() {
    memory_cap_fails_typed(&channel(InstancePool::Pooling {
        instances: 2,
        keep_resident: 1024 * 1024,
        max_memory: CAP,
    }));
}

#[test]
fn a_call_over_the_memory_cap_fails_typed_without_the_pool() {
    memory_cap_fails_typed(&channel(InstancePool::OnDemand));
}

#[test]
fn a_call_over_the_time_cap_fails_typed() {
    let mailroom = Mailroom::builder()
        .max_call_time(Duration::from_millis(10))
        .build()
        .expect("the component loads");
    let mut raw =
        b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n".to_vec();
    for _ in 0..2_000_000 {
        raw.extend_from_slice(b"--p\r\nX: y\r\n\r\nz\r\n");
    }
    let limits = Limits {
        max_bytes: Some(u64::MAX),
        max_depth: None,
        max_parts: Some(u32::MAX),
    };
    let err = mailroom.parse(&raw, limits).expect_err("over the time cap");
    assert_eq!(
        err.downcast_ref::<CapExceeded>(),
        Some(&CapExceeded::Time { cap_ms: 10 }),
        "{err:#}"
    );
}

#[test]
fn more_concurrent_calls_than_slots_wait_for_one() {
    let mailroom = channel(InstancePool::Pooling {
        instances: 2,
        keep_resident: 1024 * 1024,
        max_memory: CAP,
    });
    std::thread::scope(|s| {
        let calls: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..10 {
                        mailroom
                            .parse(SMALL, Limits::default())
                            .expect("no trap")
                            .expect("parses");
                    }
                })
            })
            .collect();
        for call in calls {
            call.join().expect("no panic");
        }
    });
}

#[test]
fn a_cap_larger_than_the_pool_slots_is_refused() {
    let base = channel(InstancePool::Pooling {
        instances: 1,
        keep_resident: 0,
        max_memory: CAP,
    });
    let err = Mailroom::builder()
        .reuse_component(&base)
        .max_memory(2 * CAP)
        .build()
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("instance pool"), "{err:#}");
}
