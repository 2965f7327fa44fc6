//! The send decision: per-address suppressions of a setup, the setup's
//! policy, and its complaint-rate pause.

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::records;
use crate::reporting;
use crate::store::{Expect, Store, StoreError};
use crate::use_cases::{self, UseCase, UseCaseType};
use crate::{address, setups};

const HISTORY: usize = 50;

/// Recipients (`to` and `cc` together) a message may have when the setup's
/// policy sets no lower cap (SES takes 50).
pub const DEFAULT_MAX_RECIPIENTS: u32 = 50;
const REMEMBERED_EVENTS: usize = 100;

/// Which sends a suppression applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Setup,
    Marketing,
    UseCase(String),
}

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    HardBounce,
    SoftBounces,
    Complaint,
    Unsubscribe,
}

/// One suppression of one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Suppression {
    pub address: String,
    pub scope: Scope,
    pub reason: Reason,
    pub since: u64,
    pub until: Option<u64>,
    pub event: String,
    pub use_case: Option<String>,
}

impl Suppression {
    fn applies_to(&self, use_case: &UseCase) -> bool {
        match &self.scope {
            Scope::Setup => true,
            Scope::Marketing => use_case.kind == UseCaseType::Marketing,
            Scope::UseCase(id) => *id == use_case.id,
        }
    }

    fn in_force(&self, now: u64) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// A marketing pause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pause {
    pub since: u64,
    pub reason: String,
}

/// The decision for one send to one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Allow,
    Suppressed(Suppression),
    Paused(Pause),
}

/// An ended suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Ended {
    pub suppression: Suppression,
    pub at: u64,
    pub note: String,
}

/// An address of a setup as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AddressState {
    pub address: String,
    pub active: Vec<Suppression>,
    pub history: Vec<Ended>,
}

/// A setup's suppression policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Policy {
    pub hard_bounce_scope: Scope,
    pub soft_bounce_count: u32,
    pub soft_bounce_window: u64,
    pub soft_bounce_duration: u64,
    pub unsubscribe_scope: Scope,
    pub complaint_rate_ppm: u32,
    pub complaint_window_days: u32,
    pub complaint_min_sent: u64,
    /// Recipients (`to` and `cc`) one message may have; `None` is
    /// [`DEFAULT_MAX_RECIPIENTS`] (50). A policy can lower it only.
    #[serde(default)]
    pub max_recipients: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            hard_bounce_scope: Scope::Setup,
            soft_bounce_count: 3,
            soft_bounce_window: 72 * 3600,
            soft_bounce_duration: 24 * 3600,
            unsubscribe_scope: Scope::UseCase(String::new()),
            complaint_rate_ppm: 3000,
            complaint_window_days: 7,
            complaint_min_sent: 100,
            max_recipients: None,
        }
    }
}

/// Blocked bounces of one reason, in a setup's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlockedReason {
    pub reason: String,
    pub count: u64,
    pub last_at: u64,
    pub last_diagnostic: Option<String>,
}

/// Complaint rate, blocked bounces and pause of a setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Health {
    pub window_days: u32,
    pub since: u64,
    pub sent: u64,
    pub complained: u64,
    pub complaint_rate_ppm: u32,
    pub blocked: u64,
    pub blocked_rate_ppm: u32,
    pub blocked_reasons: Vec<BlockedReason>,
    pub paused: Option<Pause>,
}

/// Where a setup's rates start counting after a `clear-pause`: its time,
/// and its day's counts at that time (subtracted from that day's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct FreshWindow {
    since: u64,
    baseline: reporting::Bucket,
}

/// Why a suppression call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionError {
    UnknownUseCase(String),
    UnknownSetup(String),
    InvalidAddress(String),
    InvalidPolicy(String),
    Store(String),
}

display_cases!(SuppressionError {
    UnknownUseCase => "unknown-use-case",
    UnknownSetup => "unknown-setup",
    InvalidAddress => "invalid-address",
    InvalidPolicy => "invalid-policy",
    Store => "store",
});

