//! The WIT adapter: bindings and conversions only; decisions live in the
//! domain modules.

use crate::inbound as domain;

wit_bindgen::generate!({
    path: "../wit",
    world: "mailroom",
});

use exports::mailroom::channel::inbound;

struct Component;

impl inbound::Guest for Component {
    fn parse(
        raw: Vec<u8>,
        limits: inbound::Limits,
    ) -> Result<inbound::ParsedMessage, inbound::ParseError> {
        let limits = domain::Limits {
            max_bytes: limits.max_bytes,
            max_depth: limits.max_depth,
            max_parts: limits.max_parts,
        };
        domain::parse(&raw, &limits)
            .map(parsed_message)
            .map_err(parse_error)
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
