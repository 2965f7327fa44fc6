//! Hand-written reports, including hostile input.

use super::*;

const DSN: &str = "From: MAILER-DAEMON@mx.example.org\r\n\
Message-ID: <report-1@mx.example.org>\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
This is the mail system at host mx.example.org.\r\n\
\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.org\r\n\
\r\n\
Final-Recipient: rfc822; Kiji@Example.JP\r\n\
Action: failed\r\n\
Status: 5.0.0\r\n\
Diagnostic-Code: smtp; 550 5.0.0 Unknown User\r\n\
\r\n\
--B\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: care@clinic.example\r\n\
Message-ID: <orig-1@clinic.example>\r\n\
\r\n\
--B--\r\n";

#[test]
fn delivery_status_notification() {
    let r = analyze(DSN.as_bytes());
    assert_eq!(r.format, ReportFormat::DeliveryStatus);
    assert_eq!(r.class(), Class::Hard);
    assert_eq!(
        r.report_message_id.as_deref(),
        Some("report-1@mx.example.org")
    );
    assert_eq!(
        r.original_message_id.as_deref(),
        Some("orig-1@clinic.example")
    );
    assert_eq!(r.mta.as_deref(), Some("mx.example.org"));
    let f = &r.findings[0];
    assert_eq!(f.recipient.as_deref(), Some("kiji@example.jp"));
    assert_eq!(f.status.as_deref(), Some("5.0.0"));
    assert_eq!(f.reason.as_deref(), Some("user-unknown"));
    assert_eq!(f.diagnostic.as_deref(), Some("550 5.0.0 Unknown User"));
}

#[test]
fn feedback_report() {
    let raw = "From: fbl@isp.example\r\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
A complaint.\r\n\
--B\r\n\
Content-Type: message/feedback-report\r\n\
\r\n\
Feedback-Type: Abuse\r\n\
User-Agent: SomeGenerator/1.0\r\n\
Version: 1\r\n\
Original-Rcpt-To: <User@ISP.example>\r\n\
\r\n\
--B\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: care@clinic.example\r\n\
Message-ID: <orig-2@clinic.example>\r\n\
Subject: hi\r\n\
\r\n\
body\r\n\
--B--\r\n";
    let r = analyze(raw.as_bytes());
    assert_eq!(r.format, ReportFormat::FeedbackReport);
    assert_eq!(r.class(), Class::Complaint);
    assert_eq!(
        r.original_message_id.as_deref(),
        Some("orig-2@clinic.example")
    );
    let f = &r.findings[0];
    assert_eq!(f.recipient.as_deref(), Some("user@isp.example"));
    assert_eq!(f.feedback_type.as_deref(), Some("abuse"));
    assert_eq!(f.reason.as_deref(), Some("feedback-abuse"));
    let not_spam = raw.replace("Feedback-Type: Abuse", "Feedback-Type: not-spam");
    assert_eq!(analyze(not_spam.as_bytes()).class(), Class::NotABounce);
}

#[test]
fn qmail_bounce() {
    let raw = "From: MAILER-DAEMON@mx.example.jp\n\
To: care@clinic.example\n\
Subject: failure notice\n\
\n\
Hi. This is the qmail-send program at mx.example.jp.\n\
I'm afraid I wasn't able to deliver your message to the following addresses.\n\
This is a permanent error; I've given up. Sorry it didn't work out.\n\
\n\
<kiji@example.ne.jp>:\n\
Sorry, I couldn't find any host named example.ne.jp. (#5.1.2)\n\
\n\
--- Below this line is a copy of the message.\n\
\n\
Return-Path: <care@clinic.example>\n\
Message-ID: <orig-3@clinic.example>\n\
From: care@clinic.example\n\
To: kiji@example.ne.jp\n\
\n\
hello\n";
    let r = analyze(raw.as_bytes());
    assert_eq!(r.format, ReportFormat::PlainBounce);
    assert_eq!(r.mta.as_deref(), Some("qmail"));
    assert_eq!(
        r.original_message_id.as_deref(),
        Some("orig-3@clinic.example")
    );
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(f.recipient.as_deref(), Some("kiji@example.ne.jp"));
    assert_eq!(f.status.as_deref(), Some("5.1.2"));
    assert_eq!(
        (f.class, f.reason.as_deref()),
        (Class::Hard, Some("host-unknown"))
    );
}

