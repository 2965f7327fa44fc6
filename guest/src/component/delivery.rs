//! The delivery interfaces (suppression, events, unsubscribe, reporting):
//! conversions only.

use super::exports::mailroom::channel::{events, reporting, suppression, unsubscribe};
use super::{Component, HostEnv, HostStore};
use crate::events as ev;
use crate::reporting as rep;
use crate::reports;
use crate::suppression as sup;
use crate::tenant;
use crate::unsubscribe as unsub;

pub(super) fn wit_scope(s: sup::Scope) -> suppression::Scope {
    match s {
        sup::Scope::Setup => suppression::Scope::Setup,
        sup::Scope::Marketing => suppression::Scope::Marketing,
        sup::Scope::UseCase(id) => suppression::Scope::UseCase(id),
    }
}

fn domain_scope(s: suppression::Scope) -> sup::Scope {
    match s {
        suppression::Scope::Setup => sup::Scope::Setup,
        suppression::Scope::Marketing => sup::Scope::Marketing,
        suppression::Scope::UseCase(id) => sup::Scope::UseCase(id),
    }
}

pub(super) fn wit_suppression(s: sup::Suppression) -> suppression::Suppression {
    suppression::Suppression {
        address: s.address,
        scope: wit_scope(s.scope),
        reason: match s.reason {
            sup::Reason::HardBounce => suppression::Reason::HardBounce,
            sup::Reason::SoftBounces => suppression::Reason::SoftBounces,
            sup::Reason::Complaint => suppression::Reason::Complaint,
            sup::Reason::Unsubscribe => suppression::Reason::Unsubscribe,
        },
        since: s.since,
        until: s.until,
        event: s.event,
        use_case: s.use_case,
    }
}

pub(super) fn wit_pause(p: sup::Pause) -> suppression::Pause {
    suppression::Pause {
        since: p.since,
        reason: p.reason,
    }
}

fn wit_state(s: sup::AddressState) -> suppression::AddressState {
    suppression::AddressState {
        address: s.address,
        active: s.active.into_iter().map(wit_suppression).collect(),
        history: s
            .history
            .into_iter()
            .map(|e| suppression::Ended {
                suppression: wit_suppression(e.suppression),
                at: e.at,
                note: e.note,
            })
            .collect(),
    }
}

fn wit_policy(p: sup::Policy) -> suppression::Policy {
    suppression::Policy {
        hard_bounce_scope: wit_scope(p.hard_bounce_scope),
        soft_bounce_count: p.soft_bounce_count,
        soft_bounce_window: p.soft_bounce_window,
        soft_bounce_duration: p.soft_bounce_duration,
        unsubscribe_scope: wit_scope(p.unsubscribe_scope),
        complaint_rate_ppm: p.complaint_rate_ppm,
        complaint_window_days: p.complaint_window_days,
        complaint_min_sent: p.complaint_min_sent,
        max_recipients: p.max_recipients,
    }
}

fn wit_health(h: sup::Health) -> suppression::Health {
    suppression::Health {
        window_days: h.window_days,
        since: h.since,
        sent: h.sent,
        complained: h.complained,
        complaint_rate_ppm: h.complaint_rate_ppm,
        blocked: h.blocked,
        blocked_rate_ppm: h.blocked_rate_ppm,
        blocked_reasons: h
            .blocked_reasons
            .into_iter()
            .map(|b| suppression::BlockedReason {
                reason: b.reason,
                count: b.count,
                last_at: b.last_at,
                last_diagnostic: b.last_diagnostic,
            })
            .collect(),
        paused: h.paused.map(wit_pause),
    }
}

fn suppression_error(e: sup::SuppressionError) -> suppression::SuppressionError {
    use sup::SuppressionError as D;
    use suppression::SuppressionError as W;
    match e {
        D::UnknownUseCase(m) => W::UnknownUseCase(m),
        D::UnknownSetup(m) => W::UnknownSetup(m),
        D::InvalidAddress(m) => W::InvalidAddress(m),
        D::InvalidPolicy(m) => W::InvalidPolicy(m),
        D::Store(m) => W::Store(m),
    }
}

