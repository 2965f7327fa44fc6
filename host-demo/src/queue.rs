//! The durable outbound queue of `host-demo serve`: `outbound.send` returns
//! once the message is queued in the store, and workers in any replica
//! deliver it through the configured transport (the SMTP relay or the
//! Maildir outbox), retrying for days as Postfix does.
//!
//! # Design
//!
//! The queue lives in the channel's own store (SQLite, PostgreSQL or
//! memory), under host keys the component never uses, so it is as durable
//! and as shared as the store, and needs no second database:
//!
//! - `host-queue/active/<message-id>/<envelope>`: a message waiting or being
//!   delivered to one envelope (`<envelope>` is 16 hex digits of the SHA-256
//!   of its MAIL FROM and RCPT TO: a message with a VERP return path per
//!   recipient is one record per recipient).
//!   Its value is a JSON header (envelope, attempts, `next-at`, lease,
//!   history), a line feed, then the message bytes exactly as the component
//!   signed them.
//! - `host-queue/final/<message-id>/<envelope>`: what became of it (delivered,
//!   bounced, expired), with its history; the active record is then deleted.
//!
//! [`QueueTransport`] is the component's transport: `submit` writes the
//! active record (`expect: absent`) and returns, so the send is
//! acknowledged once the message is durable. A worker ([`Queue::run_once`],
//! run by [`spawn_worker`] every `poll` and whenever this process queued
//! something) lists the active records and, for each one due whose lease is
//! free or expired, takes the lease: a conditional write (`expect:
//! version(v)`) setting `lease = {owner, until: now + lease}`. Of two
//! workers only one write succeeds. The version that write returns is the
//! fencing token: every later write of that worker expects exactly it, so a
//! worker whose lease expired and was taken over cannot record anything.
//! The lease is longer than the transport's timeout (the settings check
//! it), so a submit ends before its lease can expire; a worker that dies
//! mid-submit leaves the lease to expire, and another worker submits the
//! same bytes, with the same Message-ID (at least once).
//!
//! Then the transport's answer:
//!
//! - accepted: `outbound.report(accepted)`, the final record `delivered`;
//! - `rejected`: a hard `bounced` event per recipient (`events.record`) and
//!   `outbound.report(failed)`, the final record `bounced`;
//! - `unavailable` or `other`: a `deferred` event per recipient, and the
//!   next attempt after an exponential backoff with jitter: `retry-base`
//!   (300 s) doubled per attempt, at most `retry-max` (4000 s), less up to
//!   [`JITTER_PERCENT`] at random, as Postfix's `minimal_backoff_time` and
//!   `maximal_backoff_time`. Once the message is `lifetime` old (5 days, as
//!   Postfix's `maximal_queue_lifetime`) it is given up: a soft `bounced`
//!   event per recipient, `outbound.report(failed)`, the final record
//!   `expired`.
//!
//! Event ids are derived from the message and the attempt, so a worker that
//! recorded them and died before its queue write records them again as
//! duplicates (counted once). `GET /messages/{id}` shows the record
//! ([`delivery_state`]).
//!
//! Scanning lists every active record on each pass: fine for a queue of
//! thousands, not millions (a due-time index is the next step).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::bindings::exports::mailroom::channel::events::{Bounce, BounceType, Event, EventKind};
use crate::host::store::{Expect, SharedStore, Store, StoreError, for_call};
use crate::host::transport::{Envelope, Outgoing, SharedTransport, Transport, TransportError};
use crate::outbound::DeliveryOutcome;
use crate::{Mailroom, hex};

/// The prefix of messages waiting or being delivered.
pub use crate::keys::QUEUE_ACTIVE as ACTIVE;
/// The prefix of messages the queue is done with.
pub use crate::keys::QUEUE_FINAL as FINAL;
/// At most this share of a backoff is taken off at random (jitter), so
/// replicas that failed together do not retry together.
pub const JITTER_PERCENT: u64 = 20;

