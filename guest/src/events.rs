//! Delivery events from webhooks and from report emails, recorded once each
//! against the outbound message they concern.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::messages::{self, MessageRecord};
use crate::records;
use crate::reporting::{self, Field};
use crate::reports::{self, Class, Finding, ReportFormat};
use crate::store::{Expect, Store, StoreError};
use crate::suppression::{self, Change, Suppression, Target};
use crate::tracking::{self, Classification, TrackingError};
use crate::{ids, use_cases};

/// The largest report `ingest-report` reads.
pub const MAX_REPORT_BYTES: usize = 50 * 1024 * 1024;
/// The longest text field of an event.
const MAX_TEXT: usize = 1000;

/// Permanent, temporary, or a refusal of the message rather than the
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BounceType {
    /// The address will not work: suppresses it.
    Hard,
    /// It may work later: the soft-bounce rule.
    Soft,
    /// The message or the sender was refused: counted and shown in the
    /// setup's health, never suppresses.
    Blocked,
}

/// A bounce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Bounce {
    #[serde(rename = "type")]
    pub kind: BounceType,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
}

/// An open or a click as a provider's webhook reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Engaged {
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
    /// The clicked URL (clicks).
    pub url: Option<String>,
    /// Filled in when recorded; ignored in the input.
    pub classification: Option<Classification>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Delivered,
    Bounced(Bounce),
    Complained(Option<String>),
    Deferred(Option<String>),
    Opened(Engaged),
    Clicked(Engaged),
}

/// A delivery event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Event {
    pub id: String,
    pub message_id: String,
    pub recipient: String,
    pub at: Option<u64>,
    pub kind: EventKind,
}

/// An event as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Recorded {
    pub id: String,
    pub message_id: String,
    pub setup: String,
    pub use_case: String,
    pub recipient: String,
    pub at: u64,
    pub kind: EventKind,
    pub duplicate: bool,
    pub suppressions: Vec<Suppression>,
}

/// Why an event was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventError {
    UnknownMessage(String),
    InvalidEvent(String),
    Store(String),
}

display_cases!(EventError {
    UnknownMessage => "unknown-message",
    InvalidEvent => "invalid-event",
    Store => "store",
});

impl From<StoreError> for EventError {
    fn from(e: StoreError) -> Self {
        EventError::Store(e.to_string())
    }
}

/// What became of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportOutcome {
    Matched(Vec<Recorded>),
    Unmatched(String),
    Ignored,
}

/// A report email, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    pub format: ReportFormat,
    pub class: Class,
    pub mta: Option<String>,
    pub original_message_id: Option<String>,
    pub findings: Vec<Finding>,
    pub outcome: ReportOutcome,
}

fn marker_key(setup: &str, id: &str) -> String {
    crate::keys::event(setup, id)
}

fn check_text(what: &str, value: Option<&str>) -> Result<(), EventError> {
    match value {
        Some(v) if v.len() > MAX_TEXT => Err(EventError::InvalidEvent(format!(
            "{what} is longer than {MAX_TEXT} bytes"
        ))),
        _ => Ok(()),
    }
}

fn check_status(status: Option<&str>) -> Result<(), EventError> {
    let Some(status) = status else {
        return Ok(());
    };
    let parts: Vec<&str> = status.split('.').collect();
    let valid = parts.len() == 3
        && matches!(parts.first(), Some(&("2" | "4" | "5")))
        && parts
            .iter()
            .skip(1)
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(EventError::InvalidEvent(format!(
            "status {} is not an enhanced status code X.Y.Z",
            ids::shown(status)
        )))
    }
}

