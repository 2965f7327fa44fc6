//! `outbound.send` with arbitrary header values, attachment part headers
//! (file name, content type, content id) and body bytes: every message sent
//! is whole CRLF lines (no bare CR or LF anywhere, `wire::check`), none over
//! 998 octets; its header block and every MIME part's header block hold only
//! fields we write or folded continuations, so nothing a caller gives can
//! add a field; and its DKIM signature verifies against the setup's record.

#![no_main]

#[path = "common.rs"]
mod common;

use arbitrary::Arbitrary;
use guest::outbound::{OutgoingAttachment, Recipient, SendRequest, send};
use guest::transport::RecordingTransport;
use guest::{dkim, wire};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    marketing: bool,
    subject: String,
    name: Option<String>,
    address: String,
    cc: Vec<(Option<String>, String)>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<(String, String, Option<String>, Vec<u8>)>,
    /// Raw bytes for the text body, made a string lossily (CR, LF, NUL and
    /// controls kept).
    text_bytes: Option<Vec<u8>>,
    reply: bool,
}

const FIELDS: &[&str] = &[
    "dkim-signature",
    "from",
    "to",
    "cc",
    "subject",
    "message-id",
    "date",
    "thread-topic",
    "thread-index",
    "in-reply-to",
    "references",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

fuzz_target!(|input: Input| {
    let clinic = common::clinic();
    let mut store = clinic.store.clone();
    let mut env = clinic.env.clone();
    let mut transport = RecordingTransport::default();
    let request = SendRequest {
        use_case: if input.marketing {
            clinic.marketing.clone()
        } else {
            clinic.transactional.clone()
        },
        to: vec![Recipient {
            name: input.name,
            address: input.address,
        }],
        cc: input
            .cc
            .into_iter()
            .take(4)
            .map(|(name, address)| Recipient { name, address })
            .collect(),
        subject: input.subject,
        text: input
            .text_bytes
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .or(input.text),
        html: input.html,
        attachments: input
            .attachments
            .into_iter()
            .take(3)
            .map(
                |(filename, content_type, content_id, content)| OutgoingAttachment {
                    filename,
                    content_type,
                    content_id,
                    content,
                },
            )
            .collect(),
        in_reply_to: input.reply.then(|| clinic.sent.message_id.clone()),
        idempotency_key: None,
    };
    if send(&mut store, &mut transport, &mut env, &request).is_err() {
        assert!(
            transport.sent.is_empty(),
            "a refused send reached the transport"
        );
        return;
    }
    let raw = &transport.sent.first().expect("one message").raw;
    if let Err(e) = wire::check(raw) {
        panic!("not CRLF-only or a line over 998: {e}");
    }
    let record = &clinic.setup.records[0].value;
    if let Err(e) = dkim::verify(raw, record) {
        panic!("DKIM does not verify: {e}");
    }
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    check_fields(&raw[..end + 2], FIELDS);
    // Every part's header block: after each boundary delimiter line up to
    // the first empty line.
    let text = String::from_utf8_lossy(raw);
    let boundaries: Vec<String> = text
        .split("boundary=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|b| format!("--{b}\r\n"))
        .collect();
    for delimiter in &boundaries {
        for part in text.split(delimiter.as_str()).skip(1) {
            let head = part.split("\r\n\r\n").next().unwrap_or_default();
            check_fields(format!("{head}\r\n").as_bytes(), PART_FIELDS);
        }
    }
});

const PART_FIELDS: &[&str] = &[
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-id",
];

/// A header block of whole lines, each a field of `allowed` or a folded
/// continuation.
fn check_fields(head: &[u8], allowed: &[&str]) {
    let text = String::from_utf8_lossy(head);
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            allowed.contains(&name.as_str()),
            "a field we do not write: {line:?}"
        );
    }
}
