//! Every rule that tells a person from a machine, in one place, with its
//! source. Update the lists here; `classify_open` and `classify_click` only
//! apply them in the order written.
//!
//! Sources (README "Engagement tracking" repeats them):
//! - Apple Mail Privacy Protection: Apple's "Mail Privacy Protection" support
//!   page (remote content is loaded privately, in the background, through
//!   multiple proxy servers, whether or not the message is opened); the
//!   proxies send the bare user agent `Mozilla/5.0` and come from Apple's
//!   17.0.0.0/8 block and the egress ranges Apple publishes for its relays
//!   (given by the host as data, `tracking.set-networks`).
//! - Gmail fetches images through `GoogleImageProxy` when the person opens the
//!   message (Google's 2013 image-proxy announcement); Yahoo's proxy
//!   `YahooMailProxy` likewise: a person opened, the address is hidden.
//! - Link scanners (Microsoft Defender Safe Links, Mimecast, Proofpoint
//!   URL Defense, Barracuda, Cisco, Trend Micro) request links within
//!   seconds of delivery, several at once, often with HEAD or an automation
//!   user agent, and never load images (Postmark, SendGrid and Mailgun bot
//!   detection notes say the same).

use super::{Method, Request};

/// Who made a request.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Agent {
    Human,
    Machine,
}

/// Why a request was classified as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// No rule matched: a person's mail client or browser.
    Person,
    /// Gmail's image proxy: a person opened, through Google.
    GmailImageProxy,
    /// Yahoo's image proxy: a person opened, through Yahoo.
    YahooImageProxy,
    /// Apple Mail Privacy Protection prefetch.
    AppleMpp,
    /// A HEAD request: only checks, never shows.
    HeadRequest,
    /// A user agent of a link scanner, crawler or HTTP library.
    ScannerUserAgent,
    /// No user agent at all.
    NoUserAgent,
    /// A click sooner after delivery than a person reads mail.
    TooSoonAfterDelivery,
    /// Another link of the same message was requested within the burst window.
    LinkBurst,
    /// A click on a message whose pixel was never loaded, from a client that
    /// loads images.
    ClickWithoutOpen,
}

/// The classification of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Classification {
    pub agent: Agent,
    /// True when a proxy (Gmail's, Yahoo's) stood between the person and us.
    pub proxied: bool,
    pub reason: Reason,
}

impl Classification {
    const fn new(agent: Agent, proxied: bool, reason: Reason) -> Self {
        Classification {
            agent,
            proxied,
            reason,
        }
    }
}

/// The user agent Apple's MPP proxies send, exactly.
pub const APPLE_MPP_USER_AGENT: &str = "Mozilla/5.0";

/// Apple's own address block, used when the host gave no networks.
pub const DEFAULT_APPLE_NETWORKS: &[&str] = &["17.0.0.0/8"];

/// An open this soon after delivery from an Apple proxy is MPP's prefetch.
pub const APPLE_PREFETCH_SECS: u64 = 60;

/// Default: a click this soon after delivery is a scanner's.
pub const DEFAULT_SCANNER_WINDOW_SECS: u32 = 10;

/// Two different links of one message requested within this many seconds:
/// a scanner following every link.
pub const LINK_BURST_SECS: u64 = 1;

/// Image proxies that mean a person opened (case-insensitive substrings).
pub const PROXIED_HUMAN_AGENTS: &[(&str, Reason)] = &[
    ("googleimageproxy", Reason::GmailImageProxy),
    ("yahoomailproxy", Reason::YahooImageProxy),
];

/// User agents of scanners, crawlers and HTTP libraries (case-insensitive
/// substrings).
pub const SCANNER_AGENTS: &[&str] = &[
    "barracuda",
    "mimecast",
    "proofpoint",
    "urldefense",
    "safelinks",
    "trendmicro",
    "trend micro",
    "cisco",
    "ironport",
    "forcepoint",
    "symantec",
    "sophos",
    "fortiguard",
    "headlesschrome",
    "phantomjs",
    "bot",
    "crawler",
    "spider",
    "scanner",
    "preview",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "libwww",
    "okhttp",
    "axios/",
    "node-fetch",
];

/// Mail clients that block remote images by default: a click from one with
/// no open is not suspicious (case-insensitive substrings).
pub const IMAGE_BLOCKING_CLIENTS: &[&str] = &["microsoft outlook", "thunderbird", "ms-office"];

