//! Counts per use case and per setup in one-day buckets, bumped as sends and
//! events happen and summed over a range on request.
//!
//! One record per setup and day (`stats/setup/<setup>/<day>`) holds the
//! setup's counts, each use case's counts, the blocked bounces by reason,
//! and the ids of the latest events it counted: an event's counts are one
//! write, and that write carries the event's id, so an event retried after
//! a crash between its counting and its idempotency marker
//! (`events::record`) is not counted twice. (Counts of use cases written
//! before this layout, `stats/use-case/<use-case>/<day>`, are still read.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::records;
use crate::store::{Expect, Store, StoreError};
use crate::{setups, use_cases};

const DAY: u64 = 86_400;
/// The longest range `counts` sums.
pub const MAX_DAYS: u64 = 400;

/// Whose counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    Setup(String),
    UseCase(String),
}

/// Ids of the latest events a day's record remembers having counted.
const REMEMBERED_EVENTS: usize = 256;

/// Counts of recipients by what happened to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct Counts {
    pub sent: u64,
    pub delivered: u64,
    pub hard_bounced: u64,
    pub soft_bounced: u64,
    pub blocked: u64,
    pub deferred: u64,
    pub complained: u64,
    pub unsubscribed: u64,
    pub suppressed: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.sent += o.sent;
        self.delivered += o.delivered;
        self.hard_bounced += o.hard_bounced;
        self.soft_bounced += o.soft_bounced;
        self.blocked += o.blocked;
        self.deferred += o.deferred;
        self.complained += o.complained;
        self.unsubscribed += o.unsubscribed;
        self.suppressed += o.suppressed;
    }

    /// What `self` holds beyond `o` (never below zero).
    pub fn minus(&self, o: &Counts) -> Counts {
        Counts {
            sent: self.sent.saturating_sub(o.sent),
            delivered: self.delivered.saturating_sub(o.delivered),
            hard_bounced: self.hard_bounced.saturating_sub(o.hard_bounced),
            soft_bounced: self.soft_bounced.saturating_sub(o.soft_bounced),
            blocked: self.blocked.saturating_sub(o.blocked),
            deferred: self.deferred.saturating_sub(o.deferred),
            complained: self.complained.saturating_sub(o.complained),
            unsubscribed: self.unsubscribed.saturating_sub(o.unsubscribed),
            suppressed: self.suppressed.saturating_sub(o.suppressed),
        }
    }

    fn slot(&mut self, field: Field) -> &mut u64 {
        match field {
            Field::Sent => &mut self.sent,
            Field::Delivered => &mut self.delivered,
            Field::HardBounced => &mut self.hard_bounced,
            Field::SoftBounced => &mut self.soft_bounced,
            Field::Blocked => &mut self.blocked,
            Field::Deferred => &mut self.deferred,
            Field::Complained => &mut self.complained,
            Field::Unsubscribed => &mut self.unsubscribed,
            Field::Suppressed => &mut self.suppressed,
        }
    }
}

/// Blocked bounces of one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct BlockedReason {
    /// How many.
    pub count: u64,
    /// When the latest happened.
    pub last_at: u64,
    /// The latest one's diagnostic.
    pub last_diagnostic: Option<String>,
}

impl BlockedReason {
    fn merge(&mut self, o: &BlockedReason) {
        self.count = self.count.saturating_add(o.count);
        if o.last_at >= self.last_at {
            self.last_at = o.last_at;
            if o.last_diagnostic.is_some() {
                self.last_diagnostic.clone_from(&o.last_diagnostic);
            }
        }
    }
}

/// One setup's record of one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Bucket {
    /// The setup's counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// Each use case's counts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub use_cases: BTreeMap<String, Counts>,
    /// Blocked bounces by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blocked_reasons: BTreeMap<String, BlockedReason>,
    /// Ids of the latest events counted, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

impl Bucket {
    /// Adds another day's counts and reasons (not its event ids).
    pub fn add(&mut self, o: &Bucket) {
        self.counts.add(&o.counts);
        for (uc, c) in &o.use_cases {
            self.use_cases.entry(uc.clone()).or_default().add(c);
        }
        for (reason, b) in &o.blocked_reasons {
            self.blocked_reasons
                .entry(reason.clone())
                .or_default()
                .merge(b);
        }
    }

    /// What `self` holds beyond `o`, for the setup's counts and the blocked
    /// reasons.
    pub fn minus(&self, o: &Bucket) -> Bucket {
        let blocked_reasons = self
            .blocked_reasons
            .iter()
            .filter_map(|(reason, b)| {
                let before = o.blocked_reasons.get(reason).map_or(0, |x| x.count);
                let count = b.count.saturating_sub(before);
                (count > 0).then(|| (reason.clone(), BlockedReason { count, ..b.clone() }))
            })
            .collect();
        Bucket {
            counts: self.counts.minus(&o.counts),
            use_cases: BTreeMap::new(),
            blocked_reasons,
            events: Vec::new(),
        }
    }
}

