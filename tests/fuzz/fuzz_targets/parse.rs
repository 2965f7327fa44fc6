//! `inbound.parse` on any bytes: no panic, the same answer twice, and every
//! attachment's bytes are the decoded content of a part of the input.

#![no_main]

use guest::inbound::{Limits, parse};
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
    let mut headerless = b"\r\n".to_vec();
    headerless.extend_from_slice(raw);
    for input in [raw, headerless.as_slice()] {
        if let Some(parsed) = MessageParser::new()
            .max_depth(32)
            .max_parts(500)
            .parse(input)
        {
            for part in parsed.root().parts() {
                leaves.push(part.decoded().into_owned());
            }
        }
    }
    for a in &message.attachments {
        assert!(
            leaves.iter().any(|l| *l == a.content),
            "attachment {:?} ({} bytes) is not a decoded part of the input",
            a.filename,
            a.content.len()
        );
    }
});
