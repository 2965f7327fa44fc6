//! Inbound mail: raw MIME in, a [`ParsedMessage`] out, with every attachment
//! of the whole MIME tree. The contract is documented on the WIT `inbound`
//! interface.

pub mod autoreply;
pub mod cid;
pub mod filename;
pub mod headers;
mod limits;
pub mod receive;
pub mod reply_text;
pub mod tnef;
pub mod uuencode;

pub use limits::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PARTS, LimitKind, Limits, MAX_MAX_BYTES,
    MAX_MAX_DEPTH, MAX_MAX_PARTS, Resolved,
};

use mail_parser::{AddressList, MessageParser, MessagePart, PartFlags, PartKind};

/// One mailbox of an address header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Option<String>,
}

/// How a part asked to be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    Attachment,
    Inline,
    Unspecified,
}

impl Disposition {
    /// The WIT name of the case.
    pub fn name(self) -> &'static str {
        match self {
            Disposition::Attachment => "attachment",
            Disposition::Inline => "inline",
            Disposition::Unspecified => "unspecified",
        }
    }
}

/// One attachment or inline part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content_id: Option<String>,
    pub disposition: Disposition,
    pub inline: bool,
    pub content: Vec<u8>,
}

/// A parsed inbound message.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ParsedMessage {
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub subject: Option<String>,
    pub date: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The top-level header fields in order, under the caps in [`headers`].
    pub headers: Vec<headers::Header>,
    /// What parsing kept as it was and why (a `winmail.dat` that did not
    /// decode). Not part of `parse`'s answer; `receive` reports them.
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl serde::Serialize for Attachment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut r = s.serialize_struct("attachment", 7)?;
        r.serialize_field("filename", &self.filename)?;
        r.serialize_field("content-type", &self.content_type)?;
        r.serialize_field("content-id", &self.content_id)?;
        r.serialize_field("disposition", &self.disposition)?;
        r.serialize_field("inline", &self.inline)?;
        r.serialize_field("size", &(self.content.len() as u64))?;
        struct Bytes<'a>(&'a [u8]);
        impl serde::Serialize for Bytes<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                crate::bytes_as_text::serialize(self.0, s)
            }
        }
        r.serialize_field("content", &Bytes(&self.content))?;
        r.end()
    }
}

/// Why no message was returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    LimitExceeded { limit: LimitKind, value: u64 },
    InvalidLimits(String),
    Malformed(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            ParseError::LimitExceeded { .. } => "limit-exceeded",
            ParseError::InvalidLimits(_) => "invalid-limits",
            ParseError::Malformed(_) => "malformed",
        };
        write!(f, "{kind}: {}", self.message())
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// A sentence for people.
    pub fn message(&self) -> String {
        match self {
            ParseError::LimitExceeded { limit, value } => {
                let what = match limit {
                    LimitKind::MaxBytes => "the message is larger than",
                    LimitKind::MaxDepth => "the MIME structure is nested deeper than",
                    LimitKind::MaxParts => "the message has more MIME parts than",
                };
                format!("{what} the limit {} = {value}", limit.name())
            }
            ParseError::InvalidLimits(message) | ParseError::Malformed(message) => message.clone(),
        }
    }
}

impl serde::Serialize for ParseError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeStruct};
        let mut outer = s.serialize_map(Some(1))?;
        match self {
            ParseError::LimitExceeded { limit, value } => {
                struct Limit<'a>(&'a LimitKind, u64, String);
                impl serde::Serialize for Limit<'_> {
                    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        let mut r = s.serialize_struct("limit-exceeded", 3)?;
                        r.serialize_field("limit", self.0.name())?;
                        r.serialize_field("value", &self.1)?;
                        r.serialize_field("message", &self.2)?;
                        r.end()
                    }
                }
                outer.serialize_entry("limit-exceeded", &Limit(limit, *value, self.message()))?;
            }
            ParseError::InvalidLimits(m) => outer.serialize_entry("invalid-limits", m)?,
            ParseError::Malformed(m) => outer.serialize_entry("malformed", m)?,
        }
        outer.end()
    }
}

