//! The demo's lifecycle: one clinic's email channel from its DNS records to
//! the send decisions that bounces, complaints and unsubscribes cause.

use std::io::Write;

use anyhow::{Context, bail};
use host_demo::json::result_json;
use host_demo::outbound::Recipient;
use host_demo::reporting::Subject;
use host_demo::setups::SetupOptions;
use host_demo::{Limits, Mailroom, SendRequest, UseCaseType, Zone, inbound};
use serde_json::Value;

const DOMAIN: &str = "riverside-clinic.example";
const INBOUND_HOST: &str = "inbound.mailroom.example";
/// The clinic's workspace: every tenant call acts for it.
const WORKSPACE: &str = "riverside";
const PAT: &str = "pat@patient.example";
const SAM: &str = "sam@patient.example";
const GONE: &str = "old.address@patient.example";

const PATIENT_REPLY: &[u8] = include_bytes!("../../samples/apple-mail-patient-reply.eml");

/// What the lifecycle steps share.
pub struct Clinic {
    setup: String,
    appointments: String,
    newsletter: String,
    confirmation: String,
    reply: String,
    news_to_pat: String,
    news_to_sam: String,
    to_gone: String,
    unsubscribe_url: String,
}

impl Clinic {
    /// The marketing use case's id.
    pub fn newsletter(&self) -> &str {
        &self.newsletter
    }
}

fn ok<'a>(v: &'a Value, what: &str) -> anyhow::Result<&'a Value> {
    match v.get("ok") {
        Some(ok) => Ok(ok),
        None => bail!(
            "{what}: the component refused: {}",
            v.get("err").unwrap_or(v)
        ),
    }
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn send(
    m: &Mailroom,
    use_case: &str,
    to: &str,
    subject: &str,
    body: &str,
    in_reply_to: Option<&str>,
) -> anyhow::Result<host_demo::Sent> {
    let request = SendRequest {
        use_case: use_case.to_string(),
        to: vec![Recipient {
            name: None,
            address: to.to_string(),
        }],
        cc: Vec::new(),
        subject: subject.to_string(),
        text: Some(body.to_string()),
        html: None,
        attachments: Vec::new(),
        in_reply_to: in_reply_to.map(str::to_string),
        idempotency_key: None,
    };
    m.send(WORKSPACE, &request)?.map_err(|e| match e {
        host_demo::SendError::Suppressed(list) => anyhow::anyhow!(
            "refused, suppressed: {}",
            list.iter()
                .map(|s| format!("{} ({:?} since {})", s.address, s.reason, s.since))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => anyhow::anyhow!("the send was refused: {other:?}"),
    })
}

fn status(s: host_demo::setups::SetupStatus) -> &'static str {
    match s {
        host_demo::setups::SetupStatus::Pending => "pending",
        host_demo::setups::SetupStatus::Verified => "verified",
        host_demo::setups::SetupStatus::Failed => "failed",
        host_demo::setups::SetupStatus::Expired => "expired",
    }
}

/// Step: a setup and the DNS records its owner publishes.
pub fn setup(m: &Mailroom, out: &mut dyn Write) -> anyhow::Result<Clinic> {
    let options = SetupOptions {
        inbound_host: INBOUND_HOST.into(),
        spf_include: None,
        unsubscribe_base: Some("https://mail.riverside-clinic.example/unsubscribe".into()),
        pending_ttl: None,
        bounce_domain: None,
    };
    let setup = m
        .create_setup(WORKSPACE, DOMAIN, &options)?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    writeln!(
        out,
        "  setup {} for {DOMAIN} is {}; publish:",
        setup.id,
        status(setup.status)
    )?;
    for r in &setup.records {
        let value = if r.value.len() > 60 {
            format!("{}… ({} bytes)", &r.value[..56], r.value.len())
        } else {
            r.value.clone()
        };
        let need = if r.required { "" } else { "  (recommended)" };
        writeln!(
            out,
            "    {:<5} {:<42} {value}{need}",
            match r.type_ {
                host_demo::setups::RecordType::Txt => "TXT",
                host_demo::setups::RecordType::Mx => "MX",
            },
            r.name
        )?;
    }
    Ok(Clinic {
        setup: setup.id,
        appointments: String::new(),
        newsletter: String::new(),
        confirmation: String::new(),
        reply: String::new(),
        news_to_pat: String::new(),
        news_to_sam: String::new(),
        to_gone: String::new(),
        unsubscribe_url: String::new(),
    })
}