fn contains_any<'a>(ua: &str, list: impl IntoIterator<Item = &'a str>) -> bool {
    let ua = ua.to_ascii_lowercase();
    list.into_iter().any(|s| ua.contains(s))
}

/// An IPv4 or IPv6 network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: u128,
    prefix: u8,
    v4: bool,
}

impl Network {
    /// Reads `a.b.c.d/n` or `x:y::/n` (a bare address is a /32 or /128).
    pub fn parse(text: &str) -> Option<Network> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let ip: std::net::IpAddr = addr.parse().ok()?;
        let (addr, max, v4) = match ip {
            std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32, true),
            std::net::IpAddr::V6(v6) => (u128::from(v6), 128, false),
        };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Network { addr, prefix, v4 })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let (addr, max, v4) = match ip {
            std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u8, true),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => (u128::from(u32::from(v4)), 32, true),
                None => (u128::from(v6), 128, false),
            },
        };
        if v4 != self.v4 {
            return false;
        }
        let shift = u32::from(max - self.prefix.min(max));
        let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
        (addr & mask) == (self.addr & mask)
    }
}

/// What the classifier knows beyond the request.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// When the message was sent (seconds since the epoch).
    pub sent_at: u64,
    /// Apple's proxy networks.
    pub apple: &'a [Network],
    /// Clicks sooner than this after sending are scanners'.
    pub scanner_window: u64,
}

fn in_apple(request: &Request, apple: &[Network]) -> bool {
    request
        .client_ip
        .as_deref()
        .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| apple.iter().any(|n| n.contains(ip)))
}

/// The rules every request passes first, open or click.
fn common(request: &Request, apple_ua: bool) -> Option<Classification> {
    use Agent::Machine;
    if request.method == Method::Head {
        return Some(Classification::new(Machine, false, Reason::HeadRequest));
    }
    let ua = request.user_agent.as_deref().unwrap_or("").trim();
    if let Some((_, reason)) = PROXIED_HUMAN_AGENTS
        .iter()
        .find(|(s, _)| contains_any(ua, [*s]))
    {
        return Some(Classification::new(Agent::Human, true, *reason));
    }
    if ua.is_empty() {
        return Some(Classification::new(Machine, false, Reason::NoUserAgent));
    }
    if apple_ua && ua == APPLE_MPP_USER_AGENT {
        return Some(Classification::new(Machine, false, Reason::AppleMpp));
    }
    if contains_any(ua, SCANNER_AGENTS.iter().copied()) {
        return Some(Classification::new(
            Machine,
            false,
            Reason::ScannerUserAgent,
        ));
    }
    None
}

/// Classifies a request for the open pixel.
pub fn classify_open(request: &Request, cx: &Context<'_>) -> Classification {
    if let Some(c) = common(request, true) {
        return c;
    }
    if in_apple(request, cx.apple) && request.at < cx.sent_at.saturating_add(APPLE_PREFETCH_SECS) {
        return Classification::new(Agent::Machine, false, Reason::AppleMpp);
    }
    Classification::new(Agent::Human, false, Reason::Person)
}

/// What is known of a message's earlier requests when a link is clicked.
#[derive(Debug, Clone, Copy)]
pub struct ClickHistory {
    /// Whether the message carries the open pixel.
    pub pixel: bool,
    /// Whether any open was recorded.
    pub opened: bool,
    /// Whether another link of the message was requested within
    /// [`LINK_BURST_SECS`].
    pub other_link_just_before: bool,
}

/// Classifies a request for a tracked link.
pub fn classify_click(
    request: &Request,
    cx: &Context<'_>,
    history: &ClickHistory,
) -> Classification {
    use Agent::Machine;
    if let Some(c) = common(request, false)
        && c.agent == Machine
    {
        return c;
    }
    if request.at < cx.sent_at.saturating_add(cx.scanner_window) {
        return Classification::new(Machine, false, Reason::TooSoonAfterDelivery);
    }
    if history.other_link_just_before {
        return Classification::new(Machine, false, Reason::LinkBurst);
    }
    let ua = request.user_agent.as_deref().unwrap_or("");
    if history.pixel && !history.opened && !contains_any(ua, IMAGE_BLOCKING_CLIENTS.iter().copied())
    {
        return Classification::new(Machine, false, Reason::ClickWithoutOpen);
    }
    Classification::new(Agent::Human, false, Reason::Person)
}