/// Parses one message under `limits`.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<ParsedMessage, ParseError> {
    let limits = limits.resolve()?;
    if raw.len() as u64 > limits.max_bytes {
        return Err(ParseError::LimitExceeded {
            limit: LimitKind::MaxBytes,
            value: limits.max_bytes,
        });
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Malformed("the input is empty".into()));
    }
    let raw = prepared(raw);
    let raw = without_header_block_if_none(raw.as_ref());
    let message = MessageParser::new()
        .max_depth(limits.max_depth as usize)
        .max_parts(limits.max_parts as usize)
        .parse(raw.as_ref())
        .ok_or_else(|| ParseError::Malformed("the input has no header and no body".into()))?;
    check_limits(&message, &limits)?;

    let root = message.root();
    let mut parsed = ParsedMessage {
        message_id: root.message_id().map(str::to_string),
        in_reply_to: root
            .in_reply_to()
            .map(|l| strings(l.iter()))
            .unwrap_or_default(),
        references: root
            .references()
            .map(|l| strings(l.iter()))
            .unwrap_or_default(),
        from: mailboxes(root.from()),
        to: mailboxes(root.to()),
        cc: mailboxes(root.cc()),
        reply_to: mailboxes(root.reply_to()),
        subject: subject(&root),
        date: root.date().filter(|d| d.is_valid()).map(|d| d.to_rfc3339()),
        headers: headers::headers(&root),
        ..ParsedMessage::default()
    };

    // Attachments unpacked from winmail.dat count as parts.
    let mut tnef_parts = 0;
    let (mut tnef_text, mut tnef_html) = (None, None);
    // Parts of the root message in document order; an enclosed message's
    // parts belong to that message and are not visited.
    for part in root.parts() {
        match classify(&part) {
            Leaf::Container => {}
            Leaf::Text => append(&mut parsed.text, &body_text(&part)),
            Leaf::Html => append(&mut parsed.html, &body_text(&part)),
            Leaf::Message => {
                let content = part.decoded().into_owned();
                let subject = MessageParser::new()
                    .parse_headers(&content)
                    .and_then(|m| m.root().subject().map(str::to_string));
                parsed.attachments.push(Attachment {
                    filename: filename::for_message(attachment_name(&part), subject.as_deref()),
                    content_type: content_type(&part),
                    content_id: part.content_id().map(str::to_string),
                    disposition: disposition(&part),
                    inline: false,
                    content,
                });
            }
            Leaf::Attachment => {
                let content_type = content_type(&part);
                let position = parsed.attachments.len() + 1;
                let (content, uu_name) = decoded(&part);
                let filename = attachment_name(&part)
                    .and_then(filename::sanitize)
                    .or_else(|| uu_name.as_deref().and_then(filename::sanitize))
                    .unwrap_or_else(|| filename::unnamed(position, &content_type));
                let tnef = is_tnef(&content_type, &filename);
                parsed.attachments.push(Attachment {
                    filename,
                    content_type,
                    content_id: part.content_id().map(str::to_string),
                    disposition: disposition(&part),
                    inline: false,
                    content,
                });
                if tnef {
                    let parts = message.parts().len() + tnef_parts;
                    let (added, text, html) =
                        unpack_tnef(&mut parsed, parts, part_depth(&part), &limits)?;
                    tnef_parts += added;
                    tnef_text = tnef_text.or(text);
                    tnef_html = tnef_html.or(html);
                }
            }
        }
    }
    // The TNEF body stands in where the MIME message has none of its own.
    if parsed.text.is_none() {
        parsed.text = tnef_text;
    }
    if parsed.html.is_none() {
        parsed.html = tnef_html;
    }

    if let Some(html) = &parsed.html {
        let referenced = cid::references(html);
        for attachment in &mut parsed.attachments {
            let Some(id) = &attachment.content_id else {
                continue;
            };
            if referenced.contains(&cid::normalize(id)) {
                attachment.inline = true;
                if let Some(name) = filename::sanitize(id) {
                    attachment.filename = name;
                }
            }
        }
    }
    Ok(parsed)
}

