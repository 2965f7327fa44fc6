//! The raw header fields of the top-level message, in order, each with its
//! decoded value, under fixed caps (documented on the WIT `header` record).

use mail_parser::HeaderForm;

/// Most header fields listed; later fields are left out.
pub const MAX_HEADERS: usize = 1000;
/// Longest value listed, in bytes of UTF-8; a longer value is cut to this
/// many bytes at a character boundary.
pub const MAX_HEADER_VALUE_BYTES: usize = 65536;
/// Most bytes of names and values listed in all; the field that would pass
/// it, and every later one, is left out.
pub const MAX_HEADER_TOTAL_BYTES: usize = 1024 * 1024;

/// One header field: its name as written and its decoded value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// The header fields of `root`, in order, under the caps.
pub fn headers(root: &mail_parser::MessageRef<'_>) -> Vec<Header> {
    let mut out = Vec::new();
    let mut total = 0usize;
    for field in root.headers().iter().take(MAX_HEADERS) {
        let name = field.raw_name().trim();
        let parsed = field.parse_as(HeaderForm::Text);
        let text = parsed.value().as_text().unwrap_or_default();
        let value = cut(text.trim(), MAX_HEADER_VALUE_BYTES);
        total = total.saturating_add(name.len()).saturating_add(value.len());
        if total > MAX_HEADER_TOTAL_BYTES {
            break;
        }
        out.push(Header {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    out
}

/// The longest prefix of `text` of at most `max` bytes that ends at a
/// character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::{Limits, parse};

    fn listed(raw: &str) -> Vec<(String, String)> {
        parse(raw.as_bytes(), &Limits::default())
            .expect("a message")
            .headers
            .into_iter()
            .map(|h| (h.name, h.value))
            .collect()
    }

    #[test]
    fn in_order_with_names_as_written_and_values_decoded() {
        let got = listed(
            "Received: from a\r\n by b; Tue, 1 Jul 2025 10:00:00 +0000\r\n\
             X-Mailgun-Tag: =?utf-8?q?caf=C3=A9?=\r\n\
             received: from c\r\n\
             List-Id: Clinic news <news.clinic.example>\r\n\
             Subject:   spaced   \r\n\
             \r\n\
             body\r\n",
        );
        let want = [
            ("Received", "from a by b; Tue, 1 Jul 2025 10:00:00 +0000"),
            ("X-Mailgun-Tag", "café"),
            ("received", "from c"),
            ("List-Id", "Clinic news <news.clinic.example>"),
            ("Subject", "spaced"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_body_without_header_lists_none() {
        assert!(listed("just some text\r\n").is_empty());
    }

    #[test]
    fn count_is_capped() {
        let mut raw = String::new();
        for i in 0..MAX_HEADERS + 5 {
            raw.push_str(&format!("X-N: {i}\r\n"));
        }
        raw.push_str("\r\nbody\r\n");
        let got = listed(&raw);
        assert_eq!(got.len(), MAX_HEADERS);
        assert_eq!(got[MAX_HEADERS - 1].1, (MAX_HEADERS - 1).to_string());
    }

    #[test]
    fn a_long_value_is_cut_at_a_character_boundary() {
        let raw = format!(
            "X-Long: a{}\r\n\r\nbody\r\n",
            "é".repeat(MAX_HEADER_VALUE_BYTES)
        );
        let got = listed(&raw);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.len() <= MAX_HEADER_VALUE_BYTES);
        assert!(got[0].1.len() >= MAX_HEADER_VALUE_BYTES - 1);
    }

    #[test]
    fn total_is_capped() {
        let value = "v".repeat(MAX_HEADER_VALUE_BYTES);
        let mut raw = String::new();
        for _ in 0..20 {
            raw.push_str(&format!("X-Big: {value}\r\n"));
        }
        raw.push_str("\r\nbody\r\n");
        let got = listed(&raw);
        let total: usize = got.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(total <= MAX_HEADER_TOTAL_BYTES);
        assert_eq!(got.len(), MAX_HEADER_TOTAL_BYTES / (value.len() + 5));
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("aé", 3), "aé");
        assert_eq!(cut("", 0), "");
    }
}