/// Step: verification, answered by a local zone holding the records.
pub fn verify(m: &Mailroom, c: &Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    let setup = m
        .get_setup(WORKSPACE, &c.setup)?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let zone = Zone::publishing(&setup.records)?;
    let v = m
        .verify_setup_with(WORKSPACE, &c.setup, &zone)?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for check in &v.checks {
        let state = match &check.state {
            host_demo::setups::RecordState::Verified => "verified".to_string(),
            host_demo::setups::RecordState::Missing(why) => format!("missing: {why}"),
            host_demo::setups::RecordState::Mismatched(found) => {
                format!("mismatched: {found:?}")
            }
        };
        writeln!(out, "    {:<46} {state}", check.record.name)?;
    }
    writeln!(out, "  the setup is now {}", status(v.setup.status))?;
    Ok(())
}

/// Step: a transactional and a marketing use case.
pub fn use_cases(m: &Mailroom, c: &mut Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    for (kind, sender, name) in [
        (UseCaseType::Transactional, "appointments", "Appointments"),
        (UseCaseType::Marketing, "news", "Newsletter"),
    ] {
        let uc = m
            .create_use_case(
                WORKSPACE,
                &c.setup,
                &format!("{sender}@{DOMAIN}"),
                kind,
                "Riverside Clinic",
                name,
            )?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        writeln!(
            out,
            "  {:<13} {:<14} from {:<36} {}",
            if kind == UseCaseType::Transactional {
                "transactional"
            } else {
                "marketing"
            },
            name,
            uc.sender,
            uc.id
        )?;
        if kind == UseCaseType::Transactional {
            c.appointments = uc.id;
        } else {
            c.newsletter = uc.id;
        }
    }
    Ok(())
}

/// Step: the appointment confirmation.
pub fn confirmation(m: &Mailroom, c: &mut Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    let sent = send(
        m,
        &c.appointments,
        PAT,
        "Your appointment on Tuesday",
        "Dear Pat,\r\n\r\nYour appointment is on Tuesday 3 March at 09:00.\r\n\r\nRiverside Clinic\r\n",
        None,
    )?;
    writeln!(out, "  to {PAT}: Message-ID <{}>", sent.message_id)?;
    writeln!(
        out,
        "  thread {}, {} bytes, DKIM-signed (rsa-sha256, s=mailroom1)",
        sent.thread_id, sent.size
    )?;
    c.confirmation = sent.message_id;
    Ok(())
}

/// Step: the patient answers from an iPhone, with a PDF, and without
/// References.
pub fn patient_reply(m: &Mailroom, c: &mut Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    let raw = String::from_utf8_lossy(PATIENT_REPLY).replace("{{IN-REPLY-TO}}", &c.confirmation);
    let envelope = inbound::Envelope {
        mail_from: Some(PAT.into()),
        rcpt_to: vec![format!("appointments@{DOMAIN}")],
    };
    let received = m
        .receive(raw.as_bytes(), &envelope, Limits::default())?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    match &received.resolution {
        inbound::Resolution::Matched(a) => writeln!(
            out,
            "  matched: thread {}, use case {}, parent <{}>",
            a.thread_id, a.use_case, a.parent_message_id
        )?,
        inbound::Resolution::Unmatched(why) => bail!("the reply did not match: {why}"),
    }
    writeln!(
        out,
        "  the message carried In-Reply-To only; the chain rebuilt from our records:"
    )?;
    for id in &received.references {
        writeln!(out, "    <{id}>")?;
    }
    for a in &received.message.attachments {
        writeln!(
            out,
            "  attachment: {} ({}, {} bytes), found inside multipart/alternative > multipart/mixed",
            a.filename, a.content_type, a.size
        )?;
    }
    if let Some(text) = &received.new_text {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        writeln!(out, "  new text (quote stripped): {first} …")?;
    }
    c.reply = received.message_id;
    Ok(())
}