fn check_event(event: &Event) -> Result<(String, String), EventError> {
    if event.id.is_empty() || event.id.len() > 200 || event.id.chars().any(char::is_control) {
        return Err(EventError::InvalidEvent(
            "id must be 1 to 200 bytes without control characters".into(),
        ));
    }
    let message_id = ids::bare(&event.message_id).ok_or_else(|| {
        EventError::UnknownMessage(format!("{} is not a msg-id", ids::shown(&event.message_id)))
    })?;
    let recipient = suppression::normalize_address(&event.recipient).map_err(|_| {
        EventError::InvalidEvent(format!(
            "recipient {} is not an address local@domain",
            ids::shown(&event.recipient)
        ))
    })?;
    match &event.kind {
        EventKind::Bounced(b) => {
            check_status(b.status.as_deref())?;
            check_text("the diagnostic", b.diagnostic.as_deref())?;
        }
        EventKind::Complained(t) => check_text("the feedback type", t.as_deref())?,
        EventKind::Deferred(d) => check_text("the diagnostic", d.as_deref())?,
        EventKind::Delivered => {}
        EventKind::Opened(e) | EventKind::Clicked(e) => {
            let long = |v: &Option<String>| v.as_ref().is_some_and(|s| s.len() > 2048);
            if long(&e.user_agent) || long(&e.client_ip) || long(&e.url) {
                return Err(EventError::InvalidEvent(
                    "user-agent, client-ip and url are at most 2048 bytes".into(),
                ));
            }
            if matches!(event.kind, EventKind::Opened(_)) && e.url.is_some() {
                return Err(EventError::InvalidEvent("an open has no url".into()));
            }
        }
    }
    Ok((message_id, recipient))
}

/// `events.record`.
pub fn record(
    store: &mut dyn Store,
    env: &mut dyn Env,
    event: &Event,
) -> Result<Recorded, EventError> {
    let (message_id, recipient) = check_event(event)?;
    let Some((message, _)) = messages::find_outbound(store, &message_id)? else {
        return Err(EventError::UnknownMessage(format!(
            "no outbound message {message_id}"
        )));
    };
    if let EventKind::Opened(e) | EventKind::Clicked(e) = &event.kind {
        return engaged(store, env, &message, event, &recipient, e);
    }
    // A provider's webhook names no reason: the diagnostic's is shown.
    let reason = match &event.kind {
        EventKind::Bounced(b) => reports::classify(b.status.as_deref(), b.diagnostic.as_deref()).1,
        _ => None,
    };
    apply(
        store,
        env,
        &message,
        &event.id,
        &recipient,
        event.at,
        &event.kind,
        reason.as_deref(),
    )
}

