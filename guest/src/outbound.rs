//! Outbound mail: validate, compose with mail-builder, record, submit.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::messages::{self, Direction, MessageRecord, Status};
use crate::reporting::{self, Field};
use crate::store::{Store, StoreError};
use crate::suppression::{self, Decision, Pause, Suppression};
use crate::transport::{Envelope, Outgoing, Transport, TransportError};
use crate::{dkim, ids, setups, thread, thread_index, unsubscribe, use_cases};

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
}

/// A message accepted by the transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Sent {
    pub message_id: String,
    pub thread_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub size: u64,
    pub unsubscribe_url: Option<String>,
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
}

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

impl From<StoreError> for ReportError {
    fn from(e: StoreError) -> Self {
        ReportError::Store(e.to_string())
    }
}

/// Checks `local@domain` with nothing a header could be split on.
pub fn check_address(address: &str) -> Result<&str, String> {
    let address = address.trim();
    let bad = |c: char| c.is_control() || c.is_whitespace() || "<>,;:\"()[]\\".contains(c);
    match address.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !address.chars().any(bad)
                && setups::normalize_domain(domain).is_ok() =>
        {
            Ok(address)
        }
        _ => Err(format!(
            "{} is not an address local@domain",
            ids::shown(address)
        )),
    }
}

fn check_text(what: &str, value: &str) -> Result<(), SendError> {
    if value.chars().any(char::is_control) {
        return Err(SendError::InvalidHeader(format!(
            "{what} holds a control character (CR, LF or another): {}",
            ids::shown(value)
        )));
    }
    Ok(())
}

fn check_recipients(list: &[Recipient]) -> Result<(), SendError> {
    for r in list {
        check_address(&r.address).map_err(SendError::InvalidHeader)?;
        if let Some(name) = &r.name {
            check_text("a recipient name", name)?;
        }
    }
    Ok(())
}

