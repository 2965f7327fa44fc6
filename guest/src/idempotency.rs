//! Idempotent sends: the `idempotency-key` of `outbound.send`.
//!
//! A key is the caller's workspace's: it is stored as
//! `idempotency/<sha256 of the workspace, NUL, the key>`, holding the
//! SHA-256 of the request without its key, when it was claimed, and the
//! outcome once there is one. The claim is a create-if-absent, so of two
//! replicas running the same key at once one sends and the other is told
//! `idempotency-in-progress`. See `wit/outbound.wit` for what is kept.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::outbound::{SendError, SendRequest, Sent};
use crate::records;
use crate::store::{Expect, Store, StoreError};

/// How long an outcome is kept, in seconds.
pub const TTL: i64 = 24 * 3600;
/// How long a claim without an outcome holds, in seconds, before the next
/// send with the key runs afresh (the claimer is taken for dead).
pub const CLAIM_LEASE: i64 = 120;
/// The longest key, in bytes.
pub const MAX_KEY: usize = 255;
/// Keys looked at for expiry by each send that claims a key.
const SWEEP: u32 = 4;

/// What is stored under a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Claim {
    request: String,
    at: i64,
    outcome: Option<Outcome>,
}

/// A kept outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Outcome {
    Sent(Sent),
    Transport(String),
}

/// What a claim found.
enum Found {
    Run(u64),
    Replay(Outcome),
    Reused,
    Pending,
}

/// The store key of `key` in `workspace`.
pub fn store_key(workspace: &str, key: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(workspace.as_bytes());
    hash.update([0]);
    hash.update(key.as_bytes());
    crate::keys::idempotency(&crate::hex(&hash.finalize()))
}

/// Runs `send` under `request.idempotency_key` when it has one: replays a
/// kept outcome, refuses a reused or running key, and keeps the outcome.
pub fn send(
    store: &mut dyn Store,
    env: &mut dyn Env,
    workspace: &str,
    request: &SendRequest,
    send: impl FnOnce(&mut dyn Store, &mut dyn Env) -> Result<Sent, SendError>,
) -> Result<Sent, SendError> {
    let Some(key) = request.idempotency_key.as_deref() else {
        return send(store, env);
    };
    if key.is_empty() || key.len() > MAX_KEY || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(SendError::InvalidRequest(format!(
            "idempotency-key must be 1 to {MAX_KEY} printable ASCII characters"
        )));
    }
    let slot = store_key(workspace, key);
    let request_hash = fingerprint(request)?;
    let now = env.now();
    let version = match claim(store, &slot, &request_hash, now)? {
        Found::Run(version) => version,
        Found::Replay(Outcome::Sent(sent)) => {
            return Ok(Sent {
                replayed: true,
                ..sent
            });
        }
        Found::Replay(Outcome::Transport(m)) => return Err(SendError::Transport(m)),
        Found::Reused => {
            return Err(SendError::IdempotencyKeyReused(format!(
                "idempotency-key {key:?} was used for a different request in the last 24 hours"
            )));
        }
        Found::Pending => {
            return Err(SendError::IdempotencyInProgress(format!(
                "a send with idempotency-key {key:?} is still running"
            )));
        }
    };
    let result = send(store, env);
    let outcome = match &result {
        Ok(sent) => Outcome::Sent(sent.clone()),
        Err(SendError::Transport(m)) => Outcome::Transport(m.clone()),
        // How far the send went is unknown: the claim stays until its lease
        // passes.
        Err(SendError::Store(_)) => return result,
        // A refusal wrote nothing: the key is free again. A failure to free
        // it only delays a retry until the lease passes.
        Err(_) => {
            let _ = store.delete(&slot, Expect::Version(version));
            return result;
        }
    };
    let kept = Claim {
        request: request_hash,
        at: now,
        outcome: Some(outcome),
    };
    // The message is out whether or not its outcome is kept; a failure here
    // lets a retry after the lease send again (at least once).
    let _ = records::write(store, &slot, &kept, Expect::Version(version));
    sweep(store, &slot, now);
    result
}

