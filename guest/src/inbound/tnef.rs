//! Outlook's Transport Neutral Encapsulation Format (`winmail.dat`,
//! `application/ms-tnef`; MS-OXTNEF), read for what a recipient needs: the
//! attachments (title, long file name, data, MIME tag, Content-ID, embedded
//! messages) and the message body (attBody, PidTagBody, PidTagBodyHtml).
//!
//! A stream is a signature, a legacy key and attributes; an attribute is a
//! level (message or attachment), an id whose high word is its type, a
//! length, the data and a checksum (little-endian throughout). attAttachment
//! and attMsgProps hold MAPI property lists. Written from the specification;
//! the `tnef` crate reads no MAPI properties, so it has no long file names,
//! MIME tags or embedded messages.

/// The stream's first four bytes (0x223E9F78, little-endian).
pub const SIGNATURE: [u8; 4] = [0x78, 0x9F, 0x3E, 0x22];

const LEVEL_MESSAGE: u8 = 1;
const LEVEL_ATTACHMENT: u8 = 2;

// Attribute ids (type in the high word), MS-OXTNEF 2.1.3.3.
const ATT_BODY: u32 = 0x0002_800C;
const ATT_MSG_PROPS: u32 = 0x0006_9003;
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACHMENT: u32 = 0x0006_9005;

// MAPI property ids (MS-OXPROPS).
const PID_BODY: u16 = 0x1000;
const PID_BODY_HTML: u16 = 0x1013;
const PID_DISPLAY_NAME: u16 = 0x3001;
const PID_ATTACH_DATA: u16 = 0x3701;
const PID_ATTACH_FILENAME: u16 = 0x3704;
const PID_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PID_ATTACH_MIME_TAG: u16 = 0x370E;
const PID_ATTACH_CONTENT_ID: u16 = 0x3712;

// MAPI property types.
const PT_SHORT: u16 = 0x0002;
const PT_LONG: u16 = 0x0003;
const PT_FLOAT: u16 = 0x0004;
const PT_DOUBLE: u16 = 0x0005;
const PT_CURRENCY: u16 = 0x0006;
const PT_APPTIME: u16 = 0x0007;
const PT_ERROR: u16 = 0x000A;
const PT_BOOLEAN: u16 = 0x000B;
const PT_OBJECT: u16 = 0x000D;
const PT_I8: u16 = 0x0014;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_SYSTIME: u16 = 0x0040;
const PT_CLSID: u16 = 0x0048;
const PT_SVREID: u16 = 0x00FB;
const PT_SRESTRICT: u16 = 0x00FD;
const PT_ACTIONS: u16 = 0x00FE;
const PT_BINARY: u16 = 0x0102;
const MV_FLAG: u16 = 0x1000;

/// A decoded stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tnef {
    /// The attachments in stream order.
    pub attachments: Vec<TnefAttachment>,
    /// The plain-text body (attBody, else PidTagBody), if any.
    pub text: Option<String>,
    /// The HTML body (PidTagBodyHtml), if any.
    pub html: Option<String>,
}

/// One attachment of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TnefAttachment {
    /// PidTagAttachLongFilename, else attAttachTitle, else
    /// PidTagAttachFilename, else PidTagDisplayName.
    pub filename: Option<String>,
    /// PidTagAttachMimeTag, lower-case `type/subtype`, if valid.
    pub mime_tag: Option<String>,
    /// PidTagAttachContentId without angle brackets.
    pub content_id: Option<String>,
    /// attAttachData or PidTagAttachDataBinary; for an embedded message the
    /// message's own TNEF stream (PidTagAttachDataObject after its IID).
    pub content: Vec<u8>,
    /// True for an embedded message (an Outlook item attached to the mail).
    pub embedded: bool,
}

/// Why a stream was not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TnefError {
    /// The data does not start with the TNEF signature.
    NotTnef,
    /// The stream ends inside an attribute or a property.
    Truncated(String),
    /// A level or property type the format does not have.
    Malformed(String),
    /// More attachments than the caller allows.
    TooManyAttachments,
}

impl std::fmt::Display for TnefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TnefError::NotTnef => f.write_str("no TNEF signature"),
            TnefError::Truncated(what) => write!(f, "truncated TNEF stream: {what}"),
            TnefError::Malformed(what) => write!(f, "malformed TNEF stream: {what}"),
            TnefError::TooManyAttachments => f.write_str("too many TNEF attachments"),
        }
    }
}

