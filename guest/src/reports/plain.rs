//! Non-standard bounces (qmail, Exim, Sendmail and Postfix text, Microsoft,
//! Google, Yahoo and many more), auto-replies, and the MTA that wrote a
//! report.
//!
//! A plain bounce is told by its sender (`MAILER-DAEMON`, `postmaster`, "Mail
//! Delivery System"), an `X-Failed-Recipients` field, its subject or its
//! wording. Its text is cut where the returned message's header starts; the
//! failed recipients are the addresses of the part before (less those of the
//! sender of the original), and each one's diagnostic is the text next to
//! it that carries an SMTP code or says why.

use super::fields::{self, Field};
use super::text::{addresses, collapse, find_reply_code, find_status, quoted_message_id};
use super::{Class, Finding, MAX_FINDINGS, Parts, Report, ReportFormat, classify, dsn};

/// Local parts of the senders of bounces.
const DAEMONS: &[&str] = &[
    "mailer-daemon",
    "mailer_daemon",
    "mailerdaemon",
    "mail-daemon",
    "maildaemon",
    "mdaemon",
    "postmaster",
    "post_master",
    "double-bounce",
    "mail.daemon",
];

/// Display names of the senders of bounces (lower-case substrings).
const DAEMON_NAMES: &[&str] = &[
    "mail delivery",
    "mailer-daemon",
    "mailer daemon",
    "postmaster",
    "mail administrator",
    "system administrator",
    "mail system",
    "delivery subsystem",
    "mail deliver",
];

/// Subjects of bounces (lower-case substrings).
const SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered",
    "delivery status",
    "delivery failure",
    "delivery failed",
    "delivery has failed",
    "failure notice",
    "failure delivery",
    "returned mail",
    "return mail",
    "returned to sender",
    "mail delivery",
    "non-delivery",
    "nondeliver",
    "non delivery",
    "not delivered",
    "could not be delivered",
    "delivery problem",
    "delivery notification",
    "mail system error",
    "mail failure",
    "delivery error",
    "unable to deliver",
    "could not send",
    "delayed mail",
    "delivery delayed",
    "delivery final failure",
    "message not delivered",
    "bounce",
    "rejected",
    "unzustellbar",
    "nicht zustellbar",
    "non remis",
    "no entregado",
    "mail error",
    "error sending",
    "warning:",
    "delivery report",
    "notification",
    "message status",
];

/// Wording of bounces (lower-case substrings of the text).
const WORDING: &[&str] = &[
    "could not be delivered",
    "couldn't be delivered",
    "was not delivered",
    "wasn't able to deliver",
    "unable to deliver",
    "not able to deliver",
    "undeliverable",
    "delivery has failed",
    "delivery failed",
    "delivery to the following",
    "failed permanently",
    "permanent error",
    "permanent fatal error",
    "following address",
    "following recipient",
    "did not reach",
    "could not deliver",
    "error delivering",
    "delivery problems",
    "delivery errors",
    "mail delivery failed",
    "message delivery failed",
    "returned to you",
    "transcript of session",
    "your message was rejected",
    "delivery attempt",
    "failed to deliver",
    "cannot be delivered",
    "can not be delivered",
    "had trouble delivering",
    "recipient addresses that were",
    "not a member",
    "invalid user address",
    "error message below",
];

/// Subjects and fields of auto-replies.
const AUTO_SUBJECTS: &[&str] = &[
    "auto:",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "autorespon",
    "auto response",
    "out of office",
    "out of the office",
    "vacation",
    "away until",
    "abwesenheit",
    "absence",
    "away from",
];

/// Lines that start the returned message or its header.
const ORIGINAL_MARKERS: &[&str] = &[
    "copy of the message",
    "copy of the original message",
    "original message follows",
    "original message -",
    "original message ---",
    "message headers follow",
    "header of the original message",
    "headers of the original message",
    "returned message",
    "original message header",
    "unsent message below",
    "message text follows",
    "message header follows",
    "bounced e-mail",
    "below is a copy",
];

/// Header names that mark a quoted header block.
const HEADER_NAMES: &[&str] = &[
    "received",
    "return-path",
    "message-id",
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "dkim-signature",
    "x-mailer",
    "delivered-to",
    "reply-to",
    "x-received",
    "arc-seal",
    "authentication-results",
    "user-agent",
    "x-original-to",
    "references",
    "in-reply-to",
    "sender",
    "domainkey-signature",
];
/// Names that show a block is a real header, not a summary.
const HEADER_PROOF: &[&str] = &[
    "received",
    "return-path",
    "message-id",
    "mime-version",
    "dkim-signature",
    "x-received",
    "delivered-to",
];

