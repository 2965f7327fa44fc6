//! Counts per use case and per setup in one-day buckets, bumped as sends and
//! events happen and summed over a range on request.

use serde::{Deserialize, Serialize};

use crate::store::{Expect, Store, StoreError, get_json, put_json};
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

/// Counts of recipients by what happened to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Counts {
    pub sent: u64,
    pub delivered: u64,
    pub hard_bounced: u64,
    pub soft_bounced: u64,
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
        self.deferred += o.deferred;
        self.complained += o.complained;
        self.unsubscribed += o.unsubscribed;
        self.suppressed += o.suppressed;
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
    Deferred,
    Complained,
    Unsubscribed,
    Suppressed,
}

fn bucket_key(subject: &Subject, day: u64) -> String {
    match subject {
        Subject::Setup(id) => format!("stats/setup/{id}/{day:06}"),
        Subject::UseCase(id) => format!("stats/use-case/{id}/{day:06}"),
    }
}

/// The day (since the epoch) `at` falls on; times before 1970 count on day 0.
pub fn day_of(at: i64) -> u64 {
    u64::try_from(at).unwrap_or(0) / DAY
}

/// Adds `n` to `field` of the setup's and the use case's buckets of `at`'s day.
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
    let day = day_of(at);
    let mut subjects = vec![Subject::Setup(setup.to_string())];
    if let Some(uc) = use_case {
        subjects.push(Subject::UseCase(uc.to_string()));
    }
    for subject in subjects {
        bump_one(store, &bucket_key(&subject, day), field, n)?;
    }
    Ok(())
}

fn bump_one(store: &mut dyn Store, key: &str, field: Field, n: u64) -> Result<(), StoreError> {
    for _ in 0..16 {
        let (mut counts, expect) = match get_json::<Counts>(store, key)? {
            Some((c, v)) => (c, Expect::Version(v)),
            None => (Counts::default(), Expect::Absent),
        };
        let slot = match field {
            Field::Sent => &mut counts.sent,
            Field::Delivered => &mut counts.delivered,
            Field::HardBounced => &mut counts.hard_bounced,
            Field::SoftBounced => &mut counts.soft_bounced,
            Field::Deferred => &mut counts.deferred,
            Field::Complained => &mut counts.complained,
            Field::Unsubscribed => &mut counts.unsubscribed,
            Field::Suppressed => &mut counts.suppressed,
        };
        *slot = slot.saturating_add(n);
        match put_json(store, key, &counts, expect) {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "{key}: too many concurrent writers"
    )))
}

/// Sums the buckets of days `first..=last`.
pub fn sum_days(
    store: &mut dyn Store,
    subject: &Subject,
    first: u64,
    last: u64,
) -> Result<Counts, StoreError> {
    let mut total = Counts::default();
    for day in first..=last {
        if let Some((c, _)) = get_json::<Counts>(store, &bucket_key(subject, day))? {
            total.add(&c);
        }
    }
    Ok(total)
}

/// The counts of the days that overlap `[from, until)`.
pub fn count(
    store: &mut dyn Store,
    subject: &Subject,
    from: u64,
    until: u64,
) -> Result<Period, ReportingError> {
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
    let first = from / DAY;
    let last = (until - 1) / DAY;
    if last - first + 1 > MAX_DAYS {
        return Err(ReportingError::InvalidRange(format!(
            "the range covers {} days; at most {MAX_DAYS}",
            last - first + 1
        )));
    }
    Ok(Period {
        from: first * DAY,
        until: (last + 1) * DAY,
        counts: sum_days(store, subject, first, last)?,
    })
}