/// The queue's schedule and leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// The first retry's delay, doubled per attempt (Postfix's
    /// `minimal_backoff_time`, 300 s).
    pub retry_base: Duration,
    /// The longest delay between attempts (Postfix's `maximal_backoff_time`,
    /// 4000 s).
    pub retry_max: Duration,
    /// How long a message is retried before it is given up as a soft bounce
    /// (Postfix's `maximal_queue_lifetime`, 5 days).
    pub lifetime: Duration,
    /// How long a worker holds a message it is submitting; must exceed the
    /// transport's timeout.
    pub lease: Duration,
    /// How often a worker looks for due messages.
    pub poll: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(300),
            retry_max: Duration::from_secs(4000),
            lifetime: Duration::from_secs(5 * 86_400),
            lease: Duration::from_secs(120),
            poll: Duration::from_secs(1),
        }
    }
}

impl QueueSettings {
    /// The delay before attempt `attempts + 1`, given `attempts` failed, and
    /// a jitter draw `r` (any u64): `retry_base · 2^(attempts-1)`, at most
    /// `retry_max`, less up to [`JITTER_PERCENT`].
    pub fn backoff(&self, attempts: u32, r: u64) -> u64 {
        let base = self.retry_base.as_secs().max(1);
        let doubled = base.saturating_mul(1u64 << attempts.saturating_sub(1).min(40));
        let delay = doubled.min(self.retry_max.as_secs().max(1));
        let jitter = delay * JITTER_PERCENT / 100;
        delay - if jitter == 0 { 0 } else { r % (jitter + 1) }
    }
}

/// The queue's clock, in seconds since the Unix epoch; tests fix it.
pub trait QueueClock: Send + Sync {
    /// Now.
    fn now(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl QueueClock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told; clones share the time.
#[derive(Debug, Default, Clone)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    /// A clock at `start`.
    pub fn new(start: u64) -> Self {
        Self(Arc::new(AtomicU64::new(start)))
    }
    /// Moves the clock to `at`.
    pub fn set(&self, at: u64) {
        self.0.store(at, Ordering::SeqCst);
    }
}

impl QueueClock for FakeClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Wakes this process's worker when a message was queued.
#[derive(Debug, Default)]
pub struct Wakeup {
    queued: Mutex<bool>,
    signal: Condvar,
}

impl Wakeup {
    fn notify(&self) {
        if let Ok(mut queued) = self.queued.lock() {
            *queued = true;
            self.signal.notify_all();
        }
    }

    /// Waits until something was queued or `timeout` passed.
    fn wait(&self, timeout: Duration) {
        if let Ok(queued) = self.queued.lock()
            && let Ok((mut queued, _)) = self
                .signal
                .wait_timeout_while(queued, timeout, |queued| !*queued)
        {
            *queued = false;
        }
    }
}

/// The component's transport when the queue is on: `submit` queues.
pub struct QueueTransport {
    store: SharedStore,
    clock: Arc<dyn QueueClock>,
    wakeup: Arc<Wakeup>,
}

impl QueueTransport {
    /// Queues into `store`; `wakeup` is told.
    pub fn new(store: SharedStore, clock: Arc<dyn QueueClock>, wakeup: Arc<Wakeup>) -> Self {
        Self {
            store,
            clock,
            wakeup,
        }
    }
}

impl Transport for QueueTransport {
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        let now = self.clock.now();
        let header = Header {
            message_id: message.message_id.clone(),
            mail_from: message.envelope.mail_from.clone(),
            rcpt_to: message.envelope.rcpt_to.clone(),
            queued_at: now,
            state: "queued".to_string(),
            attempts: 0,
            next_at: now,
            lease: None,
            last_error: None,
            history: Vec::new(),
        };
        let value = encode(&header, &message.raw);
        let key = active_key(message);
        let store = for_call(&self.store);
        let result = match store.lock() {
            Ok(mut store) => store.put(&key, &value, Expect::Absent),
            Err(_) => Err(StoreError::Unavailable("the store failed earlier".into())),
        };
        match result {
            Ok(_) => {
                self.wakeup.notify();
                Ok(())
            }
            // The same message queued twice for one envelope is the same.
            Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(TransportError::Unavailable(format!(
                "queueing {}: {e:?}",
                message.message_id
            ))),
        }
    }
}