type SupResult<T> = Result<T, suppression::SuppressionError>;

impl suppression::Guest for Component {
    fn check(
        workspace: String,
        use_case: String,
        address: String,
    ) -> SupResult<suppression::Decision> {
        tenant::suppression_check(
            &mut HostStore,
            &mut HostEnv,
            &workspace,
            &use_case,
            &address,
        )
        .map(|d| match d {
            sup::Decision::Allow => suppression::Decision::Allow,
            sup::Decision::Suppressed(s) => suppression::Decision::Suppressed(wit_suppression(s)),
            sup::Decision::Paused(p) => suppression::Decision::Paused(wit_pause(p)),
        })
        .map_err(suppression_error)
    }

    fn get(
        workspace: String,
        setup: String,
        address: String,
    ) -> SupResult<suppression::AddressState> {
        tenant::suppression_get(&mut HostStore, &mut HostEnv, &workspace, &setup, &address)
            .map(wit_state)
            .map_err(suppression_error)
    }

    fn list(
        workspace: String,
        setup: String,
        cursor: Option<String>,
        limit: u32,
    ) -> SupResult<Vec<suppression::AddressState>> {
        tenant::suppression_list(
            &mut HostStore,
            &mut HostEnv,
            &workspace,
            &setup,
            cursor.as_deref(),
            limit,
        )
        .map(|l| l.into_iter().map(wit_state).collect())
        .map_err(suppression_error)
    }

    fn remove(
        workspace: String,
        setup: String,
        address: String,
        note: String,
    ) -> SupResult<suppression::AddressState> {
        tenant::suppression_remove(
            &mut HostStore,
            &mut HostEnv,
            &workspace,
            &setup,
            &address,
            &note,
        )
        .map(wit_state)
        .map_err(suppression_error)
    }

    fn get_policy(workspace: String, setup: String) -> SupResult<suppression::Policy> {
        tenant::suppression_get_policy(&mut HostStore, &workspace, &setup)
            .map(wit_policy)
            .map_err(suppression_error)
    }

    fn set_policy(
        workspace: String,
        setup: String,
        p: suppression::Policy,
    ) -> SupResult<suppression::Policy> {
        let policy = sup::Policy {
            hard_bounce_scope: domain_scope(p.hard_bounce_scope),
            soft_bounce_count: p.soft_bounce_count,
            soft_bounce_window: p.soft_bounce_window,
            soft_bounce_duration: p.soft_bounce_duration,
            unsubscribe_scope: domain_scope(p.unsubscribe_scope),
            complaint_rate_ppm: p.complaint_rate_ppm,
            complaint_window_days: p.complaint_window_days,
            complaint_min_sent: p.complaint_min_sent,
            max_recipients: p.max_recipients,
        };
        tenant::suppression_set_policy(&mut HostStore, &workspace, &setup, &policy)
            .map(wit_policy)
            .map_err(suppression_error)
    }

    fn get_health(workspace: String, setup: String) -> SupResult<suppression::Health> {
        tenant::suppression_get_health(&mut HostStore, &mut HostEnv, &workspace, &setup)
            .map(wit_health)
            .map_err(suppression_error)
    }

    fn clear_pause(
        workspace: String,
        setup: String,
        note: String,
    ) -> SupResult<suppression::Health> {
        tenant::suppression_clear_pause(&mut HostStore, &mut HostEnv, &workspace, &setup, &note)
            .map(wit_health)
            .map_err(suppression_error)
    }
}