/// The report of a message that has no delivery-status or feedback part.
pub(crate) fn analyze(parts: &Parts) -> Report {
    let lower_subject = parts.subject.to_lowercase();
    let (report_text, original_text) = split_original(&parts.text);
    let lower_report = report_text.to_lowercase();
    let from_local = parts
        .from
        .as_deref()
        .and_then(|f| f.split('@').next())
        .unwrap_or_default();
    let daemon = DAEMONS.iter().any(|d| from_local.starts_with(d))
        || DAEMON_NAMES
            .iter()
            .any(|n| parts.from_name.to_lowercase().contains(n));
    let failed_header = parts.header("x-failed-recipients").is_some();
    let bounce_subject = SUBJECTS.iter().any(|s| lower_subject.contains(s));
    let worded = WORDING.iter().any(|w| lower_report.contains(w));
    let auto_subject = AUTO_SUBJECTS.iter().any(|s| lower_subject.contains(s));
    let auto_fields = parts
        .header("auto-submitted")
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("auto-replied"))
        || parts.header("x-autoreply").is_some()
        || parts.header("x-autorespond").is_some()
        || parts
            .header("precedence")
            .is_some_and(|v| v.eq_ignore_ascii_case("auto_reply"));

    let strong = daemon || failed_header || (bounce_subject && !auto_subject);
    let returned = original_text.is_some() || parts.original.is_some();
    let bounce = (strong && (worded || failed_header || returned || has_diagnostic(report_text)))
        || (worded && !auto_subject && !auto_fields && has_diagnostic(report_text));
    if !bounce {
        if (auto_subject || auto_fields) && !daemon {
            return auto_reply(parts);
        }
        return super::not_a_report(None);
    }

    let original = parts
        .original
        .clone()
        .or_else(|| original_text.map(fields::parse_block))
        .unwrap_or_default();
    let (findings, dsn_fields) = findings(parts, report_text, &original);
    let dsn_report = dsn_fields && parts.report_type.as_deref() == Some("delivery-status");
    Report {
        format: if dsn_report {
            ReportFormat::DeliveryStatus
        } else {
            ReportFormat::PlainBounce
        },
        mta: None,
        report_message_id: None,
        original_message_id: fields::get(&original, "message-id")
            .and_then(crate::ids::bare)
            .or_else(|| original_text.and_then(quoted_message_id)),
        findings,
    }
}

fn auto_reply(parts: &Parts) -> Report {
    Report {
        format: ReportFormat::AutoReply,
        mta: None,
        report_message_id: None,
        original_message_id: None,
        findings: vec![Finding {
            recipient: parts.from.clone(),
            class: Class::NotABounce,
            action: None,
            status: None,
            diagnostic: collapse(&parts.subject),
            reason: Some("auto-reply".to_string()),
            feedback_type: None,
        }],
    }
}

/// The findings of a plain bounce, and whether they come from DSN fields in
/// its text.
fn findings(parts: &Parts, report: &str, original: &[Field]) -> (Vec<Finding>, bool) {
    // Some bounces carry DSN fields in their text.
    if report.to_ascii_lowercase().contains("recipient:") {
        let (_, groups) = dsn::parse(report);
        let groups: Vec<_> = groups
            .into_iter()
            .filter(|g| {
                fields::get(g, "final-recipient").is_some()
                    || fields::get(g, "original-recipient").is_some()
            })
            .collect();
        if !groups.is_empty() {
            let single = groups.len() == 1;
            let findings = groups.iter().map(|g| dsn::finding(g, report, single));
            return (findings.collect(), true);
        }
    }

    let mut excluded: Vec<String> = parts.to.clone();
    excluded.extend(parts.from.clone());
    for name in ["from", "sender", "return-path", "reply-to"] {
        if let Some(v) = fields::get(original, name) {
            excluded.extend(addresses(v, 8));
        }
    }
    let mut recipients: Vec<String> = parts
        .header("x-failed-recipients")
        .map(|v| addresses(v, MAX_FINDINGS))
        .unwrap_or_default();
    if recipients.is_empty() {
        recipients = report
            .lines()
            .filter(|l| !is_header_line(l) && !is_contact_line(l))
            .flat_map(|l| addresses(l, 16))
            .filter(|a| !excluded.contains(a) && !is_daemon(a))
            .fold(Vec::new(), |mut acc, a| {
                if !acc.contains(&a) && acc.len() < MAX_FINDINGS {
                    acc.push(a);
                }
                acc
            });
    }
    if recipients.is_empty() {
        recipients.extend(
            fields::get(original, "to")
                .map(|v| addresses(v, 1))
                .unwrap_or_default(),
        );
    }
    let text = Lines::new(report);
    let mut out: Vec<Finding> = recipients
        .iter()
        .map(|r| plain_finding(&text, Some(r), &recipients))
        .collect();
    if out.is_empty() {
        out.push(plain_finding(&text, None, &[]));
    }
    (out, false)
}