/// Step: our answer joins the thread with the whole chain.
pub fn our_reply(m: &Mailroom, c: &Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    let sent = send(
        m,
        &c.appointments,
        PAT,
        "Re: Your appointment on Tuesday",
        "Dear Pat,\r\n\r\nOf course; please come at 08:50.\r\n\r\nRiverside Clinic\r\n",
        Some(&c.reply),
    )?;
    writeln!(out, "  Message-ID <{}>", sent.message_id)?;
    writeln!(
        out,
        "  In-Reply-To <{}>",
        sent.in_reply_to.as_deref().unwrap_or("")
    )?;
    writeln!(out, "  References ({}):", sent.references.len())?;
    for id in &sent.references {
        writeln!(out, "    <{id}>")?;
    }
    Ok(())
}

/// Step: a newsletter, each copy with its own one-click link, and a
/// reminder to an address that no longer exists.
pub fn newsletter(m: &Mailroom, c: &mut Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    let body = "Spring opening hours: 08:00 to 19:00 from 1 April.\r\n\r\nUnsubscribe: [[unsubscribe-url]]\r\n";
    let to_pat = send(m, &c.newsletter, PAT, "Spring news", body, None)?;
    let to_sam = send(m, &c.newsletter, SAM, "Spring news", body, None)?;
    let to_gone = send(
        m,
        &c.appointments,
        GONE,
        "Reminder",
        "See you tomorrow.\r\n",
        None,
    )?;
    let url = to_pat.unsubscribe_url.clone().unwrap_or_default();
    writeln!(out, "  newsletter to {PAT} and {SAM}; each carries")?;
    writeln!(
        out,
        "    List-Unsubscribe: <{}…>, <mailto:unsubscribe@{DOMAIN}?subject=…>",
        &url[..url.len().min(60)]
    )?;
    writeln!(
        out,
        "    List-Unsubscribe-Post: List-Unsubscribe=One-Click   (both in DKIM h=)"
    )?;
    writeln!(out, "  reminder to {GONE}: <{}>", to_gone.message_id)?;
    c.news_to_pat = to_pat.message_id;
    c.news_to_sam = to_sam.message_id;
    c.to_gone = to_gone.message_id;
    c.unsubscribe_url = url;
    Ok(())
}

fn dsn(original: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.patient.example>\r\n\
         To: appointments@{DOMAIN}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <bounce-1@mx.patient.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.patient.example.\r\n\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.patient.example\r\n\r\n\
         Final-Recipient: rfc822; {GONE}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{GONE}>: Recipient address rejected: User unknown\r\n\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{original}>\r\n\r\n--b--\r\n"
    )
}

fn arf(original: &str) -> String {
    format!(
        "From: feedback@fbl.patient.example\r\nTo: abuse@{DOMAIN}\r\nSubject: Abuse report\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"a\"\r\n\r\n\
         --a\r\nContent-Type: text/plain\r\n\r\nA user marked this message as spam.\r\n\r\n\
         --a\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n\
         User-Agent: fbl/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: {SAM}\r\n\r\n\
         --a\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{original}>\r\n\r\n--a--\r\n"
    )
}

fn show_report(r: &Value, out: &mut dyn Write) -> anyhow::Result<()> {
    let f = r
        .get("findings")
        .and_then(|f| f.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    writeln!(
        out,
        "  read as {} ({}): {} {} {}",
        text(r, &["format"]),
        text(r, &["class"]),
        text(&f, &["recipient"]),
        text(&f, &["status"]),
        text(&f, &["reason"]),
    )?;
    if let Some(list) = r
        .get("outcome")
        .and_then(|o| o.get("matched"))
        .and_then(Value::as_array)
    {
        for e in list {
            writeln!(out, "  recorded against <{}>", text(e, &["message-id"]))?;
            for s in e
                .get("suppressions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                writeln!(
                    out,
                    "    suppresses {} for {}",
                    text(s, &["address"]),
                    scope(s)
                )?;
            }
        }
    }
    Ok(())
}