/// The active record of `message`: its Message-ID and its envelope.
fn active_key(message: &Outgoing) -> String {
    let mut envelope = Sha256::new();
    envelope.update(message.envelope.mail_from.as_bytes());
    for rcpt in &message.envelope.rcpt_to {
        envelope.update(b"\n");
        envelope.update(rcpt.as_bytes());
    }
    let digest = envelope.finalize();
    crate::keys::queue_active(&message.message_id, &hex(&digest[..8]))
}

/// The header of a queued message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Header {
    message_id: String,
    mail_from: String,
    rcpt_to: Vec<String>,
    queued_at: u64,
    /// `queued`, `delivered`, `bounced` or `expired`.
    state: String,
    attempts: u32,
    next_at: u64,
    lease: Option<Lease>,
    last_error: Option<String>,
    history: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Lease {
    owner: String,
    until: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Attempt {
    at: u64,
    worker: String,
    /// `delivered`, `deferred`, `rejected` or `expired`.
    outcome: String,
    detail: Option<String>,
}

fn encode(header: &Header, raw: &[u8]) -> Vec<u8> {
    let mut value = serde_json::to_vec(header).unwrap_or_default();
    value.push(b'\n');
    value.extend_from_slice(raw);
    value
}

fn decode(value: &[u8]) -> Option<(Header, &[u8])> {
    let split = value.iter().position(|&b| b == b'\n')?;
    let header = serde_json::from_slice(&value[..split]).ok()?;
    Some((header, &value[split + 1..]))
}

/// Where outcomes go: the component, or a recorder in tests.
pub trait Outcomes {
    /// `outbound.report`.
    fn report(&self, message_id: &str, outcome: &DeliveryOutcome) -> anyhow::Result<()>;
    /// `events.record`.
    fn event(&self, event: &Event) -> anyhow::Result<()>;
}

impl Outcomes for Mailroom {
    fn report(&self, message_id: &str, outcome: &DeliveryOutcome) -> anyhow::Result<()> {
        if let Err(e) = Mailroom::report(self, message_id, outcome)? {
            eprintln!("host-demo: queue: reporting {message_id}: {e:?}");
        }
        Ok(())
    }

    fn event(&self, event: &Event) -> anyhow::Result<()> {
        if let Err(e) = self.record_event(event)? {
            eprintln!("host-demo: queue: event {}: {e:?}", event.id);
        }
        Ok(())
    }
}

/// The delivery side of the queue: one per process.
pub struct Queue {
    store: SharedStore,
    transport: SharedTransport,
    clock: Arc<dyn QueueClock>,
    settings: QueueSettings,
    owner: String,
    draws: AtomicU64,
}

impl Queue {
    /// Delivers what is queued in `store` through `transport`.
    pub fn new(
        store: SharedStore,
        transport: SharedTransport,
        clock: Arc<dyn QueueClock>,
        settings: QueueSettings,
    ) -> Self {
        let seed = clock.now() ^ u64::from(std::process::id()).rotate_left(32);
        Self {
            store,
            transport,
            clock,
            settings,
            owner: format!("{}-{}", std::process::id(), hex(&seed.to_le_bytes())),
            draws: AtomicU64::new(seed),
        }
    }

    /// This worker's name in leases and history.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn draw(&self) -> u64 {
        // splitmix64: jitter needs spread, not secrecy.
        let mut z = self
            .draws
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// One pass: every due message whose lease is free is leased, submitted
    /// and its outcome recorded. Returns how many were attempted.
    pub fn run_once(&self, outcomes: &dyn Outcomes) -> anyhow::Result<usize> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .op(|s| s.list(ACTIVE, cursor.as_deref(), 200))
                .map_err(|e| anyhow::anyhow!("listing the queue: {e:?}"))?;
            keys.extend(page.keys);
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut attempted = 0;
        for key in keys {
            match self.attempt(&key, outcomes) {
                Ok(true) => attempted += 1,
                Ok(false) => {}
                Err(e) => eprintln!("host-demo: queue: {key}: {e:#}"),
            }
        }
        Ok(attempted)
    }

    /// Runs one store operation; the store's lock is held only for it, never
    /// across a submit.
    fn op<R>(
        &self,
        f: impl FnOnce(&mut dyn Store) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let handle = for_call(&self.store);
        let mut store = handle
            .lock()
            .map_err(|_| StoreError::Unavailable("the store failed earlier".into()))?;
        f(&mut *store)
    }

    /// Leases, submits and records one message if it is due and free.
    fn attempt(&self, key: &str, outcomes: &dyn Outcomes) -> anyhow::Result<bool> {
        let store_err = |e: StoreError| anyhow::anyhow!("{e:?}");
        let Some(entry) = self.op(|s| s.get(key)).map_err(store_err)? else {
            return Ok(false);
        };
        let Some((mut header, raw)) = decode(&entry.value) else {
            anyhow::bail!("an unreadable queue record");
        };
        let now = self.clock.now();
        if header.next_at > now || header.lease.as_ref().is_some_and(|l| l.until > now) {
            return Ok(false);
        }
        header.lease = Some(Lease {
            owner: self.owner.clone(),
            until: now + self.settings.lease.as_secs(),
        });
        header.attempts = header.attempts.saturating_add(1);
        let raw = raw.to_vec();
        let leased = encode(&header, &raw);
        let fence = match self.op(|s| s.put(key, &leased, Expect::Version(entry.version))) {
            Ok(version) => version,
            // Another worker took it first.
            Err(StoreError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(store_err(e)),
        };

        let message = Outgoing {
            message_id: header.message_id.clone(),
            envelope: Envelope {
                mail_from: header.mail_from.clone(),
                rcpt_to: header.rcpt_to.clone(),
            },
            raw: raw.clone(),
        };
        let result = match self.transport.lock() {
            Ok(mut transport) => transport.submit(&message),
            Err(_) => Err(TransportError::Unavailable(
                "the transport failed earlier".into(),
            )),
        };
        let now = self.clock.now();
        let id = header.message_id.clone();
        let attempt = |outcome: &str, detail: Option<String>| Attempt {
            at: now,
            worker: self.owner.clone(),
            outcome: outcome.to_string(),
            detail,
        };
        match result {
            Ok(()) => {
                outcomes.report(&id, &DeliveryOutcome::Accepted(None))?;
                header.history.push(attempt("delivered", None));
                self.finish(key, header, "delivered", fence)?;
            }
            Err(TransportError::Rejected(why)) => {
                for (n, rcpt) in header.rcpt_to.iter().enumerate() {
                    outcomes.event(&event(
                        &id,
                        header.attempts,
                        n,
                        rcpt,
                        now,
                        EventKind::Bounced(Bounce {
                            type_: BounceType::Hard,
                            status: None,
                            diagnostic: Some(why.clone()),
                        }),
                    ))?;
                }
                outcomes.report(&id, &DeliveryOutcome::Failed(why.clone()))?;
                header.history.push(attempt("rejected", Some(why.clone())));
                header.last_error = Some(why);
                self.finish(key, header, "bounced", fence)?;
            }
            Err(TransportError::Unavailable(why) | TransportError::Other(why)) => {
                let deadline = header
                    .queued_at
                    .saturating_add(self.settings.lifetime.as_secs());
                header.last_error = Some(why.clone());
                if now >= deadline {
                    let why = format!("given up after {} attempts: {why}", header.attempts);
                    for (n, rcpt) in header.rcpt_to.iter().enumerate() {
                        outcomes.event(&event(
                            &id,
                            header.attempts,
                            n,
                            rcpt,
                            now,
                            EventKind::Bounced(Bounce {
                                type_: BounceType::Soft,
                                status: Some("4.4.7".to_string()),
                                diagnostic: Some(why.clone()),
                            }),
                        ))?;
                    }
                    outcomes.report(&id, &DeliveryOutcome::Failed(why.clone()))?;
                    header.history.push(attempt("expired", Some(why)));
                    self.finish(key, header, "expired", fence)?;
                } else {
                    for (n, rcpt) in header.rcpt_to.iter().enumerate() {
                        outcomes.event(&event(
                            &id,
                            header.attempts,
                            n,
                            rcpt,
                            now,
                            EventKind::Deferred(Some(why.clone())),
                        ))?;
                    }
                    let delay = self.settings.backoff(header.attempts, self.draw());
                    header.next_at = now.saturating_add(delay).min(deadline);
                    header.lease = None;
                    header.history.push(attempt("deferred", Some(why)));
                    let value = encode(&header, &raw);
                    match self.op(|s| s.put(key, &value, Expect::Version(fence))) {
                        Ok(_) => {}
                        Err(StoreError::Conflict(_)) => {
                            anyhow::bail!("the lease was lost before the retry was recorded")
                        }
                        Err(e) => return Err(store_err(e)),
                    }
                }
            }
        }
        Ok(true)
    }

    /// Writes the final record and removes the active one (only while this
    /// worker's fence holds).
    fn finish(&self, key: &str, mut header: Header, state: &str, fence: u64) -> anyhow::Result<()> {
        header.state = state.to_string();
        header.lease = None;
        let done = crate::keys::queue_final(key);
        let value = serde_json::to_vec(&header)?;
        self.op(|s| s.put(&done, &value, Expect::Any))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        match self.op(|s| s.delete(key, Expect::Version(fence))) {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_)) => {
                anyhow::bail!("the lease was lost before the message was finished")
            }
            Err(e) => Err(anyhow::anyhow!("{e:?}")),
        }
    }
}