fn is_daemon(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default();
    DAEMONS.iter().any(|d| local.starts_with(d))
}

/// Lines that name whom to ask for help.
fn is_contact_line(line: &str) -> bool {
    let t = line.to_lowercase();
    ["contact", "assistance", "please send mail to", "helpdesk"]
        .iter()
        .any(|w| t.contains(w))
}

/// Lines of quoted header fields that name addresses which are not failed
/// recipients.
fn is_header_line(line: &str) -> bool {
    let t = line.trim_start().to_ascii_lowercase();
    [
        "message-id:",
        "received:",
        "references:",
        "in-reply-to:",
        "return-path:",
        "sender:",
        "reply-to:",
        "from:",
        "mail from:",
        ">>> mail from",
        "envelope-from",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// One finding of a plain bounce.
fn plain_finding(text: &Lines<'_>, recipient: Option<&str>, all: &[String]) -> Finding {
    let diagnostic = explain(text, recipient, all);
    let status = diagnostic.as_deref().and_then(find_status);
    let (mut class, mut reason) = classify(status.as_deref(), diagnostic.as_deref());
    if class == Class::NotABounce {
        // The report as a whole says whether it passes, perhaps why.
        (class, reason) = text
            .overall
            .get_or_init(|| {
                let lower = text.whole.to_lowercase();
                // A failure nothing explains is soft (see `classify`).
                match classify(None, Some(&lower)) {
                    (Class::NotABounce, r) => (Class::Soft, r),
                    found => found,
                }
            })
            .clone();
    }
    Finding {
        recipient: recipient.map(str::to_string),
        class,
        action: None,
        status,
        diagnostic,
        reason,
        feedback_type: None,
    }
}

/// How much a line explains a failure: 3 with an SMTP or enhanced status
/// code, 2 with a strong reason, 1 with a weak one, else 0.
fn score(line: &str) -> u8 {
    let failure = find_status(line).is_some_and(|s| !s.starts_with('2'));
    if failure || find_reply_code(line).is_some() {
        return 3;
    }
    match super::classify::text_reason(&line.to_lowercase()) {
        Some((_, true)) => 2,
        Some((_, false)) => 1,
        None => 0,
    }
}

fn has_diagnostic(text: &str) -> bool {
    text.lines().take(2000).any(|l| score(l) > 0)
}

/// The diagnostic text for `recipient` in a report's human-readable text:
/// used by the DSN analyzer when its fields do not say why.
pub(crate) fn diagnostic_for(text: &str, recipient: Option<&str>) -> Option<String> {
    let (report, _) = split_original(text);
    let all: Vec<String> = recipient.map(str::to_string).into_iter().collect();
    explain(&Lines::new(report), recipient, &all)
}

/// A report's lines (at most 5,000), also in lower case, and its best
/// explaining line once found.
struct Lines<'a> {
    whole: &'a str,
    lines: Vec<&'a str>,
    lower: Vec<String>,
    best: std::cell::OnceCell<Option<String>>,
    overall: std::cell::OnceCell<(Class, Option<String>)>,
}

impl<'a> Lines<'a> {
    fn new(whole: &'a str) -> Self {
        let lines: Vec<&str> = whole.lines().take(5000).collect();
        let lower = lines.iter().map(|l| l.to_lowercase()).collect();
        Lines {
            whole,
            lines,
            lower,
            best: std::cell::OnceCell::new(),
            overall: std::cell::OnceCell::new(),
        }
    }
}

/// The text that explains why `recipient` failed: the lines next to its
/// address, else the best line near it, else the best line of the report.
fn explain(text: &Lines<'_>, recipient: Option<&str>, all: &[String]) -> Option<String> {
    let (lines, lower) = (&text.lines, &text.lower);
    let at = recipient.and_then(|r| lower.iter().position(|l| l.contains(r)));
    if let (Some(at), Some(r)) = (at, recipient) {
        let end = lower
            .iter()
            .enumerate()
            .skip(at + 1)
            .take(40)
            .find(|(_, l)| all.iter().any(|o| o != r && l.contains(o.as_str())))
            .map_or(lines.len(), |(i, _)| i)
            .min(at + 40);
        let window = lines.get(at..end).unwrap_or_default();
        // The address line and the lines that follow it up to a blank line.
        let mut block = Vec::new();
        for (i, line) in window.iter().enumerate() {
            if line.trim().is_empty() {
                break;
            }
            let line = if i == 0 { after_address(line, r) } else { line };
            block.push(line);
        }
        let joined = block.join(" ");
        if score(&joined) > 0 {
            return collapse(&joined);
        }
        if let Some(best) = best_line(window) {
            return Some(best);
        }
    }
    text.best.get_or_init(|| best_line(lines)).clone()
}

/// The rest of a line after the address, or the line when little is left.
fn after_address<'a>(line: &'a str, address: &str) -> &'a str {
    let lower = line.to_lowercase();
    match lower.find(address) {
        Some(i) if lower.len() == line.len() => {
            let rest = line.get(i + address.len()..).unwrap_or_default();
            let rest = rest.trim_start_matches(['>', ':', ' ', '\t', '.', ',']);
            if rest.trim().is_empty() { "" } else { rest }
        }
        _ => line,
    }
}