impl From<StoreError> for SuppressionError {
    fn from(e: StoreError) -> Self {
        SuppressionError::Store(e.to_string())
    }
}

/// A soft bounce counted towards suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Soft {
    at: u64,
    event: String,
}

/// The stored state of an address of a setup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Record {
    address: String,
    active: Vec<Suppression>,
    history: Vec<Ended>,
    soft: Vec<Soft>,
    last_delivered: Option<u64>,
    events: Vec<String>,
}

impl Record {
    /// Moves suppressions that ran out by `now` to the history.
    fn expire(&mut self, now: u64) {
        let (live, done): (Vec<_>, Vec<_>) = self.active.drain(..).partition(|s| s.in_force(now));
        self.active = live;
        for s in done {
            let at = s.until.unwrap_or(now);
            self.end(s, at, "expired");
        }
    }

    fn end(&mut self, suppression: Suppression, at: u64, note: &str) {
        self.history.push(Ended {
            suppression,
            at,
            note: note.to_string(),
        });
        if self.history.len() > HISTORY {
            let extra = self.history.len() - HISTORY;
            self.history.drain(..extra);
        }
    }

    fn state(mut self, now: u64) -> AddressState {
        self.expire(now);
        AddressState {
            address: self.address,
            active: self.active,
            history: self.history,
        }
    }

    /// Adds `s` unless an equal one (scope and reason) is in force;
    /// returns the one in force.
    fn add(&mut self, s: Suppression) -> (Suppression, bool) {
        if let Some(existing) = self
            .active
            .iter()
            .find(|a| a.scope == s.scope && a.reason == s.reason)
        {
            return (existing.clone(), false);
        }
        self.active.push(s.clone());
        (s, true)
    }
}

use crate::keys::{
    pause as pause_key, policy as policy_key, rate_window as window_key, suppression as key,
};

/// Seconds since the epoch, never negative.
pub fn now(env: &mut dyn Env) -> u64 {
    u64::try_from(env.now()).unwrap_or(0)
}

/// An address as stored: its [`address::key`], if it is an address.
pub fn normalize_address(address: &str) -> Result<String, SuppressionError> {
    address::key(address).map_err(|e| SuppressionError::InvalidAddress(e.to_string()))
}

fn known_setup(store: &mut dyn Store, setup: &str) -> Result<(), SuppressionError> {
    match setups::get(store, setup) {
        Ok(_) => Ok(()),
        Err(setups::SetupError::NotFound(m)) => Err(SuppressionError::UnknownSetup(m)),
        Err(e) => Err(SuppressionError::Store(format!("{e}"))),
    }
}

fn use_case(store: &mut dyn Store, id: &str) -> Result<UseCase, SuppressionError> {
    match use_cases::get(store, id) {
        Ok(u) => Ok(u),
        Err(use_cases::UseCaseError::NotFound(m)) => Err(SuppressionError::UnknownUseCase(m)),
        Err(e) => Err(SuppressionError::Store(format!("{e}"))),
    }
}

/// The setup's policy (the default until one is set).
pub fn load_policy(store: &mut dyn Store, setup: &str) -> Result<Policy, StoreError> {
    Ok(records::read::<StoredPolicy>(store, &policy_key(setup))?
        .map(|(p, _)| p.into())
        .unwrap_or_default())
}

/// The decision for `address` (already normalized) under `use_case`.
pub fn decide(
    store: &mut dyn Store,
    use_case: &UseCase,
    address: &str,
    now: u64,
) -> Result<Decision, StoreError> {
    if use_case.kind == UseCaseType::Marketing
        && let Some(pause) = judge_rate(store, &use_case.setup, now)?
    {
        return Ok(Decision::Paused(pause));
    }
    let Some((record, _)) = records::read::<Record>(store, &key(&use_case.setup, address))? else {
        return Ok(Decision::Allow);
    };
    Ok(record
        .active
        .into_iter()
        .find(|s| s.in_force(now) && s.applies_to(use_case))
        .map_or(Decision::Allow, Decision::Suppressed))
}