/// Whether `data` starts as a TNEF stream does.
pub fn has_signature(data: &[u8]) -> bool {
    data.starts_with(&SIGNATURE)
}

/// Decodes a stream holding at most `max_attachments` attachments.
pub fn decode(data: &[u8], max_attachments: usize) -> Result<Tnef, TnefError> {
    if !has_signature(data) {
        return Err(TnefError::NotTnef);
    }
    let mut r = Reader { data, at: 4 };
    r.take(2, "the legacy key")?;
    let mut tnef = Tnef::default();
    let mut codepage = 1252u32;
    let mut current: Option<Partial> = None;
    let mut done: Vec<Partial> = Vec::new();
    while r.remaining() > 0 {
        let level = r.u8("an attribute level")?;
        let id = r.u32("an attribute id")?;
        let len = r.u32("an attribute length")? as usize;
        let value = r.take(len, "an attribute's data")?;
        // The checksum (the sum of the data bytes) is not checked: writers
        // that get it wrong still carry the attachments.
        r.take(2, "an attribute checksum")?;
        match level {
            LEVEL_MESSAGE => match id {
                ATT_OEM_CODEPAGE => {
                    if let Some(cp) = value.get(..4) {
                        codepage = u32::from_le_bytes([cp[0], cp[1], cp[2], cp[3]]);
                    }
                }
                ATT_BODY => tnef.text = Some(string8(value, codepage)),
                ATT_MSG_PROPS => {
                    for p in properties(value)? {
                        match (p.id, p.value) {
                            (PID_BODY, Value::Text(t)) if tnef.text.is_none() => {
                                tnef.text = Some(t.decode(codepage));
                            }
                            (PID_BODY_HTML, Value::Text(t)) => {
                                tnef.html = Some(t.decode(codepage));
                            }
                            (PID_BODY_HTML, Value::Binary(b)) => {
                                tnef.html = Some(String::from_utf8_lossy(b).into_owned());
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            },
            LEVEL_ATTACHMENT => {
                if id == ATT_ATTACH_REND_DATA {
                    done.extend(current.take());
                    if done.len() >= max_attachments {
                        return Err(TnefError::TooManyAttachments);
                    }
                }
                let attachment = current.get_or_insert_with(Partial::default);
                match id {
                    ATT_ATTACH_TITLE => attachment.title = Some(string8(value, codepage)),
                    ATT_ATTACH_DATA => attachment.data = Some(value),
                    ATT_ATTACHMENT => {
                        for p in properties(value)? {
                            attachment.property(p, codepage);
                        }
                    }
                    _ => {}
                }
            }
            other => {
                return Err(TnefError::Malformed(format!(
                    "attribute level {other} at byte {}",
                    r.at - len - 11
                )));
            }
        }
    }
    done.extend(current.take());
    for partial in done {
        if let Some(attachment) = partial.finish() {
            if tnef.attachments.len() >= max_attachments {
                return Err(TnefError::TooManyAttachments);
            }
            tnef.attachments.push(attachment);
        }
    }
    Ok(tnef)
}

/// An attachment while its attributes are read.
#[derive(Default)]
struct Partial<'a> {
    title: Option<String>,
    long_name: Option<String>,
    short_name: Option<String>,
    display_name: Option<String>,
    mime_tag: Option<String>,
    content_id: Option<String>,
    data: Option<&'a [u8]>,
    binary: Option<&'a [u8]>,
    object: Option<&'a [u8]>,
}

impl<'a> Partial<'a> {
    fn property(&mut self, p: Property<'a>, codepage: u32) {
        let text = |v: &Value<'_>| match v {
            Value::Text(t) => Some(t.decode(codepage)).filter(|s| !s.is_empty()),
            _ => None,
        };
        match p.id {
            PID_ATTACH_LONG_FILENAME => self.long_name = text(&p.value),
            PID_ATTACH_FILENAME => self.short_name = text(&p.value),
            PID_DISPLAY_NAME => self.display_name = text(&p.value),
            PID_ATTACH_MIME_TAG => self.mime_tag = text(&p.value).and_then(|t| media_type(&t)),
            PID_ATTACH_CONTENT_ID => {
                self.content_id = text(&p.value).map(|t| {
                    t.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                });
            }
            PID_ATTACH_DATA => match p.value {
                Value::Binary(b) => self.binary = Some(b),
                // An embedded message: its IID (16 bytes), then its stream.
                Value::Object(b) => self.object = Some(b.get(16..).unwrap_or_default()),
                _ => {}
            },
            _ => {}
        }
    }

    fn finish(self) -> Option<TnefAttachment> {
        let (content, embedded) = match (self.object, self.data, self.binary) {
            (Some(object), _, _) if has_signature(object) => (object, true),
            (_, Some(data), _) => (data, false),
            (_, None, Some(binary)) => (binary, false),
            _ => return None,
        };
        let filename = self
            .long_name
            .or(self.title)
            .or(self.short_name)
            .or(self.display_name);
        Some(TnefAttachment {
            filename,
            mime_tag: self.mime_tag,
            content_id: self.content_id.filter(|c| !c.is_empty()),
            content: content.to_vec(),
            embedded,
        })
    }
}

/// A media type as `type/subtype`, lower-case, without parameters.
fn media_type(tag: &str) -> Option<String> {
    let tag = tag.split(';').next()?.trim().to_ascii_lowercase();
    let (main, sub) = tag.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    (token(main) && token(sub)).then_some(tag)
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.at
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], TnefError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| {
                TnefError::Truncated(format!(
                    "{what} of {n} bytes at byte {} runs past the end ({} bytes)",
                    self.at,
                    self.data.len()
                ))
            })?;
        let slice = &self.data[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self, what: &str) -> Result<u8, TnefError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, TnefError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, TnefError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Skips the padding to the next multiple of 4 of `len`.
    fn pad(&mut self, len: usize, what: &str) -> Result<(), TnefError> {
        self.take((4 - len % 4) % 4, what).map(|_| ())
    }
}

