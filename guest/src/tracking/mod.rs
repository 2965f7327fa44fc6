//! Engagement tracking: open pixels and tracked links added at send, and
//! the requests for them classified `human` or `machine` (rules in
//! `rules`), recorded once per message for unique counts and summed per
//! day for reporting.
//!
//! Stored: `tracking-settings/<use-case>`, `tracking-base/<setup>`,
//! `tracking-networks` (Apple's proxy networks, host data),
//! `tracking/<setup>/<message>` (each tracked message: its link
//! destinations and what was seen), `engagement/<setup|use-case>/<id>/<day>`
//! and `link-clicks/<use-case>/<day>`.

pub mod rewrite;
pub mod rules;
pub mod token;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::records;
use crate::reporting::{Subject, day_of};
use crate::setups::{self, Setup};
use crate::store::{Expect, Store, StoreError};
use crate::suppression::{Ended, Reason as SuppressionReason, Suppression};
use crate::use_cases::{self, UseCase, UseCaseType};
pub use rules::{Agent, Classification, Reason};

/// The 43-byte transparent 1x1 GIF the pixel answers with.
pub const GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];
/// At most this many networks are kept by `set_networks`.
pub const MAX_NETWORKS: usize = 20_000;
/// Per use case and day, at most this many distinct URLs are counted by
/// name; the rest are summed under [`OTHER_LINKS`].
pub const MAX_LINKS_PER_DAY: usize = 500;
/// The URL under which clicks beyond [`MAX_LINKS_PER_DAY`] are summed.
pub const OTHER_LINKS: &str = "(other links)";
const RECENT_CLICKS: usize = 16;

/// Tracking settings of a use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TrackingSettings {
    /// Add the open pixel.
    pub opens: bool,
    /// Rewrite links to tracked redirects.
    pub clicks: bool,
    /// A click sooner than this after sending is a scanner's.
    pub scanner_window_secs: u32,
}

impl TrackingSettings {
    /// The defaults: on for marketing, off for transactional.
    pub fn default_for(kind: UseCaseType) -> Self {
        let on = kind == UseCaseType::Marketing;
        TrackingSettings {
            opens: on,
            clicks: on,
            scanner_window_secs: rules::DEFAULT_SCANNER_WINDOW_SECS,
        }
    }
}

/// GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Get,
    Head,
}

/// What the host saw of a request for a pixel or a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Request {
    /// When it arrived, seconds since the epoch.
    pub at: u64,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
    pub method: Method,
}

/// Open or click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Open,
    Click,
}

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EngagementEvent {
    pub message_id: String,
    pub use_case: String,
    pub kind: Kind,
    /// The link's index (clicks).
    pub link: Option<u32>,
    /// The link's destination (clicks).
    pub url: Option<String>,
    pub at: u64,
    pub classification: Classification,
    /// The first of its kind and agent for this message (and link).
    pub unique: bool,
}

/// What the host answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Answer {
    /// 200 (the pixel) or 302 (a link).
    pub status: u16,
    /// Headers to send, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body: the GIF, or empty.
    #[serde(with = "crate::bytes_as_text")]
    pub body: Vec<u8>,
    /// What was recorded; `None` when nothing was.
    pub recorded: Option<EngagementEvent>,
    /// Why nothing was recorded, when so.
    pub not_recorded: Option<String>,
}

/// Why a tracking call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrackingError {
    /// Malformed, forged, for another setup, or naming nothing tracked:
    /// the host answers 404.
    InvalidToken(String),
    /// No setup, use case or message has this id.
    NotFound(String),
    /// An argument is not acceptable.
    InvalidInput(String),
    /// The host's storage failed.
    Store(String),
}

impl std::fmt::Display for TrackingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrackingError::InvalidToken(m) => write!(f, "invalid token: {m}"),
            TrackingError::NotFound(m) => write!(f, "not found: {m}"),
            TrackingError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            TrackingError::Store(m) => write!(f, "storage failed: {m}"),
        }
    }
}

impl From<StoreError> for TrackingError {
    fn from(e: StoreError) -> Self {
        TrackingError::Store(e.to_string())
    }
}

/// Clicks of one link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LinkClicks {
    pub url: String,
    pub human: u64,
    pub machine: u64,
}