/// `suppression.check`.
pub fn check(
    store: &mut dyn Store,
    env: &mut dyn Env,
    use_case_id: &str,
    address: &str,
) -> Result<Decision, SuppressionError> {
    let use_case = use_case(store, use_case_id)?;
    let address = normalize_address(address)?;
    let now = now(env);
    Ok(decide(store, &use_case, &address, now)?)
}

/// `suppression.get`.
pub fn get(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &str,
    address: &str,
) -> Result<AddressState, SuppressionError> {
    known_setup(store, setup)?;
    let address = normalize_address(address)?;
    let now = now(env);
    Ok(records::read::<Record>(store, &key(setup, &address))?
        .map(|(r, _)| r)
        .unwrap_or(Record {
            address,
            ..Record::default()
        })
        .state(now))
}

/// `suppression.list`: addresses with a suppression in force.
pub fn list(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Vec<AddressState>, SuppressionError> {
    known_setup(store, setup)?;
    let limit = usize::try_from(limit.clamp(1, 100)).unwrap_or(100);
    let now = now(env);
    let prefix = crate::keys::suppression_prefix(setup);
    let mut after = cursor.map(|c| format!("{prefix}{}", c.to_ascii_lowercase()));
    let mut out = Vec::new();
    loop {
        let page = store.list(&prefix, after.as_deref(), 100)?;
        for k in &page.keys {
            if let Some((record, _)) = records::read::<Record>(store, k)? {
                let state = record.state(now);
                if !state.active.is_empty() {
                    out.push(state);
                    if out.len() == limit {
                        return Ok(out);
                    }
                }
            }
        }
        match page.cursor {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// `suppression.remove`.
pub fn remove(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &str,
    address: &str,
    note: &str,
) -> Result<AddressState, SuppressionError> {
    known_setup(store, setup)?;
    let address = normalize_address(address)?;
    let now = now(env);
    let note = if note.trim().is_empty() {
        "removed".to_string()
    } else {
        note.chars().filter(|c| !c.is_control()).take(500).collect()
    };
    let record = update(store, setup, &address, now, |r| {
        for s in std::mem::take(&mut r.active) {
            r.end(s, now, &note);
        }
        r.soft.clear();
        Ok(())
    })?;
    Ok(record.state(now))
}

/// Applies `change` to the stored record of an address, retrying on
/// conflicts; suppressions that ran out are moved to the history first.
fn update<T>(
    store: &mut dyn Store,
    setup: &str,
    address: &str,
    now: u64,
    mut change: impl FnMut(&mut Record) -> Result<T, StoreError>,
) -> Result<Record, StoreError> {
    let k = key(setup, address);
    for _ in 0..16 {
        let (mut record, expect) = match records::read::<Record>(store, &k)? {
            Some((r, v)) => (r, Expect::Version(v)),
            None => (
                Record {
                    address: address.to_string(),
                    ..Record::default()
                },
                Expect::Absent,
            ),
        };
        record.expire(now);
        change(&mut record)?;
        match records::write(store, &k, &record, expect) {
            Ok(_) => return Ok(record),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "{k}: too many concurrent writers"
    )))
}

/// What an event does to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Delivered,
    HardBounce,
    SoftBounce,
    /// A complaint about mail of a use case of this type.
    Complaint(UseCaseType),
    Unsubscribe(Scope),
    /// Counted elsewhere, changes nothing here.
    Nothing,
}

/// Who and what an event is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub setup: &'a str,
    pub use_case: &'a str,
    /// Normalized (`normalize_address`).
    pub address: &'a str,
    /// The event's id.
    pub event: &'a str,
    /// When it happened.
    pub at: u64,
}

/// Applies what an event says of an address; returns the suppressions it
/// began and, for unsubscribes, the one in force. Applying an event id twice
/// changes nothing; an unsubscribe is idempotent by its scope instead, so a
/// link used again after `remove` suppresses again.
pub fn apply(
    store: &mut dyn Store,
    target: &Target<'_>,
    now: u64,
    change: &Change,
) -> Result<(Vec<Suppression>, Option<Suppression>), StoreError> {
    if *change == Change::Nothing {
        return Ok((Vec::new(), None));
    }
    let Target {
        setup,
        use_case,
        address,
        event,
        at,
    } = *target;
    let policy = load_policy(store, setup)?;
    let mut began = Vec::new();
    let mut in_force = None;
    let suppression = |scope: Scope, reason: Reason, until: Option<u64>| Suppression {
        address: address.to_string(),
        scope,
        reason,
        since: at,
        until,
        event: event.to_string(),
        use_case: Some(use_case.to_string()),
    };
    update(store, setup, address, now, |r| {
        began.clear();
        in_force = None;
        if !matches!(change, Change::Unsubscribe(_)) {
            if r.events.iter().any(|e| e == event) {
                return Ok(());
            }
            r.events.push(event.to_string());
            if r.events.len() > REMEMBERED_EVENTS {
                r.events.remove(0);
            }
        }
        let mut add = |r: &mut Record, s: Suppression| {
            let (current, new) = r.add(s);
            if new {
                began.push(current.clone());
            }
            current
        };
        match change {
            Change::Delivered => {
                r.last_delivered = Some(r.last_delivered.map_or(at, |d| d.max(at)));
                r.soft.retain(|s| s.at > at);
            }
            Change::HardBounce => {
                add(
                    r,
                    suppression(policy.hard_bounce_scope.clone(), Reason::HardBounce, None),
                );
            }
            Change::SoftBounce => {
                let delivered = r.last_delivered.unwrap_or(0);
                let window_start = at.saturating_sub(policy.soft_bounce_window);
                r.soft.push(Soft {
                    at,
                    event: event.to_string(),
                });
                r.soft.retain(|s| s.at > delivered && s.at >= window_start);
                let count = usize::try_from(policy.soft_bounce_count).unwrap_or(usize::MAX);
                if count > 0 && r.soft.iter().filter(|s| s.at <= at).count() >= count {
                    let until = at.saturating_add(policy.soft_bounce_duration);
                    if until > now {
                        add(
                            r,
                            suppression(Scope::Setup, Reason::SoftBounces, Some(until)),
                        );
                    }
                    r.soft.clear();
                }
            }
            Change::Complaint(kind) => {
                add(r, suppression(Scope::Marketing, Reason::Complaint, None));
                if *kind != UseCaseType::Marketing {
                    add(
                        r,
                        suppression(
                            Scope::UseCase(use_case.to_string()),
                            Reason::Complaint,
                            None,
                        ),
                    );
                }
            }
            Change::Unsubscribe(scope) => {
                in_force = Some(add(
                    r,
                    suppression(scope.clone(), Reason::Unsubscribe, None),
                ));
            }
            Change::Nothing => {}
        }
        Ok(())
    })?;
    Ok((began, in_force))
}

/// `suppression.policy`.
pub fn policy(store: &mut dyn Store, setup: &str) -> Result<Policy, SuppressionError> {
    known_setup(store, setup)?;
    Ok(load_policy(store, setup)?)
}

/// `suppression.set-policy`.
pub fn set_policy(
    store: &mut dyn Store,
    setup: &str,
    policy: &Policy,
) -> Result<Policy, SuppressionError> {
    known_setup(store, setup)?;
    let bad = |m: &str| Err(SuppressionError::InvalidPolicy(m.to_string()));
    if matches!(policy.hard_bounce_scope, Scope::UseCase(_)) {
        return bad("hard-bounce-scope is setup or marketing");
    }
    if policy.unsubscribe_scope == Scope::Marketing {
        return bad("unsubscribe-scope is setup or use-case");
    }
    if policy.soft_bounce_window > 30 * 86_400 || policy.soft_bounce_duration > 365 * 86_400 {
        return bad("soft-bounce-window is at most 30 days and soft-bounce-duration 365 days");
    }
    if policy.complaint_rate_ppm > 1_000_000 {
        return bad("complaint-rate-ppm is at most 1000000");
    }
    if let Some(n) = policy.max_recipients
        && !(1..=DEFAULT_MAX_RECIPIENTS).contains(&n)
    {
        return bad("max-recipients must be 1 to 50 (a policy can only lower the cap)");
    }
    if !(1..=90).contains(&policy.complaint_window_days) {
        return bad("complaint-window-days is 1 to 90");
    }
    let mut policy = policy.clone();
    if let Scope::UseCase(id) = &mut policy.unsubscribe_scope {
        id.clear();
    }
    records::write(
        store,
        &policy_key(setup),
        &StoredPolicy::from(&policy),
        Expect::Any,
    )?;
    Ok(policy)
}

fn ppm(part: u64, whole: u64) -> u32 {
    part.saturating_mul(1_000_000)
        .checked_div(whole)
        .map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX))
}