/// The highest-scoring line with the lines continuing it (an SMTP reply
/// spread over lines, a wrapped sentence), collapsed.
fn best_line(lines: &[&str]) -> Option<String> {
    let mut best: Option<(u8, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        let s = score(line);
        if s > 0 && best.is_none_or(|(b, _)| s > b) {
            best = Some((s, i));
            if s == 3 {
                break;
            }
        }
    }
    let (_, i) = best?;
    let mut text = String::new();
    for line in lines.iter().skip(i).take(6) {
        if line.trim().is_empty() || (!text.is_empty() && is_boilerplate(line)) {
            break;
        }
        text.push_str(line);
        text.push(' ');
    }
    collapse(&text)
}

fn is_boilerplate(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("---") || t.starts_with("===") || t.starts_with("***")
}

/// The report text before the returned message, and the returned message
/// (its header first) when the text holds one.
pub(crate) fn split_original(text: &str) -> (&str, Option<&str>) {
    let mut offset = 0usize;
    let mut marker: Option<usize> = None;
    let lines = text.split_inclusive('\n');
    let mut count = 0usize;
    for line in lines {
        count += 1;
        if count > 20_000 {
            break;
        }
        let start = offset;
        offset += line.len();
        let lower = line.to_lowercase();
        if marker.is_none() && is_marker(&lower) {
            marker = Some(start);
        }
        if header_run(text.get(start..).unwrap_or_default()).is_some() {
            let cut = marker.unwrap_or(start);
            return (text.get(..cut).unwrap_or_default(), text.get(start..));
        }
    }
    match marker {
        Some(cut) => (text.get(..cut).unwrap_or_default(), text.get(cut..)),
        None => (text, None),
    }
}

/// Whether a (lower-case) line announces the returned message: a marker
/// phrase on a separator line, a short line, or one ending in a colon.
fn is_marker(lower: &str) -> bool {
    let t = lower.trim();
    let separator = t.starts_with(|c: char| !c.is_alphanumeric())
        || t.ends_with(':')
        || t.ends_with("follows.")
        || t.ends_with("follows")
        || t.chars().count() <= 40;
    separator && ORIGINAL_MARKERS.iter().any(|m| t.contains(m))
}

/// When `text` starts with a quoted header block, its length in bytes.
fn header_run(text: &str) -> Option<usize> {
    let first = text.lines().next()?;
    if first.starts_with([' ', '\t']) || !first.contains(':') {
        return None;
    }
    let mut known = 0;
    let mut proof = false;
    let mut len = 0;
    for line in text.split_inclusive('\n').take(200) {
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            len += line.len();
            continue;
        }
        let Some((name, _)) = trimmed.split_once(':') else {
            break;
        };
        let name = name.to_ascii_lowercase();
        if name.is_empty() || name.contains(char::is_whitespace) || name.len() > 76 {
            break;
        }
        if HEADER_NAMES.contains(&name.as_str()) {
            known += 1;
            proof |= HEADER_PROOF.contains(&name.as_str());
        }
        len += line.len();
    }
    (known >= 2 && proof).then_some(len)
}

