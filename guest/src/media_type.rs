//! Media types of outgoing attachments, typed: RFC 2045 5.1
//! `type "/" subtype *(";" parameter)`, names per RFC 6838 4.2, parameter
//! values a `token` or a `quoted-string`. The header is written from the
//! parsed value by the message builder, never copied as text, so nothing in
//! the string can add a parameter, a header or a line.
//!
//! Refused: `multipart/*` and `message/*` (an attachment is one leaf; RFC
//! 2045 6.4 forbids base64 for composite types), comments, non-ASCII,
//! parameters `name`, `filename` and `boundary` (the file name is the
//! attachment's `filename`), RFC 2231 `*` sections (values are re-encoded
//! by the builder as needed), repeated parameters, more than
//! [`MAX_PARAMETERS`] parameters, and more than [`MAX_LEN`] octets.

use std::fmt;

use crate::ids;

/// Longest content type accepted, in octets.
pub const MAX_LEN: usize = 512;
/// Most parameters accepted.
pub const MAX_PARAMETERS: usize = 8;

/// A parsed media type: names lower-cased, parameter values as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// `type/subtype`, lower-case.
    pub essence: String,
    /// `(attribute, value)`: attributes lower-case, in the order given.
    pub parameters: Vec<(String, String)>,
}

impl MediaType {
    /// Whether the top-level type is `text`.
    pub fn is_text(&self) -> bool {
        self.essence.starts_with("text/")
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.essence)?;
        for (k, v) in &self.parameters {
            if !v.is_empty() && v.bytes().all(is_token_byte) {
                write!(f, "; {k}={v}")?;
            } else {
                write!(
                    f,
                    "; {k}=\"{}\"",
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                )?;
            }
        }
        Ok(())
    }
}

/// RFC 2045 `token` characters: printable ASCII but the tspecials.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// RFC 6838 `restricted-name`: 1 to 127 of letters, digits and
/// `!#$&-^_.+`, starting with a letter or digit.
fn is_restricted_name(s: &str) -> bool {
    (1..=127).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
}