/// An open or click a provider reported: classified and counted by
/// `tracking` like our own requests (as a GET), whatever the recipient's
/// suppressions say (it is the provider's fact); no suppression changes.
fn engaged(
    store: &mut dyn Store,
    env: &mut dyn Env,
    message: &MessageRecord,
    event: &Event,
    recipient: &str,
    e: &Engaged,
) -> Result<Recorded, EventError> {
    let (Some(setup), Some(use_case)) = (message.setup.clone(), message.use_case.clone()) else {
        return Err(EventError::UnknownMessage(format!(
            "{} has no setup or use case",
            message.message_id
        )));
    };
    let marker = marker_key(&setup, &event.id);
    if let Some((mut seen, _)) = records::read::<Recorded>(store, &marker)? {
        seen.duplicate = true;
        seen.suppressions.clear();
        return Ok(seen);
    }
    let at = event.at.unwrap_or_else(|| suppression::now(env));
    let uc = use_cases::get(store, &use_case)
        .map_err(|e| EventError::Store(format!("the message's use case: {e}")))?;
    let request = tracking::Request {
        at,
        user_agent: e.user_agent.clone(),
        client_ip: e.client_ip.clone(),
        method: tracking::Method::Get,
    };
    let click = matches!(event.kind, EventKind::Clicked(_)).then_some(e.url.as_deref());
    let counted =
        tracking::record_reported(store, message, &setup, &uc, click, &request, &event.id)
            .map_err(|e| match e {
                TrackingError::Store(m) => EventError::Store(m),
                other => EventError::InvalidEvent(other.to_string()),
            })?;
    let payload = Engaged {
        classification: Some(counted.classification),
        ..e.clone()
    };
    let mut recorded = Recorded {
        id: event.id.clone(),
        message_id: message.message_id.clone(),
        setup,
        use_case,
        recipient: recipient.to_string(),
        at,
        kind: match event.kind {
            EventKind::Opened(_) => EventKind::Opened(payload),
            _ => EventKind::Clicked(payload),
        },
        duplicate: false,
        suppressions: Vec::new(),
    };
    match records::write(store, &marker, &recorded, Expect::Absent) {
        Ok(_) => Ok(recorded),
        Err(StoreError::Conflict(_)) => {
            recorded.duplicate = true;
            Ok(recorded)
        }
        Err(e) => Err(e.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn apply(
    store: &mut dyn Store,
    env: &mut dyn Env,
    message: &MessageRecord,
    id: &str,
    recipient: &str,
    at: Option<u64>,
    kind: &EventKind,
    reason: Option<&str>,
) -> Result<Recorded, EventError> {
    let (Some(setup), Some(use_case)) = (message.setup.clone(), message.use_case.clone()) else {
        return Err(EventError::UnknownMessage(format!(
            "{} has no setup or use case",
            message.message_id
        )));
    };
    let marker = marker_key(&setup, id);
    if let Some((mut seen, _)) = records::read::<Recorded>(store, &marker)? {
        seen.duplicate = true;
        seen.suppressions.clear();
        return Ok(seen);
    }
    let now = suppression::now(env);
    let at = at.unwrap_or(now);
    let (change, field) = match kind {
        EventKind::Delivered => (Change::Delivered, Field::Delivered),
        EventKind::Bounced(Bounce {
            kind: BounceType::Hard,
            ..
        }) => (Change::HardBounce, Field::HardBounced),
        EventKind::Bounced(Bounce {
            kind: BounceType::Soft,
            ..
        }) => (Change::SoftBounce, Field::SoftBounced),
        EventKind::Bounced(Bounce {
            kind: BounceType::Blocked,
            ..
        }) => (Change::Nothing, Field::Blocked),
        EventKind::Complained(_) => {
            let kind = use_cases::get(store, &use_case)
                .map_err(|e| EventError::Store(format!("the message's use case: {e}")))?
                .kind;
            (Change::Complaint(kind), Field::Complained)
        }
        EventKind::Deferred(_) => (Change::Nothing, Field::Deferred),
        EventKind::Opened(_) | EventKind::Clicked(_) => {
            return Err(EventError::InvalidEvent(
                "opens and clicks are recorded by `engaged`".into(),
            ));
        }
    };
    let target = Target {
        setup: &setup,
        use_case: &use_case,
        address: recipient,
        event: id,
        at,
    };
    let (began, _) = suppression::apply(store, &target, now, &change)?;
    let mut recorded = Recorded {
        id: id.to_string(),
        message_id: message.message_id.clone(),
        setup: setup.clone(),
        use_case: use_case.clone(),
        recipient: recipient.to_string(),
        at,
        kind: kind.clone(),
        duplicate: false,
        suppressions: began,
    };
    // The counts and the event's id go in one write, before the marker: a
    // retry after a crash between the two finds the id there and counts
    // nothing again.
    let blocked = match kind {
        EventKind::Bounced(Bounce {
            kind: BounceType::Blocked,
            diagnostic,
            ..
        }) => Some((reason.unwrap_or("unspecified"), at, diagnostic.as_deref())),
        _ => None,
    };
    let at_signed = i64::try_from(at).unwrap_or(i64::MAX);
    let bump = reporting::Bump {
        use_case: Some(&use_case),
        field,
        n: 1,
        event: Some(id),
        blocked,
    };
    reporting::bump_event(store, &setup, at_signed, &bump)?;
    match records::write(store, &marker, &recorded, Expect::Absent) {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            recorded.duplicate = true;
            recorded.suppressions.clear();
            return Ok(recorded);
        }
        Err(e) => return Err(e.into()),
    }
    if matches!(change, Change::Complaint(_)) {
        suppression::judge_rate(store, &setup, now)?;
    }
    Ok(recorded)
}

/// `events.ingest-report`.
pub fn ingest_report(
    store: &mut dyn Store,
    env: &mut dyn Env,
    raw: &[u8],
) -> Result<Report, EventError> {
    ingest_tied(store, env, raw, None)
}

/// Ingests a report, tied to `tie` (our message and its recipient, as a
/// verified return path names them) instead of the Message-ID the report
/// quotes, which it may not.
pub fn ingest_tied(
    store: &mut dyn Store,
    env: &mut dyn Env,
    raw: &[u8],
    tie: Option<(&MessageRecord, &str)>,
) -> Result<Report, EventError> {
    if raw.len() > MAX_REPORT_BYTES {
        return Err(EventError::InvalidEvent(format!(
            "the report is {} bytes; at most {MAX_REPORT_BYTES}",
            raw.len()
        )));
    }
    let read = reports::analyze(raw);
    let class = read.class();
    let mut report = Report {
        format: read.format,
        class,
        mta: read.mta.clone(),
        original_message_id: read.original_message_id.clone(),
        findings: read.findings.clone(),
        outcome: ReportOutcome::Ignored,
    };
    let delivered = |f: &Finding| f.action.as_deref() == Some("delivered");
    if class == Class::NotABounce && !read.findings.iter().any(delivered) {
        return Ok(report);
    }
    // The same report returned to two return paths is two reports.
    let mut digest = Sha256::new().chain_update(raw);
    if let Some((m, r)) = tie {
        digest = digest
            .chain_update(b"\0")
            .chain_update(m.message_id.as_bytes())
            .chain_update(b"\0")
            .chain_update(r.as_bytes());
    }
    let hash = crate::hex(&digest.finalize());
    let short = hash.get(..24).unwrap_or(&hash);
    let message = match (tie, &read.original_message_id) {
        (Some((m, _)), _) => Some(m.clone()),
        (None, Some(id)) => messages::find_outbound(store, id)?.map(|(m, _)| m),
        (None, None) => None,
    };
    if let Some((m, _)) = tie {
        report.original_message_id = Some(m.message_id.clone());
    }
    let mut recorded = Vec::new();
    if let Some(message) = &message {
        for (n, finding) in read.findings.iter().enumerate() {
            let recipient = match (tie, &finding.recipient, message.to.as_slice()) {
                // The return path names the recipient; a report may name
                // an alias or a forwarding address instead.
                (Some((_, r)), _, _) => Some(r.to_string()),
                (None, Some(r), _) => suppression::normalize_address(r).ok(),
                (None, None, [only]) => Some(only.clone()),
                (None, None, _) => None,
            };
            let Some(recipient) = recipient else {
                continue;
            };
            let bounce = |kind| {
                EventKind::Bounced(Bounce {
                    kind,
                    status: finding.status.clone(),
                    diagnostic: finding.diagnostic.clone(),
                })
            };
            let kind = match finding.class {
                _ if finding.action.as_deref() == Some("delayed") => {
                    EventKind::Deferred(finding.diagnostic.clone())
                }
                Class::Hard => bounce(BounceType::Hard),
                Class::Soft => bounce(BounceType::Soft),
                Class::Blocked => bounce(BounceType::Blocked),
                Class::Complaint => EventKind::Complained(finding.feedback_type.clone()),
                Class::NotABounce if delivered(finding) => EventKind::Delivered,
                Class::NotABounce => continue,
            };
            let id = format!("report:{short}:{n}");
            recorded.push(apply(
                store,
                env,
                message,
                &id,
                &recipient,
                None,
                &kind,
                finding.reason.as_deref(),
            )?);
        }
    }
    report.outcome = if recorded.is_empty() && class == Class::NotABounce {
        ReportOutcome::Ignored
    } else if recorded.is_empty() {
        let id = format!("rpt_{short}");
        let stored = serde_json::json!({
            "report": &report,
            "raw": crate::thread_index::base64(raw),
        });
        records::write(
            store,
            &crate::keys::unmatched_report(&id),
            &stored,
            Expect::Any,
        )?;
        ReportOutcome::Unmatched(id)
    } else {
        ReportOutcome::Matched(recorded)
    };
    Ok(report)
}

// Stored under the keys of `crate::keys`; versioned by `crate::records`.
impl crate::records::Record for Recorded {}