/// Counts over `[from, until)`, whole days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Period {
    pub from: u64,
    pub until: u64,
    pub counts: Counts,
}

/// Why counts could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportingError {
    NotFound(String),
    InvalidRange(String),
    Store(String),
}

display_cases!(ReportingError {
    NotFound => "not-found",
    InvalidRange => "invalid-range",
    Store => "store",
});

impl From<StoreError> for ReportingError {
    fn from(e: StoreError) -> Self {
        ReportingError::Store(e.to_string())
    }
}

/// What one bump adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Sent,
    Delivered,
    HardBounced,
    SoftBounced,
    Blocked,
    Deferred,
    Complained,
    Unsubscribed,
    Suppressed,
}

use crate::keys::stats as bucket_key;

/// The day (since the epoch) `at` falls on; times before 1970 count on day 0.
pub fn day_of(at: i64) -> u64 {
    u64::try_from(at).unwrap_or(0) / DAY
}

/// Adds `n` to `field` of the setup's and the use case's counts of `at`'s
/// day.
pub fn bump(
    store: &mut dyn Store,
    setup: &str,
    use_case: Option<&str>,
    at: i64,
    field: Field,
    n: u64,
) -> Result<(), StoreError> {
    if n == 0 {
        return Ok(());
    }
    let change = Bump {
        use_case,
        field,
        n,
        event: None,
        blocked: None,
    };
    bump_bucket(store, setup, day_of(at), &change).map(|_| ())
}

/// One event's change to a day's record.
#[derive(Debug, Clone, Copy)]
pub struct Bump<'a> {
    /// The use case counted beside the setup.
    pub use_case: Option<&'a str>,
    /// What is counted.
    pub field: Field,
    /// By how much.
    pub n: u64,
    /// The event's id: a record that counted it already is left alone.
    pub event: Option<&'a str>,
    /// For a blocked bounce: its reason, when it happened and its diagnostic.
    pub blocked: Option<(&'a str, u64, Option<&'a str>)>,
}

/// Counts one event on `at`'s day of the setup in one write, with its id;
/// false when that day's record had counted the event already.
pub fn bump_event(
    store: &mut dyn Store,
    setup: &str,
    at: i64,
    change: &Bump<'_>,
) -> Result<bool, StoreError> {
    bump_bucket(store, setup, day_of(at), change)
}

fn bump_bucket(
    store: &mut dyn Store,
    setup: &str,
    day: u64,
    change: &Bump<'_>,
) -> Result<bool, StoreError> {
    let key = bucket_key(&Subject::Setup(setup.to_string()), day);
    for _ in 0..16 {
        let (mut bucket, expect) = match records::read::<Bucket>(store, &key)? {
            Some((b, v)) => (b, Expect::Version(v)),
            None => (Bucket::default(), Expect::Absent),
        };
        if let Some(id) = change.event {
            if bucket.events.iter().any(|e| e == id) {
                return Ok(false);
            }
            bucket.events.push(id.to_string());
            if bucket.events.len() > REMEMBERED_EVENTS {
                let extra = bucket.events.len() - REMEMBERED_EVENTS;
                bucket.events.drain(..extra);
            }
        }
        let slot = bucket.counts.slot(change.field);
        *slot = slot.saturating_add(change.n);
        if let Some(uc) = change.use_case {
            let slot = bucket
                .use_cases
                .entry(uc.to_string())
                .or_default()
                .slot(change.field);
            *slot = slot.saturating_add(change.n);
        }
        if let Some((reason, at, diagnostic)) = change.blocked {
            bucket
                .blocked_reasons
                .entry(reason.to_string())
                .or_default()
                .merge(&BlockedReason {
                    count: change.n,
                    last_at: at,
                    last_diagnostic: diagnostic.map(str::to_string),
                });
        }
        match records::write(store, &key, &bucket, expect) {
            Ok(_) => return Ok(true),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "{key}: too many concurrent writers"
    )))
}

/// The setup's records of days `first..=last`, added up.
pub fn sum_setup_days(
    store: &mut dyn Store,
    setup: &str,
    first: u64,
    last: u64,
) -> Result<Bucket, StoreError> {
    let mut total = Bucket::default();
    for day in first..=last {
        if let Some(b) = setup_day(store, setup, day)? {
            total.add(&b);
        }
    }
    Ok(total)
}

/// The setup's record of one day.
pub fn setup_day(
    store: &mut dyn Store,
    setup: &str,
    day: u64,
) -> Result<Option<Bucket>, StoreError> {
    Ok(
        records::read::<Bucket>(store, &bucket_key(&Subject::Setup(setup.to_string()), day))?
            .map(|(b, _)| b),
    )
}