/// A string property's bytes: 8-bit in the stream's code page, or UTF-16LE.
#[derive(Debug, Clone, Copy)]
enum Text<'a> {
    Eight(&'a [u8]),
    Wide(&'a [u8]),
}

impl Text<'_> {
    fn decode(self, codepage: u32) -> String {
        match self {
            Text::Eight(b) => string8(b, codepage),
            Text::Wide(b) => {
                let units: Vec<u16> = b
                    .as_chunks::<2>()
                    .0
                    .iter()
                    .map(|c| u16::from_le_bytes(*c))
                    .collect();
                let s = String::from_utf16_lossy(&units);
                s.trim_end_matches('\0').to_string()
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Text(Text<'a>),
    Binary(&'a [u8]),
    Object(&'a [u8]),
    Other,
}

struct Property<'a> {
    id: u16,
    value: Value<'a>,
}

/// A MAPI property list (MS-OXTNEF 2.1.3.4): a count, then per property
/// its type, id, name (for named properties, id >= 0x8000) and values. A
/// multi-valued property keeps its first value.
fn properties(data: &[u8]) -> Result<Vec<Property<'_>>, TnefError> {
    let mut r = Reader { data, at: 0 };
    let count = r.u32("a property count")?;
    // Every property takes at least 8 bytes: a count beyond that is a lie.
    if count as usize > data.len() / 8 {
        return Err(TnefError::Malformed(format!(
            "{count} properties in {} bytes",
            data.len()
        )));
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let kind = r.u16("a property type")?;
        let id = r.u16("a property id")?;
        if id >= 0x8000 {
            r.take(16, "a named property's GUID")?;
            match r.u32("a named property's kind")? {
                0 => {
                    r.u32("a named property's id")?;
                }
                1 => {
                    let len = r.u32("a named property's name length")? as usize;
                    r.take(len, "a named property's name")?;
                    r.pad(len, "a named property's name padding")?;
                }
                other => {
                    return Err(TnefError::Malformed(format!("named property kind {other}")));
                }
            }
        }
        let multi = kind & MV_FLAG != 0;
        let base = kind & !MV_FLAG;
        let values = match base {
            PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT | PT_SVREID | PT_SRESTRICT
            | PT_ACTIONS => r.u32("a value count")?,
            _ if multi => r.u32("a value count")?,
            _ => 1,
        };
        if values as usize > r.remaining() / 4 + 1 {
            return Err(TnefError::Malformed(format!(
                "{values} values of property {id:#06x}"
            )));
        }
        let mut first = None;
        for _ in 0..values {
            let value = match base {
                PT_SHORT | PT_BOOLEAN => {
                    r.take(4, "a 2-byte value and its padding")?;
                    Value::Other
                }
                PT_LONG | PT_FLOAT | PT_ERROR => {
                    r.take(4, "a 4-byte value")?;
                    Value::Other
                }
                PT_DOUBLE | PT_CURRENCY | PT_APPTIME | PT_I8 | PT_SYSTIME => {
                    r.take(8, "an 8-byte value")?;
                    Value::Other
                }
                PT_CLSID => {
                    r.take(16, "a GUID value")?;
                    Value::Other
                }
                PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT | PT_SVREID | PT_SRESTRICT
                | PT_ACTIONS => {
                    let len = r.u32("a value length")? as usize;
                    let bytes = r.take(len, "a value")?;
                    r.pad(len, "a value's padding")?;
                    match base {
                        PT_STRING8 => Value::Text(Text::Eight(bytes)),
                        PT_UNICODE => Value::Text(Text::Wide(bytes)),
                        PT_OBJECT => Value::Object(bytes),
                        _ => Value::Binary(bytes),
                    }
                }
                other => {
                    return Err(TnefError::Malformed(format!(
                        "property {id:#06x} has type {other:#06x}"
                    )));
                }
            };
            first.get_or_insert(value);
        }
        out.push(Property {
            id,
            value: first.unwrap_or(Value::Other),
        });
    }
    Ok(out)
}

/// An 8-bit string in `codepage`, up to its first NUL.
fn string8(bytes: &[u8], codepage: u32) -> String {
    let bytes = bytes.split(|&b| b == 0).next().unwrap_or_default();
    if let Ok(s) = std::str::from_utf8(bytes)
        && (bytes.is_ascii() || codepage == 65001)
    {
        return s.to_string();
    }
    let label = match codepage {
        65001 => "utf-8".to_string(),
        932 => "shift_jis".to_string(),
        936 => "gbk".to_string(),
        949 => "euc-kr".to_string(),
        950 => "big5".to_string(),
        20866 => "koi8-r".to_string(),
        28591..=28599 => format!("iso-8859-{}", codepage - 28590),
        1250..=1258 => format!("windows-{codepage}"),
        _ => "windows-1252".to_string(),
    };
    let charset = mail_parser::Charset::from_label(label.as_bytes())
        .or_else(|| mail_parser::Charset::from_label(b"windows-1252"))
        .unwrap_or_default();
    charset.decode(bytes).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    //! Streams built here from MS-OXTNEF's layout, independently of the
    //! decoder (tests/fixtures/generate.py builds the fixtures' streams the
    //! same way, in Python).
    use super::*;

    /// A stream writer: attributes and MAPI property lists.
    pub(crate) struct Writer(pub Vec<u8>);

    impl Writer {
        pub(crate) fn new() -> Self {
            let mut out = SIGNATURE.to_vec();
            out.extend_from_slice(&0x1234u16.to_le_bytes());
            Writer(out)
        }

        pub(crate) fn attribute(mut self, level: u8, id: u32, data: &[u8]) -> Self {
            self.0.push(level);
            self.0.extend_from_slice(&id.to_le_bytes());
            self.0.extend_from_slice(&(data.len() as u32).to_le_bytes());
            self.0.extend_from_slice(data);
            let sum = data.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
            self.0.extend_from_slice(&sum.to_le_bytes());
            self
        }
    }

    fn padded(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
        out.resize(out.len() + (4 - bytes.len() % 4) % 4, 0);
    }

    pub(crate) fn unicode(s: &str) -> Vec<u8> {
        let mut b: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        b.extend_from_slice(&[0, 0]);
        b
    }

    /// A property list of variable-length values `(type, id, bytes)`, with
    /// one fixed PT_LONG (PidTagAttachMethod) first.
    pub(crate) fn props(items: &[(u16, u16, Vec<u8>)], method: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(items.len() as u32 + 1).to_le_bytes());
        out.extend_from_slice(&PT_LONG.to_le_bytes());
        out.extend_from_slice(&0x3705u16.to_le_bytes());
        out.extend_from_slice(&method.to_le_bytes());
        for (kind, id, bytes) in items {
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            padded(&mut out, bytes);
        }
        out
    }

    fn two_files() -> Vec<u8> {
        let long = "Befund vom 3. März 2026 – Röntgen, vollständig (Seite 1 bis 12).pdf";
        Writer::new()
            .attribute(1, 0x0008_9006, &[0, 0, 1, 0])
            .attribute(1, ATT_OEM_CODEPAGE, &[0xE4, 0x04, 0, 0, 0, 0, 0, 0])
            .attribute(1, ATT_BODY, b"See the attached files.\r\n\0")
            .attribute(
                2,
                ATT_ATTACH_REND_DATA,
                &[1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0],
            )
            .attribute(2, ATT_ATTACH_TITLE, b"BEFUND~1.PDF\0")
            .attribute(2, ATT_ATTACH_DATA, b"%PDF-1.4 one")
            .attribute(
                2,
                ATT_ATTACHMENT,
                &props(
                    &[
                        (PT_UNICODE, PID_ATTACH_LONG_FILENAME, unicode(long)),
                        (
                            PT_STRING8,
                            PID_ATTACH_MIME_TAG,
                            b"application/pdf\0".to_vec(),
                        ),
                    ],
                    1,
                ),
            )
            .attribute(
                2,
                ATT_ATTACH_REND_DATA,
                &[1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0],
            )
            .attribute(2, ATT_ATTACH_TITLE, b"caf\xe9.png\0")
            .attribute(2, ATT_ATTACH_DATA, b"\x89PNG two")
            .0
    }

    #[test]
    fn reads_titles_long_names_data_and_mime_tags() {
        let t = decode(&two_files(), 100).expect("decoded");
        assert_eq!(t.text.as_deref(), Some("See the attached files.\r\n"));
        assert_eq!(t.attachments.len(), 2);
        let a = &t.attachments[0];
        assert_eq!(
            a.filename.as_deref(),
            Some("Befund vom 3. März 2026 – Röntgen, vollständig (Seite 1 bis 12).pdf")
        );
        assert_eq!(a.mime_tag.as_deref(), Some("application/pdf"));
        assert_eq!(a.content, b"%PDF-1.4 one");
        let b = &t.attachments[1];
        assert_eq!(b.filename.as_deref(), Some("café.png"));
        assert_eq!(b.mime_tag, None);
        assert_eq!(b.content, b"\x89PNG two");
    }

    #[test]
    fn an_embedded_message_is_its_own_stream() {
        let inner = Writer::new().attribute(1, ATT_BODY, b"inner\0").0;
        let mut object = vec![0u8; 16];
        object.extend_from_slice(&inner);
        let outer = Writer::new()
            .attribute(2, ATT_ATTACH_REND_DATA, &[2, 0, 0, 0])
            .attribute(2, ATT_ATTACH_TITLE, b"Lab results\0")
            .attribute(
                2,
                ATT_ATTACHMENT,
                &props(&[(PT_OBJECT, PID_ATTACH_DATA, object)], 5),
            )
            .0;
        let t = decode(&outer, 10).expect("decoded");
        assert_eq!(t.attachments.len(), 1);
        assert!(t.attachments[0].embedded);
        assert_eq!(t.attachments[0].content, inner);
        assert_eq!(
            decode(&inner, 10).expect("inner").text.as_deref(),
            Some("inner")
        );
    }

    #[test]
    fn truncation_and_garbage_are_errors_never_panics() {
        let full = two_files();
        for cut in 0..full.len() {
            // A cut between two attributes is a shorter stream; any other
            // cut is an error.
            let _ = decode(&full[..cut], 100);
        }
        assert!(matches!(
            decode(&full[..full.len() - 1], 100),
            Err(TnefError::Truncated(_))
        ));
        assert_eq!(decode(b"not tnef", 10), Err(TnefError::NotTnef));
        let mut bad = full.clone();
        bad[6] = 9;
        assert!(matches!(decode(&bad, 10), Err(TnefError::Malformed(_))));
        assert_eq!(decode(&full, 1), Err(TnefError::TooManyAttachments));
    }

    /// The corpus's real streams (Amazon WorkMail bounces: message
    /// properties only) decode, without a note, when the corpus is there.
    #[test]
    fn real_streams_from_the_corpus_decode() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus/sisimai-set-of-emails/maildir/bsd");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut seen = 0;
        for entry in entries.flatten() {
            let raw = std::fs::read(entry.path()).unwrap_or_default();
            let Ok(parsed) = crate::inbound::parse(&raw, &Default::default()) else {
                continue;
            };
            for a in &parsed.attachments {
                if a.content_type == "application/ms-tnef" {
                    seen += 1;
                    assert!(
                        decode(&a.content, 100).is_ok(),
                        "{}",
                        entry.path().display()
                    );
                }
            }
            assert!(
                parsed.notes.is_empty(),
                "{}: {:?}",
                entry.path().display(),
                parsed.notes
            );
        }
        assert!(seen > 0 || !dir.join("lhost-amazonworkmail-01.eml").exists());
    }
}