/// The setup's health: the rolling window of the policy's days up to
/// `now`'s, starting no earlier than the last `clear-pause`.
fn measure(
    store: &mut dyn Store,
    setup: &str,
    policy: &Policy,
    now: u64,
) -> Result<Health, StoreError> {
    const DAY: u64 = 86_400;
    let today = now / DAY;
    let mut first = today.saturating_sub(u64::from(policy.complaint_window_days) - 1);
    let mut since = first * DAY;
    let fresh = records::read::<FreshWindow>(store, &window_key(setup))?.map(|(w, _)| w);
    let mut window = match fresh {
        Some(w) if w.since / DAY >= first && w.since <= now => {
            since = w.since;
            first = w.since / DAY;
            let day = reporting::setup_day(store, setup, first)?.unwrap_or_default();
            let mut total = day.minus(&w.baseline);
            if first < today {
                total.add(&reporting::sum_setup_days(store, setup, first + 1, today)?);
            }
            total
        }
        _ => reporting::sum_setup_days(store, setup, first, today)?,
    };
    let mut blocked_reasons: Vec<BlockedReason> = std::mem::take(&mut window.blocked_reasons)
        .into_iter()
        .map(|(reason, b)| BlockedReason {
            reason,
            count: b.count,
            last_at: b.last_at,
            last_diagnostic: b.last_diagnostic,
        })
        .collect();
    blocked_reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    let counts = window.counts;
    Ok(Health {
        window_days: policy.complaint_window_days,
        since,
        sent: counts.sent,
        complained: counts.complained,
        complaint_rate_ppm: ppm(counts.complained, counts.sent),
        blocked: counts.blocked,
        blocked_rate_ppm: ppm(counts.blocked, counts.sent),
        blocked_reasons,
        paused: read_pause(store, setup)?,
    })
}

