//! RFC 3464 delivery status notifications: the `message/delivery-status`
//! part (RFC 6533's `message/global-delivery-status` alike) holds one block
//! of per-message fields and one block per recipient.

use super::fields::{self, Field};
use super::text::{collapse, field_address, find_status};
use super::{Class, Finding, MAX_FINDINGS, Parts, Report, ReportFormat, classify, plain};

/// Per-message fields: they never start a recipient group.
const PER_MESSAGE: &[&str] = &[
    "reporting-mta",
    "dsn-gateway",
    "received-from-mta",
    "arrival-date",
    "original-envelope-id",
    "x-postfix-queue-id",
    "x-postfix-sender",
    "x-original-message-id",
];

/// Fields that belong to a recipient group.
const PER_RECIPIENT: &[&str] = &[
    "original-recipient",
    "final-recipient",
    "action",
    "status",
    "remote-mta",
    "diagnostic-code",
    "last-attempt-date",
    "final-log-id",
    "will-retry-until",
];

/// The per-message fields and the recipient groups of DSN text. A group
/// ends at a blank line, or where a recipient field repeats (some MTAs leave
/// out the blank lines).
pub(crate) fn parse(text: &str) -> (Vec<Field>, Vec<Vec<Field>>) {
    let mut message = Vec::new();
    let mut recipients: Vec<Vec<Field>> = Vec::new();
    for block in fields::groups(text, MAX_FINDINGS + 1) {
        let mut current: Vec<Field> = Vec::new();
        for field in block {
            let name = field.name.as_str();
            if PER_MESSAGE.contains(&name) {
                message.push(field);
                continue;
            }
            let starts_new =
                PER_RECIPIENT.contains(&name) && current.iter().any(|f| f.name == name);
            if starts_new && recipients.len() < MAX_FINDINGS {
                recipients.push(std::mem::take(&mut current));
            }
            current.push(field);
        }
        let is_recipient = current
            .iter()
            .any(|f| PER_RECIPIENT.contains(&f.name.as_str()));
        if is_recipient && recipients.len() < MAX_FINDINGS {
            recipients.push(current);
        }
    }
    recipients.retain(|g| {
        ["original-recipient", "final-recipient", "action", "status"]
            .iter()
            .any(|n| fields::get(g, n).is_some())
    });
    (message, recipients)
}

/// The value of a typed field (`smtp; 550 ...`) without its type.
pub(crate) fn untyped(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest))
            if !kind.is_empty()
                && kind.len() <= 24
                && kind
                    .trim()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            rest.trim()
        }
        _ => value.trim(),
    }
}

/// One finding from a recipient group; `text` is the human-readable part of
/// the report, read when the group does not say why (only when `single`).
pub(crate) fn finding(group: &[Field], text: &str, single: bool) -> Finding {
    let recipient = fields::get(group, "final-recipient")
        .and_then(field_address)
        .or_else(|| fields::get(group, "original-recipient").and_then(field_address))
        .or_else(|| fields::get(group, "x-actual-recipient").and_then(field_address));
    let action = fields::get(group, "action")
        .and_then(|a| a.split_whitespace().next())
        .map(|a| {
            a.trim_matches(|c: char| !c.is_ascii_alphabetic())
                .to_ascii_lowercase()
        })
        .filter(|a| !a.is_empty());
    let mut status = fields::get(group, "status").and_then(find_status);
    let mut diagnostic = fields::get(group, "diagnostic-code")
        .map(untyped)
        .and_then(collapse);
    let (mut class, mut reason) = classify(status.as_deref(), diagnostic.as_deref());
    let generic = status.as_deref().is_none_or(|s| s.ends_with(".0.0"));
    let unexplained = reason.is_none() || (diagnostic.is_none() && generic);
    if unexplained
        && single
        && let Some(found) = plain::diagnostic_for(text, recipient.as_deref())
    {
        let (c, r) = classify(status.as_deref(), Some(&found));
        if r.is_some() {
            (class, reason) = (c, r);
            if diagnostic.is_none() {
                diagnostic = Some(found);
            }
        }
    }
    if status.is_none() {
        status = diagnostic.as_deref().and_then(find_status);
    }
    match action.as_deref() {
        Some("delayed") => class = Class::Soft,
        Some("delivered" | "relayed" | "expanded" | "deliverable") => {
            class = Class::NotABounce;
            reason = None;
        }
        _ if class == Class::NotABounce => {
            // A failure nothing explains is soft (see `classify`).
            class = match status.as_deref().and_then(|s| s.chars().next()) {
                Some('2') if action.is_none() => Class::NotABounce,
                _ => Class::Soft,
            }
        }
        _ => {}
    }
    Finding {
        recipient,
        class,
        action,
        status,
        diagnostic,
        reason,
        feedback_type: None,
    }
}