/// Engagement counts, split by agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Engagement {
    pub opens_human: u64,
    pub opens_machine: u64,
    pub unique_opens_human: u64,
    pub unique_opens_machine: u64,
    pub clicks_human: u64,
    pub clicks_machine: u64,
    pub unique_clicks_human: u64,
    pub unique_clicks_machine: u64,
}

impl Engagement {
    fn add(&mut self, o: &Engagement) {
        self.opens_human += o.opens_human;
        self.opens_machine += o.opens_machine;
        self.unique_opens_human += o.unique_opens_human;
        self.unique_opens_machine += o.unique_opens_machine;
        self.clicks_human += o.clicks_human;
        self.clicks_machine += o.clicks_machine;
        self.unique_clicks_human += o.unique_clicks_human;
        self.unique_clicks_machine += o.unique_clicks_machine;
    }

    fn bump(&mut self, kind: Kind, agent: Agent, unique: bool) {
        let (all, first) = match (kind, agent) {
            (Kind::Open, Agent::Human) => (&mut self.opens_human, &mut self.unique_opens_human),
            (Kind::Open, Agent::Machine) => {
                (&mut self.opens_machine, &mut self.unique_opens_machine)
            }
            (Kind::Click, Agent::Human) => (&mut self.clicks_human, &mut self.unique_clicks_human),
            (Kind::Click, Agent::Machine) => {
                (&mut self.clicks_machine, &mut self.unique_clicks_machine)
            }
        };
        *all = all.saturating_add(1);
        if unique {
            *first = first.saturating_add(1);
        }
    }
}

/// Engagement over `[from, until)`, whole days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EngagementPeriod {
    pub from: u64,
    pub until: u64,
    pub engagement: Engagement,
}

/// What is stored of a tracked message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Tracked {
    message_id: String,
    use_case: String,
    sent_at: u64,
    recipients: Vec<String>,
    pixel: bool,
    /// The tracking base the message's URLs were made with.
    #[serde(default)]
    base: String,
    scanner_window: u64,
    /// Destinations, by link index.
    links: Vec<String>,
    /// `[human, machine]` opens.
    opens: [u64; 2],
    /// `[human, machine]` clicks per link.
    clicks: Vec<[u64; 2]>,
    /// The latest clicks: `(at, link)`.
    recent: Vec<(u64, u16)>,
    /// `[human, machine]` clicks a provider reported on a URL that is none
    /// of `links` (link index `links.len()` in `recent`).
    #[serde(default, skip_serializing_if = "is_zero")]
    other_clicks: [u64; 2],
    /// The ids of the provider events counted here (the latest
    /// [`REMEMBERED_EVENTS`]), so a webhook's retry counts nothing again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    events: Vec<String>,
}

/// Provider event ids remembered per tracked message.
const REMEMBERED_EVENTS: usize = 64;

fn is_zero(c: &[u64; 2]) -> bool {
    *c == [0, 0]
}

fn slot(agent: Agent) -> usize {
    match agent {
        Agent::Human => 0,
        Agent::Machine => 1,
    }
}

use crate::keys::{
    TRACKING_NETWORKS as NETWORKS_KEY, engagement as engagement_key, link_clicks as link_key,
    tracking as tracked_key, tracking_base as base_key, tracking_reported as reported_key,
    tracking_settings as settings_key,
};

fn use_case_of(store: &mut dyn Store, id: &str) -> Result<UseCase, TrackingError> {
    use_cases::get(store, id).map_err(|e| match e {
        use_cases::UseCaseError::NotFound(m) => TrackingError::NotFound(m),
        other => TrackingError::Store(format!("{other:?}")),
    })
}

fn load_settings(
    store: &mut dyn Store,
    use_case: &UseCase,
) -> Result<TrackingSettings, StoreError> {
    Ok(
        records::read::<StoredSettings>(store, &settings_key(&use_case.id))?
            .map(|(s, _)| s.into())
            .unwrap_or_else(|| TrackingSettings::default_for(use_case.kind)),
    )
}

/// `tracking.get-settings`.
pub fn get_settings(
    store: &mut dyn Store,
    use_case: &str,
) -> Result<TrackingSettings, TrackingError> {
    let use_case = use_case_of(store, use_case)?;
    Ok(load_settings(store, &use_case)?)
}