/// Needles (lower-case) in the report's header and text that name the MTA
/// or provider which wrote it; the first match wins.
const VENDORS: &[(&str, &[&str])] = &[
    ("amazonses", &["amazonses.com", "x-ses-outgoing"]),
    (
        "amazonworkmail",
        &["amazon workmail", "awsapps.com", "workmail"],
    ),
    ("sendgrid", &["sendgrid"]),
    ("googlegroups", &["google groups", "googlegroups.com"]),
    (
        "gmail",
        &["googlemail.com", "google tried to deliver", "mx.google.com"],
    ),
    (
        "office365",
        &[
            "protection.outlook.com",
            "office365",
            "office 365",
            "microsoft 365",
        ],
    ),
    (
        "outlook",
        &["hotmail.com", "outlook.com", "live.com", "msn.com"],
    ),
    (
        "exchange",
        &[
            "microsoft exchange",
            "x-ms-exchange",
            "msexch",
            "exchange server",
        ],
    ),
    ("yahoo", &["yahoo"]),
    ("aol", &["aol.com"]),
    ("mailru", &["mail.ru"]),
    ("yandex", &["yandex"]),
    ("gmx", &["gmx.net", "gmx.de", "gmx.com"]),
    ("einsundeins", &["1und1", "1&1", "kundenserver.de"]),
    ("zoho", &["zoho"]),
    ("mimecast", &["mimecast"]),
    ("messagelabs", &["messagelabs"]),
    ("barracuda", &["barracuda"]),
    ("mcafee", &["mcafee", "mxlogic"]),
    ("trendmicro", &["interscan", "trend micro"]),
    ("surfcontrol", &["surfcontrol"]),
    ("mailmarshal", &["mailmarshal"]),
    ("mailfoundry", &["mailfoundry"]),
    ("activehunter", &["activehunter"]),
    ("amavis", &["amavis"]),
    ("imailserver", &["imail"]),
    ("messagingserver", &["messaging server", "iplanet"]),
    ("domino", &["domino"]),
    ("notes", &["lotus notes"]),
    ("apachejames", &["james"]),
    ("courier", &["courier mail server", "courier-mta"]),
    (
        "opensmtpd",
        &[
            "opensmtpd",
            "this is the mailer-daemon, please do not reply",
        ],
    ),
    ("dragonfly", &["dragonfly mail agent"]),
    ("powermta", &["powermta", "pmta"]),
    ("kddi", &["ezweb.ne.jp", "kddi"]),
    ("biglobe", &["biglobe"]),
    ("verizon", &["verizon"]),
    ("fml", &["fml"]),
    ("qmail", &["qmail"]),
    ("exim", &["exim"]),
    ("postfix", &["postfix"]),
    ("sendmail", &["sendmail", "transcript of session follows"]),
];

/// The MTA or provider that wrote the report, when recognised.
pub(crate) fn vendor(parts: &Parts) -> Option<&'static str> {
    let mut hay = String::new();
    for f in parts.headers.iter().take(200) {
        if matches!(
            f.name.as_str(),
            "from" | "received" | "x-mailer" | "message-id" | "subject" | "reporting-mta"
        ) || f.name.starts_with("x-ses")
            || f.name.starts_with("x-ms-exchange")
        {
            hay.push_str(&f.name);
            hay.push_str(": ");
            hay.push_str(&f.value);
            hay.push('\n');
        }
    }
    let (report, _) = split_original(&parts.text);
    let end = report.floor_char_boundary(16 * 1024);
    hay.push_str(report.get(..end).unwrap_or_default());
    for body in &parts.dsn {
        for line in body.lines().take(50) {
            let l = line.to_ascii_lowercase();
            if l.starts_with("reporting-mta") || l.starts_with("x-") {
                hay.push_str(line);
                hay.push('\n');
            }
        }
    }
    let hay = hay.to_lowercase();
    VENDORS
        .iter()
        .find(|(_, needles)| needles.iter().any(|n| hay.contains(n)))
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_returned_header() {
        let text = "Sorry.\n\n<a@b.example>:\n550 no\n\n--- Below this line is a copy of the message.\n\n\
                    Return-Path: <c@d.example>\nMessage-ID: <x@y.example>\nFrom: c@d.example\n\nbody\n";
        let (report, original) = split_original(text);
        assert!(report.ends_with("550 no\n\n"));
        assert!(original.is_some_and(|o| o.starts_with("Return-Path")));
    }

    #[test]
    fn explains_next_to_the_address() {
        let report = "I could not deliver to:\n\n<a@b.example>:\nremote host said: 550 5.1.1 unknown\n\n\
                      <c@d.example>:\nremote host said: 452 4.2.2 mailbox full\n";
        let all = vec!["a@b.example".to_string(), "c@d.example".to_string()];
        let a = explain(&Lines::new(report), Some("a@b.example"), &all);
        assert_eq!(a.as_deref(), Some("remote host said: 550 5.1.1 unknown"));
        let c = plain_finding(&Lines::new(report), Some("c@d.example"), &all);
        assert_eq!(
            (c.class, c.reason.as_deref()),
            (Class::Soft, Some("mailbox-full"))
        );
    }
}
