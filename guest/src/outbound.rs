//! Outbound mail in steps, each a function of its own: [`validate`] the
//! request, [`envelope_recipients`] and [`decide_recipients`]
//! (suppression), [`place`] it in a thread,
//! [`compose`] it with mail-builder, [`sign`] it, [`record_and_submit`].

use std::fmt;

use base64ct::{Base64, Encoding};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as MailAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use serde::{Deserialize, Serialize};

use crate::address::{self, Address, AddressError};
use crate::env::Env;
use crate::media_type::{self, MediaType};
use crate::messages::{self, Direction, MessageRecord, Status};
use crate::reporting::{self, Field};
use crate::setups::Setup;
use crate::store::{Store, StoreError};
use crate::suppression::{self, Decision, Pause, Suppression};
use crate::transport::{Outgoing, Transport, TransportError};
use crate::use_cases::UseCase;
use crate::{dkim, ids, setups, thread, thread_index, unsubscribe, use_cases, wire};

/// A recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Recipient {
    pub name: Option<String>,
    pub address: String,
}

/// A file to attach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct OutgoingAttachment {
    pub filename: String,
    pub content_type: String,
    pub content_id: Option<String>,
    #[serde(with = "crate::bytes_as_text")]
    pub content: Vec<u8>,
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SendRequest {
    pub use_case: String,
    pub to: Vec<Recipient>,
    pub cc: Vec<Recipient>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<OutgoingAttachment>,
    pub in_reply_to: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// A message accepted by the transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Sent {
    pub message_id: String,
    pub thread_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub size: u64,
    pub unsubscribe_url: Option<String>,
    pub replayed: bool,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendError {
    UnknownUseCase(String),
    UseCaseDisabled(String),
    SetupNotVerified(String),
    InvalidRequest(String),
    InvalidHeader(String),
    UnknownParent(String),
    CrossUseCase(String),
    Suppressed(Vec<Suppression>),
    Paused(Pause),
    Transport(String),
    Store(String),
    /// More recipients in `to` and `cc` than the setup's policy allows.
    TooManyRecipients(String),
    /// A recipient's local part is not ASCII and needs SMTPUTF8.
    Smtputf8Required(String),
    /// DKIM signing failed.
    Signing(String),
    IdempotencyKeyReused(String),
    IdempotencyInProgress(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, message) = match self {
            SendError::UnknownUseCase(m) => ("unknown-use-case", m.clone()),
            SendError::UseCaseDisabled(m) => ("use-case-disabled", m.clone()),
            SendError::SetupNotVerified(m) => ("setup-not-verified", m.clone()),
            SendError::InvalidRequest(m) => ("invalid-request", m.clone()),
            SendError::InvalidHeader(m) => ("invalid-header", m.clone()),
            SendError::UnknownParent(m) => ("unknown-parent", m.clone()),
            SendError::CrossUseCase(m) => ("cross-use-case", m.clone()),
            SendError::Suppressed(list) => (
                "suppressed",
                list.iter()
                    .map(|s| {
                        let reason = match s.reason {
                            suppression::Reason::HardBounce => "hard-bounce",
                            suppression::Reason::SoftBounces => "soft-bounces",
                            suppression::Reason::Complaint => "complaint",
                            suppression::Reason::Unsubscribe => "unsubscribe",
                        };
                        format!("{} ({reason})", s.address)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            SendError::Paused(p) => ("paused", p.reason.clone()),
            SendError::Transport(m) => ("transport", m.clone()),
            SendError::Store(m) => ("store", m.clone()),
            SendError::TooManyRecipients(m) => ("too-many-recipients", m.clone()),
            SendError::Smtputf8Required(m) => ("smtputf8-required", m.clone()),
            SendError::Signing(m) => ("signing", m.clone()),
            SendError::IdempotencyKeyReused(m) => ("idempotency-key-reused", m.clone()),
            SendError::IdempotencyInProgress(m) => ("idempotency-in-progress", m.clone()),
        };
        write!(f, "{kind}: {message}")
    }
}

impl std::error::Error for SendError {}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        SendError::Store(e.to_string())
    }
}

/// What became of a submitted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryOutcome {
    Accepted(Option<String>),
    Failed(String),
}

/// Why a report was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportError {
    UnknownMessage(String),
    InvalidId(String),
    Store(String),
}

display_cases!(ReportError {
    UnknownMessage => "unknown-message",
    InvalidId => "invalid-id",
    Store => "store",
});

impl From<StoreError> for ReportError {
    fn from(e: StoreError) -> Self {
        ReportError::Store(e.to_string())
    }
}

pub use crate::suppression::DEFAULT_MAX_RECIPIENTS;
/// Longest display name, attachment file name and subject, in octets.
pub const MAX_NAME: usize = 255;
/// Longest subject, in octets (folded as encoded words when long).
pub const MAX_SUBJECT: usize = 2000;
/// Longest Thread-Index carried on, in bytes (the root and 100 replies): a
/// longer one, which only a hostile parent carries, starts a new root so the
/// header stays one line under 998 octets.
const MAX_THREAD_INDEX: usize = 22 + 5 * 100;

/// A recipient that passed [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRecipient {
    pub name: Option<String>,
    pub address: Address,
}

