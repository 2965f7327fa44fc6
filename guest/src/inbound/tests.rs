use super::*;

fn parse_default(raw: &str) -> ParsedMessage {
    parse(raw.as_bytes(), &Limits::default()).expect("a message")
}

fn names(m: &ParsedMessage) -> Vec<(&str, bool)> {
    m.attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.inline))
        .collect()
}

const APPLE: &str = "From: Pat <pat@example.com>\r\n\
Subject: Re: Appointment\r\n\
Message-ID: <reply-1@example.com>\r\n\
In-Reply-To: <out-1@clinic.example>\r\n\
Content-Type: multipart/alternative; boundary=\"alt\"\r\n\
\r\n\
--alt\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Here is my card.\r\n\
--alt\r\n\
Content-Type: multipart/mixed; boundary=\"mix\"\r\n\
\r\n\
--mix\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body>Here is my card.</body></html>\r\n\
--mix\r\n\
Content-Type: application/pdf; name=\"card.pdf\"\r\n\
Content-Disposition: inline; filename=\"card.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--mix\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body>Thanks</body></html>\r\n\
--mix--\r\n\
--alt--\r\n";

#[test]
fn apple_mail_attachment_inside_alternative_is_kept() {
    let m = parse_default(APPLE);
    assert_eq!(names(&m), [("card.pdf", false)]);
    assert_eq!(m.attachments[0].content, b"%PDF-1.4\n");
    assert_eq!(m.attachments[0].disposition, Disposition::Inline);
    assert_eq!(m.text.as_deref(), Some("Here is my card."));
    let html = m.html.unwrap();
    assert!(
        html.contains("my card") && html.contains("Thanks"),
        "{html}"
    );
    assert_eq!(m.in_reply_to, ["out-1@clinic.example"]);
    assert_eq!(m.message_id.as_deref(), Some("reply-1@example.com"));
}

const FORWARD: &str = "From: a@example.com\r\n\
Subject: Fwd: results\r\n\
Content-Type: multipart/mixed; boundary=\"out\"\r\n\
\r\n\
--out\r\n\
Content-Type: text/plain\r\n\
\r\n\
See below.\r\n\
--out\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: lab@example.org\r\n\
Subject: Lab results\r\n\
Content-Type: multipart/mixed; boundary=\"in\"\r\n\
\r\n\
--in\r\n\
Content-Type: text/plain\r\n\
\r\n\
Attached.\r\n\
--in\r\n\
Content-Type: application/pdf; name=\"results.pdf\"\r\n\
\r\n\
PDF\r\n\
--in--\r\n\
--out--\r\n";

#[test]
fn forwarded_message_is_one_opaque_eml() {
    let m = parse_default(FORWARD);
    assert_eq!(names(&m), [("Lab results.eml", false)]);
    let eml = String::from_utf8(m.attachments[0].content.clone()).unwrap();
    assert!(eml.starts_with("From: lab@example.org\r\n"), "{eml:?}");
    assert!(eml.ends_with("--in--"), "{eml:?}");
    assert_eq!(m.text.as_deref(), Some("See below."));
}

#[test]
fn cid_referenced_images_are_inline_and_named_by_content_id() {
    let raw = "From: o@example.com\r\n\
Content-Type: multipart/related; boundary=\"rel\"\r\n\
\r\n\
--rel\r\n\
Content-Type: text/html\r\n\
\r\n\
<img src=\"cid:IMAGE001.png@01D9\">\r\n\
--rel\r\n\
Content-Type: image/png; name=\"image001.png\"\r\n\
Content-ID: <image001.png@01D9>\r\n\
\r\n\
PNG\r\n\
--rel\r\n\
Content-Type: image/png; name=\"logo.png\"\r\n\
Content-ID: <logo@x>\r\n\
\r\n\
PNG\r\n\
--rel--\r\n";
    let m = parse_default(raw);
    assert_eq!(
        names(&m),
        [("image001.png@01D9", true), ("logo.png", false)]
    );
}

fn nested(depth: usize) -> String {
    let mut raw = String::from("From: x@example.com\r\n");
    for i in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    raw.push_str("Content-Type: application/pdf; name=\"deep.pdf\"\r\n\r\nPDF\r\n");
    for i in (0..depth).rev() {
        raw.push_str(&format!("--b{i}--\r\n"));
    }
    raw
}

#[test]
fn nesting_up_to_the_limit_is_walked() {
    let m = parse(nested(63).as_bytes(), &Limits::default()).expect("63 multiparts fit");
    assert_eq!(names(&m), [("deep.pdf", false)]);
}

