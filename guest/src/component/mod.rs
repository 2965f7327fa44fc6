//! The WIT adapter: bindings and conversions only; decisions live in the
//! domain modules.

use crate::inbound as domain;

mod delivery;
mod tracking;

wit_bindgen::generate!({
    path: "../wit",
    world: "mailroom",
});

use exports::mailroom::channel::{inbound, outbound, setups, use_cases};
use mailroom::channel::{store as wit_store, transport as wit_transport};

use crate::store::{Entry, Expect, Page, Store, StoreError};
use crate::transport::{Outgoing, Transport, TransportError};
use crate::{env, outbound as out, setups as setup_domain, tenant, use_cases as uc_domain};

struct Component;

/// The host's store, through the `store` import.
struct HostStore;

impl Store for HostStore {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError> {
        wit_store::get(key)
            .map(|e| {
                e.map(|e| Entry {
                    value: e.value,
                    version: e.version,
                })
            })
            .map_err(store_error)
    }

    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError> {
        wit_store::put(key, value, wit_expect(expect)).map_err(store_error)
    }

    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError> {
        wit_store::delete(key, wit_expect(expect)).map_err(store_error)
    }

    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        wit_store::list(prefix, cursor, limit)
            .map(|p| Page {
                keys: p.keys,
                cursor: p.cursor,
            })
            .map_err(store_error)
    }
}

fn wit_expect(expect: Expect) -> wit_store::Expect {
    match expect {
        Expect::Absent => wit_store::Expect::Absent,
        Expect::Version(v) => wit_store::Expect::Version(v),
        Expect::Any => wit_store::Expect::Any,
    }
}

fn store_error(e: wit_store::StoreError) -> StoreError {
    match e {
        wit_store::StoreError::Conflict(m) => StoreError::Conflict(m),
        wit_store::StoreError::Unavailable(m) => StoreError::Unavailable(m),
        wit_store::StoreError::Other(m) => StoreError::Other(m),
    }
}

/// The host's transport, through the `transport` import.
struct HostTransport;

impl Transport for HostTransport {
    fn submit(&mut self, m: &Outgoing) -> Result<(), TransportError> {
        let outgoing = wit_transport::Outgoing {
            message_id: m.message_id.clone(),
            envelope: wit_transport::Envelope {
                mail_from: m.envelope.mail_from.clone(),
                rcpt_to: m.envelope.rcpt_to.clone(),
            },
            raw: m.raw.clone(),
        };
        wit_transport::submit(&outgoing).map_err(|e| match e {
            wit_transport::TransportError::Rejected(m) => TransportError::Rejected(m),
            wit_transport::TransportError::Unavailable(m) => TransportError::Unavailable(m),
            wit_transport::TransportError::Other(m) => TransportError::Other(m),
        })
    }
}

/// Time and randomness from `wasi:clocks/wall-clock` and `wasi:random/random`.
struct HostEnv;

impl env::Env for HostEnv {
    fn now(&mut self) -> i64 {
        wasip2::clocks::wall_clock::now().seconds as i64
    }

    fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        wasip2::random::random::get_random_bytes(n as u64)
    }
}

impl setups::Guest for Component {
    fn create(
        workspace: String,
        domain: String,
        options: setups::SetupOptions,
    ) -> Result<setups::Setup, setups::SetupError> {
        let options = setup_domain::SetupOptions {
            inbound_host: options.inbound_host,
            spf_include: options.spf_include,
            unsubscribe_base: options.unsubscribe_base,
            pending_ttl: options.pending_ttl,
            bounce_domain: options.bounce_domain,
        };
        setup_domain::create(&mut HostStore, &mut HostEnv, &workspace, &domain, &options)
            .map(wit_setup)
            .map_err(setup_error)
    }

    fn get(workspace: String, id: String) -> Result<setups::Setup, setups::SetupError> {
        tenant::setups_get(&mut HostStore, &mut HostEnv, &workspace, &id)
            .map(wit_setup)
            .map_err(setup_error)
    }

    fn list(workspace: String) -> Result<Vec<setups::Setup>, setups::SetupError> {
        tenant::setups_list(&mut HostStore, &mut HostEnv, &workspace)
            .map(|l| l.into_iter().map(wit_setup).collect())
            .map_err(setup_error)
    }