/// The event of one recipient of one attempt; its id is derived from both,
/// so recording it again counts once.
fn event(message_id: &str, attempt: u32, n: usize, rcpt: &str, at: u64, kind: EventKind) -> Event {
    let digest = hex(&Sha256::digest(format!("{message_id}\n{rcpt}").as_bytes())[..12]);
    let what = match kind {
        EventKind::Deferred(_) => "deferred",
        EventKind::Bounced(_) => "bounced",
        EventKind::Delivered => "delivered",
        EventKind::Complained(_) => "complained",
        EventKind::Opened(_) => "opened",
        EventKind::Clicked(_) => "clicked",
    };
    Event {
        id: format!("queue-{digest}-{attempt}-{n}-{what}"),
        message_id: message_id.to_string(),
        recipient: rcpt.to_string(),
        at: Some(at),
        kind,
    }
}

/// Runs a worker on its own thread: a pass every `poll`, and at once when
/// this process queued a message.
pub fn spawn_worker(queue: Arc<Queue>, mailroom: Arc<Mailroom>, wakeup: Arc<Wakeup>) {
    let poll = queue.settings.poll;
    std::thread::spawn(move || {
        loop {
            if let Err(e) = queue.run_once(&*mailroom) {
                eprintln!("host-demo: queue: {e:#}");
            }
            wakeup.wait(poll);
        }
    });
}

