//! VERP return paths: the bounce half of issue 16's bounce path.
//!
//! Each message and recipient gets its own envelope sender,
//! `<token>@bounce.<domain>`, so a bounce arrives at an address that names
//! what bounced even when the report quotes nothing of the original. The
//! token is lower-case hex (local parts are compared case-insensitively in
//! practice) of
//!
//! `version (1) | our Message-ID's 128 random bits (16) | recipient index (2) | HMAC-SHA256 (10)`
//!
//! under the setup's unsubscribe secret, so a forged or altered token is
//! refused after reading only the setup's record. 58 characters: within
//! the 64 a local part may have.
//!
//! Not yet wired: `outbound.send` still uses the use case's From as the
//! envelope sender, the setup's records do not yet publish the bounce
//! domain's MX and SPF, and `inbound.receive` does not yet route mail to a
//! bounce address here (see the README's "Bounce classes").

use crate::env::Env;
use crate::events::{self, EventError, Report};
use crate::messages;
use crate::store::Store;
use crate::unsubscribe::hmac;

/// The label of a setup's bounce domain under its own domain.
pub const LABEL: &str = "bounce";
const VERSION: u8 = 1;
const ID_LEN: usize = 16;
const MAC_LEN: usize = 10;
const TOKEN_BYTES: usize = 1 + ID_LEN + 2 + MAC_LEN;

/// The bounce domain of a setup's domain: `bounce.<domain>`.
pub fn bounce_domain(domain: &str) -> String {
    format!("{LABEL}.{domain}")
}