/// The setup's marketing pause: the one in force, else a new one when the
/// complaint rate is over the policy's line with at least its minimum
/// volume sent in the window. Called at every marketing send decision and
/// after each complaint.
pub fn judge_rate(
    store: &mut dyn Store,
    setup: &str,
    now: u64,
) -> Result<Option<Pause>, StoreError> {
    if let Some(pause) = read_pause(store, setup)? {
        return Ok(Some(pause));
    }
    let policy = load_policy(store, setup)?;
    let health = measure(store, setup, &policy, now)?;
    if health.sent >= policy.complaint_min_sent
        && health.sent > 0
        && health.complaint_rate_ppm > policy.complaint_rate_ppm
    {
        let pause = Pause {
            since: now,
            reason: format!(
                "complaint rate {}.{:03}% ({} complaints, {} recipients in {} days) is over {}.{:03}%",
                health.complaint_rate_ppm / 10_000,
                health.complaint_rate_ppm % 10_000 / 10,
                health.complained,
                health.sent,
                health.window_days,
                policy.complaint_rate_ppm / 10_000,
                policy.complaint_rate_ppm % 10_000 / 10,
            ),
        };
        let stored = StoredPause::from(&pause);
        return match records::write(store, &pause_key(setup), &stored, Expect::Absent) {
            Ok(_) => Ok(Some(pause)),
            Err(StoreError::Conflict(_)) => read_pause(store, setup),
            Err(e) => Err(e),
        };
    }
    Ok(None)
}