/// The channel `serve` runs: with `queue` on, the component's transport
/// queues into the store and a worker thread delivers through the
/// configured transport; else the configured transport is called during
/// the send.
pub fn serve_mailroom(config: &crate::config::Config) -> anyhow::Result<Arc<Mailroom>> {
    if !config.queue {
        return config.mailroom().map(Arc::new);
    }
    let mailroom = config.mailroom()?;
    let store = Arc::clone(mailroom.store());
    let clock: Arc<dyn QueueClock> = Arc::new(SystemClock);
    let wakeup = Arc::new(Wakeup::default());
    let queued = QueueTransport::new(Arc::clone(&store), Arc::clone(&clock), Arc::clone(&wakeup));
    let channel = Arc::new(
        config
            .builder()?
            .reuse_component(&mailroom)
            .shared_store(Arc::clone(&store))
            .transport(queued)
            .build()?,
    );
    let queue = Arc::new(Queue::new(
        store,
        config.transport()?,
        clock,
        config.queue_settings(),
    ));
    spawn_worker(queue, Arc::clone(&channel), wakeup);
    Ok(channel)
}

/// The delivery state of a message in the JSON form `GET /messages/{id}`
/// answers; `None` when the queue never saw it.
pub fn delivery_state(
    store: &mut dyn Store,
    message_id: &str,
) -> Result<Option<Value>, StoreError> {
    let message_id = message_id.trim_start_matches('<').trim_end_matches('>');
    // One record per envelope: the finished ones, then those still active.
    let mut headers = Vec::new();
    for (prefix, active) in [(FINAL, false), (ACTIVE, true)] {
        let page = store.list(
            &crate::keys::queue_message_prefix(prefix, message_id),
            None,
            1000,
        )?;
        for key in page.keys {
            let Some(entry) = store.get(&key)? else {
                continue;
            };
            let header = if active {
                decode(&entry.value).map(|(h, _)| h)
            } else {
                serde_json::from_slice::<Header>(&entry.value).ok()
            };
            let Some(h) = header else {
                return Err(StoreError::Other(format!(
                    "the queue record {key} does not decode"
                )));
            };
            headers.push(h);
        }
    }
    let Some(first) = headers.first() else {
        return Ok(None);
    };
    let state_of = |h: &Header| match (&*h.state, &h.lease) {
        ("queued", Some(_)) => "sending",
        ("queued", None) if h.attempts > 0 => "deferred",
        (state, _) => match state {
            "delivered" => "delivered",
            "bounced" => "bounced",
            "expired" => "expired",
            _ => "queued",
        },
    };
    // The message's state is its least finished envelope's: sending, then
    // deferred, then queued; when all are done, bounced or expired if any
    // was, else delivered.
    let rank = |s: &str| match s {
        "sending" => 0,
        "deferred" => 1,
        "queued" => 2,
        "bounced" => 3,
        "expired" => 4,
        _ => 5,
    };
    let state = headers
        .iter()
        .map(state_of)
        .min_by_key(|s| rank(s))
        .unwrap_or("queued");
    let queued = headers.iter().filter(|h| h.state == "queued");
    Ok(Some(json!({
        "message-id": first.message_id,
        "state": state,
        "attempts": headers.iter().map(|h| h.attempts).max().unwrap_or(0),
        "queued-at": headers.iter().map(|h| h.queued_at).min().unwrap_or(first.queued_at),
        "next-attempt-at": queued.map(|h| h.next_at).min(),
        "last-error": headers.iter().find_map(|h| h.last_error.clone()),
        "recipients": headers.iter().flat_map(|h| h.rcpt_to.clone()).collect::<Vec<_>>(),
        "history": headers.iter().flat_map(|h| h.history.clone()).collect::<Vec<_>>(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::store::{MemoryStore, shared};

    /// Records outcomes instead of calling a component.
    #[derive(Default)]
    struct Recorded {
        reports: Mutex<Vec<(String, String)>>,
        events: Mutex<Vec<(String, String)>>,
    }

    impl Outcomes for Recorded {
        fn report(&self, id: &str, outcome: &DeliveryOutcome) -> anyhow::Result<()> {
            let what = match outcome {
                DeliveryOutcome::Accepted(_) => "accepted".to_string(),
                DeliveryOutcome::Failed(why) => format!("failed: {why}"),
            };
            self.reports.lock().unwrap().push((id.to_string(), what));
            Ok(())
        }
        fn event(&self, event: &Event) -> anyhow::Result<()> {
            let what = match &event.kind {
                EventKind::Deferred(_) => "deferred",
                EventKind::Bounced(b) if b.type_ == BounceType::Soft => "soft",
                EventKind::Bounced(_) => "hard",
                _ => "other",
            };
            self.events
                .lock()
                .unwrap()
                .push((event.id.clone(), what.to_string()));
            Ok(())
        }
    }

    /// Answers each submit with the next scripted result (then accepts).
    struct Scripted {
        script: Vec<Result<(), TransportError>>,
        submitted: Arc<Mutex<Vec<String>>>,
    }

    impl Transport for Scripted {
        fn submit(&mut self, m: &Outgoing) -> Result<(), TransportError> {
            self.submitted.lock().unwrap().push(m.message_id.clone());
            if self.script.is_empty() {
                Ok(())
            } else {
                self.script.remove(0)
            }
        }
    }

    fn message(id: &str) -> Outgoing {
        Outgoing {
            message_id: id.into(),
            envelope: Envelope {
                mail_from: "s@x.example".into(),
                rcpt_to: vec!["a@y.example".into(), "b@y.example".into()],
            },
            raw: b"Subject: hi\r\n\r\nhi\r\n".to_vec(),
        }
    }

    fn setup(
        script: Vec<Result<(), TransportError>>,
        start: u64,
    ) -> (Queue, QueueTransport, FakeClock, Arc<Mutex<Vec<String>>>) {
        let store = shared(MemoryStore::new());
        let clock = FakeClock::new(start);
        let submitted = Arc::new(Mutex::new(Vec::new()));
        let transport = crate::host::transport::shared(Scripted {
            script,
            submitted: Arc::clone(&submitted),
        });
        let queue = Queue::new(
            Arc::clone(&store),
            transport,
            Arc::new(clock.clone()),
            QueueSettings::default(),
        );
        let sender = QueueTransport::new(store, Arc::new(clock.clone()), Arc::default());
        (queue, sender, clock, submitted)
    }

    #[test]
    fn backoff_doubles_to_the_cap_less_the_jitter() {
        let s = QueueSettings::default();
        let plain: Vec<u64> = (1..=7).map(|n| s.backoff(n, 0)).collect();
        assert_eq!(plain, [300, 600, 1200, 2400, 4000, 4000, 4000]);
        for n in 1..=7 {
            for r in [1, 59, 60, 12345, u64::MAX] {
                let d = s.backoff(n, r);
                assert!(d <= plain[n as usize - 1] && d >= plain[n as usize - 1] * 4 / 5);
            }
        }
    }

    #[test]
    fn unavailable_is_retried_on_the_schedule_then_delivered_once() {
        let down = || Err(TransportError::Unavailable("relay down".into()));
        let (queue, mut sender, clock, submitted) =
            setup(vec![down(), down(), down(), down()], 1_000_000);
        let recorded = Recorded::default();
        sender.submit(&message("m1@x.example")).expect("queued");
        sender
            .submit(&message("m1@x.example"))
            .expect("queued once");

        let mut at = 1_000_000;
        let mut waits = Vec::new();
        for round in 0..5 {
            assert_eq!(queue.run_once(&recorded).unwrap(), 1, "round {round}");
            // Nothing more until the next attempt is due.
            assert_eq!(queue.run_once(&recorded).unwrap(), 0);
            let shown = delivery_state(&mut *queue.store.lock().unwrap(), "m1@x.example")
                .unwrap()
                .unwrap();
            if round < 4 {
                assert_eq!(shown["state"], "deferred");
                let next = shown["next-attempt-at"].as_u64().unwrap();
                waits.push(next - at);
                clock.set(next - 1);
                assert_eq!(queue.run_once(&recorded).unwrap(), 0, "not due yet");
                at = next;
                clock.set(at);
            } else {
                assert_eq!(shown["state"], "delivered");
                assert_eq!(shown["attempts"], 5);
            }
        }
        // 300, 600, 1200, 2400 s, each less at most 20 %.
        for (wait, full) in waits.iter().zip([300, 600, 1200, 2400]) {
            assert!(*wait <= full && *wait >= full * 4 / 5, "{waits:?}");
        }
        assert_eq!(submitted.lock().unwrap().len(), 5);
        let reports = recorded.reports.lock().unwrap().clone();
        assert_eq!(reports, [("m1@x.example".into(), "accepted".into())]);
        let events = recorded.events.lock().unwrap().clone();
        assert_eq!(events.len(), 8, "a deferred event per recipient and retry");
        assert!(events.iter().all(|(_, k)| k == "deferred"));
        let ids: std::collections::BTreeSet<_> = events.iter().map(|(id, _)| id).collect();
        assert_eq!(ids.len(), 8, "distinct event ids");
        // Nothing left to do.
        clock.set(at + 100_000);
        assert_eq!(queue.run_once(&recorded).unwrap(), 0);
    }

    #[test]
    fn rejected_bounces_and_five_days_of_failures_expire() {
        let (queue, mut sender, clock, _) = setup(
            vec![Err(TransportError::Rejected("550 no such user".into()))],
            0,
        );
        let recorded = Recorded::default();
        sender.submit(&message("r@x.example")).unwrap();
        assert_eq!(queue.run_once(&recorded).unwrap(), 1);
        let shown = delivery_state(&mut *queue.store.lock().unwrap(), "r@x.example")
            .unwrap()
            .unwrap();
        assert_eq!(shown["state"], "bounced");
        assert_eq!(recorded.events.lock().unwrap().len(), 2);
        assert!(recorded.reports.lock().unwrap()[0].1.starts_with("failed"));

        let script = (0..200)
            .map(|_| Err(TransportError::Unavailable("421 try later".into())))
            .collect();
        let (queue, mut sender, clock2, submitted) = setup(script, 0);
        let _ = clock;
        let recorded = Recorded::default();
        sender.submit(&message("e@x.example")).unwrap();
        let mut now = 0;
        loop {
            queue.run_once(&recorded).unwrap();
            let shown = delivery_state(&mut *queue.store.lock().unwrap(), "e@x.example")
                .unwrap()
                .unwrap();
            if shown["state"] == "expired" {
                break;
            }
            now = shown["next-attempt-at"].as_u64().unwrap();
            assert!(now <= 5 * 86_400);
            clock2.set(now);
        }
        assert_eq!(now, 5 * 86_400, "the last attempt is at the lifetime");
        let attempts = submitted.lock().unwrap().len();
        // 300+600+1200+2400 then about 4000 s apart for 5 days: ~110.
        assert!((100..=140).contains(&attempts), "{attempts}");
        let events = recorded.events.lock().unwrap().clone();
        assert_eq!(events.iter().filter(|(_, k)| k == "soft").count(), 2);
        assert_eq!(
            events.iter().filter(|(_, k)| k == "deferred").count(),
            2 * (attempts - 1)
        );
    }

    #[test]
    fn a_lease_is_held_until_it_expires_and_fences_its_writer() {
        let (queue, mut sender, clock, submitted) = setup(vec![], 100);
        sender.submit(&message("l@x.example")).unwrap();
        // A worker leased it and died mid-submit: its lease is in the record.
        {
            let mut store = queue.store.lock().unwrap();
            let key = store
                .list(&format!("{ACTIVE}l@x.example/"), None, 10)
                .unwrap()
                .keys
                .remove(0);
            let entry = store.get(&key).unwrap().unwrap();
            let (mut header, raw) = decode(&entry.value).unwrap();
            header.lease = Some(Lease {
                owner: "dead".into(),
                until: 100 + 120,
            });
            header.attempts = 1;
            let raw = raw.to_vec();
            store
                .put(&key, &encode(&header, &raw), Expect::Version(entry.version))
                .unwrap();
        }
        let recorded = Recorded::default();
        assert_eq!(queue.run_once(&recorded).unwrap(), 0, "leased");
        clock.set(219);
        assert_eq!(queue.run_once(&recorded).unwrap(), 0, "still leased");
        clock.set(220);
        assert_eq!(queue.run_once(&recorded).unwrap(), 1, "the lease expired");
        assert_eq!(submitted.lock().unwrap().len(), 1);
        let shown = delivery_state(&mut *queue.store.lock().unwrap(), "l@x.example")
            .unwrap()
            .unwrap();
        assert_eq!(shown["state"], "delivered");
        assert_eq!(shown["attempts"], 2);

        // A stale writer (its fence version gone) cannot finish.
        let key = format!("{ACTIVE}f@x.example/0");
        {
            let mut store = queue.store.lock().unwrap();
            store.put(&key, b"{}\nx", Expect::Absent).unwrap();
            store.put(&key, b"{}\nx", Expect::Version(1)).unwrap();
        }
        let header = Header {
            message_id: "f@x.example".into(),
            mail_from: String::new(),
            rcpt_to: vec![],
            queued_at: 0,
            state: "queued".into(),
            attempts: 1,
            next_at: 0,
            lease: None,
            last_error: None,
            history: vec![],
        };
        let e = queue
            .finish(&key, header, "delivered", 1)
            .expect_err("fenced");
        assert!(format!("{e}").contains("lease was lost"));
    }
}