#[test]
fn nesting_bomb_is_a_typed_error() {
    let err = parse(nested(10_000).as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(
        err,
        ParseError::LimitExceeded {
            limit: LimitKind::MaxDepth,
            value: 64
        }
    );
    let err = parse(nested(64).as_bytes(), &Limits::default()).unwrap_err();
    assert!(matches!(
        err,
        ParseError::LimitExceeded {
            limit: LimitKind::MaxDepth,
            ..
        }
    ));
}

#[test]
fn too_many_parts_is_a_typed_error() {
    let mut raw = String::from("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
    for _ in 0..20 {
        raw.push_str("--b\r\n\r\nx\r\n");
    }
    raw.push_str("--b--\r\n");
    let limits = Limits {
        max_parts: Some(10),
        ..Limits::default()
    };
    let err = parse(raw.as_bytes(), &limits).unwrap_err();
    assert_eq!(
        err,
        ParseError::LimitExceeded {
            limit: LimitKind::MaxParts,
            value: 10
        }
    );
    let limits = Limits {
        max_parts: Some(21),
        ..Limits::default()
    };
    assert!(parse(raw.as_bytes(), &limits).is_ok());
}

#[test]
fn limits_are_validated() {
    let zero = Limits {
        max_depth: Some(0),
        ..Limits::default()
    };
    assert!(matches!(
        parse(b"x", &zero),
        Err(ParseError::InvalidLimits(_))
    ));
    let small = Limits {
        max_bytes: Some(3),
        ..Limits::default()
    };
    assert!(matches!(
        parse(b"Subject: x\r\n\r\n", &small),
        Err(ParseError::LimitExceeded {
            limit: LimitKind::MaxBytes,
            value: 3
        })
    ));
    assert!(matches!(
        parse(b"", &Limits::default()),
        Err(ParseError::Malformed(_))
    ));
}

const SIMPLE: &str = "From: Pat <pat@example.com>\r\nSubject: Scan\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nAttached.\r\n--b\r\n\
Content-Type: application/pdf; name=\"scan.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";

#[test]
fn a_whitespace_only_first_line_loses_no_header() {
    for first in ["   ", &" ".repeat(255), "\t", " \t ", "  \r\n   "] {
        let m = parse_default(&format!("{first}\r\n{SIMPLE}"));
        assert_eq!(m.subject.as_deref(), Some("Scan"), "{first:?}");
        assert_eq!(names(&m), [("scan.pdf", false)], "{first:?}");
        assert_eq!(m.text.as_deref(), Some("Attached."), "{first:?}");
    }
    // With bare LF too.
    let m = parse_default(&format!("   \n{}", SIMPLE.replace("\r\n", "\n")));
    assert_eq!(m.subject.as_deref(), Some("Scan"));
}

#[test]
fn an_empty_first_line_still_means_no_headers() {
    let m = parse_default(&format!("\r\n{SIMPLE}"));
    assert_eq!(m.subject, None);
    assert!(m.text.unwrap_or_default().contains("Subject: Scan"));
}

#[test]
fn bare_cr_line_breaks_are_line_breaks() {
    let m = parse_default(&SIMPLE.replace("\r\n", "\r"));
    assert_eq!(m.subject.as_deref(), Some("Scan"));
    assert_eq!(m.from[0].address.as_deref(), Some("pat@example.com"));
    assert_eq!(names(&m), [("scan.pdf", false)]);
    assert_eq!(m.attachments[0].content, b"%PDF-1.4\n");
    // One LF anywhere: CRs are left to the parser as before.
    assert!(prepared(b"Subject: a\rb\n").as_ref() == b"Subject: a\rb\n");
}

#[test]
fn uuencoded_parts_are_decoded() {
    let raw = "From: old@example.com\r\nSubject: uu\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nHi.\r\n--b\r\n\
Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: X-UUENCODE\r\n\r\n\
begin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\n--b--\r\n";
    let m = parse_default(raw);
    assert_eq!(names(&m), [("cat.txt", false)]);
    assert_eq!(m.attachments[0].content, b"Cat");
}

#[test]
fn winmail_dat_is_unpacked_after_itself() {
    use crate::inbound::tnef::tests::{Writer, props, unicode};
    let stream = Writer::new()
        .attribute(1, 0x0002_800C, b"Only body.\0")
        .attribute(2, 0x0006_9002, &[1, 0])
        .attribute(2, 0x0001_8010, b"A.PDF\0")
        .attribute(2, 0x0006_800F, b"%PDF-a")
        .attribute(
            2,
            0x0006_9005,
            &props(&[(0x001F, 0x3707, unicode("A long name.pdf"))], 1),
        )
        .0;
    let b64 = crate::thread_index::base64(&stream);
    let raw = format!(
        "From: o@example.com\r\nSubject: t\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    );
    let m = parse_default(&raw);
    assert_eq!(
        names(&m),
        [("winmail.dat", false), ("A long name.pdf", false)]
    );
    assert_eq!(m.attachments[1].content_type, "application/pdf");
    assert_eq!(m.text.as_deref(), Some("Only body."));
    assert!(m.notes.is_empty());

    // Limits: the unpacked file is a part, one level below winmail.dat.
    let parts = parse(
        raw.as_bytes(),
        &Limits {
            max_parts: Some(2),
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            parts,
            Err(ParseError::LimitExceeded {
                limit: LimitKind::MaxParts,
                ..
            })
        ),
        "{parts:?}"
    );
    let depth = parse(
        raw.as_bytes(),
        &Limits {
            max_depth: Some(2),
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            depth,
            Err(ParseError::LimitExceeded {
                limit: LimitKind::MaxDepth,
                ..
            })
        ),
        "{depth:?}"
    );

    // Cut short: kept whole, with a note.
    let cut = crate::thread_index::base64(&stream[..stream.len() - 3]);
    let m = parse_default(&raw.replace(&b64, &cut));
    assert_eq!(names(&m), [("winmail.dat", false)]);
    assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    assert!(m.notes[0].starts_with("winmail.dat: truncated TNEF stream"));
}
