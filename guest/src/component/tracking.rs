//! The `tracking` interface and the engagement parts of `reporting`:
//! conversions only; the decisions are in `crate::tracking`.

use super::exports::mailroom::channel::{reporting, tracking};
use super::{Component, HostStore};
use crate::reporting as rep;
use crate::tenant;
use crate::tracking as domain;

fn error(e: domain::TrackingError) -> tracking::TrackingError {
    use domain::TrackingError as D;
    match e {
        D::InvalidToken(m) => tracking::TrackingError::InvalidToken(m),
        D::NotFound(m) => tracking::TrackingError::NotFound(m),
        D::InvalidInput(m) => tracking::TrackingError::InvalidInput(m),
        D::Store(m) => tracking::TrackingError::Store(m),
    }
}

fn settings(s: domain::TrackingSettings) -> tracking::TrackingSettings {
    tracking::TrackingSettings {
        opens: s.opens,
        clicks: s.clicks,
        scanner_window_secs: s.scanner_window_secs,
    }
}

fn request(r: tracking::Request) -> domain::Request {
    domain::Request {
        at: r.at,
        user_agent: r.user_agent,
        client_ip: r.client_ip,
        method: match r.method {
            tracking::Method::Get => domain::Method::Get,
            tracking::Method::Head => domain::Method::Head,
        },
    }
}

fn reason(r: domain::Reason) -> tracking::Reason {
    use domain::Reason as D;
    use tracking::Reason as W;
    match r {
        D::Person => W::Person,
        D::GmailImageProxy => W::GmailImageProxy,
        D::YahooImageProxy => W::YahooImageProxy,
        D::AppleMpp => W::AppleMpp,
        D::HeadRequest => W::HeadRequest,
        D::ScannerUserAgent => W::ScannerUserAgent,
        D::NoUserAgent => W::NoUserAgent,
        D::TooSoonAfterDelivery => W::TooSoonAfterDelivery,
        D::LinkBurst => W::LinkBurst,
        D::ClickWithoutOpen => W::ClickWithoutOpen,
    }
}

pub(super) fn classification(c: domain::Classification) -> tracking::Classification {
    tracking::Classification {
        agent: match c.agent {
            domain::Agent::Human => tracking::Agent::Human,
            domain::Agent::Machine => tracking::Agent::Machine,
        },
        proxied: c.proxied,
        reason: reason(c.reason),
    }
}

fn answer(a: domain::Answer) -> tracking::Answer {
    tracking::Answer {
        status: a.status,
        headers: a.headers,
        body: a.body,
        recorded: a.recorded.map(|e| tracking::EngagementEvent {
            message_id: e.message_id,
            use_case: e.use_case,
            kind: match e.kind {
                domain::Kind::Open => tracking::EngagementKind::Open,
                domain::Kind::Click => tracking::EngagementKind::Click,
            },
            link: e.link,
            url: e.url,
            at: e.at,
            classification: classification(e.classification),
            unique: e.unique,
        }),
        not_recorded: a.not_recorded,
    }
}

fn links(list: Vec<domain::LinkClicks>) -> Vec<reporting::LinkCount> {
    list.into_iter()
        .map(|l| reporting::LinkCount {
            url: l.url,
            human: l.human,
            machine: l.machine,
        })
        .collect()
}

impl tracking::Guest for Component {
    fn get_settings(
        workspace: String,
        use_case: String,
    ) -> Result<tracking::TrackingSettings, tracking::TrackingError> {
        tenant::tracking_get_settings(&mut HostStore, &workspace, &use_case)
            .map(settings)
            .map_err(error)
    }

    fn set_settings(
        workspace: String,
        use_case: String,
        s: tracking::TrackingSettings,
    ) -> Result<tracking::TrackingSettings, tracking::TrackingError> {
        let s = domain::TrackingSettings {
            opens: s.opens,
            clicks: s.clicks,
            scanner_window_secs: s.scanner_window_secs,
        };
        tenant::tracking_set_settings(&mut HostStore, &workspace, &use_case, &s)
            .map(settings)
            .map_err(error)
    }