/// Parses `input`; the error says what is wrong, for a message naming the
/// field.
pub fn parse(input: &str) -> Result<MediaType, String> {
    let shown = ids::shown(input);
    if input.len() > MAX_LEN {
        return Err(format!("is {} octets, over {MAX_LEN}", input.len()));
    }
    if let Some(c) = input
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_control())
    {
        return Err(format!(
            "{shown} holds {} (U+{:04X}); a media type is printable ASCII",
            if c.is_ascii_control() {
                "a control character"
            } else {
                "a non-ASCII character"
            },
            u32::from(c)
        ));
    }
    let mut rest = input.trim_matches([' ', '\t']);
    let essence_end = rest.find(';').unwrap_or(rest.len());
    let essence = rest[..essence_end].trim_matches([' ', '\t']);
    rest = &rest[essence_end..];
    let Some((kind, subtype)) = essence.split_once('/') else {
        return Err(format!("{shown} is not type/subtype (RFC 2045 5.1)"));
    };
    if !is_restricted_name(kind) || !is_restricted_name(subtype) {
        return Err(format!(
            "{shown} is not type/subtype of letters, digits and !#$&-^_.+ (RFC 6838 4.2)"
        ));
    }
    let kind = kind.to_ascii_lowercase();
    if kind == "multipart" || kind == "message" {
        return Err(format!(
            "{shown} is a composite type; an attachment is one leaf part (send a message as application/octet-stream or text/plain)"
        ));
    }
    let mut parameters: Vec<(String, String)> = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        let Some(after) = rest.strip_prefix(';') else {
            if rest.is_empty() {
                break;
            }
            return Err(format!("{shown}: expected `;` before {}", ids::shown(rest)));
        };
        rest = after.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            // A trailing `;` is common and harmless.
            break;
        }
        let name_end = rest
            .bytes()
            .position(|b| !is_token_byte(b))
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.is_empty() {
            return Err(format!("{shown}: a parameter has no name"));
        }
        if name.contains(['*', '\'', '%']) {
            return Err(format!(
                "{shown}: parameter {name} uses RFC 2231 sections or charsets; give the plain value"
            ));
        }
        let name = name.to_ascii_lowercase();
        rest = rest[name_end..].trim_start_matches([' ', '\t']);
        let Some(after) = rest.strip_prefix('=') else {
            return Err(format!("{shown}: parameter {name} has no `=value`"));
        };
        rest = after.trim_start_matches([' ', '\t']);
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut end = None;
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, e)) => value.push(e),
                        None => break,
                    },
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let Some(end) = end else {
                return Err(format!(
                    "{shown}: the value of {name} opens a quote it never closes"
                ));
            };
            rest = &quoted[end + 1..];
            value
        } else {
            let end = rest
                .bytes()
                .position(|b| !is_token_byte(b))
                .unwrap_or(rest.len());
            if end == 0 {
                return Err(format!("{shown}: parameter {name} has an empty value"));
            }
            let value = rest[..end].to_string();
            rest = &rest[end..];
            value
        };
        if matches!(name.as_str(), "name" | "filename" | "boundary") {
            return Err(format!(
                "{shown}: parameter {name} is not accepted here; the file name is the attachment's filename"
            ));
        }
        if parameters.iter().any(|(n, _)| *n == name) {
            return Err(format!("{shown}: parameter {name} is given twice"));
        }
        if parameters.len() == MAX_PARAMETERS {
            return Err(format!("{shown}: more than {MAX_PARAMETERS} parameters"));
        }
        parameters.push((name, value));
    }
    Ok(MediaType {
        essence: format!("{kind}/{}", subtype.to_ascii_lowercase()),
        parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_string()
    }

    #[test]
    fn parses_and_reserialises() {
        assert_eq!(ok("application/pdf"), "application/pdf");
        assert_eq!(ok(" Image/PNG "), "image/png");
        assert_eq!(
            ok("text/plain; Charset=\"utf-8\";format=flowed;"),
            "text/plain; charset=utf-8; format=flowed"
        );
        assert_eq!(
            ok("application/x-thing; note=\"a \\\"b\\\" c\""),
            "application/x-thing; note=\"a \\\"b\\\" c\""
        );
        assert_eq!(
            ok("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
    }

    #[test]
    fn refuses_what_rfc_2045_does_not_allow() {
        for (input, why) in [
            ("pdf", "type/subtype"),
            ("pdf; x=\"y", "type/subtype"),
            ("application/pdf; x=\"y", "never closes"),
            ("; name=evil.exe", "type/subtype"),
            ("application/pdf; name=evil.exe", "not accepted"),
            ("application/pdf; filename=a.pdf", "not accepted"),
            ("application/pdf; x*=utf-8''a", "RFC 2231"),
            ("application/pdf; x=1; X=2", "twice"),
            ("application/pdf x", "type/subtype"),
            ("application/pdf; =1", "no name"),
            ("application/pdf; x", "no `=value`"),
            ("application/pdf; x=", "empty value"),
            ("application/pdf; x=a b", "expected `;`"),
            ("application/pdf (comment)", "type/subtype"),
            ("application/pdf\u{2028}", "non-ASCII"),
            ("application/pdf\r\nBcc: x@y.example", "control"),
            ("multipart/mixed; boundary=abc", "composite"),
            ("Message/rfc822", "composite"),
            ("a/b/c", "type/subtype"),
        ] {
            let err = parse(input).expect_err(input);
            assert!(err.contains(why), "{input}: {err}");
        }
        let long = format!("application/pdf; x=\"{}\"", "a".repeat(100_000));
        assert!(parse(&long).unwrap_err().contains("over 512"));
        let many: String = (0..9).map(|i| format!("; p{i}=1")).collect();
        assert!(
            parse(&format!("text/plain{many}"))
                .unwrap_err()
                .contains("more than 8")
        );
    }
}