/// The input as the MIME parser reads it: an input whose only line breaks
/// are bare CRs (old Mac mailers) gets CRLFs, and leading lines of only
/// spaces and tabs are skipped (some mailers and archives write one before
/// the headers). An empty first line still means "no headers" (RFC 5322).
pub fn prepared(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let mut raw = std::borrow::Cow::Borrowed(raw);
    if !raw.contains(&b'\n') && raw.contains(&b'\r') {
        let mut crlf = Vec::with_capacity(raw.len() + raw.len() / 16);
        for &b in raw.iter() {
            crlf.push(b);
            if b == b'\r' {
                crlf.push(b'\n');
            }
        }
        raw = std::borrow::Cow::Owned(crlf);
    }
    let mut start = 0;
    loop {
        let rest = &raw[start..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
        if line.is_empty() || !line.iter().all(|&b| b == b' ' || b == b'\t') {
            break;
        }
        start += end + 1;
    }
    match raw {
        _ if start == 0 => raw,
        std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(&b[start..]),
        std::borrow::Cow::Owned(mut b) => {
            b.drain(..start);
            std::borrow::Cow::Owned(b)
        }
    }
}

/// The transfer-decoded body of a leaf, with uuencode (which the MIME
/// parser leaves as it is) decoded too, and the file name its `begin` line
/// gave.
fn decoded(part: &MessagePart<'_>) -> (Vec<u8>, Option<String>) {
    if is_uuencoded(part) {
        return uuencode::decode(part.raw_body());
    }
    (part.decoded().into_owned(), None)
}

fn is_uuencoded(part: &MessagePart<'_>) -> bool {
    part.headers()
        .get("Content-Transfer-Encoding")
        .is_some_and(|h| uuencode::is_uuencode(h.raw_value()))
}

/// Outlook's `winmail.dat`: by media type, or by name when the type says
/// nothing more than octets.
fn is_tnef(content_type: &str, filename: &str) -> bool {
    matches!(
        content_type,
        "application/ms-tnef" | "application/vnd.ms-tnef"
    ) || (filename.eq_ignore_ascii_case("winmail.dat")
        && matches!(content_type, "application/octet-stream" | "text/plain"))
}

/// The depth of a part: the top-level part is at 1.
fn part_depth(part: &MessagePart<'_>) -> u64 {
    let mut depth = 1;
    let mut at = part.parent();
    while let Some(parent) = at {
        depth += 1;
        at = parent.parent();
    }
    depth
}

/// Lists the attachments of the `winmail.dat` just pushed after it, in
/// stream order, one level deeper than it and counted as parts (`parts`
/// already counted); returns how many, and the stream's bodies. A stream
/// that does not decode stays the opaque part, with a note.
fn unpack_tnef(
    parsed: &mut ParsedMessage,
    parts: usize,
    depth: u64,
    limits: &Resolved,
) -> Result<(usize, Option<String>, Option<String>), ParseError> {
    let Some(container) = parsed.attachments.last() else {
        return Ok((0, None, None));
    };
    let name = container.filename.clone();
    let room = (limits.max_parts as usize).saturating_sub(parts);
    let stream = match tnef::decode(&container.content, room) {
        Ok(stream) => stream,
        Err(tnef::TnefError::TooManyAttachments) => {
            return Err(ParseError::LimitExceeded {
                limit: LimitKind::MaxParts,
                value: limits.max_parts.into(),
            });
        }
        Err(e) => {
            parsed
                .notes
                .push(format!("{name}: {e}; kept as it is, not unpacked"));
            return Ok((0, None, None));
        }
    };
    if !stream.attachments.is_empty() && depth + 1 > u64::from(limits.max_depth) {
        return Err(ParseError::LimitExceeded {
            limit: LimitKind::MaxDepth,
            value: limits.max_depth.into(),
        });
    }
    let added = stream.attachments.len();
    for a in stream.attachments {
        let position = parsed.attachments.len() + 1;
        let content_type = match (&a.mime_tag, a.embedded) {
            (_, true) => "application/ms-tnef".to_string(),
            (Some(tag), false) => tag.clone(),
            (None, false) => filename::media_type_of(a.filename.as_deref().unwrap_or_default()),
        };
        let filename = match (a.embedded, a.filename.as_deref()) {
            (true, own) => filename::for_tnef_message(own),
            (false, own) => own
                .and_then(filename::sanitize)
                .unwrap_or_else(|| filename::unnamed(position, &content_type)),
        };
        parsed.attachments.push(Attachment {
            filename,
            content_type,
            content_id: a.content_id,
            disposition: Disposition::Attachment,
            inline: false,
            content: a.content,
        });
    }
    Ok((added, stream.text, stream.html))
}

/// Input whose first line is neither a header field nor blank has no header
/// block: it is all body, rather than a first line lost as a broken field.
/// An mbox `From ` envelope line is skipped.
fn without_header_block_if_none(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let line_end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
    let first = &raw[..line_end];
    if first.starts_with(b"From ") {
        return std::borrow::Cow::Borrowed(raw.get(line_end + 1..).unwrap_or_default());
    }
    let blank = first.iter().all(u8::is_ascii_whitespace);
    if blank || first.contains(&b':') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut body = Vec::with_capacity(raw.len() + 2);
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(raw);
    std::borrow::Cow::Owned(body)
}

/// The file name of a part: Content-Disposition `filename`, else Content-Type
/// `name`. When a field carries both the plain and the RFC 2231 extended form
/// (`filename*`), the extended one wins, as RFC 2231 intends.
fn attachment_name<'m>(part: &MessagePart<'m>) -> Option<&'m str> {
    let from = |field: Option<mail_parser::ContentType<'m>>, header: &str, param: &str| {
        let field = field?;
        let mut values = field
            .attributes()
            .filter(|(name, _)| *name == param)
            .map(|(_, v)| v);
        let first = values.next()?;
        let Some(second) = values.next() else {
            return Some(first);
        };
        let raw = part
            .headers()
            .get(header)
            .map(|h| h.raw_value())
            .unwrap_or_default();
        let lower = String::from_utf8_lossy(raw).to_ascii_lowercase();
        let plain_first = lower.find(&format!("{param}=")) < lower.find(&format!("{param}*"));
        Some(if plain_first { second } else { first })
    };
    from(
        part.content_disposition(),
        "Content-Disposition",
        "filename",
    )
    .or_else(|| from(part.content_type(), "Content-Type", "name"))
}