fn wit_kind(k: ev::EventKind) -> events::EventKind {
    match k {
        ev::EventKind::Delivered => events::EventKind::Delivered,
        ev::EventKind::Bounced(b) => events::EventKind::Bounced(events::Bounce {
            type_: match b.kind {
                ev::BounceType::Hard => events::BounceType::Hard,
                ev::BounceType::Soft => events::BounceType::Soft,
                ev::BounceType::Blocked => events::BounceType::Blocked,
            },
            status: b.status,
            diagnostic: b.diagnostic,
        }),
        ev::EventKind::Complained(t) => events::EventKind::Complained(t),
        ev::EventKind::Deferred(d) => events::EventKind::Deferred(d),
        ev::EventKind::Opened(e) => events::EventKind::Opened(wit_engaged(e)),
        ev::EventKind::Clicked(e) => events::EventKind::Clicked(wit_engaged(e)),
    }
}

fn wit_engaged(e: ev::Engaged) -> events::EngagementReport {
    events::EngagementReport {
        user_agent: e.user_agent,
        client_ip: e.client_ip,
        url: e.url,
        classification: e.classification.map(super::tracking::classification),
    }
}

/// The input's classification is ignored: `record` decides it.
fn engaged(e: events::EngagementReport) -> ev::Engaged {
    ev::Engaged {
        user_agent: e.user_agent,
        client_ip: e.client_ip,
        url: e.url,
        classification: None,
    }
}

fn wit_recorded(r: ev::Recorded) -> events::Recorded {
    events::Recorded {
        id: r.id,
        message_id: r.message_id,
        setup: r.setup,
        use_case: r.use_case,
        recipient: r.recipient,
        at: r.at,
        kind: wit_kind(r.kind),
        duplicate: r.duplicate,
        suppressions: r.suppressions.into_iter().map(wit_suppression).collect(),
    }
}

fn event_error(e: ev::EventError) -> events::EventError {
    match e {
        ev::EventError::UnknownMessage(m) => events::EventError::UnknownMessage(m),
        ev::EventError::InvalidEvent(m) => events::EventError::InvalidEvent(m),
        ev::EventError::Store(m) => events::EventError::Store(m),
    }
}

fn wit_class(c: reports::Class) -> events::ReportClass {
    match c {
        reports::Class::Hard => events::ReportClass::Hard,
        reports::Class::Soft => events::ReportClass::Soft,
        reports::Class::Blocked => events::ReportClass::Blocked,
        reports::Class::Complaint => events::ReportClass::Complaint,
        reports::Class::NotABounce => events::ReportClass::NotABounce,
    }
}

impl events::Guest for Component {
    fn record(e: events::Event) -> Result<events::Recorded, events::EventError> {
        let kind = match e.kind {
            events::EventKind::Delivered => ev::EventKind::Delivered,
            events::EventKind::Bounced(b) => ev::EventKind::Bounced(ev::Bounce {
                kind: match b.type_ {
                    events::BounceType::Hard => ev::BounceType::Hard,
                    events::BounceType::Soft => ev::BounceType::Soft,
                    events::BounceType::Blocked => ev::BounceType::Blocked,
                },
                status: b.status,
                diagnostic: b.diagnostic,
            }),
            events::EventKind::Complained(t) => ev::EventKind::Complained(t),
            events::EventKind::Deferred(d) => ev::EventKind::Deferred(d),
            events::EventKind::Opened(e) => ev::EventKind::Opened(engaged(e)),
            events::EventKind::Clicked(e) => ev::EventKind::Clicked(engaged(e)),
        };
        let event = ev::Event {
            id: e.id,
            message_id: e.message_id,
            recipient: e.recipient,
            at: e.at,
            kind,
        };
        ev::record(&mut HostStore, &mut HostEnv, &event)
            .map(wit_recorded)
            .map_err(event_error)
    }