/// Composes, records and submits a message.
pub fn send(
    store: &mut dyn Store,
    transport: &mut dyn Transport,
    env: &mut dyn Env,
    request: &SendRequest,
) -> Result<Sent, SendError> {
    let use_case = match use_cases::get(store, &request.use_case) {
        Ok(u) => u,
        Err(use_cases::UseCaseError::NotFound(m)) => return Err(SendError::UnknownUseCase(m)),
        Err(e) => return Err(SendError::Store(format!("{e:?}"))),
    };
    let setup = setups::get(store, &use_case.setup)
        .map_err(|e| SendError::Store(format!("the use case's setup: {e:?}")))?;
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
    if request.to.is_empty() {
        return Err(SendError::InvalidRequest("no recipient in `to`".into()));
    }
    if request.text.is_none() && request.html.is_none() {
        return Err(SendError::InvalidRequest(
            "neither text nor html is given".into(),
        ));
    }
    check_text("the subject", &request.subject)?;
    check_recipients(&request.to)?;
    check_recipients(&request.cc)?;
    for a in &request.attachments {
        check_text("an attachment file name", &a.filename)?;
        check_text("an attachment content type", &a.content_type)?;
        if let Some(cid) = &a.content_id {
            ids::bare(cid).ok_or_else(|| {
                SendError::InvalidHeader(format!("content-id {} is not a msg-id", ids::shown(cid)))
            })?;
        }
    }

    let mut rcpt_to: Vec<String> = Vec::new();
    for r in request.to.iter().chain(&request.cc) {
        let a = r.address.trim().to_ascii_lowercase();
        if !rcpt_to.contains(&a) {
            rcpt_to.push(a);
        }
    }
    if use_case.list_unsubscribe && rcpt_to.len() != 1 {
        return Err(SendError::InvalidRequest(format!(
            "use case {} carries one-click List-Unsubscribe, so each message goes to one recipient; this one has {}",
            use_case.id,
            rcpt_to.len()
        )));
    }

    let now = env.now();
    let mut suppressed = Vec::new();
    for address in &rcpt_to {
        match suppression::decide(store, &use_case, address, u64::try_from(now).unwrap_or(0))? {
            Decision::Allow => {}
            Decision::Suppressed(s) => suppressed.push(s),
            Decision::Paused(pause) => {
                let n = rcpt_to.len() as u64;
                reporting::bump(
                    store,
                    &setup.id,
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
            &setup.id,
            Some(&use_case.id),
            now,
            Field::Suppressed,
            n,
        )?;
        return Err(SendError::Suppressed(suppressed));
    }
    let list_unsubscribe = match (use_case.list_unsubscribe, rcpt_to.first()) {
        (true, Some(address)) => Some(unsubscribe::headers(store, &use_case, address)?),
        _ => None,
    };
    let mut request = std::borrow::Cow::Borrowed(request);
    if let Some((url, _, _)) = &list_unsubscribe {
        let fill =
            |body: &Option<String>| body.as_ref().map(|b| b.replace("[[unsubscribe-url]]", url));
        let (text, html) = (fill(&request.text), fill(&request.html));
        let owned = request.to_mut();
        owned.text = text;
        owned.html = html;
    }
    let request = request.as_ref();

    let (thread_id, in_reply_to, references, thread_index) = match &request.in_reply_to {
        None => {
            let thread_id = format!("thr_{}", env.random_hex(16));
            let index = thread_index::root(now, &env.random_bytes(16));
            (thread_id, None, Vec::new(), index)
        }
        Some(parent_id) => {
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
                .filter(|i| thread_index::is_valid(i))
                .unwrap_or_else(|| thread_index::root(now, &env.random_bytes(16)));
            let random = env.random_bytes(1).first().copied().unwrap_or(0);
            let index = thread_index::reply(&base, now, random);
            (
                thread_id,
                Some(parent.message_id.clone()),
                references,
                index,
            )
        }
    };
    let thread_index = thread_index::base64(&thread_index);

    let message_id = format!("{}@{}", env.random_hex(16), setup.domain);
    let unsubscribe_url = list_unsubscribe.as_ref().map(|(url, _, _)| url.as_str());
    let tracked = crate::tracking::rewrite(
        store,
        &setup,
        &use_case,
        &rcpt_to,
        &message_id,
        unsubscribe_url,
        request,
        now,
    )?;
    let request: &SendRequest = &tracked;
    let threading = Threading {
        message_id: &message_id,
        in_reply_to: in_reply_to.as_deref(),
        references: &references,
        thread_index: &thread_index,
        now,
        list_unsubscribe: list_unsubscribe.as_ref(),
    };
    let unsigned = compose(env, &use_case, request, &threading);
    let key = setups::signing_key(store, &setup)?;
    let raw = dkim::sign(&unsigned, &key, &setup.domain, &setup.selector, now)
        .map_err(|e| SendError::Store(format!("DKIM signing failed: {e}")))?;
    let record = MessageRecord {
        message_id: message_id.clone(),
        direction: Direction::Outbound,
        setup: Some(setup.id.clone()),
        workspace: Some(setup.workspace.clone()),
        use_case: Some(use_case.id.clone()),
        thread_id: Some(thread_id.clone()),
        from: Some(use_case.sender.clone()),
        to: rcpt_to.clone(),
        chain: references.clone(),
        provider_ids: Vec::new(),
        status: Status::Queued,
        received_at: now,
        thread_index: Some(thread_index.clone()),
    };
    if !messages::insert(store, &record)? {
        return Err(SendError::Store(format!(
            "message {message_id} already exists"
        )));
    }
    let outgoing = Outgoing {
        message_id: message_id.clone(),
        envelope: Envelope {
            mail_from: use_case.sender.clone(),
            rcpt_to,
        },
        raw,
    };
    if let Err(e) = transport.submit(&outgoing) {
        let reason = match e {
            TransportError::Rejected(m) => format!("rejected: {m}"),
            TransportError::Unavailable(m) => format!("unavailable: {m}"),
            TransportError::Other(m) => m,
        };
        if let Some((stored, version)) = messages::find(store, &setup.id, &message_id)? {
            let failed = Status::Failed(reason.clone());
            messages::update(store, stored, version, |r| r.status = failed.clone())?;
        }
        return Err(SendError::Transport(reason));
    }
    let n = outgoing.envelope.rcpt_to.len() as u64;
    reporting::bump(store, &setup.id, Some(&use_case.id), now, Field::Sent, n)?;
    Ok(Sent {
        message_id,
        thread_id,
        in_reply_to,
        references,
        size: outgoing.raw.len() as u64,
        unsubscribe_url: list_unsubscribe.map(|(url, _, _)| url),
    })
}

/// The threading headers of one outbound message.
struct Threading<'a> {
    message_id: &'a str,
    in_reply_to: Option<&'a str>,
    references: &'a [String],
    thread_index: &'a str,
    now: i64,
    /// List-Unsubscribe and List-Unsubscribe-Post.
    list_unsubscribe: Option<&'a (String, String, String)>,
}

fn compose(
    env: &mut dyn Env,
    use_case: &use_cases::UseCase,
    request: &SendRequest,
    t: &Threading<'_>,
) -> Vec<u8> {
    let addresses = |list: &[Recipient]| {
        Address::new_list(
            list.iter()
                .map(|r| Address::new_address(r.name.clone(), r.address.trim().to_string()))
                .collect(),
        )
    };
    let mut builder = MessageBuilder::new()
        .from(Address::new_address(
            Some(use_case.entity_name.clone()),
            use_case.sender.clone(),
        ))
        .to(addresses(&request.to))
        .subject(request.subject.clone())
        .message_id(t.message_id.to_string())
        .date(Date::new(t.now))
        .header(
            "Thread-Topic",
            Text::new(thread_index::topic(&request.subject)),
        )
        .header("Thread-Index", Raw::new(t.thread_index.to_string()));
    if !request.cc.is_empty() {
        builder = builder.cc(addresses(&request.cc));
    }
    if let Some((_, list, post)) = t.list_unsubscribe {
        builder = builder
            .header("List-Unsubscribe", Raw::new(list.clone()))
            .header("List-Unsubscribe-Post", Raw::new(post.clone()));
    }
    if let Some(parent) = t.in_reply_to {
        builder = builder
            .in_reply_to(parent.to_string())
            .references(MessageId::new_list(t.references.iter().cloned()));
    }

    let mut boundary = || format!("mr_{}", env.random_hex(12));
    let mut bodies = Vec::new();
    if let Some(text) = &request.text {
        bodies.push(MimePart::new(
            "text/plain",
            BodyPart::Text(text.clone().into()),
        ));
    }
    if let Some(html) = &request.html {
        bodies.push(MimePart::new(
            "text/html",
            BodyPart::Text(html.clone().into()),
        ));
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
    let (inline, files): (Vec<_>, Vec<_>) = request
        .attachments
        .iter()
        .partition(|a| a.content_id.is_some());
    if !inline.is_empty() {
        let mut parts = vec![body];
        for a in inline {
            let cid = a.content_id.clone().unwrap_or_default();
            parts.push(
                MimePart::new(
                    a.content_type.clone(),
                    BodyPart::Binary(a.content.clone().into()),
                )
                .inline()
                .cid(cid),
            );
        }
        body = multipart("multipart/related", boundary(), parts);
    }
    if !files.is_empty() {
        let mut parts = vec![body];
        for a in files {
            parts.push(
                MimePart::new(
                    a.content_type.clone(),
                    BodyPart::Binary(a.content.clone().into()),
                )
                .attachment(a.filename.clone()),
            );
        }
        body = multipart("multipart/mixed", boundary(), parts);
    }
    let mut raw = Vec::new();
    builder.body(body).serialize(&mut raw);
    raw
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