    fn lookups(workspace: String, id: String) -> Result<Vec<setups::Lookup>, setups::SetupError> {
        tenant::setups_lookups(&mut HostStore, &workspace, &id)
            .map(|list| {
                list.into_iter()
                    .map(|l| setups::Lookup {
                        name: l.name,
                        type_: wit_record_type(l.kind),
                    })
                    .collect()
            })
            .map_err(setup_error)
    }

    fn verify(
        workspace: String,
        id: String,
        answers: Vec<setups::DnsAnswer>,
    ) -> Result<setups::Verification, setups::SetupError> {
        use setup_domain::DnsResult as D;
        let answers: Vec<setup_domain::DnsAnswer> = answers
            .into_iter()
            .map(|a| setup_domain::DnsAnswer {
                name: a.name,
                kind: match a.type_ {
                    setups::RecordType::Txt => setup_domain::RecordType::Txt,
                    setups::RecordType::Mx => setup_domain::RecordType::Mx,
                },
                result: match a.result {
                    setups::DnsResult::Txt(t) => D::Txt(t),
                    setups::DnsResult::Mx(m) => D::Mx(
                        m.into_iter()
                            .map(|m| setup_domain::MxAnswer {
                                preference: m.preference,
                                exchange: m.exchange,
                            })
                            .collect(),
                    ),
                    setups::DnsResult::NoSuchName => D::NoSuchName,
                    setups::DnsResult::NoRecords => D::NoRecords,
                    setups::DnsResult::Timeout => D::Timeout,
                    setups::DnsResult::ServerFailure(m) => D::ServerFailure(m),
                },
            })
            .collect();
        tenant::setups_verify(&mut HostStore, &mut HostEnv, &workspace, &id, &answers)
            .map(|v| setups::Verification {
                setup: wit_setup(v.setup),
                checks: v
                    .checks
                    .into_iter()
                    .map(|c| setups::RecordCheck {
                        record: wit_record(c.record),
                        state: match c.state {
                            setup_domain::RecordState::Verified => setups::RecordState::Verified,
                            setup_domain::RecordState::Missing(m) => {
                                setups::RecordState::Missing(m)
                            }
                            setup_domain::RecordState::Mismatched(f) => {
                                setups::RecordState::Mismatched(f)
                            }
                        },
                    })
                    .collect(),
            })
            .map_err(setup_error)
    }

    fn rotate_dkim(workspace: String, id: String) -> Result<setups::Setup, setups::SetupError> {
        tenant::setups_rotate_dkim(&mut HostStore, &mut HostEnv, &workspace, &id)
            .map(wit_setup)
            .map_err(setup_error)
    }
}

fn wit_record_type(kind: setup_domain::RecordType) -> setups::RecordType {
    match kind {
        setup_domain::RecordType::Txt => setups::RecordType::Txt,
        setup_domain::RecordType::Mx => setups::RecordType::Mx,
    }
}

fn wit_record(r: setup_domain::DnsRecord) -> setups::DnsRecord {
    use setup_domain::RecordPurpose as P;
    setups::DnsRecord {
        purpose: match r.purpose {
            P::Dkim => setups::RecordPurpose::Dkim,
            P::InboundMx => setups::RecordPurpose::InboundMx,
            P::Spf => setups::RecordPurpose::Spf,
            P::Dmarc => setups::RecordPurpose::Dmarc,
            P::BounceMx => setups::RecordPurpose::BounceMx,
            P::BounceSpf => setups::RecordPurpose::BounceSpf,
        },
        name: r.name,
        type_: wit_record_type(r.kind),
        value: r.value,
        required: r.required,
    }
}

fn wit_setup(s: setup_domain::Setup) -> setups::Setup {
    use setup_domain::SetupStatus as S;
    setups::Setup {
        id: s.id,
        workspace: s.workspace,
        domain: s.domain,
        status: match s.status {
            S::Pending => setups::SetupStatus::Pending,
            S::Verified => setups::SetupStatus::Verified,
            S::Failed => setups::SetupStatus::Failed,
            S::Expired => setups::SetupStatus::Expired,
        },
        selector: s.selector,
        next_selector: s.next_selector,
        records: s.records.into_iter().map(wit_record).collect(),
        created_at: s.created_at,
        expires_at: s.expires_at,
    }
}