fn scope(s: &Value) -> String {
    match s.get("scope") {
        Some(Value::String(k)) if k == "setup" => "every use case of the setup".into(),
        Some(Value::String(k)) if k == "marketing" => "every marketing use case".into(),
        Some(Value::Object(o)) => format!(
            "use case {}",
            o.get("use-case").and_then(Value::as_str).unwrap_or("")
        ),
        other => format!("{other:?}"),
    }
}

/// Step: a bounce report from the recipient's server.
pub fn bounce(m: &Mailroom, c: &Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    let r = result_json(&m.ingest_report(dsn(&c.to_gone).as_bytes())?);
    show_report(ok(&r, "ingest-report")?, out)
}

/// Step: a spam complaint through a feedback loop.
pub fn complaint(m: &Mailroom, c: &Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    let r = result_json(&m.ingest_report(arf(&c.news_to_sam).as_bytes())?);
    show_report(ok(&r, "ingest-report")?, out)
}

/// Step: the patient presses Unsubscribe in Gmail (an RFC 8058 POST).
pub fn unsubscribe(m: &Mailroom, c: &Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "  POST {}…",
        &c.unsubscribe_url[..c.unsubscribe_url.len().min(60)]
    )?;
    writeln!(
        out,
        "       Content-Type: application/x-www-form-urlencoded"
    )?;
    writeln!(out, "       List-Unsubscribe=One-Click")?;
    let r = result_json(&m.one_click(
        &c.unsubscribe_url,
        Some("application/x-www-form-urlencoded"),
        b"List-Unsubscribe=One-Click",
    )?);
    let r = ok(&r, "one-click")?;
    writeln!(
        out,
        "  answer: {} \"{}\"; suppresses {} for {}",
        r.get("http-status").and_then(Value::as_u64).unwrap_or(0),
        text(r, &["body"]),
        text(r, &["suppression", "address"]),
        scope(r.get("suppression").unwrap_or(&Value::Null))
    )?;
    let mut forged = c.unsubscribe_url.clone();
    forged.push('x');
    let r = result_json(&m.one_click(&forged, None, b"List-Unsubscribe=One-Click")?);
    writeln!(
        out,
        "  a tampered link: {}",
        r.get("err")
            .map_or("accepted?!".to_string(), Value::to_string)
    )?;
    Ok(())
}

/// Step: the decisions the events caused, then the counts.
pub fn decisions(m: &Mailroom, c: &Clinic, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "  {:<30} {:<16} {:<16}",
        "", "Appointments", "Newsletter"
    )?;
    for address in [PAT, SAM, GONE, "new.patient@patient.example"] {
        let mut cells = Vec::new();
        for uc in [&c.appointments, &c.newsletter] {
            let d = result_json(&m.check_suppression(WORKSPACE, uc, address)?);
            let d = ok(&d, "check")?;
            cells.push(match d {
                Value::String(s) => s.clone(),
                Value::Object(o) if o.contains_key("suppressed") => {
                    format!("no: {}", text(d, &["suppressed", "reason"]))
                }
                other => other.to_string(),
            });
        }
        writeln!(out, "  {address:<30} {:<16} {:<16}", cells[0], cells[1])?;
    }
    let refused = send(m, &c.newsletter, PAT, "Summer news", "…", None);
    writeln!(
        out,
        "  sending the next newsletter to {PAT}: {}",
        match refused {
            Ok(_) => "sent?!".to_string(),
            Err(e) => format!("{e:#}"),
        }
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let counts = result_json(&m.count(
        WORKSPACE,
        &Subject::Setup(c.setup.clone()),
        now.saturating_sub(86_400),
        now + 86_400,
    )?);
    let counts = ok(&counts, "count")?;
    let n = |k: &str| counts["counts"][k].as_u64().unwrap_or(0);
    writeln!(
        out,
        "  counts for the setup: sent {}, hard-bounced {}, complained {}, unsubscribed {}, suppressed {}",
        n("sent"),
        n("hard-bounced"),
        n("complained"),
        n("unsubscribed"),
        n("suppressed")
    )
    .context("printing")?;
    Ok(())
}
