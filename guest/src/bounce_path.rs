//! VERP return paths: the bounce half of issue 16's bounce path.
//!
//! Each message and recipient gets its own envelope sender,
//! `<token>@<bounce domain>` (`bounce.<domain>` unless the setup's
//! `bounce-domain` option names another subdomain of its domain), so a
//! bounce arrives at an address that names what bounced even when the
//! report quotes nothing of the original. The token is lower-case hex
//! (local parts are compared case-insensitively in practice) of
//!
//! `version (1) | our Message-ID's 128 random bits (16) | recipient index (2) | HMAC-SHA256 (10)`
//!
//! under the setup's unsubscribe secret, so a forged or altered token is
//! refused after reading only the setup's record. 58 characters: within
//! the 64 a local part may have.
//!
//! The setup publishes the bounce domain's MX (to the inbound host) and its
//! SPF, both required; `outbound.send` submits one envelope per recipient
//! with its return path; `inbound.receive` reads mail to a return path
//! here (see the README's "Bounce path").

use crate::env::Env;
use crate::events::{self, EventError, Report};
use crate::messages;
use crate::store::Store;
use crate::transport::Envelope;
use crate::unsubscribe::hmac;

/// The label of a setup's default bounce domain under its own domain.
pub const LABEL: &str = "bounce";
const VERSION: u8 = 1;
const ID_LEN: usize = 16;
const MAC_LEN: usize = 10;
const TOKEN_BYTES: usize = 1 + ID_LEN + 2 + MAC_LEN;
/// The longest bounce domain: a return path (58-octet token, `@`, domain)
/// stays within RFC 5321's 254-octet path.
pub const MAX_DOMAIN_LEN: usize = 254 - 1 - TOKEN_BYTES * 2;

/// The default bounce domain of a setup's domain: `bounce.<domain>`.
pub fn default_domain(domain: &str) -> String {
    format!("{LABEL}.{domain}")
}

/// The bounce domain a setup of `domain` gets: `given` (a subdomain of
/// `domain`, so SPF of the return path aligns with the From under DMARC's
/// relaxed mode), else [`default_domain`]; lower-case A-labels.
pub fn check_domain(domain: &str, given: Option<&str>) -> Result<String, String> {
    let bounce = match given {
        None => default_domain(domain),
        Some(given) => crate::setups::normalize_domain(given)?,
    };
    let Some(label) = bounce
        .strip_suffix(domain)
        .and_then(|l| l.strip_suffix('.'))
    else {
        return Err(format!(
            "{} is not a subdomain of {domain} (the return path's SPF must align with the From under DMARC)",
            crate::ids::shown(&bounce)
        ));
    };
    if label.is_empty() {
        return Err(format!("{bounce} is not a subdomain of {domain}"));
    }
    if bounce.len() > MAX_DOMAIN_LEN {
        return Err(format!(
            "{bounce} is over {MAX_DOMAIN_LEN} octets, too long for a return path"
        ));
    }
    Ok(bounce)
}