    fn get_base(workspace: String, setup: String) -> Result<String, tracking::TrackingError> {
        tenant::tracking_get_base(&mut HostStore, &workspace, &setup).map_err(error)
    }

    fn set_base(
        workspace: String,
        setup: String,
        base: Option<String>,
    ) -> Result<String, tracking::TrackingError> {
        tenant::tracking_set_base(&mut HostStore, &workspace, &setup, base.as_deref())
            .map_err(error)
    }

    fn set_networks(networks: Vec<String>) -> Result<u32, tracking::TrackingError> {
        domain::set_networks(&mut HostStore, &networks).map_err(error)
    }

    fn open(
        token: String,
        r: tracking::Request,
    ) -> Result<tracking::Answer, tracking::TrackingError> {
        domain::open(&mut HostStore, &token, &request(r))
            .map(answer)
            .map_err(error)
    }

    fn click(
        token: String,
        r: tracking::Request,
    ) -> Result<tracking::Answer, tracking::TrackingError> {
        domain::click(&mut HostStore, &token, &request(r))
            .map(answer)
            .map_err(error)
    }

    fn message(
        workspace: String,
        message_id: String,
    ) -> Result<tracking::TrackedMessage, tracking::TrackingError> {
        tenant::tracking_message(&mut HostStore, &workspace, &message_id)
            .map(|m| tracking::TrackedMessage {
                message_id: m.message_id,
                use_case: m.use_case,
                pixel_url: m.pixel_url,
                opens_human: m.opens_human,
                opens_machine: m.opens_machine,
                links: m
                    .links
                    .into_iter()
                    .map(|l| tracking::TrackedLink {
                        url: l.url,
                        tracked_url: l.tracked_url,
                        human: l.human,
                        machine: l.machine,
                    })
                    .collect(),
            })
            .map_err(error)
    }
}

fn reporting_error(e: rep::ReportingError) -> reporting::ReportingError {
    match e {
        rep::ReportingError::NotFound(m) => reporting::ReportingError::NotFound(m),
        rep::ReportingError::InvalidRange(m) => reporting::ReportingError::InvalidRange(m),
        rep::ReportingError::Store(m) => reporting::ReportingError::Store(m),
    }
}

/// `reporting.engagement`.
pub(super) fn engagement(
    workspace: String,
    subject: reporting::Subject,
    from: u64,
    until: u64,
) -> Result<reporting::EngagementPeriod, reporting::ReportingError> {
    let subject = match subject {
        reporting::Subject::Setup(id) => rep::Subject::Setup(id),
        reporting::Subject::UseCase(id) => rep::Subject::UseCase(id),
    };
    tenant::reporting_count_engagement(&mut HostStore, &workspace, &subject, from, until)
        .map(|p| {
            let e = p.engagement;
            reporting::EngagementPeriod {
                from: p.from,
                until: p.until,
                engagement: reporting::Engagement {
                    opens_human: e.opens_human,
                    opens_machine: e.opens_machine,
                    unique_opens_human: e.unique_opens_human,
                    unique_opens_machine: e.unique_opens_machine,
                    clicks_human: e.clicks_human,
                    clicks_machine: e.clicks_machine,
                    unique_clicks_human: e.unique_clicks_human,
                    unique_clicks_machine: e.unique_clicks_machine,
                },
            }
        })
        .map_err(reporting_error)
}

/// `reporting.link-clicks`.
pub(super) fn link_clicks(
    workspace: String,
    use_case: String,
    from: u64,
    until: u64,
) -> Result<Vec<reporting::LinkCount>, reporting::ReportingError> {
    tenant::reporting_link_clicks(&mut HostStore, &workspace, &use_case, from, until)
        .map(links)
        .map_err(reporting_error)
}