#[test]
fn auto_reply_and_plain_mail() {
    let raw =
        "From: kiji@example.net\nSubject: Out of office\nAuto-Submitted: auto-replied\n\nAway.\n";
    let r = analyze(raw.as_bytes());
    assert_eq!(r.format, ReportFormat::AutoReply);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.class(), Class::NotABounce);
    let raw = "From: a@b.example\nSubject: lunch?\nMessage-ID: <m@b.example>\n\nNoon?\n";
    let r = analyze(raw.as_bytes());
    assert_eq!(r.format, ReportFormat::NotAReport);
    assert!(r.findings.is_empty());
    assert_eq!(r.report_message_id.as_deref(), Some("m@b.example"));
}

#[test]
fn hostile_input_never_panics() {
    for raw in [
        Vec::new(),
        b"\xff\xfe\x00garbage".to_vec(),
        format!("Subject: {}\n\n", "x".repeat(2_000_000)).into_bytes(),
        b"From: MAILER-DAEMON@x.example\n\n\xff\xff <\xc3@\xc3.\xc3>".to_vec(),
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: message/delivery-status\n\n"
            .bytes()
            .chain(b"Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\n\n".repeat(100_000))
            .collect(),
    ] {
        let r = analyze(&raw);
        assert!(r.findings.len() <= MAX_FINDINGS);
        for f in &r.findings {
            assert!(f.diagnostic.as_ref().is_none_or(|d| d.len() <= MAX_DIAGNOSTIC_BYTES));
        }
    }
}

#[test]
fn many_recipients_are_capped() {
    let list: String = (0..5000)
        .map(|i| format!("<u{i}@example.org>: 550 5.1.1 unknown\n"))
        .collect();
    let raw = format!("From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n{list}");
    let r = analyze(raw.as_bytes());
    assert_eq!(r.format, ReportFormat::PlainBounce);
    assert_eq!(r.findings.len(), MAX_FINDINGS);
}

#[test]
fn bare_cr_line_ends_read_like_crlf() {
    let cr = DSN.replace("\r\n", "\r");
    assert_eq!(analyze(cr.as_bytes()), analyze(DSN.as_bytes()));
    let lf = DSN.replace("\r\n", "\n");
    assert_eq!(analyze(lf.as_bytes()), analyze(DSN.as_bytes()));
    // A lone CR inside LF text changes nothing.
    assert_eq!(cr_only_to_crlf(b"a\rb\nc\nd\n"), None);
    assert_eq!(
        cr_only_to_crlf(b"a\rb\r\nc\r").as_deref(),
        Some(&b"a\r\nb\r\nc\r\n"[..])
    );
}

#[test]
fn refusals_of_the_message_are_blocked_not_hard() {
    for (status, text, reason) in [
        (
            "5.3.4",
            "552 5.3.4 Message size exceeds fixed limit",
            "too-large",
        ),
        ("5.7.0", "554 5.7.0 illegal attachment", "policy"),
        (
            "5.7.1",
            "550 5.7.1 relaying denied: our IP has no reverse DNS",
            "relay-denied",
        ),
        (
            "5.7.1",
            "550 5.7.1 Message rejected due to local policy",
            "policy",
        ),
        (
            "5.7.26",
            "550 5.7.26 unauthenticated email from x is not accepted due to domain's DMARC policy",
            "auth-failure",
        ),
    ] {
        assert_eq!(
            classify(Some(status), Some(text)),
            (Class::Blocked, Some(reason.to_string())),
            "{text}"
        );
    }
}
