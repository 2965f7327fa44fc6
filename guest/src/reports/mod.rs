//! Bounce and complaint reports: RFC 3464 delivery status notifications
//! (and RFC 6533 global ones), RFC 5965 ARF complaints, RFC 3834
//! auto-replies and the common non-standard bounces, turned into
//! per-recipient [`Finding`]s.
//!
//! [`analyze`] takes any bytes and never panics. It looks at no more than
//! [`MAX_BYTES`] of input, keeps at most [`MAX_FINDINGS`] findings and cuts
//! every field it keeps.
//!
//! The `reason` of a finding is one of a fixed list, with the class it gives
//! when the text alone decides (see [`classify`] for how codes and text
//! combine):
//!
//! | reason | class |
//! | --- | --- |
//! | `user-unknown`, `host-unknown`, `mailbox-disabled`, `suspended`, `has-moved`, `not-accepting` | hard, whatever the code |
//! | `mailbox-full`, `expired`, `network`, `rate-limited`, `greylisted`, `system` | soft, whatever the code |
//! | `too-large`, `spam-blocked`, `virus`, `policy`, `auth-failure`, `relay-denied`, `blocked`, `rejected`, `protocol` | blocked, whatever the code |
//! | none | hard for 5.x.x / 5xx, soft for 4.x.x / 4xx |
//! | `feedback-abuse`, `feedback-fraud`, `feedback-virus`, `feedback-other`, `feedback-auth-failure`, `feedback-opt-out`, `feedback-dmarc`, `feedback-<other type>` | complaint |
//! | `feedback-not-spam` | not a bounce |
//! | `auto-reply` | not a bounce |

mod arf;
mod classify;
mod dsn;
mod fields;
mod plain;
mod ses;
mod text;

pub use classify::{class_of_reason, classify};

use mail_parser::{MessageParser, MessagePart, PartKind};
use serde::Serialize;

/// Most input bytes looked at; the rest is ignored.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most findings (recipient groups, failed addresses) kept per report.
pub const MAX_FINDINGS: usize = 1000;
/// Most bytes kept of a diagnostic (cut on a character boundary).
pub const MAX_DIAGNOSTIC_BYTES: usize = 500;
/// Most bytes of human-readable text looked at.
const MAX_TEXT_BYTES: usize = 512 * 1024;

/// What kind of report a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportFormat {
    /// RFC 3464 `multipart/report; report-type=delivery-status` (also
    /// `message/global-delivery-status`, RFC 6533).
    DeliveryStatus,
    /// RFC 5965 ARF, `report-type=feedback-report` (and Microsoft's JMRP).
    FeedbackReport,
    /// A non-standard bounce (qmail, Exim, Postfix/Sendmail plain text,
    /// Microsoft, Google, Yahoo and other variants).
    PlainBounce,
    /// An RFC 3834 auto-reply, out-of-office or vacation notice: not a bounce.
    AutoReply,
    /// Anything else.
    NotAReport,
}

/// How one recipient fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Permanent failure.
    Hard,
    /// Temporary failure, including DSN `Action: delayed`.
    Soft,
    /// The message or the sender was refused, not the address (too large,
    /// content, spam, policy, authentication, relaying, blocklists).
    Blocked,
    /// ARF feedback other than `not-spam`.
    Complaint,
    /// Delivered, relayed or expanded, auto-replies, anything else.
    NotABounce,
}

/// What a report says about one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Finding {
    /// Lower-cased addr-spec (`local@domain`).
    pub recipient: Option<String>,
    pub class: Class,
    /// DSN `Action`, lower-case; `None` for non-DSN reports.
    pub action: Option<String>,
    /// Enhanced status code `X.Y.Z`.
    pub status: Option<String>,
    /// The diagnostic text, white space collapsed, at most
    /// [`MAX_DIAGNOSTIC_BYTES`] bytes.
    pub diagnostic: Option<String>,
    /// Short machine reason from the list in this module's documentation.
    pub reason: Option<String>,
    /// ARF `Feedback-Type`, lower-case.
    pub feedback_type: Option<String>,
}

/// What a message reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    pub format: ReportFormat,
    /// The MTA or provider that produced it when recognised, else the DSN
    /// `Reporting-MTA` host.
    pub mta: Option<String>,
    /// The report's own Message-ID, bare.
    pub report_message_id: Option<String>,
    /// The Message-ID of the bounced or complained-about message, bare.
    pub original_message_id: Option<String>,
    /// One finding per recipient; empty for [`ReportFormat::NotAReport`].
    pub findings: Vec<Finding>,
}

impl Report {
    /// Complaint if any finding is one, else hard if any is, else blocked
    /// if any is, else soft if any is, else not a bounce.
    pub fn class(&self) -> Class {
        let any = |c: Class| self.findings.iter().any(|f| f.class == c);
        [Class::Complaint, Class::Hard, Class::Blocked, Class::Soft]
            .into_iter()
            .find(|&c| any(c))
            .unwrap_or(Class::NotABounce)
    }
}

