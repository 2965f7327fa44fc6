//! RFC 5965 Abuse Reporting Format complaints (`message/feedback-report`),
//! and Microsoft's JMRP reports, which attach the complained-about message
//! with an `X-HmXmrOriginalRecipient` field and no feedback part.

use super::fields;
use super::text::{field_address, quoted_message_id};
use super::{Class, Finding, Parts, Report, ReportFormat};

/// Whether the report is a Microsoft JMRP complaint.
pub(crate) fn is_jmrp(parts: &Parts) -> bool {
    parts
        .original
        .as_deref()
        .is_some_and(|o| fields::get(o, "x-hmxmroriginalrecipient").is_some())
}

/// The report of a complaint: one finding.
pub(crate) fn analyze(parts: &Parts) -> Report {
    let feedback = fields::parse_block(parts.feedback.as_deref().unwrap_or_default());
    let feedback = if feedback.is_empty() {
        // Some reporters put the feedback fields in the text part.
        fields::groups(&parts.text, 64)
            .into_iter()
            .find(|g| fields::get(g, "feedback-type").is_some())
            .unwrap_or_default()
    } else {
        feedback
    };
    let original = parts.original.as_deref().unwrap_or_default();
    let feedback_type = fields::get(&feedback, "feedback-type")
        .and_then(|t| t.split_whitespace().next())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "abuse".to_string());
    let recipient = ["original-rcpt-to", "removal-recipient"]
        .iter()
        .find_map(|n| fields::get(&feedback, n).and_then(field_address))
        .or_else(|| fields::get(original, "x-hmxmroriginalrecipient").and_then(field_address))
        .or_else(|| fields::get(original, "to").and_then(field_address));
    let class = if feedback_type == "not-spam" {
        Class::NotABounce
    } else {
        Class::Complaint
    };
    let reason = Some(format!("feedback-{feedback_type}")).filter(|r| r.len() <= 64);
    let mta = fields::get(&feedback, "user-agent")
        .and_then(|ua| ua.split(['/', ' ', ';']).next())
        .map(str::to_ascii_lowercase)
        .filter(|s| !s.is_empty())
        .or_else(|| is_jmrp(parts).then(|| "hotmail".to_string()));
    let original_message_id = fields::get(&feedback, "original-message-id")
        .and_then(crate::ids::bare)
        .or_else(|| quoted_message_id(&parts.text));
    Report {
        format: ReportFormat::FeedbackReport,
        mta,
        report_message_id: None,
        original_message_id,
        findings: vec![Finding {
            recipient,
            class,
            action: None,
            status: None,
            diagnostic: None,
            reason,
            feedback_type: Some(feedback_type),
        }],
    }
}

/// An unsubscribe request a mail client sent on its user's behalf (Apple
/// Mail's "unsubscribe" message): an opt-out complaint from the sender.
pub(crate) fn opt_out(parts: &Parts) -> Option<Report> {
    let subject = parts.subject.trim();
    let automatic = parts
        .header("auto-submitted")
        .is_some_and(|v| !v.eq_ignore_ascii_case("no"));
    let asks = parts.text.to_lowercase().contains("to unsubscribe");
    if !subject.eq_ignore_ascii_case("unsubscribe") || !(automatic && asks) {
        return None;
    }
    Some(Report {
        format: ReportFormat::FeedbackReport,
        mta: None,
        report_message_id: None,
        original_message_id: None,
        findings: vec![Finding {
            recipient: parts.from.clone(),
            class: Class::Complaint,
            action: None,
            status: None,
            diagnostic: None,
            reason: Some("feedback-opt-out".to_string()),
            feedback_type: Some("opt-out".to_string()),
        }],
    })
}
