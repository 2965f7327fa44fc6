//! `inbound.parse` on any bytes: no panic, the same answer twice, and every
//! attachment's bytes are the decoded content of a part of the input (base64,
//! quoted-printable or uuencode undone), or for a file unpacked from a
//! `winmail.dat`, a slice of such a part that is a TNEF stream.

#![no_main]

use guest::inbound::{Limits, parse, prepared, tnef, uuencode};
use libfuzzer_sys::fuzz_target;
use mail_parser::MessageParser;

fuzz_target!(|raw: &[u8]| {
    let limits = Limits {
        max_bytes: None,
        max_depth: Some(32),
        max_parts: Some(500),
    };
    let first = parse(raw, &limits);
    assert_eq!(first, parse(raw, &limits), "parse is not deterministic");
    let Ok(message) = first else {
        return;
    };
    if message.attachments.is_empty() {
        return;
    }
    // Every leaf of the input, decoded, as the parser in any configuration
    // that reaches it sees it; the headerless form is tried as well.
    let mut leaves: Vec<Vec<u8>> = Vec::new();
    let raw = prepared(raw);
    let mut headerless = b"\r\n".to_vec();
    headerless.extend_from_slice(&raw);
    let mut mbox_skipped = raw.as_ref();
    if mbox_skipped.starts_with(b"From ") {
        let end = mbox_skipped
            .iter()
            .position(|&b| b == b'\n')
            .map_or(mbox_skipped.len(), |i| i + 1);
        mbox_skipped = &mbox_skipped[end..];
    }
    for input in [raw.as_ref(), headerless.as_slice(), mbox_skipped] {
        if let Some(parsed) = MessageParser::new()
            .max_depth(32)
            .max_parts(500)
            .parse(input)
        {
            for part in parsed.root().parts() {
                leaves.push(part.decoded().into_owned());
                leaves.push(uuencode::decode(part.raw_body()).0);
            }
        }
    }
    let inside_tnef = |content: &[u8]| {
        leaves.iter().any(|l| {
            tnef::has_signature(l)
                && (content.is_empty() || l.windows(content.len()).any(|w| w == content))
        })
    };
    for a in &message.attachments {
        assert!(
            leaves.iter().any(|l| *l == a.content) || inside_tnef(&a.content),
            "attachment {:?} ({} bytes) is not a decoded part of the input",
            a.filename,
            a.content.len()
        );
    }
});