fn setup_error(e: setup_domain::SetupError) -> setups::SetupError {
    use setup_domain::SetupError as D;
    match e {
        D::InvalidDomain(m) => setups::SetupError::InvalidDomain(m),
        D::InvalidWorkspace(m) => setups::SetupError::InvalidWorkspace(m),
        D::InvalidOptions(m) => setups::SetupError::InvalidOptions(m),
        D::DomainTaken(m) => setups::SetupError::DomainTaken(m),
        D::NotFound(m) => setups::SetupError::NotFound(m),
        D::Expired(m) => setups::SetupError::Expired(m),
        D::KeyGeneration(m) => setups::SetupError::KeyGeneration(m),
        D::Store(m) => setups::SetupError::Store(m),
    }
}

impl use_cases::Guest for Component {
    fn create(
        workspace: String,
        setup: String,
        sender: String,
        kind: use_cases::UseCaseType,
        entity_name: String,
        use_case_name: String,
    ) -> Result<use_cases::UseCase, use_cases::UseCaseError> {
        let kind = match kind {
            use_cases::UseCaseType::Transactional => uc_domain::UseCaseType::Transactional,
            use_cases::UseCaseType::Marketing => uc_domain::UseCaseType::Marketing,
        };
        tenant::use_cases_create(
            &mut HostStore,
            &mut HostEnv,
            &workspace,
            &setup,
            &sender,
            kind,
            &entity_name,
            &use_case_name,
        )
        .map(wit_use_case)
        .map_err(use_case_error)
    }

    fn get(workspace: String, id: String) -> Result<use_cases::UseCase, use_cases::UseCaseError> {
        tenant::use_cases_get(&mut HostStore, &workspace, &id)
            .map(wit_use_case)
            .map_err(use_case_error)
    }

    fn list(
        workspace: String,
        setup: String,
    ) -> Result<Vec<use_cases::UseCase>, use_cases::UseCaseError> {
        tenant::use_cases_list(&mut HostStore, &workspace, &setup)
            .map(|l| l.into_iter().map(wit_use_case).collect())
            .map_err(use_case_error)
    }

    fn disable(
        workspace: String,
        id: String,
    ) -> Result<use_cases::UseCase, use_cases::UseCaseError> {
        tenant::use_cases_disable(&mut HostStore, &workspace, &id)
            .map(wit_use_case)
            .map_err(use_case_error)
    }

    fn set_list_unsubscribe(
        workspace: String,
        id: String,
        enabled: bool,
    ) -> Result<use_cases::UseCase, use_cases::UseCaseError> {
        tenant::use_cases_set_list_unsubscribe(&mut HostStore, &workspace, &id, enabled)
            .map(wit_use_case)
            .map_err(use_case_error)
    }
}

fn wit_use_case(u: uc_domain::UseCase) -> use_cases::UseCase {
    use_cases::UseCase {
        id: u.id,
        setup: u.setup,
        sender: u.sender,
        type_: match u.kind {
            uc_domain::UseCaseType::Transactional => use_cases::UseCaseType::Transactional,
            uc_domain::UseCaseType::Marketing => use_cases::UseCaseType::Marketing,
        },
        entity_name: u.entity_name,
        use_case_name: u.use_case_name,
        enabled: u.enabled,
        list_unsubscribe: u.list_unsubscribe,
    }
}

fn use_case_error(e: uc_domain::UseCaseError) -> use_cases::UseCaseError {
    use uc_domain::UseCaseError as D;
    match e {
        D::UnknownSetup(m) => use_cases::UseCaseError::UnknownSetup(m),
        D::SetupNotVerified(m) => use_cases::UseCaseError::SetupNotVerified(m),
        D::InvalidSender(m) => use_cases::UseCaseError::InvalidSender(m),
        D::InvalidName(m) => use_cases::UseCaseError::InvalidName(m),
        D::NameTaken(m) => use_cases::UseCaseError::NameTaken(m),
        D::NotFound(m) => use_cases::UseCaseError::NotFound(m),
        D::MarketingNeedsUnsubscribe(m) => use_cases::UseCaseError::MarketingNeedsUnsubscribe(m),
        D::Store(m) => use_cases::UseCaseError::Store(m),
    }
}