/// An attachment that passed [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAttachment {
    pub filename: String,
    pub media_type: MediaType,
    pub content_id: Option<String>,
    pub content: Vec<u8>,
}

/// A request that passed [`validate`]: addresses parsed, media types typed,
/// content ids bare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub to: Vec<CheckedRecipient>,
    pub cc: Vec<CheckedRecipient>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<CheckedAttachment>,
}

fn check_text(what: &str, value: &str, max: usize) -> Result<(), SendError> {
    if value.chars().any(char::is_control) {
        return Err(SendError::InvalidHeader(format!(
            "{what} holds a control character (CR, LF or another): {}",
            ids::shown(value)
        )));
    }
    if value.len() > max {
        return Err(SendError::InvalidHeader(format!(
            "{what} is {} octets, over {max}",
            value.len()
        )));
    }
    Ok(())
}

fn check_recipients(field: &str, list: &[Recipient]) -> Result<Vec<CheckedRecipient>, SendError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let address = address::parse(&r.address).map_err(|e| match e {
            AddressError::Invalid(m) => {
                SendError::InvalidHeader(format!("{field}[{i}].address: {m}"))
            }
            AddressError::NeedsSmtputf8(m) => {
                SendError::Smtputf8Required(format!("{field}[{i}].address: {m}"))
            }
        })?;
        if let Some(name) = &r.name {
            check_text(&format!("{field}[{i}].name"), name, MAX_NAME)?;
        }
        out.push(CheckedRecipient {
            name: r.name.clone(),
            address,
        });
    }
    Ok(out)
}

/// Step 1: checks a request on its own, before anything is read or
/// written: a recipient and a body, at most `max_recipients` in `to` and
/// `cc`, every address an RFC 5321/5322 addr-spec (see [`address`]), no
/// control character in a header value, every attachment's content type an
/// RFC 2045 media type (see [`media_type`]) and content id a msg-id.
pub fn validate(request: &SendRequest, max_recipients: u32) -> Result<Checked, SendError> {
    if request.to.is_empty() {
        return Err(SendError::InvalidRequest("no recipient in `to`".into()));
    }
    if request.text.is_none() && request.html.is_none() {
        return Err(SendError::InvalidRequest(
            "neither text nor html is given".into(),
        ));
    }
    let count = request.to.len().saturating_add(request.cc.len());
    if count > usize::try_from(max_recipients).unwrap_or(usize::MAX) {
        return Err(SendError::TooManyRecipients(format!(
            "to and cc hold {count} recipients; the setup's limit is {max_recipients} per message"
        )));
    }
    check_text("the subject", &request.subject, MAX_SUBJECT)?;
    let to = check_recipients("to", &request.to)?;
    let cc = check_recipients("cc", &request.cc)?;
    let mut attachments = Vec::with_capacity(request.attachments.len());
    for (i, a) in request.attachments.iter().enumerate() {
        let field = format!("attachments[{i}]");
        check_text(&format!("{field}.filename"), &a.filename, MAX_NAME)?;
        if a.filename.trim().is_empty() {
            return Err(SendError::InvalidHeader(format!(
                "{field}.filename is empty"
            )));
        }
        let media_type = media_type::parse(&a.content_type)
            .map_err(|e| SendError::InvalidHeader(format!("{field}.content-type: {e}")))?;
        let content_id = match &a.content_id {
            Some(cid) => Some(ids::bare(cid).ok_or_else(|| {
                SendError::InvalidHeader(format!(
                    "{field}.content-id {} is not a msg-id",
                    ids::shown(cid)
                ))
            })?),
            None => None,
        };
        attachments.push(CheckedAttachment {
            filename: a.filename.clone(),
            media_type,
            content_id,
            content: a.content.clone(),
        });
    }
    Ok(Checked {
        to,
        cc,
        subject: request.subject.clone(),
        text: request.text.clone(),
        html: request.html.clone(),
        attachments,
    })
}

/// The use case and its setup, if mail may go out under them.
pub fn sender(store: &mut dyn Store, use_case: &str) -> Result<(UseCase, Setup), SendError> {
    let use_case = match use_cases::get(store, use_case) {
        Ok(u) => u,
        Err(use_cases::UseCaseError::NotFound(m)) => return Err(SendError::UnknownUseCase(m)),
        Err(e) => return Err(SendError::Store(e.to_string())),
    };
    let setup = setups::get(store, &use_case.setup)
        .map_err(|e| SendError::Store(format!("the use case's setup: {e}")))?;
    if !use_case.enabled {
        return Err(SendError::UseCaseDisabled(format!(
            "use case {} is disabled",
            use_case.id
        )));
    }
    if !setups::is_verified(&setup) {
        return Err(SendError::SetupNotVerified(format!(
            "setup {} is {}; verify its DNS records first",
            setup.id,
            setup.status.name()
        )));
    }
    Ok((use_case, setup))
}

/// The recipient cap of a setup: its policy's `max-recipients`, else
/// [`DEFAULT_MAX_RECIPIENTS`].
pub fn max_recipients(store: &mut dyn Store, setup: &str) -> Result<u32, SendError> {
    let policy = suppression::load_policy(store, setup)?;
    Ok(policy
        .max_recipients
        .unwrap_or(DEFAULT_MAX_RECIPIENTS)
        .min(DEFAULT_MAX_RECIPIENTS))
}