/// Sums the counts of days `first..=last`; a use case's are read from its
/// setup's records (and from the records of the older layout).
pub fn sum_days(
    store: &mut dyn Store,
    subject: &Subject,
    first: u64,
    last: u64,
) -> Result<Counts, StoreError> {
    match subject {
        Subject::Setup(setup) => Ok(sum_setup_days(store, setup, first, last)?.counts),
        Subject::UseCase(id) => {
            let setup = use_cases::get(store, id).ok().map(|u| u.setup);
            let mut total = Counts::default();
            for day in first..=last {
                if let Some((c, _)) = records::read::<Counts>(store, &bucket_key(subject, day))? {
                    total.add(&c);
                }
                if let Some(setup) = &setup
                    && let Some(b) = setup_day(store, setup, day)?
                    && let Some(c) = b.use_cases.get(id)
                {
                    total.add(c);
                }
            }
            Ok(total)
        }
    }
}

/// The first and last day of `[from, until)` for `subject`, checked as
/// every reporting call checks them: the subject exists, `until` is after
/// `from`, and the range covers at most [`MAX_DAYS`] days.
pub fn days(
    store: &mut dyn Store,
    subject: &Subject,
    from: u64,
    until: u64,
) -> Result<(u64, u64), ReportingError> {
    let exists = match subject {
        Subject::Setup(id) => match setups::get(store, id) {
            Ok(_) => true,
            Err(setups::SetupError::NotFound(_)) => false,
            Err(e) => return Err(ReportingError::Store(format!("{e}"))),
        },
        Subject::UseCase(id) => match use_cases::get(store, id) {
            Ok(_) => true,
            Err(use_cases::UseCaseError::NotFound(_)) => false,
            Err(e) => return Err(ReportingError::Store(format!("{e}"))),
        },
    };
    if !exists {
        let (what, id) = match subject {
            Subject::Setup(id) => ("setup", id),
            Subject::UseCase(id) => ("use case", id),
        };
        return Err(ReportingError::NotFound(format!("no {what} has id {id}")));
    }
    if until <= from {
        return Err(ReportingError::InvalidRange(format!(
            "until ({until}) must be after from ({from})"
        )));
    }
    let (first, last) = (from / DAY, (until - 1) / DAY);
    if last - first + 1 > MAX_DAYS {
        return Err(ReportingError::InvalidRange(format!(
            "the range covers {} days; at most {MAX_DAYS}",
            last - first + 1
        )));
    }
    Ok((first, last))
}

/// The counts of the days that overlap `[from, until)`.
pub fn count(
    store: &mut dyn Store,
    subject: &Subject,
    from: u64,
    until: u64,
) -> Result<Period, ReportingError> {
    let (first, last) = days(store, subject, from, until)?;
    Ok(Period {
        from: first * DAY,
        until: (last + 1) * DAY,
        counts: sum_days(store, subject, first, last)?,
    })
}

// Stored under the keys of `crate::keys`; versioned by `crate::records`.
impl crate::records::Record for Bucket {}
impl crate::records::Record for Counts {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn an_event_retried_after_its_count_counts_once() {
        let mut store = MemoryStore::default();
        let at = 1_772_442_000;
        let change = Bump {
            use_case: Some("uc_1"),
            field: Field::Blocked,
            n: 1,
            event: Some("evt-1"),
            blocked: Some(("too-large", 1_772_442_000, Some("552 5.3.4 too big"))),
        };
        // Counted, then "crashed" before the marker: the retry counts nothing.
        assert!(bump_event(&mut store, "set_1", at, &change).expect("counted"));
        assert!(!bump_event(&mut store, "set_1", at, &change).expect("read"));
        let day = setup_day(&mut store, "set_1", day_of(at))
            .expect("read")
            .expect("a record");
        assert_eq!(day.counts.blocked, 1);
        assert_eq!(day.use_cases.get("uc_1").map(|c| c.blocked), Some(1));
        assert_eq!(
            day.blocked_reasons.get("too-large").map(|b| b.count),
            Some(1)
        );
        // Sends carry no id and always count.
        bump(&mut store, "set_1", Some("uc_1"), at, Field::Sent, 2).expect("counted");
        bump(&mut store, "set_1", Some("uc_1"), at, Field::Sent, 2).expect("counted");
        let day = sum_setup_days(&mut store, "set_1", day_of(at), day_of(at)).expect("read");
        assert_eq!(day.counts.sent, 4);
    }

    #[test]
    fn records_of_the_older_layout_still_read() {
        let mut store = MemoryStore::default();
        let old = Counts {
            sent: 3,
            hard_bounced: 1,
            ..Counts::default()
        };
        records::write(&mut store, "stats/setup/set_1/020514", &old, Expect::Any).expect("written");
        let day = setup_day(&mut store, "set_1", 20_514)
            .expect("read")
            .expect("a record");
        assert_eq!(day.counts, old);
    }
}