impl outbound::Guest for Component {
    fn send(
        workspace: String,
        r: outbound::SendRequest,
    ) -> Result<outbound::Sent, outbound::SendError> {
        let recipients = |list: Vec<outbound::Recipient>| {
            list.into_iter()
                .map(|r| out::Recipient {
                    name: r.name,
                    address: r.address,
                })
                .collect()
        };
        let request = out::SendRequest {
            use_case: r.use_case,
            to: recipients(r.to),
            cc: recipients(r.cc),
            subject: r.subject,
            text: r.text,
            html: r.html,
            attachments: r
                .attachments
                .into_iter()
                .map(|a| out::OutgoingAttachment {
                    filename: a.filename,
                    content_type: a.content_type,
                    content_id: a.content_id,
                    content: a.content,
                })
                .collect(),
            in_reply_to: r.in_reply_to,
            idempotency_key: r.idempotency_key,
        };
        tenant::send(
            &mut HostStore,
            &mut HostTransport,
            &mut HostEnv,
            &workspace,
            &request,
        )
        .map(|s| outbound::Sent {
            message_id: s.message_id,
            thread_id: s.thread_id,
            in_reply_to: s.in_reply_to,
            references: s.references,
            size: s.size,
            unsubscribe_url: s.unsubscribe_url,
            replayed: s.replayed,
        })
        .map_err(|e| {
            use out::SendError as D;
            match e {
                D::UnknownUseCase(m) => outbound::SendError::UnknownUseCase(m),
                D::UseCaseDisabled(m) => outbound::SendError::UseCaseDisabled(m),
                D::SetupNotVerified(m) => outbound::SendError::SetupNotVerified(m),
                D::InvalidRequest(m) => outbound::SendError::InvalidRequest(m),
                D::InvalidHeader(m) => outbound::SendError::InvalidHeader(m),
                D::UnknownParent(m) => outbound::SendError::UnknownParent(m),
                D::CrossUseCase(m) => outbound::SendError::CrossUseCase(m),
                D::Suppressed(list) => outbound::SendError::Suppressed(
                    list.into_iter().map(delivery::wit_suppression).collect(),
                ),
                D::Paused(p) => outbound::SendError::Paused(delivery::wit_pause(p)),
                D::Transport(m) => outbound::SendError::Transport(m),
                D::Store(m) => outbound::SendError::Store(m),
                D::TooManyRecipients(m) => outbound::SendError::TooManyRecipients(m),
                D::Smtputf8Required(m) => outbound::SendError::Smtputf8Required(m),
                D::Signing(m) => outbound::SendError::Signing(m),
                D::IdempotencyKeyReused(m) => outbound::SendError::IdempotencyKeyReused(m),
                D::IdempotencyInProgress(m) => outbound::SendError::IdempotencyInProgress(m),
            }
        })
    }

    fn report(
        message_id: String,
        outcome: outbound::DeliveryOutcome,
    ) -> Result<(), outbound::ReportError> {
        let outcome = match outcome {
            outbound::DeliveryOutcome::Accepted(id) => out::DeliveryOutcome::Accepted(id),
            outbound::DeliveryOutcome::Failed(m) => out::DeliveryOutcome::Failed(m),
        };
        out::report(&mut HostStore, &message_id, &outcome).map_err(|e| {
            use out::ReportError as D;
            match e {
                D::UnknownMessage(m) => outbound::ReportError::UnknownMessage(m),
                D::InvalidId(m) => outbound::ReportError::InvalidId(m),
                D::Store(m) => outbound::ReportError::Store(m),
            }
        })
    }
}

impl inbound::Guest for Component {
    fn parse(
        raw: Vec<u8>,
        limits: inbound::Limits,
    ) -> Result<inbound::ParsedMessage, inbound::ParseError> {
        domain::parse(&raw, &domain_limits(limits))
            .map(parsed_message)
            .map_err(parse_error)
    }