/// `tracking.set-settings`: the scanner window is 0 to 3600 seconds.
pub fn set_settings(
    store: &mut dyn Store,
    use_case: &str,
    settings: &TrackingSettings,
) -> Result<TrackingSettings, TrackingError> {
    let use_case = use_case_of(store, use_case)?;
    if settings.scanner_window_secs > 3600 {
        return Err(TrackingError::InvalidInput(format!(
            "scanner-window-secs is {}; at most 3600",
            settings.scanner_window_secs
        )));
    }
    records::write(
        store,
        &settings_key(&use_case.id),
        &StoredSettings::from(settings),
        Expect::Any,
    )?;
    Ok(*settings)
}

/// Checks a tracking base: `https://host[:port][/path]`, or `http://` to a
/// loopback host (local tests); returned without a trailing `/`.
pub fn check_base(url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let (rest, https) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(r), _) => (r, true),
        (None, Some(r)) => (r, false),
        _ => return Err("must start with https://".into()),
    };
    let host = rest.split('/').next().unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        _ => host,
    };
    let loopback = matches!(name, "localhost" | "127.0.0.1" | "[::1]");
    if !https && !loopback {
        return Err("must start with https:// (http:// only to localhost or 127.0.0.1)".into());
    }
    if !loopback {
        setups::normalize_domain(name)?;
    }
    if url.len() > 200 {
        return Err("is longer than 200 bytes".into());
    }
    if url
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "<>\"'?#,\\&".contains(c))
    {
        return Err("holds a character a base URL here may not".into());
    }
    Ok(url.to_string())
}

fn load_base(store: &mut dyn Store, setup: &str) -> Result<Option<String>, StoreError> {
    if let Some((base, _)) = records::read::<String>(store, &base_key(setup))? {
        return Ok(Some(base));
    }
    Ok(setups::inbound_host(store, setup)?.map(|host| format!("https://{host}/t")))
}

/// `tracking.get-base`: the setup's tracking base URL.
pub fn get_base(store: &mut dyn Store, setup: &str) -> Result<String, TrackingError> {
    load_base(store, setup)?
        .ok_or_else(|| TrackingError::NotFound(format!("no setup has id {setup}")))
}

/// `tracking.set-base`: `None` returns to `https://<inbound-host>/t`.
pub fn set_base(
    store: &mut dyn Store,
    setup: &str,
    base: Option<&str>,
) -> Result<String, TrackingError> {
    if setups::inbound_host(store, setup)?.is_none() {
        return Err(TrackingError::NotFound(format!("no setup has id {setup}")));
    }
    match base {
        Some(base) => {
            let base =
                check_base(base).map_err(|e| TrackingError::InvalidInput(format!("base: {e}")))?;
            records::write(store, &base_key(setup), &base, Expect::Any)?;
        }
        None => store.delete(&base_key(setup), Expect::Any)?,
    }
    get_base(store, setup)
}

/// `tracking.set-networks`: Apple's proxy networks (CIDR), replacing the
/// list; an empty list returns to the built-in one.
pub fn set_networks(store: &mut dyn Store, networks: &[String]) -> Result<u32, TrackingError> {
    if networks.len() > MAX_NETWORKS {
        return Err(TrackingError::InvalidInput(format!(
            "{} networks; at most {MAX_NETWORKS}",
            networks.len()
        )));
    }
    for n in networks {
        if rules::Network::parse(n).is_none() {
            return Err(TrackingError::InvalidInput(format!(
                "{} is not a network a.b.c.d/n or x::/n",
                crate::ids::shown(n)
            )));
        }
    }
    let list: Vec<String> = networks.iter().map(|n| n.trim().to_string()).collect();
    records::write(store, NETWORKS_KEY, &list, Expect::Any)?;
    Ok(list.len() as u32)
}