/// The parts of a message that the analyzers read.
#[derive(Debug, Default)]
pub(crate) struct Parts {
    /// Header fields of the report itself, unfolded, names lower-case.
    pub headers: Vec<fields::Field>,
    /// Human-readable text of the report (text parts, HTML stripped).
    pub text: String,
    /// Bodies of `message/delivery-status` parts.
    pub dsn: Vec<String>,
    /// Body of the `message/feedback-report` part.
    pub feedback: Option<String>,
    /// Header fields of the returned original message, when attached.
    pub original: Option<Vec<fields::Field>>,
    /// `report-type` of a `multipart/report`, lower-case.
    pub report_type: Option<String>,
    /// The decoded Subject of the report.
    pub subject: String,
    /// The From address of the report, lower-case, and its display name.
    pub from: Option<String>,
    pub from_name: String,
    /// The To and Reply-To addresses of the report, lower-case.
    pub to: Vec<String>,
}

impl Parts {
    /// The first value of a header field of the report.
    pub fn header(&self, name: &str) -> Option<&str> {
        fields::get(&self.headers, name)
    }
}

/// Analyzes a raw message (any bytes). Never panics; looks at no more than
/// [`MAX_BYTES`] bytes.
pub fn analyze(raw: &[u8]) -> Report {
    let raw = raw.get(..MAX_BYTES).unwrap_or(raw);
    let crlf = cr_only_to_crlf(raw);
    let raw = without_mbox_line(crlf.as_deref().unwrap_or(raw));
    let parser = MessageParser::new().max_depth(8).max_parts(256);
    let Some(message) = parser.parse(raw) else {
        return not_a_report(None);
    };
    let parts = collect(&message);
    let report_message_id = parts.header("message-id").and_then(crate::ids::bare);
    let original_message_id = parts
        .original
        .as_deref()
        .and_then(|o| fields::get(o, "message-id"))
        .and_then(crate::ids::bare);

    let mut report = if parts.feedback.is_some()
        || parts.report_type.as_deref() == Some("feedback-report")
        || arf::is_jmrp(&parts)
    {
        arf::analyze(&parts)
    } else if let Some(report) = (!parts.dsn.is_empty())
        .then(|| dsn::analyze(&parts))
        .flatten()
    {
        report
    } else if let Some(report) = ses::analyze(&parts.text).or_else(|| arf::opt_out(&parts)) {
        report
    } else {
        plain::analyze(&parts)
    };
    report.report_message_id = report_message_id;
    if !matches!(
        report.format,
        ReportFormat::NotAReport | ReportFormat::AutoReply
    ) {
        report.original_message_id = original_message_id
            .or(report.original_message_id.take())
            .or_else(|| text::quoted_message_id(&parts.text));
        if let Some(vendor) = plain::vendor(&parts) {
            report.mta = Some(vendor.to_string());
        }
    }
    for finding in &mut report.findings {
        finding.recipient = finding.recipient.take().and_then(|r| clean_recipient(&r));
    }
    report
}

/// A recipient as an addr-spec `local@domain`, lower-case: the value itself
/// (without an RFC 5321 source route) when nothing in it could break a
/// header, else the first plain address in it, else none.
fn clean_recipient(value: &str) -> Option<String> {
    let value = value.trim();
    let value = match value.strip_prefix('@') {
        Some(routed) => routed.rsplit_once(':').map_or("", |(_, a)| a),
        None => value,
    };
    let safe = value.len() <= 320
        && value
            .rsplit_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && !value
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>,;()[]\\".contains(c));
    if safe {
        Some(value.to_ascii_lowercase())
    } else {
        text::addresses(value, 1).into_iter().next()
    }
}

pub(crate) fn not_a_report(report_message_id: Option<String>) -> Report {
    Report {
        format: ReportFormat::NotAReport,
        mta: None,
        report_message_id,
        original_message_id: None,
        findings: Vec::new(),
    }
}