/// The parser keeps content past a limit in a flagged part; that content
/// would be missing from the answer, so it is an error instead.
fn check_limits(message: &mail_parser::Message<'_>, limits: &Resolved) -> Result<(), ParseError> {
    let parts = message.parts();
    let count = parts.len();
    let mut reached = false;
    for part in parts {
        if part.flags().contains(PartFlags::LIMIT_REACHED) {
            reached = true;
            break;
        }
    }
    if !reached {
        return Ok(());
    }
    Err(if count as u64 >= u64::from(limits.max_parts) {
        ParseError::LimitExceeded {
            limit: LimitKind::MaxParts,
            value: limits.max_parts.into(),
        }
    } else {
        ParseError::LimitExceeded {
            limit: LimitKind::MaxDepth,
            value: limits.max_depth.into(),
        }
    })
}

enum Leaf {
    Container,
    Text,
    Html,
    Message,
    Attachment,
}

fn classify(part: &MessagePart<'_>) -> Leaf {
    let content_type = content_type(part);
    match part.kind() {
        PartKind::Message(_) => return Leaf::Message,
        // A multipart whose boundary never appears keeps its content as a
        // preamble: shown as text rather than dropped.
        PartKind::Multipart if part.children().len() > 0 => return Leaf::Container,
        PartKind::Multipart if part.raw_body().iter().all(u8::is_ascii_whitespace) => {
            return Leaf::Container;
        }
        PartKind::Multipart => return Leaf::Text,
        _ => {}
    }
    if content_type == "message/rfc822" || content_type == "message/global" {
        return Leaf::Message;
    }
    let named = attachment_name(part).is_some();
    if named || disposition(part) == Disposition::Attachment {
        return Leaf::Attachment;
    }
    match content_type.as_str() {
        "text/plain" => Leaf::Text,
        "text/html" => Leaf::Html,
        _ => Leaf::Attachment,
    }
}

