//! `cid:` URLs in an HTML body (RFC 2392), for telling inline images from
//! downloads.

use std::collections::BTreeSet;

/// The Content-IDs that `html` references by `cid:` URLs: percent-decoded,
/// angle brackets stripped, ASCII lower-cased (the comparison is
/// case-insensitive).
pub fn references(html: &str) -> BTreeSet<String> {
    let bytes = html.as_bytes();
    let mut found = BTreeSet::new();
    let mut at = 0;
    while let Some(offset) = find_ascii_ci(&bytes[at..], b"cid:") {
        let start = at + offset;
        at = start + 4;
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'-') {
            continue;
        }
        let rest = &bytes[at..];
        let len = rest
            .iter()
            .enumerate()
            .position(|(i, &b)| {
                b.is_ascii_whitespace()
                    || matches!(b, b'"' | b'\'' | b')' | b'>')
                    || (b == b'<' && i > 0)
            })
            .unwrap_or(rest.len());
        let id = normalize(&percent_decode(&rest[..len]));
        if !id.is_empty() {
            found.insert(id);
        }
        at += len;
    }
    found
}

/// A Content-ID as compared with references: brackets stripped,
/// ASCII lower-cased.
pub fn normalize(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_ascii_lowercase()
}

fn find_ascii_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn percent_decode(input: &[u8]) -> String {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                input.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                input.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_in_attributes_and_css() {
        let html = r#"<img src="cid:Image001.PNG@01D9">
            <img src='CID:logo%40example.com'>
            <div style="background:url(cid:bg@x)"></div>
            <img src="cid:%3Cbracketed@x%3E">
            <p>acid:not-a-ref</p>"#;
        let refs: Vec<_> = references(html).into_iter().collect();
        assert_eq!(
            refs,
            [
                "bg@x",
                "bracketed@x",
                "image001.png@01d9",
                "logo@example.com"
            ]
        );
    }

    #[test]
    fn normalizes_content_ids() {
        assert_eq!(normalize(" <Part1.ABC@host> "), "part1.abc@host");
    }
}