/// Step 2a: the envelope recipients, comparison keys without repeats; a
/// message carrying List-Unsubscribe has exactly one.
pub fn envelope_recipients(
    use_case: &UseCase,
    checked: &Checked,
) -> Result<Vec<String>, SendError> {
    let mut rcpt_to: Vec<String> = Vec::new();
    for r in checked.to.iter().chain(&checked.cc) {
        let key = r.address.key();
        if !rcpt_to.contains(&key) {
            rcpt_to.push(key);
        }
    }
    if use_case.list_unsubscribe && rcpt_to.len() != 1 {
        return Err(SendError::InvalidRequest(format!(
            "use case {} carries one-click List-Unsubscribe, so each message goes to one recipient; this one has {}",
            use_case.id,
            rcpt_to.len()
        )));
    }
    Ok(rcpt_to)
}

/// Step 2b: every recipient allowed by `suppression`; a refusal is counted
/// and nothing is sent.
pub fn decide_recipients(
    store: &mut dyn Store,
    use_case: &UseCase,
    rcpt_to: &[String],
    now: i64,
) -> Result<(), SendError> {
    let mut suppressed = Vec::new();
    for address in rcpt_to {
        match suppression::decide(store, use_case, address, u64::try_from(now).unwrap_or(0))? {
            Decision::Allow => {}
            Decision::Suppressed(s) => suppressed.push(s),
            Decision::Paused(pause) => {
                let n = rcpt_to.len() as u64;
                reporting::bump(
                    store,
                    &use_case.setup,
                    Some(&use_case.id),
                    now,
                    Field::Suppressed,
                    n,
                )?;
                return Err(SendError::Paused(pause));
            }
        }
    }
    if !suppressed.is_empty() {
        let n = suppressed.len() as u64;
        reporting::bump(
            store,
            &use_case.setup,
            Some(&use_case.id),
            now,
            Field::Suppressed,
            n,
        )?;
        return Err(SendError::Suppressed(suppressed));
    }
    Ok(())
}

/// Where a message sits in its thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub thread_id: String,
    pub in_reply_to: Option<String>,
    /// Oldest first, bounded (see `thread::bound`).
    pub references: Vec<String>,
    /// Outlook's Thread-Index, base64.
    pub thread_index: String,
}

/// Step 3: a new thread, or the thread of the stored message `in_reply_to`
/// names, with the chain rebuilt from our records.
pub fn place(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &Setup,
    use_case: &UseCase,
    in_reply_to: Option<&str>,
    now: i64,
) -> Result<Placement, SendError> {
    let Some(parent_id) = in_reply_to else {
        let thread_id = format!("thr_{}", env.random_hex(16));
        let index = thread_index::root(now, &env.random_bytes(16));
        return Ok(Placement {
            thread_id,
            in_reply_to: None,
            references: Vec::new(),
            thread_index: thread_index::base64(&index),
        });
    };
    let parent_id = ids::bare(parent_id).ok_or_else(|| {
        SendError::UnknownParent(format!("{} is not a msg-id", ids::shown(parent_id)))
    })?;
    let Some((parent, _)) = messages::find(store, &setup.id, &parent_id)? else {
        return Err(SendError::UnknownParent(format!(
            "no stored message {parent_id} in this setup"
        )));
    };
    if let Some(other) = parent.use_case.as_deref().filter(|u| *u != use_case.id) {
        return Err(SendError::CrossUseCase(format!(
            "{parent_id} belongs to a thread of use case {other}, not {}",
            use_case.id
        )));
    }
    let thread_id = parent
        .thread_id
        .clone()
        .unwrap_or_else(|| format!("thr_{}", env.random_hex(16)));
    let references = thread::extend(&parent.chain, &parent.ids());
    let base = parent
        .thread_index
        .as_deref()
        .and_then(thread_index::unbase64)
        .filter(|i| thread_index::is_valid(i) && i.len() <= MAX_THREAD_INDEX)
        .unwrap_or_else(|| thread_index::root(now, &env.random_bytes(16)));
    let random = env.random_bytes(1).first().copied().unwrap_or(0);
    let index = thread_index::reply(&base, now, random);
    Ok(Placement {
        thread_id,
        in_reply_to: Some(parent.message_id.clone()),
        references,
        thread_index: thread_index::base64(&index),
    })
}

/// The headers of one outbound message beyond the request's.
pub struct Threading<'a> {
    pub message_id: &'a str,
    pub placement: &'a Placement,
    pub now: i64,
    /// List-Unsubscribe and List-Unsubscribe-Post.
    pub list_unsubscribe: Option<&'a (String, String, String)>,
}