fn networks(store: &mut dyn Store) -> Result<Vec<rules::Network>, StoreError> {
    let list: Vec<String> = records::read(store, NETWORKS_KEY)?
        .map(|(l, _)| l)
        .filter(|l: &Vec<String>| !l.is_empty())
        .unwrap_or_else(|| {
            rules::DEFAULT_APPLE_NETWORKS
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
    Ok(list
        .iter()
        .filter_map(|n| rules::Network::parse(n))
        .collect())
}

/// The suppression history of an address, as far as tracking needs it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct AddressHistory {
    #[serde(default)]
    active: Vec<Suppression>,
    #[serde(default)]
    history: Vec<Ended>,
}

/// Why an address must not be tracked (it unsubscribed or complained,
/// ever), or bounced hard (nobody could have opened the mail).
fn untrackable(
    store: &mut dyn Store,
    setup: &str,
    address: &str,
) -> Result<Option<&'static str>, StoreError> {
    let Some((h, _)) =
        records::read::<AddressHistory>(store, &crate::keys::suppression(setup, address))?
    else {
        return Ok(None);
    };
    let ever = h
        .active
        .iter()
        .chain(h.history.iter().map(|e| &e.suppression));
    for s in ever {
        match s.reason {
            SuppressionReason::Unsubscribe => {
                return Ok(Some("the recipient unsubscribed: never tracked"));
            }
            SuppressionReason::Complaint => {
                return Ok(Some("the recipient complained: never tracked"));
            }
            _ => {}
        }
    }
    if h.active
        .iter()
        .any(|s| s.reason == SuppressionReason::HardBounce)
    {
        return Ok(Some("the message bounced"));
    }
    Ok(None)
}

/// The send hook: the HTML part rewritten for tracking, per the use case's
/// settings, with the link destinations stored. `None` when nothing is
/// tracked (settings off, no HTML, a recipient who unsubscribed or
/// complained, HTML the rewriter refuses): the HTML goes out as given.
#[allow(clippy::too_many_arguments)]
pub fn rewrite(
    store: &mut dyn Store,
    setup: &Setup,
    use_case: &UseCase,
    recipients: &[String],
    message_id: &str,
    unsubscribe_url: Option<&str>,
    html: Option<&str>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let unchanged = Ok(None);
    let Some(html) = html else {
        return unchanged;
    };
    let settings = load_settings(store, use_case)?;
    if !settings.opens && !settings.clicks {
        return unchanged;
    }
    let message = message_id.split('@').next().unwrap_or_default();
    for r in recipients {
        if untrackable(store, &setup.id, r)?.is_some() {
            return unchanged;
        }
    }
    let (Some(keys), Some(base)) = (
        setups::unsubscribe_keys(store, &setup.id)?,
        load_base(store, &setup.id)?,
    ) else {
        return unchanged;
    };
    let key = token::key(&keys.secret);
    let make = |link: u16| {
        token::make(
            &token::Claim {
                setup: setup.id.clone(),
                message: message.to_string(),
                link,
            },
            &key,
        )
    };
    let click_url = |link: u16| {
        (link != token::OPEN)
            .then(|| make(link))
            .flatten()
            .map(|t| format!("{base}/c/{t}"))
    };
    let Some(pixel) = make(token::OPEN).map(|t| format!("{base}/o/{t}")) else {
        return unchanged;
    };
    let keep: Vec<&str> = unsubscribe_url.into_iter().collect();
    let unsubscribe_prefix = format!("{}/", keys.base);
    let plan = rewrite::Plan {
        click: settings
            .clicks
            .then_some(&click_url as &dyn Fn(u16) -> Option<String>),
        pixel: settings.opens.then_some(pixel.as_str()),
        keep: &keep,
        keep_prefixes: &[unsubscribe_prefix.as_str()],
    };
    let Ok(done) = rewrite::rewrite(html, &plan) else {
        return unchanged;
    };
    if done.links.is_empty() && !settings.opens {
        return unchanged;
    }
    let tracked = Tracked {
        message_id: message_id.to_string(),
        use_case: use_case.id.clone(),
        sent_at: u64::try_from(now).unwrap_or(0),
        recipients: recipients.to_vec(),
        pixel: settings.opens,
        base: base.clone(),
        scanner_window: u64::from(settings.scanner_window_secs),
        clicks: vec![[0, 0]; done.links.len()],
        links: done.links,
        opens: [0, 0],
        recent: Vec::new(),
        other_clicks: [0, 0],
        events: Vec::new(),
    };
    records::write(
        store,
        &tracked_key(&setup.id, message),
        &tracked,
        Expect::Any,
    )?;
    Ok(Some(done.html))
}