/// Deletes the expired keys among the [`SWEEP`] that follow `slot`. Keys
/// are hashes, so those are a random sample: every claiming send clears a
/// few, which keeps expired keys to a fraction of the live ones without a
/// scheduled job. Best effort: a failure leaves the key for a later sweep
/// (an expired key is taken over by the next send with it anyway).
fn sweep(store: &mut dyn Store, slot: &str, now: i64) {
    let Ok(page) = store.list(&crate::keys::idempotency(""), Some(slot), SWEEP) else {
        return;
    };
    for key in page.keys {
        if let Ok(Some((held, version))) = records::read::<Claim>(store, &key)
            && held.at.saturating_add(TTL) <= now
        {
            let _ = store.delete(&key, Expect::Version(version));
        }
    }
}

/// The SHA-256 of the request without its key.
fn fingerprint(request: &SendRequest) -> Result<String, SendError> {
    let keyless = SendRequest {
        idempotency_key: None,
        ..request.clone()
    };
    let bytes = serde_json::to_vec(&keyless)
        .map_err(|e| SendError::InvalidRequest(format!("the request does not encode: {e}")))?;
    Ok(crate::hex(&Sha256::digest(&bytes)))
}

/// Claims `slot` for `request_hash` at `now`, or says what holds it.
fn claim(
    store: &mut dyn Store,
    slot: &str,
    request_hash: &str,
    now: i64,
) -> Result<Found, StoreError> {
    let fresh = Claim {
        request: request_hash.to_string(),
        at: now,
        outcome: None,
    };
    for _ in 0..8 {
        let Some((held, version)) = records::read::<Claim>(store, slot)? else {
            match records::write(store, slot, &fresh, Expect::Absent) {
                Ok(version) => return Ok(Found::Run(version)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        };
        let lease = if held.outcome.is_some() {
            TTL
        } else {
            CLAIM_LEASE
        };
        if held.at.saturating_add(lease) <= now {
            match records::write(store, slot, &fresh, Expect::Version(version)) {
                Ok(version) => return Ok(Found::Run(version)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        if held.request != request_hash {
            return Ok(Found::Reused);
        }
        return Ok(match held.outcome {
            Some(outcome) => Found::Replay(outcome),
            None => Found::Pending,
        });
    }
    Err(StoreError::Conflict(format!(
        "{slot}: too many concurrent writers"
    )))
}

// Stored under `crate::keys::idempotency`; versioned by `crate::records`.
impl crate::records::Record for Claim {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::FixedEnv;
    use crate::store::MemoryStore;

    fn request(key: &str) -> SendRequest {
        SendRequest {
            use_case: "uc_1".into(),
            to: Vec::new(),
            cc: Vec::new(),
            subject: "Reminder".into(),
            text: Some("Tomorrow.".into()),
            html: None,
            attachments: Vec::new(),
            in_reply_to: None,
            idempotency_key: Some(key.into()),
        }
    }

    fn sent(id: &str) -> Sent {
        Sent {
            message_id: id.into(),
            thread_id: "thr_1".into(),
            in_reply_to: None,
            references: Vec::new(),
            size: 1,
            unsubscribe_url: None,
            replayed: false,
        }
    }

    /// Sends `r` at `now` with a send that answers `answer` and counts.
    fn run(
        store: &mut MemoryStore,
        now: i64,
        r: &SendRequest,
        answer: Result<Sent, SendError>,
        runs: &mut u32,
    ) -> Result<Sent, SendError> {
        let mut env = FixedEnv::new(now, 1);
        send(store, &mut env, "ws-1", r, |_, _| {
            *runs += 1;
            answer
        })
    }

    #[test]
    fn an_outcome_is_kept_a_day_then_the_key_runs_again() {
        let (mut store, mut runs) = (MemoryStore::default(), 0);
        let r = request("k");
        assert_eq!(
            run(&mut store, 1000, &r, Ok(sent("a")), &mut runs),
            Ok(sent("a"))
        );
        let replay = run(&mut store, 1000 + TTL - 1, &r, Ok(sent("b")), &mut runs);
        assert_eq!(
            replay.map(|s| (s.message_id, s.replayed)),
            Ok(("a".into(), true))
        );
        assert_eq!(runs, 1);
        assert_eq!(
            run(&mut store, 1000 + TTL, &r, Ok(sent("c")), &mut runs),
            Ok(sent("c"))
        );
        assert_eq!(runs, 2);
    }

    #[test]
    fn a_claim_without_outcome_holds_for_its_lease() {
        let (mut store, mut runs) = (MemoryStore::default(), 0);
        let r = request("k");
        let failed = Err(SendError::Store("down".into()));
        assert_eq!(run(&mut store, 1000, &r, failed.clone(), &mut runs), failed);
        let early = run(
            &mut store,
            1000 + CLAIM_LEASE - 1,
            &r,
            Ok(sent("b")),
            &mut runs,
        );
        assert!(
            matches!(early, Err(SendError::IdempotencyInProgress(_))),
            "{early:?}"
        );
        let late = run(&mut store, 1000 + CLAIM_LEASE, &r, Ok(sent("b")), &mut runs);
        assert_eq!(late, Ok(sent("b")));
        assert_eq!(runs, 2);
    }

    #[test]
    fn each_claiming_send_deletes_expired_keys_that_follow_its_own() {
        let (mut store, mut runs) = (MemoryStore::default(), 0);
        for n in 0..40 {
            let r = request(&format!("old-{n}"));
            run(&mut store, 1000, &r, Ok(sent("a")), &mut runs).expect("sent");
        }
        // Live keys, claimed an hour before the sweeps.
        for n in 0..20 {
            let r = request(&format!("live-{n}"));
            run(&mut store, 1000 + TTL - 3600, &r, Ok(sent("a")), &mut runs).expect("sent");
        }
        let keys = |store: &MemoryStore| -> Vec<String> {
            store
                .entries()
                .map(|(k, _)| k.clone())
                .filter(|k| k.starts_with("idempotency/"))
                .collect()
        };
        let live: Vec<String> = (0..20)
            .map(|n| store_key("ws-1", &format!("live-{n}")))
            .collect();
        let before = keys(&store);
        let r = request("new");
        run(&mut store, 1000 + TTL, &r, Ok(sent("b")), &mut runs).expect("sent");
        let slot = store_key("ws-1", "new");
        let next: Vec<&String> = before.iter().filter(|k| **k > slot).take(4).collect();
        let after = keys(&store);
        for k in &before {
            let expected = !(next.contains(&k) && !live.contains(k));
            assert_eq!(after.contains(k), expected, "{k}");
        }
        // Sends at random places clear nearly every expired key, no live one.
        for n in 0..200 {
            let r = request(&format!("more-{n}"));
            run(&mut store, 1000 + TTL + 1, &r, Ok(sent("c")), &mut runs).expect("sent");
        }
        let left = keys(&store);
        assert!(live.iter().all(|k| left.contains(k)));
        let old_left = (0..40)
            .filter(|n| left.contains(&store_key("ws-1", &format!("old-{n}"))))
            .count();
        assert!(old_left <= 4, "{old_left} of 40 expired keys left");
    }

    #[test]
    fn keys_are_the_workspaces_and_transport_failures_replay() {
        let (mut store, mut runs) = (MemoryStore::default(), 0);
        let r = request("k");
        let refused = Err(SendError::Transport("550 no".into()));
        assert_eq!(
            run(&mut store, 1000, &r, refused.clone(), &mut runs),
            refused
        );
        assert_eq!(run(&mut store, 1001, &r, Ok(sent("b")), &mut runs), refused);
        let mut env = FixedEnv::new(1002, 1);
        let other = send(&mut store, &mut env, "ws-2", &r, |_, _| Ok(sent("c")));
        assert_eq!(other, Ok(sent("c")));
        assert_eq!(runs, 1);
        assert_ne!(store_key("ws-1", "k"), store_key("ws-2", "k"));
    }
}