/// A report whose lines end in a bare CR (old Mac mail, some gateways),
/// rewritten with CRLF line ends so it reads like any other; `None` when
/// lines end in LF or CRLF (more lone CRs than LFs in the first 64 KiB
/// decides).
fn cr_only_to_crlf(raw: &[u8]) -> Option<Vec<u8>> {
    let head = raw.get(..raw.len().min(64 * 1024)).unwrap_or(raw);
    let lf = head.iter().filter(|&&b| b == b'\n').count();
    let lone_cr = head
        .windows(2)
        .filter(|w| w.first() == Some(&b'\r') && w.get(1) != Some(&b'\n'))
        .count()
        + usize::from(head.last() == Some(&b'\r'));
    if lone_cr <= lf {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut bytes = raw.iter().peekable();
    while let Some(&b) = bytes.next() {
        out.push(b);
        if b == b'\r' && bytes.peek() != Some(&&b'\n') {
            out.push(b'\n');
        }
    }
    Some(out)
}

/// An mbox `From ` envelope line before the header is skipped.
fn without_mbox_line(raw: &[u8]) -> &[u8] {
    if !raw.starts_with(b"From ") {
        return raw;
    }
    match raw.iter().position(|&b| b == b'\n') {
        Some(end) => raw.get(end + 1..).unwrap_or_default(),
        None => raw,
    }
}

/// Walks the parts of the report (not those of enclosed messages).
fn collect(message: &mail_parser::Message<'_>) -> Parts {
    let root = message.root();
    let mut parts = Parts {
        headers: fields::parse_block(&String::from_utf8_lossy(root.root_part().raw_headers())),
        ..Parts::default()
    };
    let address_of = |m: mail_parser::Mailbox<'_>| m.address().map(str::to_ascii_lowercase);
    parts.subject = root.subject().unwrap_or_default().to_string();
    if let Some(first) = root.from().and_then(|l| l.first()) {
        parts.from_name = first.name().unwrap_or_default().to_string();
        parts.from = address_of(first);
    }
    for list in [root.to(), root.reply_to()].into_iter().flatten() {
        parts
            .to
            .extend(list.mailboxes().take(100).filter_map(address_of));
    }
    let mut html = String::new();
    let mut headers_text: Option<String> = None;
    for part in root.parts() {
        let ctype = content_type(&part);
        if ctype == "multipart/report" {
            parts.report_type = part
                .content_type()
                .and_then(|c| c.attribute("report-type"))
                .map(|t| t.trim().to_ascii_lowercase());
        }
        match part.kind() {
            PartKind::Multipart => continue,
            PartKind::Message(nested) => {
                if parts.original.is_none() {
                    let raw = String::from_utf8_lossy(nested.root_part().raw_headers());
                    parts.original = Some(fields::parse_block(&raw));
                }
                continue;
            }
            _ => {}
        }
        let body = || {
            let decoded = part.decoded();
            let end = decoded.len().min(MAX_TEXT_BYTES);
            String::from_utf8_lossy(decoded.get(..end).unwrap_or_default()).into_owned()
        };
        match ctype.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                if parts.dsn.len() < 8 {
                    parts.dsn.push(body());
                }
            }
            "message/feedback-report" => {
                if parts.feedback.is_none() {
                    parts.feedback = Some(body());
                }
            }
            "text/rfc822-headers"
            | "message/rfc822-headers"
            | "message/global-headers"
            | "message/rfc822"
            | "message/global" => {
                if headers_text.is_none() {
                    headers_text = Some(body());
                }
            }
            _ if matches!(part.kind(), PartKind::Html) => {
                append(&mut html, || text::strip_html(&part_text(&part)));
            }
            // Text, and a multipart whose boundary never appears.
            c if matches!(part.kind(), PartKind::Text) || c.starts_with("multipart/") => {
                append(&mut parts.text, || part_text(&part));
            }
            _ => {}
        }
    }
    if parts.text.trim().is_empty() {
        parts.text = html;
    }
    if parts.original.is_none() {
        parts.original = headers_text.map(|t| fields::parse_block(&t));
    }
    parts
}

/// Appends a part's text and a line break while under [`MAX_TEXT_BYTES`].
fn append(buffer: &mut String, text: impl FnOnce() -> String) {
    if buffer.len() < MAX_TEXT_BYTES {
        buffer.push_str(&text());
        buffer.push('\n');
    }
}

/// The decoded text of a part, cut to [`MAX_TEXT_BYTES`].
fn part_text(part: &MessagePart<'_>) -> String {
    let text = part
        .text_prefix_bytes(MAX_TEXT_BYTES)
        .map(|t| t.into_owned())
        .unwrap_or_else(|| {
            let raw = part.raw_body();
            let end = raw.len().min(MAX_TEXT_BYTES);
            String::from_utf8_lossy(raw.get(..end).unwrap_or_default()).into_owned()
        });
    text.replace("\r\n", "\n")
}

/// Lower-case `type/subtype`; `text/plain` when absent.
fn content_type(part: &MessagePart<'_>) -> String {
    let Some(ct) = part.content_type() else {
        return "text/plain".to_string();
    };
    let main = ct.ctype().trim().to_ascii_lowercase();
    match ct.subtype().map(|s| s.trim().to_ascii_lowercase()) {
        Some(sub) if !sub.is_empty() => format!("{main}/{sub}"),
        _ if main == "text" || main.is_empty() => "text/plain".to_string(),
        _ => main,
    }
}

#[cfg(test)]
mod tests;
