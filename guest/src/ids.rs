//! Message-IDs: reduced to the bare msg-id grammar (RFC 5322 3.6.4) before
//! they are stored or echoed, so nothing taken from inbound mail can reach a
//! header it was not meant for.

/// Longest id kept, in bytes.
pub const MAX_ID_BYTES: usize = 250;

/// The bare form of an id (`left@right`, no brackets, no white space), or
/// `None` when it is not a msg-id. One pair of surrounding angle brackets and
/// surrounding white space are removed; anything else outside the grammar
/// rejects the id.
pub fn bare(id: &str) -> Option<String> {
    let id = id.trim();
    let id = id
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id);
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return None;
    }
    let (left, right) = id.rsplit_once('@')?;
    let dot_atom = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
            && s.bytes().all(|b| is_atext(b) || b == b'.')
    };
    let literal = |s: &str| {
        s.len() >= 2
            && s.starts_with('[')
            && s.ends_with(']')
            && s[1..s.len() - 1]
                .bytes()
                .all(|b| (33..=126).contains(&b) && !matches!(b, b'[' | b']' | b'\\'))
    };
    (dot_atom(left) && (dot_atom(right) || literal(right))).then(|| id.to_string())
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// Keeps ids that reduce to the grammar, in order and without repeats; each
/// one dropped adds a note.
pub fn bare_all<'a>(
    ids: impl IntoIterator<Item = &'a String>,
    what: &str,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        match bare(id) {
            Some(id) if !out.contains(&id) => out.push(id),
            Some(_) => {}
            None => notes.push(format!(
                "{what}: dropped an id that is not a msg-id: {}",
                shown(id)
            )),
        }
    }
    out
}

/// An id as it may be shown in a note: control characters escaped, cut to
/// 80 characters.
pub fn shown(id: &str) -> String {
    let escaped: String = id.chars().flat_map(char::escape_default).collect();
    if escaped.chars().count() > 80 {
        format!("{}…", escaped.chars().take(80).collect::<String>())
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduces_to_the_grammar() {
        for (input, expected) in [
            ("<a.b@example.com>", Some("a.b@example.com")),
            ("  a@b  ", Some("a@b")),
            ("a@[127.0.0.1]", Some("a@[127.0.0.1]")),
            ("a@b\r\nBcc: x@y", None),
            ("a b@c", None),
            ("<a@b", None),
            ("a@b>", None),
            ("<<a@b>>", None),
            ("no-at-sign", None),
            ("@b", None),
            ("a@", None),
            ("a..b@c", None),
            ("a\"b@c", None),
        ] {
            assert_eq!(bare(input).as_deref(), expected, "{input:?}");
        }
        assert_eq!(bare(&format!("{}@b", "a".repeat(5000))), None);
    }
}