/// A text body part: CRLF line ends; quoted-printable, base64 or 7bit as
/// the builder finds shortest, except that a body holding NUL or another
/// control character (see [`wire::has_illegal_7bit`]) is always
/// quoted-printable, which escapes them.
fn text_part(kind: &'static str, body: &str) -> MimePart<'static> {
    let body = wire::crlf(body);
    if wire::has_illegal_7bit(&body) {
        MimePart::new(
            ContentType::new(kind).attribute("charset", "utf-8"),
            BodyPart::Binary(
                encodify::qp::BODY
                    .encode(body.as_bytes())
                    .into_bytes()
                    .into(),
            ),
        )
        .transfer_encoding("quoted-printable")
    } else {
        MimePart::new(kind, BodyPart::Text(body.into()))
    }
}

/// An attachment: its typed media type written by the builder, the file
/// name as an RFC 2231 parameter when it needs one, the content base64
/// whatever its type (a `text/*` file keeps its bytes, bare CRs and all).
fn attachment_part(a: &CheckedAttachment) -> MimePart<'static> {
    let mut content_type = ContentType::new(a.media_type.essence.clone());
    for (k, v) in &a.media_type.parameters {
        content_type = content_type.attribute(k.clone(), v.clone());
    }
    let mut encoded = Vec::with_capacity(a.content.len() / 3 * 4 + a.content.len() / 38 + 4);
    for chunk in a.content.chunks(57) {
        encoded.extend_from_slice(Base64::encode_string(chunk).as_bytes());
        encoded.extend_from_slice(b"\r\n");
    }
    let part = MimePart::new(content_type, BodyPart::Binary(encoded.into()));
    let part = match &a.content_id {
        Some(cid) => part.inline().cid(cid.clone()),
        None => part.attachment(a.filename.clone()),
    };
    part.transfer_encoding("base64")
}

/// Step 4: the unsigned message. Boundaries come from `env`, so hosts that
/// fix randomness get the same bytes.
pub fn compose(
    env: &mut dyn Env,
    use_case: &UseCase,
    checked: &Checked,
    t: &Threading<'_>,
) -> Vec<u8> {
    let addresses = |list: &[CheckedRecipient]| {
        MailAddress::new_list(
            list.iter()
                .map(|r| MailAddress::new_address(r.name.clone(), r.address.to_string()))
                .collect(),
        )
    };
    let mut builder = MessageBuilder::new()
        .from(MailAddress::new_address(
            Some(use_case.entity_name.clone()),
            use_case.sender.clone(),
        ))
        .to(addresses(&checked.to))
        .subject(checked.subject.clone())
        .message_id(t.message_id.to_string())
        .date(Date::new(t.now))
        .header(
            "Thread-Topic",
            Text::new(thread_index::topic(&checked.subject)),
        )
        .header("Thread-Index", Raw::new(t.placement.thread_index.clone()));
    if !checked.cc.is_empty() {
        builder = builder.cc(addresses(&checked.cc));
    }
    if let Some((_, list, post)) = t.list_unsubscribe {
        builder = builder
            .header("List-Unsubscribe", Raw::new(list.clone()))
            .header("List-Unsubscribe-Post", Raw::new(post.clone()));
    }
    if let Some(parent) = &t.placement.in_reply_to {
        builder = builder
            .in_reply_to(parent.clone())
            .references(MessageId::new_list(t.placement.references.iter().cloned()));
    }

    let mut boundary = || format!("mr_{}", env.random_hex(12));
    let mut bodies = Vec::new();
    if let Some(text) = &checked.text {
        bodies.push(text_part("text/plain", text));
    }
    if let Some(html) = &checked.html {
        bodies.push(text_part("text/html", html));
    }
    let multipart = |kind: &str, boundary: String, parts: Vec<MimePart<'static>>| {
        MimePart::new(
            ContentType::new(kind.to_string()).attribute("boundary", boundary),
            BodyPart::Multipart(parts),
        )
    };
    let mut body = if bodies.len() == 1 {
        bodies.remove(0)
    } else {
        multipart("multipart/alternative", boundary(), bodies)
    };
    let (inline, files): (Vec<_>, Vec<_>) = checked
        .attachments
        .iter()
        .partition(|a| a.content_id.is_some());
    if !inline.is_empty() {
        let mut parts = vec![body];
        parts.extend(inline.into_iter().map(attachment_part));
        body = multipart("multipart/related", boundary(), parts);
    }
    if !files.is_empty() {
        let mut parts = vec![body];
        parts.extend(files.into_iter().map(attachment_part));
        body = multipart("multipart/mixed", boundary(), parts);
    }
    let mut raw = Vec::new();
    builder.body(body).serialize(&mut raw);
    raw
}

/// Step 5: the message signed with the setup's current DKIM key, after a
/// last check of its bytes (see [`wire::check`]).
pub fn sign(
    store: &mut dyn Store,
    setup: &Setup,
    unsigned: &[u8],
    now: i64,
) -> Result<Vec<u8>, SendError> {
    wire::check(unsigned).map_err(|e| {
        SendError::InvalidRequest(format!(
            "the composed message would break RFC 5322 ({e}); nothing was sent"
        ))
    })?;
    let key = setups::signing_key(store, setup)?;
    dkim::sign(unsigned, &key, &setup.domain, &setup.selector, now)
        .map_err(|e| SendError::Signing(format!("DKIM signing failed: {e}")))
}

