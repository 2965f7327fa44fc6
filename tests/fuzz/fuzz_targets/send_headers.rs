//! `outbound.send` with arbitrary header values: every message sent has a
//! header block of whole CRLF lines, each a field we write or a folded
//! continuation; nothing a caller gives can add a field.

#![no_main]

#[path = "common.rs"]
mod common;

use arbitrary::Arbitrary;
use guest::outbound::{OutgoingAttachment, Recipient, SendRequest, send};
use guest::transport::RecordingTransport;
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
    attachment: Option<(String, String, Option<String>, Vec<u8>)>,
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
        text: input.text,
        html: input.html,
        attachments: input
            .attachment
            .map(
                |(filename, content_type, content_id, content)| OutgoingAttachment {
                    filename,
                    content_type,
                    content_id,
                    content,
                },
            )
            .into_iter()
            .collect(),
        in_reply_to: input.reply.then(|| clinic.sent.message_id.clone()),
    };
    if send(&mut store, &mut transport, &mut env, &request).is_err() {
        assert!(
            transport.sent.is_empty(),
            "a refused send reached the transport"
        );
        return;
    }
    let raw = &transport.sent.first().expect("one message").raw;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = &raw[..end + 2];
    for (i, &b) in head.iter().enumerate() {
        match b {
            b'\n' => assert!(i > 0 && head[i - 1] == b'\r', "bare LF at {i}"),
            b'\r' => assert!(head.get(i + 1) == Some(&b'\n'), "bare CR at {i}"),
            _ => {}
        }
    }
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
            FIELDS.contains(&name.as_str()),
            "a field we do not write: {line:?}"
        );
    }
});