/// Checks a token (reading only the setup's record) and loads its message.
fn verified(
    store: &mut dyn Store,
    token: &str,
    open: bool,
) -> Result<(token::Claim, Tracked, u64), TrackingError> {
    let invalid = || TrackingError::InvalidToken("the tracking link is not valid".into());
    if token.len() > 4096 {
        return Err(invalid());
    }
    let token = token.trim().rsplit('/').next().unwrap_or_default();
    let (claim, payload, mac) = token::read(token).ok_or_else(invalid)?;
    if (claim.link == token::OPEN) != open {
        return Err(invalid());
    }
    let keys = setups::unsubscribe_keys(store, &claim.setup)?.ok_or_else(invalid)?;
    if !token::mac_matches(&token::key(&keys.secret), &payload, &mac) {
        return Err(invalid());
    }
    let (tracked, version) =
        records::read::<Tracked>(store, &tracked_key(&claim.setup, &claim.message))?
            .ok_or_else(invalid)?;
    if !open && usize::from(claim.link) >= tracked.links.len() {
        return Err(invalid());
    }
    Ok((claim, tracked, version))
}

fn check_request(request: &Request) -> Result<(), TrackingError> {
    let long = |v: &Option<String>| v.as_ref().is_some_and(|s| s.len() > 2048);
    if long(&request.user_agent) || long(&request.client_ip) {
        return Err(TrackingError::InvalidInput(
            "user-agent and client-ip are at most 2048 bytes".into(),
        ));
    }
    Ok(())
}

fn gif_answer() -> Answer {
    let h = |n: &str, v: &str| (n.to_string(), v.to_string());
    Answer {
        status: 200,
        headers: vec![
            h("content-type", "image/gif"),
            h(
                "cache-control",
                "no-store, no-cache, must-revalidate, max-age=0",
            ),
            h("pragma", "no-cache"),
            h("expires", "0"),
        ],
        body: GIF.to_vec(),
        recorded: None,
        not_recorded: None,
    }
}

fn redirect_answer(url: &str) -> Answer {
    let h = |n: &str, v: &str| (n.to_string(), v.to_string());
    Answer {
        status: 302,
        headers: vec![
            h("location", url),
            h(
                "cache-control",
                "no-store, no-cache, must-revalidate, max-age=0",
            ),
            h("referrer-policy", "no-referrer"),
        ],
        body: Vec::new(),
        recorded: None,
        not_recorded: None,
    }
}

/// `tracking.open`.
pub fn open(
    store: &mut dyn Store,
    token: &str,
    request: &Request,
) -> Result<Answer, TrackingError> {
    let (claim, tracked, version) = verified(store, token, true)?;
    check_request(request)?;
    let mut answer = gif_answer();
    record(store, &claim, tracked, version, request, &mut answer)?;
    Ok(answer)
}

/// `tracking.click`.
pub fn click(
    store: &mut dyn Store,
    token: &str,
    request: &Request,
) -> Result<Answer, TrackingError> {
    let (claim, tracked, version) = verified(store, token, false)?;
    check_request(request)?;
    let url = tracked
        .links
        .get(usize::from(claim.link))
        .cloned()
        .unwrap_or_default();
    let mut answer = redirect_answer(&url);
    record(store, &claim, tracked, version, request, &mut answer)?;
    Ok(answer)
}

fn record(
    store: &mut dyn Store,
    claim: &token::Claim,
    tracked: Tracked,
    version: u64,
    request: &Request,
    answer: &mut Answer,
) -> Result<(), TrackingError> {
    for r in tracked.recipients.clone() {
        if let Some(why) = untrackable(store, &claim.setup, &r)? {
            answer.not_recorded = Some(why.to_string());
            return Ok(());
        }
    }
    let key = tracked_key(&claim.setup, &claim.message);
    let link = (claim.link != token::OPEN).then_some(claim.link);
    let event = count(
        store,
        &claim.setup,
        &key,
        tracked,
        Expect::Version(version),
        request,
        link,
        None,
    )?;
    answer.recorded = Some(event);
    Ok(())
}