/// Step 6: records the message as queued, hands it to the transport, and
/// records a refusal as failed; counts the recipients sent to.
#[allow(clippy::too_many_arguments)]
pub fn record_and_submit(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    setup: &Setup,
    use_case: &UseCase,
    message_id: &str,
    placement: &Placement,
    rcpt_to: Vec<String>,
    raw: Vec<u8>,
    now: i64,
) -> Result<u64, SendError> {
    let record = MessageRecord {
        message_id: message_id.to_string(),
        direction: Direction::Outbound,
        setup: Some(setup.id.clone()),
        workspace: Some(setup.workspace.clone()),
        use_case: Some(use_case.id.clone()),
        thread_id: Some(placement.thread_id.clone()),
        from: Some(use_case.sender.clone()),
        to: rcpt_to.clone(),
        chain: placement.references.clone(),
        provider_ids: Vec::new(),
        status: Status::Queued,
        received_at: now,
        thread_index: Some(placement.thread_index.clone()),
        participants: Vec::new(),
        digest: None,
    };
    if !messages::insert(store, &record)? {
        return Err(SendError::Store(format!(
            "message {message_id} already exists"
        )));
    }
    // One envelope per recipient, each with its own return path (VERP).
    let envelopes =
        crate::bounce_path::envelopes(store, setup, message_id, &use_case.sender, rcpt_to)?;
    let total = envelopes.len();
    let mut sent = 0u64;
    for (n, envelope) in envelopes.into_iter().enumerate() {
        let count = envelope.rcpt_to.len() as u64;
        let outgoing = Outgoing {
            message_id: message_id.to_string(),
            envelope,
            raw: raw.clone(),
        };
        if let Err(e) = transport.submit(&outgoing) {
            let mut reason = match e {
                TransportError::Rejected(m) => format!("rejected: {m}"),
                TransportError::Unavailable(m) => format!("unavailable: {m}"),
                TransportError::Other(m) => m,
            };
            if n > 0 {
                reason.push_str(&format!(
                    " (after {n} of {total} envelopes were handed over)"
                ));
            }
            if let Some((stored, version)) = messages::find(store, &setup.id, message_id)? {
                let failed = Status::Failed(reason.clone());
                messages::update(store, stored, version, |r| r.status = failed.clone())?;
            }
            if sent > 0 {
                reporting::bump(store, &setup.id, Some(&use_case.id), now, Field::Sent, sent)?;
            }
            return Err(SendError::Transport(reason));
        }
        sent += count;
    }
    reporting::bump(store, &setup.id, Some(&use_case.id), now, Field::Sent, sent)?;
    Ok(raw.len() as u64)
}

/// Composes, records and submits a message: [`sender`], [`validate`],
/// [`envelope_recipients`], [`decide_recipients`], [`place`], [`compose`], [`sign`],
/// [`record_and_submit`], in that order; nothing reaches the transport on
/// an error.
pub fn send(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    env: &mut dyn Env,
    request: &SendRequest,
) -> Result<Sent, SendError> {
    let (use_case, setup) = sender(store, &request.use_case)?;
    let cap = max_recipients(store, &setup.id)?;
    let mut checked = validate(request, cap)?;
    let rcpt_to = envelope_recipients(&use_case, &checked)?;
    let now = env.now();
    decide_recipients(store, &use_case, &rcpt_to, now)?;
    let list_unsubscribe = match (use_case.list_unsubscribe, rcpt_to.first()) {
        (true, Some(address)) => Some(unsubscribe::headers(store, &use_case, address)?),
        _ => None,
    };
    if let Some((url, _, _)) = &list_unsubscribe {
        for body in [&mut checked.text, &mut checked.html].into_iter().flatten() {
            *body = body.replace("[[unsubscribe-url]]", url);
        }
    }
    let placement = place(
        store,
        env,
        &setup,
        &use_case,
        request.in_reply_to.as_deref(),
        now,
    )?;
    let message_id = format!("{}@{}", env.random_hex(16), setup.domain);
    let unsubscribe_url = list_unsubscribe.as_ref().map(|(url, _, _)| url.as_str());
    if let Some(html) = crate::tracking::rewrite(
        store,
        &setup,
        &use_case,
        &rcpt_to,
        &message_id,
        unsubscribe_url,
        checked.html.as_deref(),
        now,
    )? {
        checked.html = Some(html);
    }
    let threading = Threading {
        message_id: &message_id,
        placement: &placement,
        now,
        list_unsubscribe: list_unsubscribe.as_ref(),
    };
    let unsigned = compose(env, &use_case, &checked, &threading);
    let raw = sign(store, &setup, &unsigned, now)?;
    let size = record_and_submit(
        store,
        transport,
        &setup,
        &use_case,
        &message_id,
        &placement,
        rcpt_to,
        raw,
        now,
    )?;
    Ok(Sent {
        message_id,
        thread_id: placement.thread_id,
        in_reply_to: placement.in_reply_to,
        references: placement.references,
        size,
        unsubscribe_url: list_unsubscribe.map(|(url, _, _)| url),
        replayed: false,
    })
}

