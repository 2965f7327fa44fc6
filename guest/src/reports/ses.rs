//! Amazon SES notifications mailed as JSON (directly, or inside an SNS
//! envelope's `Message` string): `Bounce`, `Complaint` and `Delivery`.

use serde_json::Value;

use super::text::{collapse, field_address, find_status};
use super::{Class, Finding, MAX_FINDINGS, Report, ReportFormat, class_of_reason, classify, dsn};

/// The report of an SES JSON notification in `text`, if it holds one.
pub(crate) fn analyze(text: &str) -> Option<Report> {
    let start = text.find('{')?;
    // Long lines come wrapped as `!` + line break + space.
    let json = text.get(start..)?.replace("!\r\n ", "").replace("!\n ", "");
    let value: Value = serde_json::Deserializer::from_str(&json)
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let value = match value.get("Message").and_then(Value::as_str) {
        Some(inner) => serde_json::from_str(inner).ok()?,
        None => value,
    };
    let kind = value
        .get("notificationType")
        .or_else(|| value.get("eventType"))
        .and_then(Value::as_str)?;
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let mail = value.get("mail");
    let original_message_id = mail
        .and_then(|m| m.get("headers"))
        .and_then(Value::as_array)
        .and_then(|headers| {
            headers.iter().find(|h| {
                h.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case("message-id"))
            })
        })
        .and_then(|h| h.get("value").and_then(Value::as_str))
        .or_else(|| {
            mail.and_then(|m| m.get("commonHeaders"))
                .and_then(|c| c.get("messageId"))
                .and_then(Value::as_str)
        })
        .and_then(crate::ids::bare);
    let list = |v: Option<&Value>, k: &str| -> Vec<Value> {
        v.and_then(|v| v.get(k))
            .and_then(Value::as_array)
            .map(|a| a.iter().take(MAX_FINDINGS).cloned().collect())
            .unwrap_or_default()
    };
    let (format, findings) = match kind {
        "Bounce" => {
            let bounce = value.get("bounce");
            let transient = bounce
                .and_then(|b| str_of(b, "bounceType"))
                .is_some_and(|t| t != "Permanent");
            // SES's subtype, where it names what failed (see the README).
            let by_subtype = match bounce.and_then(|b| str_of(b, "bounceSubType")).as_deref() {
                Some("NoEmail") => Some("user-unknown"),
                Some("Suppressed" | "OnAccountSuppressionList") => Some("user-unknown"),
                Some("MailboxFull") => Some("mailbox-full"),
                Some("MessageTooLarge") => Some("too-large"),
                Some("ContentRejected" | "AttachmentRejected") => Some("spam-blocked"),
                _ => None,
            };
            let findings = list(bounce, "bouncedRecipients")
                .iter()
                .map(|r| {
                    let status = str_of(r, "status").and_then(|s| find_status(&s));
                    let diagnostic =
                        str_of(r, "diagnosticCode").and_then(|d| collapse(dsn::untyped(&d)));
                    let (class, reason) = match classify(status.as_deref(), diagnostic.as_deref()) {
                        (_, None) if by_subtype.is_some() => {
                            let r = by_subtype.unwrap_or_default();
                            (
                                class_of_reason(r).unwrap_or(Class::Hard),
                                Some(r.to_string()),
                            )
                        }
                        found => found,
                    };
                    Finding {
                        recipient: str_of(r, "emailAddress").and_then(|a| field_address(&a)),
                        class: match class {
                            Class::Blocked => Class::Blocked,
                            _ if transient => Class::Soft,
                            Class::NotABounce => Class::Hard,
                            c => c,
                        },
                        action: str_of(r, "action").map(|a| a.to_ascii_lowercase()),
                        status,
                        diagnostic,
                        reason,
                        feedback_type: None,
                    }
                })
                .collect();
            (ReportFormat::DeliveryStatus, findings)
        }
        "Complaint" => {
            let complaint = value.get("complaint");
            let feedback_type = complaint
                .and_then(|c| str_of(c, "complaintFeedbackType"))
                .map(|t| t.to_ascii_lowercase())
                .unwrap_or_else(|| "abuse".to_string());
            let findings = list(complaint, "complainedRecipients")
                .iter()
                .map(|r| Finding {
                    recipient: str_of(r, "emailAddress").and_then(|a| field_address(&a)),
                    class: if feedback_type == "not-spam" {
                        Class::NotABounce
                    } else {
                        Class::Complaint
                    },
                    action: None,
                    status: None,
                    diagnostic: None,
                    reason: Some(format!("feedback-{feedback_type}")),
                    feedback_type: Some(feedback_type.clone()),
                })
                .collect();
            (ReportFormat::FeedbackReport, findings)
        }
        "Delivery" => {
            let delivery = value.get("delivery");
            let response = delivery.and_then(|d| str_of(d, "smtpResponse"));
            let findings = list(delivery, "recipients")
                .iter()
                .map(|r| Finding {
                    recipient: r.as_str().and_then(field_address),
                    class: Class::NotABounce,
                    action: Some("delivered".to_string()),
                    status: response.as_deref().and_then(find_status),
                    diagnostic: response.as_deref().and_then(collapse),
                    reason: None,
                    feedback_type: None,
                })
                .collect();
            (ReportFormat::DeliveryStatus, findings)
        }
        _ => return None,
    };
    Some(Report {
        format,
        mta: Some("amazonses".to_string()),
        report_message_id: None,
        original_message_id,
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounce_in_an_sns_envelope() {
        let inner = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@b.example","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},"mail":{"headers":[{"name":"Message-ID","value":"<m@c.example>"}]}}"#;
        let text = serde_json::json!({ "Type": "Notification", "Message": inner }).to_string();
        let r = analyze(&text).expect("a report");
        assert_eq!(r.original_message_id.as_deref(), Some("m@c.example"));
        let f = &r.findings[0];
        assert_eq!(f.recipient.as_deref(), Some("a@b.example"));
        assert_eq!(
            (f.class, f.reason.as_deref()),
            (Class::Hard, Some("user-unknown"))
        );
        assert_eq!(f.diagnostic.as_deref(), Some("550 5.1.1 user unknown"));
    }

    #[test]
    fn not_json() {
        assert!(analyze("hello {not json").is_none());
        assert!(analyze(&"{\"a\":".repeat(100_000)).is_none());
        assert!(analyze(r#"{"a":1}"#).is_none());
    }
}
