//! Receiving: parse, find the parent among stored messages, store, and say
//! where the message belongs.

use serde::{Deserialize, Serialize};

use super::autoreply::{self, AutoReplyKind};
use super::{Limits, ParseError, ParsedMessage, parse, reply_text};
use crate::env::Env;
use crate::messages::{self, Direction, MessageRecord, Status};
use crate::setups::{self, Setup};
use crate::store::{Store, StoreError};
use crate::unsubscribe::{self, OptOut, UnsubscribeError};
use crate::{ids, thread, thread_index};

/// The SMTP envelope an inbound message arrived with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Envelope {
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
}

/// An automated message and what showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AutoReply {
    #[serde(serialize_with = "kind_name")]
    pub kind: AutoReplyKind,
    pub reason: String,
}

/// The conversation a message belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Association {
    pub workspace: String,
    pub setup: String,
    pub use_case: String,
    pub thread_id: String,
    pub parent_message_id: String,
    pub sender_mismatch: bool,
}

/// Matched or not, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    Matched(Association),
    Unmatched(String),
}

/// A received, stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Received {
    pub message_id: String,
    pub resolution: Resolution,
    pub references: Vec<String>,
    pub auto_reply: Option<AutoReply>,
    pub new_text: Option<String>,
    pub unsubscribed: Option<OptOut>,
    pub notes: Vec<String>,
    pub message: ParsedMessage,
}

/// Why a message was not received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiveError {
    Parse(ParseError),
    Store(String),
}

impl std::fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiveError::Parse(e) => write!(f, "parse: {e}"),
            ReceiveError::Store(m) => write!(f, "store: {m}"),
        }
    }
}

impl std::error::Error for ReceiveError {}

impl From<StoreError> for ReceiveError {
    fn from(e: StoreError) -> Self {
        ReceiveError::Store(e.to_string())
    }
}