/// Records the outcome of a submitted message.
pub fn report(
    store: &mut dyn Store,
    message_id: &str,
    outcome: &DeliveryOutcome,
) -> Result<(), ReportError> {
    let id = ids::bare(message_id).ok_or_else(|| {
        ReportError::UnknownMessage(format!("{} is not a msg-id", ids::shown(message_id)))
    })?;
    let Some((record, version)) =
        messages::find_any(store, &id)?.filter(|(r, _)| r.direction == Direction::Outbound)
    else {
        return Err(ReportError::UnknownMessage(format!(
            "no outbound message {id}"
        )));
    };
    let setup = record.setup.clone().unwrap_or_default();
    let (status, alias) = match outcome {
        DeliveryOutcome::Failed(reason) => (Status::Failed(reason.clone()), None),
        DeliveryOutcome::Accepted(None) => (Status::Accepted, None),
        DeliveryOutcome::Accepted(Some(provider)) => {
            let alias = ids::bare(provider).ok_or_else(|| {
                ReportError::InvalidId(format!("{} is not a msg-id", ids::shown(provider)))
            })?;
            (Status::Accepted, (alias != id).then_some(alias))
        }
    };
    if let Some(alias) = &alias {
        messages::add_alias(store, &setup, alias, &id)?;
    }
    messages::update(store, record, version, |r| {
        r.status = status.clone();
        if let Some(alias) = &alias
            && !r.provider_ids.contains(alias)
        {
            r.provider_ids.push(alias.clone());
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::FixedEnv;
    use crate::records;
    use crate::store::{Expect, MemoryStore};
    use crate::transport::RecordingTransport;
    use crate::use_cases::UseCaseType;

    struct World {
        store: MemoryStore,
        env: FixedEnv,
        transport: RecordingTransport,
        use_case: String,
        setup: String,
    }

    fn world() -> World {
        let mut store = MemoryStore::default();
        let mut env = FixedEnv::new(1_772_442_000, 42);
        let options = setups::SetupOptions {
            inbound_host: "in.mailroom.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
            bounce_domain: None,
        };
        let setup = setups::create(&mut store, &mut env, "ws", "clinic.example", &options)
            .expect("a setup");
        let answers = setups::answers_publishing(&setup.records);
        setups::verify(&mut store, &mut env, &setup.id, &answers).expect("verified");
        let use_case = use_cases::create(
            &mut store,
            &mut env,
            &setup.id,
            "care@clinic.example",
            UseCaseType::Transactional,
            "Clinic",
            "care",
        )
        .expect("a use case");
        World {
            store,
            env,
            transport: RecordingTransport::default(),
            use_case: use_case.id,
            setup: setup.id,
        }
    }

    fn request(w: &World) -> SendRequest {
        SendRequest {
            use_case: w.use_case.clone(),
            to: vec![Recipient {
                name: Some("Pat".into()),
                address: "pat@patient.example".into(),
            }],
            cc: Vec::new(),
            subject: "Your appointment".into(),
            text: Some("See you.\n".into()),
            html: None,
            attachments: Vec::new(),
            in_reply_to: None,
            idempotency_key: None,
        }
    }

    fn attachment(content_type: &str) -> OutgoingAttachment {
        OutgoingAttachment {
            filename: "report.pdf".into(),
            content_type: content_type.into(),
            content_id: None,
            content: b"%PDF-1.4\r\n\0\rbytes".to_vec(),
        }
    }

    fn send_in(w: &mut World, r: &SendRequest) -> Result<Sent, SendError> {
        send(&mut w.store, &mut w.transport, &mut w.env, r)
    }

    /// A refusal sends and records nothing.
    fn refused(w: &mut World, r: &SendRequest) -> SendError {
        let before = w.store.list("message/", None, 1000).expect("list").keys;
        let err = send_in(w, r).expect_err("refused");
        assert!(w.transport.sent.is_empty(), "{err}: something was sent");
        let after = w.store.list("message/", None, 1000).expect("list").keys;
        assert_eq!(before, after, "{err}: a message was recorded");
        err
    }

    fn header_names(raw: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(raw);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        head.split("\r\n")
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_ascii_lowercase()))
            .collect()
    }

    #[test]
    fn hostile_bodies_go_out_crlf_only_and_decode_as_given() {
        let cases: [(&str, &str); 6] = [
            ("smuggling", "a\r.\r\nMAIL FROM:<x@evil.example>\r\n.\r\n"),
            ("bare-lf", "one\ntwo\n.\nthree"),
            ("bare-cr", "one\rtwo\r\r.\r"),
            ("nul", "before\0after\r\nline two\u{1b}[0m"),
            ("long-line", &"x".repeat(5000)),
            ("u2028", "a\u{2028}b\u{85}c"),
        ];
        for (name, body) in cases {
            let mut w = world();
            let mut r = request(&w);
            r.text = Some(body.to_string());
            r.html = Some(format!("<p>{body}</p>"));
            send_in(&mut w, &r).unwrap_or_else(|e| panic!("{name}: {e}"));
            let raw = &w.transport.sent[0].raw;
            wire::check(raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            let setup = setups::get(&mut w.store, &w.setup).expect("setup");
            dkim::verify(raw, &setup.records[0].value).unwrap_or_else(|e| panic!("{name}: {e}"));
            let parsed = mail_parser::MessageParser::new()
                .parse(raw)
                .expect("it parses");
            let expected = wire::crlf(body);
            let text = parsed.body_text(0).expect("a text part");
            assert_eq!(
                text.replace("\r\n", "\n"),
                expected.replace("\r\n", "\n"),
                "{name}"
            );
            if wire::has_illegal_7bit(&expected) {
                assert!(
                    String::from_utf8_lossy(raw)
                        .contains("Content-Transfer-Encoding: quoted-printable"),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn headers_fold_or_are_refused_never_over_998() {
        let mut w = world();
        let mut r = request(&w);
        r.subject = "word ".repeat(399);
        r.to = (0..50)
            .map(|i| Recipient {
                name: Some(format!("{}{i}", "N".repeat(250))),
                address: format!("{}{i:02}@patient.example", "l".repeat(62)),
            })
            .collect();
        r.attachments = vec![OutgoingAttachment {
            filename: "é".repeat(127),
            content_type: format!("application/pdf; note=\"{}\"", "v".repeat(400)),
            content_id: None,
            content: vec![0; 10],
        }];
        send_in(&mut w, &r).expect("sent");
        let raw = &w.transport.sent[0].raw;
        wire::check(raw).expect("no long line");
        let names = header_names(raw);
        for n in [
            "from",
            "to",
            "subject",
            "message-id",
            "date",
            "dkim-signature",
        ] {
            assert_eq!(names.iter().filter(|h| *h == n).count(), 1, "{n}");
        }
        r.subject = "s".repeat(MAX_SUBJECT + 1);
        assert!(
            matches!(refused_after(&mut w, &r), SendError::InvalidHeader(m) if m.contains("subject"))
        );
    }

    #[test]
    fn addresses_are_addr_specs() {
        let mut w = world();
        for (address, field) in [
            ("a@b@patient.example", "more than one unquoted @"),
            (
                "pat@patient.example\r\nBcc: victim@x.example",
                "control character",
            ),
            (
                &format!("{}@patient.example", "l".repeat(1200)),
                "over RFC 5321",
            ),
            ("\"open@patient.example", "not closed"),
        ] {
            let mut r = request(&w);
            r.to[0].address = address.to_string();
            match refused(&mut w, &r) {
                SendError::InvalidHeader(m) => {
                    assert!(m.starts_with("to[0].address: ") && m.contains(field), "{m}")
                }
                other => panic!("{address}: {other}"),
            }
        }
        let mut r = request(&w);
        r.cc = vec![Recipient {
            name: None,
            address: "jürgen@patient.example".into(),
        }];
        match refused(&mut w, &r) {
            SendError::Smtputf8Required(m) => {
                assert!(
                    m.starts_with("cc[0].address") && m.contains("SMTPUTF8"),
                    "{m}"
                )
            }
            other => panic!("{other}"),
        }
        r.cc[0].address = "x@Bücher.example".into();
        send_in(&mut w, &r).expect("sent");
        // One submission per recipient, each with its own return path.
        let sent = &w.transport.sent;
        assert_eq!(sent.len(), 2);
        assert!(String::from_utf8_lossy(&sent[1].raw).contains("<x@xn--bcher-kva.example>"));
        assert_eq!(sent[1].envelope.rcpt_to, ["x@xn--bcher-kva.example"]);
        assert_ne!(sent[0].envelope.mail_from, sent[1].envelope.mail_from);
        assert_eq!(sent[0].raw, sent[1].raw);
    }

    #[test]
    fn attachment_media_types_are_typed() {
        let mut w = world();
        for (content_type, why) in [
            ("pdf; x=\"y", "type/subtype"),
            ("; name=evil.exe", "type/subtype"),
            ("application/pdf; name=evil.exe", "not accepted"),
            ("application/pdf\u{2028}", "non-ASCII"),
            ("multipart/mixed; boundary=abc", "composite"),
            ("message/rfc822", "composite"),
        ] {
            let mut r = request(&w);
            r.attachments = vec![attachment(content_type)];
            match refused(&mut w, &r) {
                SendError::InvalidHeader(m) => assert!(
                    m.starts_with("attachments[0].content-type: ") && m.contains(why),
                    "{content_type}: {m}"
                ),
                other => panic!("{content_type}: {other}"),
            }
        }
        let mut r = request(&w);
        r.attachments = vec![attachment(&format!(
            "application/pdf; x=\"{}\"",
            "a".repeat(100_000)
        ))];
        assert!(
            matches!(refused(&mut w, &r), SendError::InvalidHeader(m) if m.contains("over 512"))
        );
        r.attachments = vec![attachment("image/png")];
        r.attachments[0].content_id = Some("<a b@c>".into());
        assert!(
            matches!(refused(&mut w, &r), SendError::InvalidHeader(m) if m.contains("content-id"))
        );

        let mut r = request(&w);
        r.attachments = vec![attachment("Text/Plain; Charset=\"utf-8\"")];
        r.attachments[0].filename = "Jahresabschluß 2024.txt".into();
        send_in(&mut w, &r).expect("sent");
        let raw = String::from_utf8_lossy(&w.transport.sent[0].raw).into_owned();
        assert!(
            raw.contains("Content-Type: text/plain; charset=\"utf-8\""),
            "{raw}"
        );
        assert!(
            raw.contains("filename*=UTF-8''Jahresabschlu%C3%9F%202024.txt"),
            "{raw}"
        );
        wire::check(raw.as_bytes()).expect("a text attachment with a bare CR goes base64");
        let parsed = mail_parser::MessageParser::new()
            .parse(raw.as_bytes())
            .expect("parses");
        let part = parsed.attachments().next().expect("the attachment");
        assert_eq!(
            part.decoded().as_ref(),
            attachment("x/y").content.as_slice()
        );
    }

    #[test]
    fn the_recipient_cap_is_the_policy_s() {
        let mut w = world();
        let mut r = request(&w);
        r.to = (0..10_000)
            .map(|i| Recipient {
                name: None,
                address: format!("p{i}@patient.example"),
            })
            .collect();
        match refused(&mut w, &r) {
            SendError::TooManyRecipients(m) => assert!(m.contains("10000") && m.contains("50")),
            other => panic!("{other}"),
        }
        r.to.truncate(30);
        r.cc = r.to.split_off(20);
        r.cc.extend(r.to.iter().cloned());
        assert_eq!(validate(&r, 50).map(|c| c.to.len() + c.cc.len()), Ok(50));
        // Repeats count: the header would carry them.
        r.cc.push(r.to[0].clone());
        assert!(matches!(
            refused(&mut w, &r),
            SendError::TooManyRecipients(_)
        ));
        let mut policy = suppression::load_policy(&mut w.store, &w.setup).expect("policy");
        policy.max_recipients = Some(51);
        assert!(suppression::set_policy(&mut w.store, &w.setup, &policy).is_err());
        policy.max_recipients = Some(2);
        suppression::set_policy(&mut w.store, &w.setup, &policy).expect("lowered");
        r.to.truncate(2);
        r.cc.clear();
        send_in(&mut w, &r).expect("two recipients");
        r.cc = vec![r.to[0].clone()];
        assert!(matches!(
            refused_after(&mut w, &r),
            SendError::TooManyRecipients(_)
        ));
    }

    fn refused_after(w: &mut World, r: &SendRequest) -> SendError {
        let sent = w.transport.sent.len();
        let err = send_in(w, r).expect_err("refused");
        assert_eq!(w.transport.sent.len(), sent);
        err
    }

    #[test]
    fn a_damaged_key_is_a_signing_error() {
        let mut w = world();
        let setup = setups::get(&mut w.store, &w.setup).expect("setup");
        let name = dkim::key_name(&setup.id, &setup.selector);
        records::write(&mut w.store, &name, &"AAAA".to_string(), Expect::Any).expect("put");
        let r = request(&w);
        match refused(&mut w, &r) {
            SendError::Signing(m) => assert!(m.contains("DKIM"), "{m}"),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn steps_stand_alone() {
        let w = world();
        let mut r = request(&w);
        r.to[0].address = "  Pat@Patient.Example ".into();
        r.cc = vec![Recipient {
            name: None,
            address: "\"pat\"@patient.example".into(),
        }];
        let checked = validate(&r, 50).expect("valid");
        assert_eq!(checked.to[0].address.to_string(), "Pat@patient.example");
        assert_eq!(checked.to[0].address.key(), checked.cc[0].address.key());
        assert!(matches!(
            validate(&r, 1),
            Err(SendError::TooManyRecipients(_))
        ));
        r.text = None;
        assert!(matches!(
            validate(&r, 50),
            Err(SendError::InvalidRequest(_))
        ));

        let mut w = world();
        let r = request(&w);
        let (use_case, setup) = sender(&mut w.store, &w.use_case).expect("sender");
        let mut checked = validate(&r, 50).expect("valid");
        checked.cc = checked.to.clone();
        let rcpt = envelope_recipients(&use_case, &checked).expect("one");
        assert_eq!(rcpt, vec!["pat@patient.example".to_string()]);
        decide_recipients(&mut w.store, &use_case, &rcpt, 0).expect("allowed");
        let placement = place(&mut w.store, &mut w.env, &setup, &use_case, None, 0).expect("new");
        assert!(placement.in_reply_to.is_none() && placement.references.is_empty());
        let unknown = place(&mut w.store, &mut w.env, &setup, &use_case, Some("x@y"), 0);
        assert!(matches!(unknown, Err(SendError::UnknownParent(_))));
        let threading = Threading {
            message_id: "m@clinic.example",
            placement: &placement,
            now: 0,
            list_unsubscribe: None,
        };
        let unsigned = compose(&mut w.env, &use_case, &checked, &threading);
        wire::check(&unsigned).expect("clean");
        let signed = sign(&mut w.store, &setup, &unsigned, 0).expect("signed");
        assert!(signed.starts_with(b"DKIM-Signature: "));
    }

    #[test]
    fn errors_display_their_case() {
        let e = SendError::TooManyRecipients("51 recipients".into());
        assert_eq!(e.to_string(), "too-many-recipients: 51 recipients");
        assert_eq!(SendError::Signing("x".into()).to_string(), "signing: x");
        assert_eq!(
            ReportError::InvalidId("x".into()).to_string(),
            "invalid-id: x"
        );
    }
}