    fn receive(
        raw: Vec<u8>,
        envelope: inbound::Envelope,
        limits: inbound::Limits,
    ) -> Result<inbound::Received, inbound::ReceiveError> {
        let envelope = domain::receive::Envelope {
            mail_from: envelope.mail_from,
            rcpt_to: envelope.rcpt_to,
        };
        domain::receive::receive(
            &mut HostStore,
            &mut HostEnv,
            &raw,
            &envelope,
            &domain_limits(limits),
        )
        .map(received)
        .map_err(|e| match e {
            domain::receive::ReceiveError::Parse(e) => inbound::ReceiveError::Parse(parse_error(e)),
            domain::receive::ReceiveError::Store(m) => inbound::ReceiveError::Store(m),
        })
    }
}

fn domain_limits(limits: inbound::Limits) -> domain::Limits {
    domain::Limits {
        max_bytes: limits.max_bytes,
        max_depth: limits.max_depth,
        max_parts: limits.max_parts,
    }
}

fn received(r: domain::receive::Received) -> inbound::Received {
    use domain::autoreply::AutoReplyKind;
    use domain::receive::Resolution;
    inbound::Received {
        message_id: r.message_id,
        resolution: match r.resolution {
            Resolution::Matched(a) => inbound::Resolution::Matched(inbound::Association {
                workspace: a.workspace,
                setup: a.setup,
                use_case: a.use_case,
                thread_id: a.thread_id,
                parent_message_id: a.parent_message_id,
                sender_mismatch: a.sender_mismatch,
            }),
            Resolution::Unmatched(m) => inbound::Resolution::Unmatched(m),
        },
        references: r.references,
        auto_reply: r.auto_reply.map(|a| inbound::AutoReply {
            kind: match a.kind {
                AutoReplyKind::AutoReplied => inbound::AutoReplyKind::AutoReplied,
                AutoReplyKind::AutoGenerated => inbound::AutoReplyKind::AutoGenerated,
                AutoReplyKind::Bulk => inbound::AutoReplyKind::Bulk,
                AutoReplyKind::OutOfOffice => inbound::AutoReplyKind::OutOfOffice,
            },
            reason: a.reason,
        }),
        new_text: r.new_text,
        unsubscribed: r.unsubscribed.map(delivery::wit_opt_out),
        notes: r.notes,
        message: parsed_message(r.message),
    }
}

fn parsed_message(m: domain::ParsedMessage) -> inbound::ParsedMessage {
    inbound::ParsedMessage {
        message_id: m.message_id,
        in_reply_to: m.in_reply_to,
        references: m.references,
        from: mailboxes(m.from),
        to: mailboxes(m.to),
        cc: mailboxes(m.cc),
        reply_to: mailboxes(m.reply_to),
        subject: m.subject,
        date: m.date,
        text: m.text,
        html: m.html,
        attachments: m.attachments.into_iter().map(attachment).collect(),
        headers: m
            .headers
            .into_iter()
            .map(|h| inbound::Header {
                name: h.name,
                value: h.value,
            })
            .collect(),
    }
}

fn mailboxes(list: Vec<domain::Mailbox>) -> Vec<inbound::Mailbox> {
    list.into_iter()
        .map(|m| inbound::Mailbox {
            name: m.name,
            address: m.address,
        })
        .collect()
}

fn attachment(a: domain::Attachment) -> inbound::Attachment {
    inbound::Attachment {
        filename: a.filename,
        content_type: a.content_type,
        content_id: a.content_id,
        disposition: match a.disposition {
            domain::Disposition::Attachment => inbound::Disposition::Attachment,
            domain::Disposition::Inline => inbound::Disposition::Inline,
            domain::Disposition::Unspecified => inbound::Disposition::Unspecified,
        },
        inline: a.inline,
        size: a.content.len() as u64,
        content: a.content,
    }
}

fn parse_error(e: domain::ParseError) -> inbound::ParseError {
    let message = e.message();
    match e {
        domain::ParseError::LimitExceeded { limit, value } => {
            inbound::ParseError::LimitExceeded(inbound::LimitExceeded {
                limit: match limit {
                    domain::LimitKind::MaxBytes => inbound::LimitKind::MaxBytes,
                    domain::LimitKind::MaxDepth => inbound::LimitKind::MaxDepth,
                    domain::LimitKind::MaxParts => inbound::LimitKind::MaxParts,
                },
                value,
                message,
            })
        }
        domain::ParseError::InvalidLimits(_) => inbound::ParseError::InvalidLimits(message),
        domain::ParseError::Malformed(_) => inbound::ParseError::Malformed(message),
    }
}

export!(Component);