/// `suppression.health`.
pub fn health(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &str,
) -> Result<Health, SuppressionError> {
    known_setup(store, setup)?;
    let policy = load_policy(store, setup)?;
    let now = now(env);
    Ok(measure(store, setup, &policy, now)?)
}

/// `suppression.clear-pause`.
pub fn clear_pause(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &str,
    note: &str,
) -> Result<Health, SuppressionError> {
    known_setup(store, setup)?;
    let now = now(env);
    if let Some(pause) = read_pause(store, setup)? {
        let note: String = note.chars().filter(|c| !c.is_control()).take(500).collect();
        let log = crate::keys::pause_history(setup, pause.since);
        let ended = serde_json::json!({ "pause": StoredPause::from(&pause), "cleared-at": now, "note": note });
        records::write(store, &log, &ended, Expect::Any)?;
        // Only what happens from now counts towards the next pause.
        let baseline = reporting::setup_day(store, setup, now / 86_400)?.unwrap_or_default();
        let fresh = FreshWindow {
            since: now,
            baseline: reporting::Bucket {
                events: Vec::new(),
                use_cases: Default::default(),
                ..baseline
            },
        };
        records::write(store, &window_key(setup), &fresh, Expect::Any)?;
        store.delete(&pause_key(setup), Expect::Any)?;
    }
    let policy = load_policy(store, setup)?;
    Ok(measure(store, setup, &policy, now)?)
}

/// A setup's marketing pause as stored (`pause/{setup}`, and inside
/// `pause-history/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPause {
    since: u64,
    reason: String,
}

impl From<&Pause> for StoredPause {
    fn from(p: &Pause) -> Self {
        StoredPause {
            since: p.since,
            reason: p.reason.clone(),
        }
    }
}

fn read_pause(store: &mut dyn Store, setup: &str) -> Result<Option<Pause>, StoreError> {
    Ok(
        records::read::<StoredPause>(store, &pause_key(setup))?.map(|(p, _)| Pause {
            since: p.since,
            reason: p.reason,
        }),
    )
}

/// [`Scope`] as stored: case names of the schema's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredScope {
    #[serde(rename = "setup")]
    Setup,
    #[serde(rename = "marketing")]
    Marketing,
    #[serde(rename = "use-case")]
    UseCase(String),
}

impl From<&Scope> for StoredScope {
    fn from(s: &Scope) -> Self {
        match s {
            Scope::Setup => StoredScope::Setup,
            Scope::Marketing => StoredScope::Marketing,
            Scope::UseCase(id) => StoredScope::UseCase(id.clone()),
        }
    }
}

impl From<StoredScope> for Scope {
    fn from(s: StoredScope) -> Self {
        match s {
            StoredScope::Setup => Scope::Setup,
            StoredScope::Marketing => Scope::Marketing,
            StoredScope::UseCase(id) => Scope::UseCase(id),
        }
    }
}

/// A setup's policy as stored (`policy/{setup}`): field names of the
/// schema's own, whatever the API's become.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPolicy {
    #[serde(rename = "hard-bounce-scope")]
    hard_bounce_scope: StoredScope,
    #[serde(rename = "soft-bounce-count")]
    soft_bounce_count: u32,
    #[serde(rename = "soft-bounce-window")]
    soft_bounce_window: u64,
    #[serde(rename = "soft-bounce-duration")]
    soft_bounce_duration: u64,
    #[serde(rename = "unsubscribe-scope")]
    unsubscribe_scope: StoredScope,
    #[serde(rename = "complaint-rate-ppm")]
    complaint_rate_ppm: u32,
    #[serde(rename = "complaint-window-days")]
    complaint_window_days: u32,
    #[serde(rename = "complaint-min-sent")]
    complaint_min_sent: u64,
    #[serde(rename = "max-recipients", default)]
    max_recipients: Option<u32>,
}