/// Parses, resolves and stores an inbound message.
pub fn receive(
    store: &mut dyn Store,
    env: &mut dyn Env,
    raw: &[u8],
    envelope: &Envelope,
    limits: &Limits,
) -> Result<Received, ReceiveError> {
    let message = parse(raw, limits).map_err(ReceiveError::Parse)?;
    let mut notes = message.notes.clone();
    let mut in_reply_to = ids::bare_all(&message.in_reply_to, "In-Reply-To", &mut notes);
    let mut references = ids::bare_all(&message.references, "References", &mut notes);
    let own_id = match message.message_id.as_deref().map(|id| (id, ids::bare(id))) {
        Some((_, Some(id))) => id,
        other => {
            if let Some((bad, None)) = other {
                notes.push(format!(
                    "Message-ID: not a msg-id, replaced: {}",
                    ids::shown(bad)
                ));
            }
            format!("{}@inbound.mailroom.invalid", env.random_hex(16))
        }
    };
    // A message is not its own ancestor: a quoted own id would make it its
    // own parent, or end its chain somewhere else.
    for (name, quoted) in [
        ("In-Reply-To", &mut in_reply_to),
        ("References", &mut references),
    ] {
        if quoted.contains(&own_id) {
            quoted.retain(|id| id != &own_id);
            notes.push(format!("{name}: the message's own Message-ID, dropped"));
        }
    }
    let sender = message
        .from
        .first()
        .and_then(|m| m.address.as_deref())
        .map(str::to_ascii_lowercase);

    let setup = owning_setup(store, envelope, &message)?;
    // In-Reply-To first, then References from newest to oldest.
    let candidates: Vec<&String> = in_reply_to.iter().chain(references.iter().rev()).collect();
    let mut parent = None;
    if let Some(setup) = &setup {
        for id in &candidates {
            if let Some((record, _)) = messages::find(store, &setup.id, id)? {
                parent = Some(record);
                break;
            }
        }
    }

    let prepared = super::prepared(raw);
    let headers = mail_parser::MessageParser::new().parse_headers(prepared.as_ref());
    let own_index = headers.as_ref().and_then(|m| {
        let raw = m.root().headers().get("Thread-Index")?.raw_value();
        thread_index::unbase64(&String::from_utf8_lossy(raw)).filter(|i| thread_index::is_valid(i))
    });
    let now = env.now();
    let (resolution, chain, use_case, thread_id, index) = match (&setup, parent) {
        (Some(setup), Some(parent)) if parent.use_case.is_some() => {
            let use_case = parent.use_case.clone().unwrap_or_default();
            let thread_id = parent.thread_id.clone().unwrap_or_default();
            // Whatever the parent's direction: someone who learned a
            // patient's Message-ID (a CC, a forward) is flagged too.
            let sender_mismatch = !sender
                .as_ref()
                .is_some_and(|s| participants_of(&parent).contains(s));
            let association = Association {
                workspace: setup.workspace.clone(),
                setup: setup.id.clone(),
                use_case: use_case.clone(),
                thread_id: thread_id.clone(),
                parent_message_id: parent.message_id.clone(),
                sender_mismatch,
            };
            // The chain is rebuilt from our records, so a client that
            // stripped References loses nothing.
            let chain = thread::extend(&thread::extend(&parent.chain, &parent.ids()), &references);
            // The message's own index when it extends its parent's by one
            // block (Outlook's reply); else the parent's plus one block, so
            // every stored message's block count is its reply depth.
            let parent_index = parent
                .thread_index
                .as_deref()
                .and_then(thread_index::unbase64)
                .filter(|i| thread_index::is_valid(i));
            let index = match parent_index {
                Some(ours) => Some(match own_index {
                    Some(own) if own.len() == ours.len() + 5 && own.starts_with(&ours) => own,
                    _ => thread_index::reply(&ours, now, nibble(&own_id)),
                }),
                None => own_index,
            };
            (
                Resolution::Matched(association),
                chain,
                Some(use_case),
                Some(thread_id),
                index,
            )
        }
        (setup, _) => {
            let reason = match (setup, candidates.is_empty()) {
                (None, _) => "no setup owns a recipient's domain".to_string(),
                (Some(_), true) => "the message quotes no Message-ID".to_string(),
                (Some(s), false) => format!(
                    "none of the {} quoted ids is a stored message of setup {}",
                    candidates.len(),
                    s.id
                ),
            };
            let chain = if references.is_empty() {
                in_reply_to.clone()
            } else {
                references.clone()
            };
            (
                Resolution::Unmatched(reason),
                thread::bound(chain),
                None,
                None,
                own_index,
            )
        }
    };

    // An id that is one of ours, a provider's alias of one of ours, or
    // another received message's is not taken over: the message is stored
    // under a fresh id. The same message received again is not stored twice.
    let digest = digest(&message);
    let routed = setup.as_ref().map(|s| s.id.as_str());
    let mut duplicate = false;
    let clash = if let Some((ours, _)) = messages::find_outbound(store, &own_id)? {
        Some(if ours.message_id == own_id {
            "the id of one of our sent messages"
        } else {
            "the id a provider gave one of our sent messages"
        })
    } else {
        match messages::get(store, routed, &own_id)? {
            Some(earlier) if earlier.digest.as_ref().is_none_or(|d| *d == digest) => {
                duplicate = true;
                None
            }
            Some(_) => Some("another received message"),
            None => None,
        }
    };
    let own_id = match clash {
        Some(whose) => {
            let fresh = format!("{}@inbound.mailroom.invalid", env.random_hex(16));
            notes.push(format!(
                "Message-ID: {own_id} is {whose}; stored as {fresh}"
            ));
            fresh
        }
        None => own_id,
    };

    // Our records may hold the id too (a loop through a stored chain).
    let mut chain = chain;
    chain.retain(|id| id != &own_id);
    let record = MessageRecord {
        message_id: own_id.clone(),
        direction: Direction::Inbound,
        setup: setup.as_ref().map(|s| s.id.clone()),
        workspace: setup.as_ref().map(|s| s.workspace.clone()),
        use_case,
        thread_id,
        from: sender,
        to: recipients(envelope, &message),
        chain: chain.clone(),
        provider_ids: Vec::new(),
        status: Status::Received,
        received_at: now,
        thread_index: index.as_deref().map(thread_index::base64),
        participants: participants(&message),
        digest: Some(digest),
    };
    if duplicate || !messages::insert(store, &record)? {
        notes.push(format!(
            "{own_id} was already received; the first copy is kept"
        ));
    }

    let auto_reply = headers
        .as_ref()
        .and_then(|m| autoreply::detect(m.root()))
        .map(|a| AutoReply {
            kind: a.kind,
            reason: a.reason,
        });
    let new_text = message.text.as_deref().map(reply_text::new_text);
    let unsubscribed = match &setup {
        Some(setup) => mailto_unsubscribe(store, env, setup, envelope, &message, &mut notes)?,
        None => None,
    };
    // Bounces and complaints mailed to us (issue 16).
    crate::bounce_path::on_receive(
        store,
        env,
        envelope.mail_from.as_deref(),
        &envelope.rcpt_to,
        raw,
        &mut notes,
    )?;
    Ok(Received {
        message_id: own_id.clone(),
        resolution,
        references: thread::extend(&chain, std::slice::from_ref(&own_id)),
        auto_reply,
        new_text,
        unsubscribed,
        notes,
        message,
    })
}