fn hex_id(message_id: &str) -> Option<[u8; ID_LEN]> {
    let local = message_id.split('@').next()?;
    if local.len() != ID_LEN * 2 {
        return None;
    }
    let mut out = [0u8; ID_LEN];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(local.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The token for recipient `index` of our message `message_id`
/// (`<32 hex>@<domain>`, as `outbound.send` makes them); `None` for an id
/// we did not make.
pub fn token(secret: &[u8], message_id: &str, index: u16) -> Option<String> {
    let mut bytes = vec![VERSION];
    bytes.extend_from_slice(&hex_id(message_id)?);
    bytes.extend_from_slice(&index.to_be_bytes());
    let mac = hmac(secret, &bytes);
    bytes.extend_from_slice(mac.get(..MAC_LEN)?);
    Some(crate::hex(&bytes))
}

/// The return path of recipient `index` of a message of `domain`.
pub fn return_path(secret: &[u8], domain: &str, message_id: &str, index: u16) -> Option<String> {
    Some(format!(
        "{}@{}",
        token(secret, message_id, index)?,
        bounce_domain(domain)
    ))
}

/// What a verified token names: our Message-ID's local part and the
/// recipient's index. `None` when the token is malformed or its HMAC does
/// not verify (compared in constant time).
pub fn read(secret: &[u8], token: &str) -> Option<(String, u16)> {
    if token.len() != TOKEN_BYTES * 2 {
        return None;
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    for (i, slot) in bytes.iter_mut().enumerate() {
        *slot = u8::from_str_radix(token.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    let (payload, mac) = bytes.split_at(TOKEN_BYTES - MAC_LEN);
    if payload.first() != Some(&VERSION) {
        return None;
    }
    let expected = hmac(secret, payload);
    let differ = expected
        .iter()
        .zip(mac)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if differ != 0 {
        return None;
    }
    let id = crate::hex(payload.get(1..1 + ID_LEN)?);
    let index = u16::from_be_bytes([*payload.get(1 + ID_LEN)?, *payload.get(2 + ID_LEN)?]);
    Some((id, index))
}

/// A bounce address split: the token and the setup's domain, when
/// `address` is `<token>@bounce.<domain>`.
pub fn split(address: &str) -> Option<(String, String)> {
    let address = address.trim().to_ascii_lowercase();
    let (local, domain) = address.rsplit_once('@')?;
    let setup_domain = domain.strip_prefix(LABEL)?.strip_prefix('.')?;
    (!setup_domain.is_empty() && !local.is_empty())
        .then(|| (local.to_string(), setup_domain.to_string()))
}

/// What mail to a bounce address became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Returned {
    /// The token verified: the report, tied to its message and recipient.
    Ingested(Report),
    /// Not ours to read: the reason, for a note (a forged token, a setup
    /// or message we do not know).
    Ignored(String),
}

/// Reads mail sent to bounce address `rcpt` as a report about the message
/// and recipient its token names, even when the report quotes nothing of
/// the original. A forged or unknown token writes nothing.
pub fn ingest_returned(
    store: &mut dyn Store,
    env: &mut dyn Env,
    rcpt: &str,
    raw: &[u8],
) -> Result<Returned, EventError> {
    let ignored = |why: &str| Ok(Returned::Ignored(why.to_string()));
    let Some((token, domain)) = split(rcpt) else {
        return ignored("not a bounce address");
    };
    let Some(setup) = crate::setups::by_domain(store, &domain)? else {
        return ignored("no setup has this bounce domain");
    };
    let Some(keys) = crate::setups::unsubscribe_keys(store, &setup.id)? else {
        return ignored("no setup has this bounce domain");
    };
    let Some((local, index)) = read(&keys.secret, &token) else {
        return ignored("the return path's token does not verify");
    };
    let message_id = format!("{local}@{domain}");
    let Some((message, _)) = messages::find_outbound(store, &message_id)? else {
        return ignored("the return path names no message of ours");
    };
    let Some(recipient) = message.to.get(usize::from(index)).cloned() else {
        return ignored("the return path names no recipient of the message");
    };
    events::ingest_tied(store, env, raw, Some((&message, &recipient))).map(Returned::Ingested)
}

/// What `inbound.receive` does with reports: mail to a bounce address is
/// read as a report tied by its token (a forged token is ignored); a
/// delivery-status or feedback report (or a plain bounce from a null
/// sender or a mailer daemon) sent to any other address of ours is read as
/// a report too. Either way a note says what became of it.
pub fn on_receive(
    store: &mut dyn Store,
    env: &mut dyn Env,
    mail_from: Option<&str>,
    rcpt_to: &[String],
    raw: &[u8],
    notes: &mut Vec<String>,
) -> Result<(), crate::store::StoreError> {
    let store_error = |e: EventError| match e {
        EventError::Store(m) => crate::store::StoreError::Other(m),
        other => crate::store::StoreError::Other(format!("{other:?}")),
    };
    if let Some(rcpt) = rcpt_to.iter().find(|r| split(r).is_some()) {
        match ingest_returned(store, env, rcpt, raw) {
            Ok(Returned::Ingested(report)) => notes.push(format!(
                "to the bounce address {rcpt}: read as a report ({}), {}",
                class_name(report.class),
                outcome_name(&report.outcome)
            )),
            Ok(Returned::Ignored(why)) => {
                notes.push(format!("to the bounce address {rcpt}: ignored, {why}"))
            }
            Err(EventError::Store(m)) => return Err(crate::store::StoreError::Other(m)),
            Err(e) => notes.push(format!("to the bounce address {rcpt}: {e:?}")),
        }
        return Ok(());
    }
    let read = crate::reports::analyze(raw);
    let null_sender = mail_from.is_none_or(|f| {
        let f = f.trim().trim_matches(['<', '>']).to_ascii_lowercase();
        f.is_empty() || f.starts_with("mailer-daemon@") || f.starts_with("postmaster@")
    });
    let is_report = match read.format {
        crate::reports::ReportFormat::DeliveryStatus
        | crate::reports::ReportFormat::FeedbackReport => true,
        crate::reports::ReportFormat::PlainBounce => null_sender && mail_from.is_some(),
        _ => false,
    };
    if !is_report {
        return Ok(());
    }
    let report = events::ingest_report(store, env, raw).map_err(store_error)?;
    notes.push(format!(
        "read as a report ({}), {}",
        class_name(report.class),
        outcome_name(&report.outcome)
    ));
    Ok(())
}

fn class_name(class: crate::reports::Class) -> String {
    serde_json::to_value(class)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn outcome_name(outcome: &events::ReportOutcome) -> String {
    match outcome {
        events::ReportOutcome::Matched(list) => format!("{} event(s) recorded", list.len()),
        events::ReportOutcome::Unmatched(id) => format!("unmatched, stored as {id}"),
        events::ReportOutcome::Ignored => "nothing recorded".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "00dbe729bdd655c7a2625875369fecc9@clinic.example";

    #[test]
    fn tokens_round_trip_and_refuse_changes() {
        let t = token(b"secret", ID, 3).expect("a token");
        assert_eq!(t.len(), 58);
        assert_eq!(
            read(b"secret", &t),
            Some(("00dbe729bdd655c7a2625875369fecc9".to_string(), 3))
        );
        assert_eq!(read(b"other", &t), None);
        for i in 0..t.len() {
            let mut forged = t.clone().into_bytes();
            forged[i] = if forged[i] == b'0' { b'1' } else { b'0' };
            let forged = String::from_utf8(forged).expect("hex");
            assert_eq!(read(b"secret", &forged), None, "byte {i}");
        }
        assert_eq!(read(b"secret", "garbage"), None);
        assert_eq!(read(b"secret", &"z".repeat(58)), None);
        assert_eq!(token(b"secret", "short@clinic.example", 0), None);
    }

    /// A DSN that quotes nothing of the original, mailed to the return
    /// path of a real send: it suppresses exactly that recipient; a forged
    /// token writes nothing.
    #[test]
    fn a_bounce_that_quotes_nothing_is_tied_by_its_return_path() {
        use crate::env::FixedEnv;
        use crate::outbound::{Recipient, SendRequest, send};
        use crate::setups::{self, SetupOptions};
        use crate::store::MemoryStore;
        use crate::transport::RecordingTransport;
        use crate::use_cases::{self, UseCaseType};

        let mut store = MemoryStore::default();
        let mut env = FixedEnv::new(1_772_442_000, 9);
        let options = SetupOptions {
            inbound_host: "inbound.mailroom.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
        };
        let setup =
            setups::create(&mut store, &mut env, "ws", "clinic.example", &options).expect("setup");
        let answers = setups::answers_publishing(&setup.records);
        let setup = setups::verify(&mut store, &mut env, &setup.id, &answers)
            .expect("verify")
            .setup;
        let uc = use_cases::create(
            &mut store,
            &mut env,
            &setup.id,
            "appointments@clinic.example",
            UseCaseType::Transactional,
            "Clinic",
            "Appointments",
        )
        .expect("use case");
        let to = |a: &str| Recipient {
            name: None,
            address: a.into(),
        };
        let request = SendRequest {
            use_case: uc.id.clone(),
            to: vec![to("pat@patient.example"), to("sam@patient.example")],
            cc: Vec::new(),
            subject: "Your appointment".into(),
            text: Some("See you on Monday.".into()),
            html: None,
            attachments: Vec::new(),
            in_reply_to: None,
        };
        let mut transport = RecordingTransport::default();
        let sent = send(&mut store, &mut transport, &mut env, &request).expect("send");
        let secret = setups::unsubscribe_keys(&mut store, &setup.id)
            .expect("read")
            .expect("keys")
            .secret;
        let rcpt = return_path(&secret, "clinic.example", &sent.message_id, 1).expect("path");
        // A forwarding address bounced; nothing of the original is quoted.
        let dsn = "From: MAILER-DAEMON@mx.patient.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nUser unknown.\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\n\
Reporting-MTA: dns; mx.patient.example\r\n\r\n\
Final-Recipient: rfc822; samuel@forward.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--b--\r\n";
        let before =
            crate::events::ingest_report(&mut store, &mut env, dsn.as_bytes()).expect("answers");
        assert!(matches!(
            before.outcome,
            crate::events::ReportOutcome::Unmatched(_)
        ));
        let Returned::Ingested(report) =
            ingest_returned(&mut store, &mut env, &rcpt, dsn.as_bytes()).expect("answers")
        else {
            panic!("not ingested");
        };
        let crate::events::ReportOutcome::Matched(events) = &report.outcome else {
            panic!("not matched: {report:?}");
        };
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].recipient, "sam@patient.example");
        assert_eq!(events[0].suppressions.len(), 1);
        // Forged: one hex digit changed.
        let mut forged = rcpt.clone().into_bytes();
        forged[5] = if forged[5] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).expect("text");
        let keys = store.entries().count();
        assert_eq!(
            ingest_returned(&mut store, &mut env, &forged, dsn.as_bytes()).expect("answers"),
            Returned::Ignored("the return path's token does not verify".into())
        );
        assert_eq!(
            store.entries().count(),
            keys,
            "a forged token wrote something"
        );

        // Through inbound.receive: to the return path of recipient 0, from
        // the null sender, and the same DSN to the patient-facing address.
        let receive = |store: &mut MemoryStore, env: &mut FixedEnv, to: &str| {
            let envelope = crate::inbound::receive::Envelope {
                mail_from: Some(String::new()),
                rcpt_to: vec![to.to_string()],
            };
            crate::inbound::receive::receive(
                store,
                env,
                dsn.as_bytes(),
                &envelope,
                &crate::inbound::Limits::default(),
            )
            .expect("received")
            .notes
        };
        let rcpt0 = return_path(&secret, "clinic.example", &sent.message_id, 0).expect("path");
        let notes = receive(&mut store, &mut env, &rcpt0);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("read as a report (hard), 1 event(s) recorded")),
            "{notes:?}"
        );
        let state = crate::suppression::get(&mut store, &mut env, &setup.id, "pat@patient.example")
            .expect("state");
        assert_eq!(state.active.len(), 1);
        let notes = receive(&mut store, &mut env, "appointments@clinic.example");
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("read as a report (hard), unmatched")),
            "{notes:?}"
        );
        let notes = receive(&mut store, &mut env, &forged);
        assert!(
            notes
                .iter()
                .any(|n| n.ends_with("ignored, the return path's token does not verify")),
            "{notes:?}"
        );
    }

    #[test]
    fn addresses() {
        let rp = return_path(b"k", "clinic.example", ID, 0).expect("a path");
        let (t, domain) = split(&rp).expect("split");
        assert_eq!(domain, "clinic.example");
        assert!(read(b"k", &t).is_some());
        assert_eq!(split("pat@clinic.example"), None);
        assert_eq!(split("x@bounce."), None);
        assert_eq!(split("x@bounceclinic.example"), None);
    }
}