/// A report from the `message/delivery-status` parts; `None` when they hold
/// no recipient group.
pub(crate) fn analyze(parts: &Parts) -> Option<Report> {
    let mut message_fields = Vec::new();
    let mut groups = Vec::new();
    for body in &parts.dsn {
        let (m, g) = parse(body);
        message_fields.extend(m);
        groups.extend(g);
    }
    groups.truncate(MAX_FINDINGS);
    if groups.is_empty() {
        return None;
    }
    let single = groups.len() == 1;
    let findings = groups
        .iter()
        .map(|g| finding(g, &parts.text, single))
        .collect();
    Some(Report {
        format: ReportFormat::DeliveryStatus,
        mta: plain::vendor(parts)
            .map(str::to_string)
            .or_else(|| reporting_mta(&message_fields)),
        report_message_id: None,
        original_message_id: None,
        findings,
    })
}

/// The host of `Reporting-MTA: dns; host`, lower-case.
pub(crate) fn reporting_mta(message_fields: &[Field]) -> Option<String> {
    let value = untyped(fields::get(message_fields, "reporting-mta")?);
    let host = value
        .split_whitespace()
        .next()?
        .trim_matches(['<', '>', '[', ']', ';']);
    (!host.is_empty() && host.len() <= 255).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "Reporting-MTA: dns; mx.example.org\n\
        Arrival-Date: Thu, 29 Apr 2010 23:34:45 +0900\n\n\
        Final-Recipient: rfc822; <Kiji@Example.JP>\n\
        Action: failed\n\
        Status: 5.1.1\n\
        Diagnostic-Code: smtp; 550 5.1.1 <kiji@example.jp>... User\n  Unknown\n\n\
        Final-Recipient: rfc822; neko@example.jp\n\
        Action: delayed\n\
        Status: 4.4.1\n";

    #[test]
    fn groups_and_findings() {
        let (m, g) = parse(DSN);
        assert_eq!(reporting_mta(&m), Some("mx.example.org".into()));
        assert_eq!(g.len(), 2);
        let f = finding(&g[0], "", false);
        assert_eq!(f.recipient.as_deref(), Some("kiji@example.jp"));
        assert_eq!(f.class, Class::Hard);
        assert_eq!(f.reason.as_deref(), Some("user-unknown"));
        assert_eq!(
            f.diagnostic.as_deref(),
            Some("550 5.1.1 <kiji@example.jp>... User Unknown")
        );
        let f = finding(&g[1], "", false);
        assert_eq!(
            (f.class, f.action.as_deref()),
            (Class::Soft, Some("delayed"))
        );
    }

    #[test]
    fn groups_without_blank_lines() {
        let text = "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.0.0\n\
                    Final-Recipient: rfc822; c@d.example\nAction: delivered\nStatus: 2.0.0\n";
        let (_, g) = parse(text);
        assert_eq!(g.len(), 2);
        assert_eq!(finding(&g[1], "", false).class, Class::NotABounce);
    }

    #[test]
    fn caps_recipient_groups() {
        let text = "Final-Recipient: rfc822; a@b.example\nAction: failed\n\n".repeat(100_000);
        let (_, g) = parse(&text);
        assert_eq!(g.len(), MAX_FINDINGS);
    }
}