/// An open (`click` `None`) or a click, as a provider's webhook reported
/// it (`events.record`), classified by the same rules and counted in the
/// same counters as our own requests. The clicked URL is matched against
/// the message's tracked destinations and its own tracked URLs; a click on
/// another URL (or none) counts in the engagement totals only. Messages we
/// did not track keep their state under `tracking-reported/`, sent at the
/// message's time, with the use case's scanner window and no pixel (so no
/// click-without-open rule). The provider's `event` id is counted once: a
/// retry is classified again but counted nowhere.
pub fn record_reported(
    store: &mut dyn Store,
    message: &crate::messages::MessageRecord,
    setup: &str,
    use_case: &UseCase,
    click: Option<Option<&str>>,
    request: &Request,
    event: &str,
) -> Result<EngagementEvent, TrackingError> {
    check_request(request)?;
    let local = message.message_id.split('@').next().unwrap_or_default();
    let (key, tracked, version) = match records::read::<Tracked>(store, &tracked_key(setup, local))?
    {
        Some((t, v)) => (tracked_key(setup, local), t, Expect::Version(v)),
        None => {
            let key = reported_key(setup, local);
            match records::read::<Tracked>(store, &key)? {
                Some((t, v)) => (key, t, Expect::Version(v)),
                None => {
                    let settings = load_settings(store, use_case)?;
                    let fresh = Tracked {
                        message_id: message.message_id.clone(),
                        use_case: use_case.id.clone(),
                        sent_at: u64::try_from(message.received_at).unwrap_or(0),
                        recipients: message.to.clone(),
                        scanner_window: u64::from(settings.scanner_window_secs),
                        ..Tracked::default()
                    };
                    (key, fresh, Expect::Absent)
                }
            }
        }
    };
    let ours = match click.flatten() {
        Some(url) => own_link(store, setup, local, &tracked, url)?,
        None => None,
    };
    let link = click.map(|url| {
        let found = ours
            .or_else(|| url.and_then(|u| tracked.links.iter().position(|l| l == u)))
            .unwrap_or(tracked.links.len());
        u16::try_from(found).unwrap_or(u16::MAX - 1)
    });
    count(
        store,
        setup,
        &key,
        tracked,
        version,
        request,
        link,
        Some(event),
    )
}

/// The index of the link when `url` is one of this message's own tracked
/// URLs (`BASE/c/TOKEN`, a provider reporting the link it saw followed).
fn own_link(
    store: &mut dyn Store,
    setup: &str,
    local: &str,
    tracked: &Tracked,
    url: &str,
) -> Result<Option<usize>, StoreError> {
    let prefix = format!("{}/c/", tracked.base);
    let Some(text) = url
        .strip_prefix(&prefix)
        .filter(|_| !tracked.base.is_empty())
    else {
        return Ok(None);
    };
    let Some((claim, payload, mac)) = token::read(text) else {
        return Ok(None);
    };
    if claim.setup != setup || claim.message != local {
        return Ok(None);
    }
    let Some(keys) = setups::unsubscribe_keys(store, setup)? else {
        return Ok(None);
    };
    let index = usize::from(claim.link);
    let valid = token::mac_matches(&token::key(&keys.secret), &payload, &mac)
        && index < tracked.links.len();
    Ok(valid.then_some(index))
}