/// A setup's bounce domain: the name of its `bounce-mx` record; `None` for
/// a setup made before bounce domains (its mail keeps the From as envelope
/// sender).
pub fn of_setup(setup: &crate::setups::Setup) -> Option<&str> {
    setup
        .records
        .iter()
        .find(|r| r.purpose == crate::setups::RecordPurpose::BounceMx)
        .map(|r| r.name.as_str())
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

/// The return path of recipient `index` of a message: `<token>@<bounce_domain>`.
pub fn return_path(
    secret: &[u8],
    bounce_domain: &str,
    message_id: &str,
    index: u16,
) -> Option<String> {
    Some(format!(
        "{}@{bounce_domain}",
        token(secret, message_id, index)?
    ))
}

/// The envelopes of one outbound message: one per recipient, its MAIL FROM
/// the recipient's return path, when the setup has a bounce domain; else
/// (a setup made before bounce domains) one envelope from `sender` to
/// every recipient.
pub fn envelopes(
    store: &mut dyn Store,
    setup: &crate::setups::Setup,
    message_id: &str,
    sender: &str,
    rcpt_to: Vec<String>,
) -> Result<Vec<Envelope>, crate::store::StoreError> {
    let keys = match of_setup(setup) {
        Some(_) => crate::setups::unsubscribe_keys(store, &setup.id)?,
        None => None,
    };
    let (Some(bounce_domain), Some(keys)) = (of_setup(setup), keys) else {
        return Ok(vec![Envelope {
            mail_from: sender.to_string(),
            rcpt_to,
        }]);
    };
    rcpt_to
        .into_iter()
        .enumerate()
        .map(|(n, rcpt)| {
            let path = u16::try_from(n)
                .ok()
                .and_then(|n| return_path(&keys.secret, bounce_domain, message_id, n))
                .ok_or_else(|| {
                    crate::store::StoreError::Other(format!(
                        "no return path for recipient {n} of {message_id}"
                    ))
                })?;
            Ok(Envelope {
                mail_from: path,
                rcpt_to: vec![rcpt],
            })
        })
        .collect()
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

/// A possible bounce address split into its local part and domain, both
/// lower-cased: a domain of three labels or more (a bounce domain is a
/// subdomain of a setup's domain, which has two or more).
pub fn split(address: &str) -> Option<(String, String)> {
    let address = address.trim().trim_matches(['<', '>']).to_ascii_lowercase();
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && domain.split('.').filter(|l| !l.is_empty()).count() >= 3)
        .then(|| (local.to_string(), domain.to_string()))
}

/// How many parent domains [`setup_of`] asks about.
const MAX_PARENTS: usize = 8;
/// How many envelope recipients of one inbound message are checked for a
/// bounce address.
const MAX_RCPT_CHECKED: usize = 100;

/// The verified setup whose bounce domain is `domain`: the owners of its
/// parent domains of two labels or more are asked, nearest first (at most
/// [`MAX_PARENTS`]).
pub fn setup_of(
    store: &mut dyn Store,
    domain: &str,
) -> Result<Option<crate::setups::Setup>, crate::store::StoreError> {
    let mut rest = domain;
    for _ in 0..MAX_PARENTS {
        let Some((_, parent)) = rest.split_once('.') else {
            break;
        };
        if !parent.contains('.') {
            break;
        }
        if let Some(setup) = crate::setups::by_domain(store, parent)?
            && of_setup(&setup) == Some(domain)
        {
            return Ok(Some(setup));
        }
        rest = parent;
    }
    Ok(None)
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
    let Some((token, bounce_domain)) = split(rcpt) else {
        return ignored("not a bounce address");
    };
    let Some(setup) = setup_of(store, &bounce_domain)? else {
        return ignored("no setup has this bounce domain");
    };
    let Some(keys) = crate::setups::unsubscribe_keys(store, &setup.id)? else {
        return ignored("no setup has this bounce domain");
    };
    let Some((local, index)) = read(&keys.secret, &token) else {
        return ignored("the return path's token does not verify");
    };
    let message_id = format!("{local}@{}", setup.domain);
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
    let mut bounce_rcpt = None;
    let mut asked: Vec<String> = Vec::new();
    for rcpt in rcpt_to.iter().take(MAX_RCPT_CHECKED) {
        let Some((_, domain)) = split(rcpt) else {
            continue;
        };
        if asked.contains(&domain) {
            continue;
        }
        if setup_of(store, &domain)?.is_some() {
            bounce_rcpt = Some(rcpt);
            break;
        }
        asked.push(domain);
    }
    if let Some(rcpt) = bounce_rcpt {
        match ingest_returned(store, env, rcpt, raw) {
            Ok(Returned::Ingested(report))
                if report.class == crate::reports::Class::NotABounce
                    && matches!(report.outcome, events::ReportOutcome::Ignored) =>
            {
                // An auto-reply (RFC 3834 sends it to the return path) or
                // other mail: not a bounce.
                notes.push(format!(
                    "to the bounce address {rcpt}: not a bounce or a complaint, nothing recorded"
                ))
            }
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
        events::ReportOutcome::Matched(list) => {
            match list.iter().filter(|e| !e.duplicate).count() {
                0 => format!("{} event(s) already recorded, nothing written", list.len()),
                new => format!("{new} event(s) recorded"),
            }
        }
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
            bounce_domain: None,
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
            idempotency_key: None,
        };
        let mut transport = RecordingTransport::default();
        let sent = send(&mut store, &mut transport, &mut env, &request).expect("send");
        let secret = setups::unsubscribe_keys(&mut store, &setup.id)
            .expect("read")
            .expect("keys")
            .secret;
        let bounce_domain = of_setup(&setup).expect("a bounce domain").to_string();
        assert_eq!(bounce_domain, "bounce.clinic.example");
        let rcpt = return_path(&secret, &bounce_domain, &sent.message_id, 1).expect("path");
        // The message went out once per recipient, each from its return path.
        let envelopes: Vec<_> = transport.sent.iter().map(|m| m.envelope.clone()).collect();
        assert_eq!(envelopes.len(), 2);
        assert_eq!(envelopes[1].mail_from, rcpt);
        assert_eq!(envelopes[1].rcpt_to, ["sam@patient.example"]);
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
        let rcpt0 = return_path(&secret, &bounce_domain, &sent.message_id, 0).expect("path");
        assert_eq!(envelopes[0].mail_from, rcpt0);
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
        // An auto-reply to the return path (RFC 3834 sends it there) is
        // not a bounce: nothing recorded.
        let auto_reply = "From: sam@patient.example\r\nTo: appointments@clinic.example\r\n\
Subject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-1@patient.example>\r\n\r\n\
I am away until Monday.\r\n";
        let notes = crate::inbound::receive::receive(
            &mut store,
            &mut env,
            auto_reply.as_bytes(),
            &crate::inbound::receive::Envelope {
                mail_from: Some("sam@patient.example".into()),
                rcpt_to: vec![rcpt0.clone()],
            },
            &crate::inbound::Limits::default(),
        )
        .expect("received")
        .notes;
        assert!(
            notes
                .iter()
                .any(|n| n.ends_with("not a bounce or a complaint, nothing recorded")),
            "{notes:?}"
        );
        let pat = crate::suppression::get(&mut store, &mut env, &setup.id, "pat@patient.example")
            .expect("state");
        assert_eq!(
            pat.active.len(),
            1,
            "still the one suppression, from the DSN"
        );
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
        let rp = return_path(b"k", "bounce.clinic.example", ID, 0).expect("a path");
        let (t, domain) = split(&rp).expect("split");
        assert_eq!(domain, "bounce.clinic.example");
        assert!(read(b"k", &t).is_some());
        assert_eq!(split("pat@clinic.example"), None);
        assert_eq!(split("x@bounce."), None);
        assert_eq!(
            split("<X@Mail.Clinic.Example>"),
            Some(("x".into(), "mail.clinic.example".into()))
        );
    }

    #[test]
    fn bounce_domains_are_subdomains_of_the_setup_s() {
        let d = "clinic.example";
        assert_eq!(
            check_domain(d, None).as_deref(),
            Ok("bounce.clinic.example")
        );
        assert_eq!(
            check_domain(d, Some(" RP.Mail.Clinic.Example. ")).as_deref(),
            Ok("rp.mail.clinic.example")
        );
        for bad in [
            "clinic.example",
            "bounce.other.example",
            "bounceclinic.example",
            "*.clinic.example",
            "a b.clinic.example",
            "",
        ] {
            assert!(check_domain(d, Some(bad)).is_err(), "{bad}");
        }
        let long = format!("{}.clinic.example", vec!["x".repeat(60); 3].join("."));
        assert!(check_domain(d, Some(&long)).is_err());
        assert!(check_domain(d, Some(&long[61..])).is_ok());
    }
}