/// Lower-case `type/subtype`; `text/plain` when absent, as RFC 2045 says.
fn content_type(part: &MessagePart<'_>) -> String {
    let Some(ct) = part.content_type() else {
        let digest = part
            .parent()
            .is_some_and(|p| p.is_content_type("multipart", "digest"));
        return if digest {
            "message/rfc822"
        } else {
            "text/plain"
        }
        .to_string();
    };
    let main = ct.ctype().trim().to_ascii_lowercase();
    match ct.subtype().map(|s| s.trim().to_ascii_lowercase()) {
        Some(sub) if !sub.is_empty() => format!("{main}/{sub}"),
        _ if main == "text" => "text/plain".to_string(),
        _ => "application/octet-stream".to_string(),
    }
}

fn disposition(part: &MessagePart<'_>) -> Disposition {
    match part.content_disposition() {
        Some(d) if d.ctype().eq_ignore_ascii_case("attachment") => Disposition::Attachment,
        Some(d) if d.ctype().eq_ignore_ascii_case("inline") => Disposition::Inline,
        _ => Disposition::Unspecified,
    }
}

fn body_text(part: &MessagePart<'_>) -> String {
    if part.is_multipart() {
        return String::from_utf8_lossy(part.raw_body()).into_owned();
    }
    if is_uuencoded(part) {
        let (bytes, _) = decoded(part);
        let charset = part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .and_then(|label| mail_parser::Charset::from_label(label.as_bytes()))
            .unwrap_or_default();
        return charset.decode(&bytes).into_owned();
    }
    match part.text() {
        Some(text) => text.into_owned(),
        None => String::from_utf8_lossy(&part.decoded()).into_owned(),
    }
}

fn append(body: &mut Option<String>, text: &str) {
    match body {
        None => *body = Some(text.to_string()),
        Some(existing) => {
            if !existing.is_empty() && !existing.ends_with('\n') {
                existing.push('\n');
            }
            existing.push_str(text);
        }
    }
}

/// The Subject, decoded. Adjacent encoded words in a stateful charset
/// (ISO-2022-JP) are decoded one at a time when decoding them together gave
/// a replacement character, since each word ends in its own reset sequence.
fn subject(root: &mail_parser::MessageRef<'_>) -> Option<String> {
    let subject = root.subject()?;
    if !subject.contains('\u{FFFD}') {
        return Some(subject.to_string());
    }
    let raw = root.headers().get("Subject").map(|h| h.raw_value())?;
    let raw = String::from_utf8_lossy(raw);
    let mut out = String::new();
    let mut previous_encoded = false;
    for token in raw.split_whitespace() {
        let encoded = token.starts_with("=?") && token.ends_with("?=");
        if !out.is_empty() && !(encoded && previous_encoded) {
            out.push(' ');
        }
        if encoded {
            let word = format!(" {token}\r\n");
            let parsed = mail_parser::HeaderForm::Text.parse(word.as_bytes());
            out.push_str(parsed.value().as_text().unwrap_or(token));
        } else {
            out.push_str(token);
        }
        previous_encoded = encoded;
    }
    Some(if out.contains('\u{FFFD}') {
        subject.to_string()
    } else {
        out
    })
}

fn strings<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    items.map(str::to_string).collect()
}

fn mailboxes(list: Option<AddressList<'_>>) -> Vec<Mailbox> {
    let Some(list) = list else { return Vec::new() };
    list.mailboxes()
        .filter(|m| m.name().is_some() || m.address().is_some())
        .map(|m| Mailbox {
            name: m.name().map(str::to_string),
            address: m.address().map(str::to_string),
        })
        .collect()
}

#[cfg(test)]
mod tests;
