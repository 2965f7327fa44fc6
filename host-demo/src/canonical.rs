//! The canonical JSON of a parse result.
//!
//! Every host prints the same bytes for the same answer: the key order below,
//! two-space indentation (`serde_json::to_string_pretty`, which matches
//! JavaScript's `JSON.stringify(v, null, 2)`), non-ASCII left unescaped, and a
//! final newline. Attachment contents appear only as their SHA-256.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Attachment, Disposition, LimitKind, Mailbox, ParseError, ParsedMessage, hex};

/// The canonical JSON value of a parse result.
pub fn to_value(result: &Result<ParsedMessage, ParseError>) -> Value {
    match result {
        Ok(message) => message_value(message),
        Err(error) => error_value(error),
    }
}

/// The canonical JSON text of a parse result, newline-terminated.
pub fn to_json(result: &Result<ParsedMessage, ParseError>) -> String {
    let mut text = serde_json::to_string_pretty(&to_value(result))
        .expect("a serde_json::Value always serializes");
    text.push('\n');
    text
}

/// The WIT name of a disposition.
pub fn disposition_name(disposition: Disposition) -> &'static str {
    match disposition {
        Disposition::Attachment => "attachment",
        Disposition::Inline => "inline",
        Disposition::Unspecified => "unspecified",
    }
}

/// The WIT name of a limit.
pub fn limit_name(limit: LimitKind) -> &'static str {
    match limit {
        LimitKind::MaxBytes => "max-bytes",
        LimitKind::MaxDepth => "max-depth",
        LimitKind::MaxParts => "max-parts",
    }
}

fn message_value(m: &ParsedMessage) -> Value {
    json!({
        "message-id": m.message_id,
        "in-reply-to": m.in_reply_to,
        "references": m.references,
        "from": mailboxes(&m.from),
        "to": mailboxes(&m.to),
        "cc": mailboxes(&m.cc),
        "reply-to": mailboxes(&m.reply_to),
        "subject": m.subject,
        "date": m.date,
        "text": m.text,
        "html": m.html,
        "attachments": m.attachments.iter().map(attachment).collect::<Vec<_>>(),
        "headers": headers(&m.headers),
    })
}

/// The header fields, in order: `{"name", "value"}` each.
pub fn headers(list: &[crate::inbound::Header]) -> Value {
    list.iter()
        .map(|h| json!({ "name": h.name, "value": h.value }))
        .collect()
}

fn mailboxes(list: &[Mailbox]) -> Value {
    list.iter()
        .map(|m| json!({ "name": m.name, "address": m.address }))
        .collect()
}

fn attachment(a: &Attachment) -> Value {
    json!({
        "filename": a.filename,
        "content-type": a.content_type,
        "content-id": a.content_id,
        "disposition": disposition_name(a.disposition),
        "inline": a.inline,
        "size": a.size,
        "sha256": hex(&Sha256::digest(&a.content)),
    })
}

fn error_value(e: &ParseError) -> Value {
    let error = match e {
        ParseError::LimitExceeded(l) => json!({
            "kind": "limit-exceeded",
            "limit": limit_name(l.limit),
            "value": l.value,
            "message": l.message,
        }),
        ParseError::InvalidLimits(message) => json!({
            "kind": "invalid-limits",
            "message": message,
        }),
        ParseError::Malformed(message) => json!({
            "kind": "malformed",
            "message": message,
        }),
    };
    json!({ "error": error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LimitExceeded;

    #[test]
    fn success_shape_and_key_order() {
        let message = ParsedMessage {
            message_id: Some("a@b".into()),
            in_reply_to: vec![],
            references: vec!["r@b".into()],
            from: vec![Mailbox {
                name: Some("Zoë".into()),
                address: Some("z@b".into()),
            }],
            to: vec![],
            cc: vec![],
            reply_to: vec![],
            subject: Some("Grüße \"quoted\"".into()),
            date: None,
            text: Some("line\n\u{1}".into()),
            html: None,
            attachments: vec![Attachment {
                filename: "a.txt".into(),
                content_type: "text/plain".into(),
                content_id: None,
                disposition: Disposition::Attachment,
                inline: false,
                size: 3,
                content: b"abc".to_vec(),
            }],
            headers: vec![crate::inbound::Header {
                name: "X-Tag".into(),
                value: "café".into(),
            }],
        };
        let expected = r#"{
  "message-id": "a@b",
  "in-reply-to": [],
  "references": [
    "r@b"
  ],
  "from": [
    {
      "name": "Zoë",
      "address": "z@b"
    }
  ],
  "to": [],
  "cc": [],
  "reply-to": [],
  "subject": "Grüße \"quoted\"",
  "date": null,
  "text": "line\n\u0001",
  "html": null,
  "attachments": [
    {
      "filename": "a.txt",
      "content-type": "text/plain",
      "content-id": null,
      "disposition": "attachment",
      "inline": false,
      "size": 3,
      "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    }
  ],
  "headers": [
    {
      "name": "X-Tag",
      "value": "café"
    }
  ]
}
"#;
        assert_eq!(to_json(&Ok(message)), expected);
    }

    #[test]
    fn error_shapes() {
        let limit = ParseError::LimitExceeded(LimitExceeded {
            limit: LimitKind::MaxDepth,
            value: 64,
            message: "too deep".into(),
        });
        assert_eq!(
            to_json(&Err(limit)),
            "{\n  \"error\": {\n    \"kind\": \"limit-exceeded\",\n    \"limit\": \"max-depth\",\n    \"value\": 64,\n    \"message\": \"too deep\"\n  }\n}\n"
        );
        let malformed = ParseError::Malformed("empty".into());
        assert_eq!(
            to_json(&Err(malformed)),
            "{\n  \"error\": {\n    \"kind\": \"malformed\",\n    \"message\": \"empty\"\n  }\n}\n"
        );
    }
}