/// Classifies a request against a tracked message, updates its state and
/// the day's counters. `link` is the link's index (`links.len()` for a
/// reported URL that is none of them). A provider `event` already counted
/// on it (a retry, or two deliveries at once) is classified but counted
/// nowhere.
#[allow(clippy::too_many_arguments)]
fn count(
    store: &mut dyn Store,
    setup: &str,
    key: &str,
    mut tracked: Tracked,
    mut expect: Expect,
    request: &Request,
    link: Option<u16>,
    event: Option<&str>,
) -> Result<EngagementEvent, TrackingError> {
    let apple = networks(store)?;
    let mut tries = 0;
    let event = loop {
        tries += 1;
        let seen = event.is_some_and(|id| tracked.events.iter().any(|e| e == id));
        if let Some(id) = event.filter(|_| !seen) {
            tracked.events.push(id.to_string());
            if tracked.events.len() > REMEMBERED_EVENTS {
                tracked.events.remove(0);
            }
        }
        let cx = rules::Context {
            sent_at: tracked.sent_at,
            apple: &apple,
            scanner_window: tracked.scanner_window,
        };
        let (kind, classification, unique) = match link {
            None => {
                let c = rules::classify_open(request, &cx);
                let s = slot(c.agent);
                let unique = tracked.opens[s] == 0;
                tracked.opens[s] = tracked.opens[s].saturating_add(1);
                (Kind::Open, c, unique)
            }
            Some(index) => {
                let history = rules::ClickHistory {
                    pixel: tracked.pixel,
                    opened: tracked.opens.iter().any(|n| *n > 0),
                    other_link_just_before: tracked.recent.iter().any(|(at, l)| {
                        *l != index && at.abs_diff(request.at) <= rules::LINK_BURST_SECS
                    }),
                };
                let c = rules::classify_click(request, &cx, &history);
                let s = slot(c.agent);
                let counts = if usize::from(index) >= tracked.links.len() {
                    &mut tracked.other_clicks
                } else {
                    tracked.clicks.get_mut(usize::from(index)).ok_or_else(|| {
                        TrackingError::InvalidToken("the tracking link is not valid".into())
                    })?
                };
                let unique = counts[s] == 0;
                counts[s] = counts[s].saturating_add(1);
                tracked.recent.push((request.at, index));
                if tracked.recent.len() > RECENT_CLICKS {
                    tracked.recent.remove(0);
                }
                (Kind::Click, c, unique)
            }
        };
        let written = if seen {
            Ok(0)
        } else {
            records::write(store, key, &tracked, expect)
        };
        match written {
            Ok(_) => {
                let counted = EngagementEvent {
                    message_id: tracked.message_id.clone(),
                    use_case: tracked.use_case.clone(),
                    kind,
                    link: link
                        .filter(|i| usize::from(*i) < tracked.links.len())
                        .map(u32::from),
                    url: link.and_then(|i| tracked.links.get(usize::from(i)).cloned()),
                    at: request.at,
                    classification,
                    unique: unique && !seen,
                };
                if seen {
                    return Ok(counted);
                }
                break counted;
            }
            Err(StoreError::Conflict(_)) if tries < 8 => {
                let (latest, v) = records::read::<Tracked>(store, key)?
                    .ok_or_else(|| TrackingError::Store(format!("{key} disappeared")))?;
                (tracked, expect) = (latest, Expect::Version(v));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let day = day_of(i64::try_from(event.at).unwrap_or(i64::MAX));
    for subject in [
        Subject::Setup(setup.to_string()),
        Subject::UseCase(event.use_case.clone()),
    ] {
        change(
            store,
            &engagement_key(&subject, day),
            |e: &mut Engagement| e.bump(event.kind, event.classification.agent, event.unique),
        )?;
    }
    if let Some(url) = &event.url {
        change(
            store,
            &link_key(&event.use_case, day),
            |m: &mut BTreeMap<String, [u64; 2]>| {
                let name = if m.contains_key(url) || m.len() < MAX_LINKS_PER_DAY {
                    url.clone()
                } else {
                    OTHER_LINKS.to_string()
                };
                let c = m.entry(name).or_default();
                let s = slot(event.classification.agent);
                c[s] = c[s].saturating_add(1);
            },
        )?;
    }
    Ok(event)
}

/// Reads, changes and writes a record, retrying on conflict.
fn change<T: records::Record + Default>(
    store: &mut dyn Store,
    key: &str,
    apply: impl Fn(&mut T),
) -> Result<(), StoreError> {
    for _ in 0..16 {
        let (mut value, expect) = match records::read::<T>(store, key)? {
            Some((v, version)) => (v, Expect::Version(version)),
            None => (T::default(), Expect::Absent),
        };
        apply(&mut value);
        match records::write(store, key, &value, expect) {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(format!(
        "{key}: too many concurrent writers"
    )))
}

/// One tracked link of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TrackedLink {
    pub url: String,
    pub tracked_url: String,
    pub human: u64,
    pub machine: u64,
}

/// What is tracked of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TrackedMessage {
    pub message_id: String,
    pub use_case: String,
    pub pixel_url: Option<String>,
    pub opens_human: u64,
    pub opens_machine: u64,
    pub links: Vec<TrackedLink>,
}

/// The `not-found` of [`message`].
pub fn message_not_found(message_id: &str) -> TrackingError {
    TrackingError::NotFound(format!(
        "no tracked message {}",
        crate::ids::shown(message_id)
    ))
}

/// `tracking.message`: what is tracked of one outbound message and what was
/// seen of it.
pub fn message(store: &mut dyn Store, message_id: &str) -> Result<TrackedMessage, TrackingError> {
    let not_found = || message_not_found(message_id);
    let id = crate::ids::bare(message_id).ok_or_else(not_found)?;
    let (record, _) = crate::messages::find_outbound(store, &id)?.ok_or_else(not_found)?;
    let setup = record.setup.ok_or_else(not_found)?;
    let local = record
        .message_id
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let (tracked, _) =
        records::read::<Tracked>(store, &tracked_key(&setup, &local))?.ok_or_else(not_found)?;
    let keys = setups::unsubscribe_keys(store, &setup)?.ok_or_else(not_found)?;
    let key = token::key(&keys.secret);
    let url = |kind: &str, link: u16| {
        token::make(
            &token::Claim {
                setup: setup.clone(),
                message: local.clone(),
                link,
            },
            &key,
        )
        .map(|t| format!("{}/{kind}/{t}", tracked.base))
        .unwrap_or_default()
    };
    Ok(TrackedMessage {
        message_id: tracked.message_id.clone(),
        use_case: tracked.use_case.clone(),
        pixel_url: tracked.pixel.then(|| url("o", token::OPEN)),
        opens_human: tracked.opens[0],
        opens_machine: tracked.opens[1],
        links: tracked
            .links
            .iter()
            .zip(&tracked.clicks)
            .enumerate()
            .map(|(i, (u, c))| TrackedLink {
                url: u.clone(),
                tracked_url: url("c", u16::try_from(i).unwrap_or(token::OPEN)),
                human: c[0],
                machine: c[1],
            })
            .collect(),
    })
}

/// `reporting.engagement`: opens and clicks of the days that overlap
/// `[from, until)`.
pub fn engagement(
    store: &mut dyn Store,
    subject: &Subject,
    from: u64,
    until: u64,
) -> Result<EngagementPeriod, crate::reporting::ReportingError> {
    let (first, last) = crate::reporting::days(store, subject, from, until)?;
    let mut total = Engagement::default();
    for day in first..=last {
        if let Some((e, _)) = records::read::<Engagement>(store, &engagement_key(subject, day))? {
            total.add(&e);
        }
    }
    Ok(EngagementPeriod {
        from: first * 86_400,
        until: (last + 1) * 86_400,
        engagement: total,
    })
}

/// `reporting.link-clicks`: clicks per destination URL of a use case's
/// messages over the days that overlap `[from, until)`, most clicked first.
pub fn link_clicks(
    store: &mut dyn Store,
    use_case: &str,
    from: u64,
    until: u64,
) -> Result<Vec<LinkClicks>, crate::reporting::ReportingError> {
    let (first, last) =
        crate::reporting::days(store, &Subject::UseCase(use_case.to_string()), from, until)?;
    let mut total: BTreeMap<String, [u64; 2]> = BTreeMap::new();
    for day in first..=last {
        if let Some((m, _)) =
            records::read::<BTreeMap<String, [u64; 2]>>(store, &link_key(use_case, day))?
        {
            for (url, c) in m {
                let t = total.entry(url).or_default();
                t[0] = t[0].saturating_add(c[0]);
                t[1] = t[1].saturating_add(c[1]);
            }
        }
    }
    let mut out: Vec<LinkClicks> = total
        .into_iter()
        .map(|(url, c)| LinkClicks {
            url,
            human: c[0],
            machine: c[1],
        })
        .collect();
    out.sort_by(|a, b| {
        (b.human + b.machine)
            .cmp(&(a.human + a.machine))
            .then(a.url.cmp(&b.url))
    });
    Ok(out)
}

/// A use case's tracking settings as stored (`tracking-settings/{id}`):
/// field names of the schema's own, whatever the API's become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSettings {
    opens: bool,
    clicks: bool,
    #[serde(rename = "scanner-window-secs")]
    scanner_window_secs: u32,
}

impl From<&TrackingSettings> for StoredSettings {
    fn from(s: &TrackingSettings) -> Self {
        StoredSettings {
            opens: s.opens,
            clicks: s.clicks,
            scanner_window_secs: s.scanner_window_secs,
        }
    }
}

impl From<StoredSettings> for TrackingSettings {
    fn from(s: StoredSettings) -> Self {
        TrackingSettings {
            opens: s.opens,
            clicks: s.clicks,
            scanner_window_secs: s.scanner_window_secs,
        }
    }
}

// Stored under the keys of `crate::keys`; versioned by `crate::records`.
impl crate::records::Record for Tracked {}
impl crate::records::Record for StoredSettings {}
impl crate::records::Record for Engagement {}
impl crate::records::Record for AddressHistory {}