/// The mailto form of one-click unsubscribe: a message to
/// `unsubscribe@DOMAIN` whose subject holds a token of the setup.
fn mailto_unsubscribe(
    store: &mut dyn Store,
    env: &mut dyn Env,
    setup: &Setup,
    envelope: &Envelope,
    message: &ParsedMessage,
    notes: &mut Vec<String>,
) -> Result<Option<OptOut>, StoreError> {
    let mailbox = format!("unsubscribe@{}", setup.domain);
    if !recipients(envelope, message).contains(&mailbox) {
        return Ok(None);
    }
    let subject = message.subject.as_deref().unwrap_or_default();
    let claim = unsubscribe::from_subject(store, subject)?.filter(|c| c.setup == setup.id);
    let Some(claim) = claim else {
        notes.push(format!(
            "to {mailbox} without a valid unsubscribe token in the subject; nothing was unsubscribed"
        ));
        return Ok(None);
    };
    match unsubscribe::opt_out(store, env, &claim) {
        Ok(out) => Ok(Some(out)),
        Err(UnsubscribeError::Store(m)) => Err(StoreError::Other(m)),
        Err(e) => {
            notes.push(format!("the unsubscribe token was refused: {e}"));
            Ok(None)
        }
    }
}

/// Who may answer a stored message unflagged: for ours, its recipients; for
/// a received one, its From, To and Cc (its envelope recipients too, and
/// for records stored before participants were kept, its sender).
fn participants_of(parent: &MessageRecord) -> Vec<String> {
    let mut out = parent.to.clone();
    if parent.direction == Direction::Inbound {
        out.extend(parent.participants.iter().cloned());
        out.extend(parent.from.iter().cloned());
    }
    out
}

/// The From, To and Cc addresses of a message, lower-case, without repeats.
fn participants(message: &ParsedMessage) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for mailbox in message.from.iter().chain(&message.to).chain(&message.cc) {
        if let Some(address) = mailbox.address.as_deref().map(str::to_ascii_lowercase)
            && !out.contains(&address)
        {
            out.push(address);
        }
    }
    out
}

/// A digest of what was parsed: the addresses, subject, date, bodies and
/// attachments, not the bytes (another copy of the same message differs in
/// its trace fields); hex of the first 16 bytes of a SHA-256.
fn digest(message: &ParsedMessage) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    for list in [&message.from, &message.to, &message.cc] {
        for m in list {
            field(m.address.as_deref().unwrap_or_default().as_bytes());
        }
        field(b"|");
    }
    for text in [
        &message.subject,
        &message.date,
        &message.text,
        &message.html,
    ] {
        field(text.as_deref().unwrap_or_default().as_bytes());
    }
    for a in &message.attachments {
        field(a.filename.as_bytes());
        field(&Sha256::digest(&a.content));
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The 4 "random" bits of a child block we derive for a received message:
/// from its id, so every host derives the same block without drawing from
/// the random source.
fn nibble(id: &str) -> u8 {
    use sha2::{Digest, Sha256};
    Sha256::digest(id.as_bytes())[0] & 0x0F
}

fn kind_name<S: serde::Serializer>(kind: &AutoReplyKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

fn recipients(envelope: &Envelope, message: &ParsedMessage) -> Vec<String> {
    let mut out: Vec<String> = envelope
        .rcpt_to
        .iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    if out.is_empty() {
        out = message
            .to
            .iter()
            .chain(&message.cc)
            .filter_map(|m| m.address.as_deref())
            .map(str::to_ascii_lowercase)
            .collect();
    }
    out
}

fn owning_setup(
    store: &mut dyn Store,
    envelope: &Envelope,
    message: &ParsedMessage,
) -> Result<Option<Setup>, StoreError> {
    for address in recipients(envelope, message) {
        if let Some((_, domain)) = address.rsplit_once('@')
            && let Some(setup) = setups::by_domain(store, domain)?
        {
            return Ok(Some(setup));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::FixedEnv;
    use crate::store::MemoryStore;

    /// A fuzz finding: References quoting the message's own id ended its
    /// chain on another id.
    #[test]
    fn a_message_is_not_its_own_ancestor() {
        let raw = b"From: pat@patient.example\r\nTo: care@clinic.example\r\n\
                    Message-ID: <a1@example.com>\r\nIn-Reply-To: <a1@example.com>\r\n\
                    References: <root@example.com> <a1@example.com> <b2@example.com>\r\n\
                    \r\nHello.\r\n";
        let envelope = Envelope {
            mail_from: None,
            rcpt_to: vec!["care@clinic.example".into()],
        };
        let mut store = MemoryStore::default();
        let mut env = FixedEnv::new(1_772_442_000, 1);
        let received =
            receive(&mut store, &mut env, raw, &envelope, &Limits::default()).expect("received");
        assert_eq!(
            received.references,
            ["root@example.com", "b2@example.com", "a1@example.com"]
        );
        assert!(
            received
                .notes
                .iter()
                .any(|n| n.starts_with("References: the message's own"))
        );
        assert!(
            received
                .notes
                .iter()
                .any(|n| n.starts_with("In-Reply-To: the message's own"))
        );
    }
}