impl From<&Policy> for StoredPolicy {
    fn from(p: &Policy) -> Self {
        StoredPolicy {
            hard_bounce_scope: (&p.hard_bounce_scope).into(),
            soft_bounce_count: p.soft_bounce_count,
            soft_bounce_window: p.soft_bounce_window,
            soft_bounce_duration: p.soft_bounce_duration,
            unsubscribe_scope: (&p.unsubscribe_scope).into(),
            complaint_rate_ppm: p.complaint_rate_ppm,
            complaint_window_days: p.complaint_window_days,
            complaint_min_sent: p.complaint_min_sent,
            max_recipients: p.max_recipients,
        }
    }
}

impl From<StoredPolicy> for Policy {
    fn from(p: StoredPolicy) -> Self {
        Policy {
            hard_bounce_scope: p.hard_bounce_scope.into(),
            soft_bounce_count: p.soft_bounce_count,
            soft_bounce_window: p.soft_bounce_window,
            soft_bounce_duration: p.soft_bounce_duration,
            unsubscribe_scope: p.unsubscribe_scope.into(),
            complaint_rate_ppm: p.complaint_rate_ppm,
            complaint_window_days: p.complaint_window_days,
            complaint_min_sent: p.complaint_min_sent,
            max_recipients: p.max_recipients,
        }
    }
}

// Stored under the keys of `crate::keys`; versioned by `crate::records`.
impl crate::records::Record for Record {}
impl crate::records::Record for StoredPause {}
impl crate::records::Record for StoredPolicy {}
impl crate::records::Record for FreshWindow {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn use_case(kind: UseCaseType) -> UseCase {
        UseCase {
            id: "uc_1".into(),
            setup: "set_1".into(),
            sender: "a@clinic.example".into(),
            kind,
            entity_name: "Clinic".into(),
            use_case_name: "A".into(),
            enabled: true,
            list_unsubscribe: false,
        }
    }

    fn soft(store: &mut MemoryStore, event: &str, at: u64) {
        let target = Target {
            setup: "set_1",
            use_case: "uc_1",
            address: "pat@example.org",
            event,
            at,
        };
        apply(store, &target, at, &Change::SoftBounce).expect("applied");
    }

    #[test]
    fn soft_bounce_suppression_ends_after_its_duration() {
        let mut store = MemoryStore::default();
        let uc = use_case(UseCaseType::Transactional);
        let t = 1_772_442_000;
        soft(&mut store, "s1", t);
        soft(&mut store, "s2", t + 3600);
        soft(&mut store, "s3", t + 7200);
        let during = decide(&mut store, &uc, "pat@example.org", t + 7200 + 86_399).expect("read");
        assert!(matches!(during, Decision::Suppressed(ref s) if s.reason == Reason::SoftBounces));
        let after = decide(&mut store, &uc, "pat@example.org", t + 7200 + 86_400).expect("read");
        assert_eq!(after, Decision::Allow);
    }

    #[test]
    fn soft_bounces_outside_the_window_do_not_add_up() {
        let mut store = MemoryStore::default();
        let uc = use_case(UseCaseType::Transactional);
        let t = 1_772_442_000;
        soft(&mut store, "s1", t);
        soft(&mut store, "s2", t + 40 * 3600);
        soft(&mut store, "s3", t + 73 * 3600);
        let now = t + 73 * 3600;
        assert_eq!(
            decide(&mut store, &uc, "pat@example.org", now).expect("read"),
            Decision::Allow
        );
        soft(&mut store, "s4", t + 74 * 3600);
        assert!(matches!(
            decide(&mut store, &uc, "pat@example.org", now + 3600).expect("read"),
            Decision::Suppressed(_)
        ));
    }
}