    fn ingest_report(raw: Vec<u8>) -> Result<events::Report, events::EventError> {
        ev::ingest_report(&mut HostStore, &mut HostEnv, &raw)
            .map(|r| events::Report {
                format: match r.format {
                    reports::ReportFormat::DeliveryStatus => events::ReportFormat::DeliveryStatus,
                    reports::ReportFormat::FeedbackReport => events::ReportFormat::FeedbackReport,
                    reports::ReportFormat::PlainBounce => events::ReportFormat::PlainBounce,
                    reports::ReportFormat::AutoReply => events::ReportFormat::AutoReply,
                    reports::ReportFormat::NotAReport => events::ReportFormat::NotAReport,
                },
                class: wit_class(r.class),
                mta: r.mta,
                original_message_id: r.original_message_id,
                findings: r
                    .findings
                    .into_iter()
                    .map(|f| events::Finding {
                        recipient: f.recipient,
                        class: wit_class(f.class),
                        action: f.action,
                        status: f.status,
                        diagnostic: f.diagnostic,
                        reason: f.reason,
                        feedback_type: f.feedback_type,
                    })
                    .collect(),
                outcome: match r.outcome {
                    ev::ReportOutcome::Matched(list) => {
                        events::ReportOutcome::Matched(list.into_iter().map(wit_recorded).collect())
                    }
                    ev::ReportOutcome::Unmatched(id) => events::ReportOutcome::Unmatched(id),
                    ev::ReportOutcome::Ignored => events::ReportOutcome::Ignored,
                },
            })
            .map_err(event_error)
    }
}

pub(super) fn wit_opt_out(o: unsub::OptOut) -> unsubscribe::OptOut {
    unsubscribe::OptOut {
        suppression: wit_suppression(o.suppression),
        new: o.new,
        http_status: o.http_status,
        body: o.body,
    }
}

impl unsubscribe::Guest for Component {
    fn one_click(
        token: String,
        content_type: Option<String>,
        body: Vec<u8>,
    ) -> Result<unsubscribe::OptOut, unsubscribe::UnsubscribeError> {
        unsub::one_click(
            &mut HostStore,
            &mut HostEnv,
            &token,
            content_type.as_deref(),
            &body,
        )
        .map(wit_opt_out)
        .map_err(|e| match e {
            unsub::UnsubscribeError::InvalidToken(m) => {
                unsubscribe::UnsubscribeError::InvalidToken(m)
            }
            unsub::UnsubscribeError::InvalidBody(m) => {
                unsubscribe::UnsubscribeError::InvalidBody(m)
            }
            unsub::UnsubscribeError::Store(m) => unsubscribe::UnsubscribeError::Store(m),
        })
    }
}

impl reporting::Guest for Component {
    fn count(
        workspace: String,
        subject: reporting::Subject,
        from: u64,
        until: u64,
    ) -> Result<reporting::Period, reporting::ReportingError> {
        let subject = match subject {
            reporting::Subject::Setup(id) => rep::Subject::Setup(id),
            reporting::Subject::UseCase(id) => rep::Subject::UseCase(id),
        };
        tenant::reporting_count(&mut HostStore, &workspace, &subject, from, until)
            .map(|p| reporting::Period {
                from: p.from,
                until: p.until,
                counts: reporting::Counts {
                    sent: p.counts.sent,
                    delivered: p.counts.delivered,
                    hard_bounced: p.counts.hard_bounced,
                    soft_bounced: p.counts.soft_bounced,
                    blocked: p.counts.blocked,
                    deferred: p.counts.deferred,
                    complained: p.counts.complained,
                    unsubscribed: p.counts.unsubscribed,
                    suppressed: p.counts.suppressed,
                },
            })
            .map_err(|e| match e {
                rep::ReportingError::NotFound(m) => reporting::ReportingError::NotFound(m),
                rep::ReportingError::InvalidRange(m) => reporting::ReportingError::InvalidRange(m),
                rep::ReportingError::Store(m) => reporting::ReportingError::Store(m),
            })
    }

    fn count_engagement(
        workspace: String,
        subject: reporting::Subject,
        from: u64,
        until: u64,
    ) -> Result<reporting::EngagementPeriod, reporting::ReportingError> {
        super::tracking::engagement(workspace, subject, from, until)
    }

    fn link_clicks(
        workspace: String,
        use_case: String,
        from: u64,
        until: u64,
    ) -> Result<Vec<reporting::LinkCount>, reporting::ReportingError> {
        super::tracking::link_clicks(workspace, use_case, from, until)
    }
}
