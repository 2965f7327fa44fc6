//! Text helpers shared by the analyzers: white space, status codes, e-mail
//! addresses and Message-IDs found in free text.

use super::MAX_DIAGNOSTIC_BYTES;

/// White space collapsed to single spaces, trimmed, cut to
/// [`MAX_DIAGNOSTIC_BYTES`] bytes; `None` when empty.
pub fn collapse(text: &str) -> Option<String> {
    let mut out = String::new();
    for word in text.split_whitespace() {
        for c in (!out.is_empty())
            .then_some(' ')
            .into_iter()
            .chain(word.chars())
        {
            if out.len() + c.len_utf8() > MAX_DIAGNOSTIC_BYTES {
                return Some(out);
            }
            out.push(c);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The first enhanced status code `X.Y.Z` (X in 2, 4, 5; Y and Z of one to
/// three digits) standing alone in `text`: not part of an IP address or a
/// version number. A failure code (4.x.x, 5.x.x) is preferred to an earlier
/// success code.
pub fn find_status(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut success: Option<String> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        let prev = i.checked_sub(1).and_then(|p| b.get(p)).copied();
        let starts = matches!(c, b'2' | b'4' | b'5')
            && !prev.is_some_and(|p| p.is_ascii_alphanumeric() || p == b'.' || p == b'-');
        if starts && let Some(len) = status_at(b, i) {
            let found = text.get(i..i + len).map(str::to_string);
            if c != b'2' {
                return found;
            }
            success = success.or(found);
            i += len;
            continue;
        }
        i += 1;
    }
    success
}

fn status_at(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    for _ in 0..2 {
        if b.get(i) != Some(&b'.') {
            return None;
        }
        i += 1;
        let digits = b
            .get(i..)?
            .iter()
            .take(4)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if !(1..=3).contains(&digits) {
            return None;
        }
        i += digits;
    }
    let next = b.get(i).copied();
    let after = b.get(i + 1).copied();
    let continues = next.is_some_and(|n| n.is_ascii_alphanumeric())
        || (next == Some(b'.') && after.is_some_and(|a| a.is_ascii_digit()));
    (!continues).then_some(i - start)
}

/// Whether `s` is exactly an enhanced status code.
pub fn is_status(s: &str) -> bool {
    find_status(s).is_some_and(|f| f.len() == s.len())
}

/// The first SMTP reply code (`4xx` or `5xx`, second digit 0-5) that starts
/// a word and is followed by a space, a hyphen or the end.
pub fn find_reply_code(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    for i in 0..b.len() {
        let Some(&[a, m, z]) = b.get(i..i + 3) else {
            break;
        };
        if !matches!(a, b'4' | b'5') || !(b'0'..=b'5').contains(&m) || !z.is_ascii_digit() {
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| b.get(p)).copied();
        let next = b.get(i + 3).copied();
        let prev_ok = prev.is_none_or(|p| {
            matches!(
                p,
                b' ' | b'\t' | b':' | b'(' | b'[' | b'"' | b'\n' | b'<' | b'='
            )
        });
        let next_ok = next
            .is_none_or(|n| matches!(n, b' ' | b'-' | b'\t' | b'\n' | b'\r' | b')' | b']' | b','));
        if prev_ok && next_ok {
            let code = u16::from(a - b'0') * 100 + u16::from(m - b'0') * 10 + u16::from(z - b'0');
            return Some(code);
        }
    }
    None
}

fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}

fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// The e-mail addresses in `text`, lower-case, in order of appearance,
/// without repeats, at most `max`. A domain needs a dot.
pub fn addresses(text: &str, max: usize) -> Vec<String> {
    let b = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < max {
        if b.get(i) != Some(&b'@') {
            i += 1;
            continue;
        }
        let mut start = i;
        while start > 0 && b.get(start - 1).copied().is_some_and(is_local_byte) {
            start -= 1;
        }
        let mut end = i + 1;
        while b.get(end).copied().is_some_and(is_domain_byte) {
            end += 1;
        }
        let local = text
            .get(start..i)
            .unwrap_or_default()
            .trim_matches(['.', '\'', '=']);
        let domain = text
            .get(i + 1..end)
            .unwrap_or_default()
            .trim_matches(['.', '-']);
        i = end.max(i + 1);
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|l| !l.is_empty() && l.len() <= 63)
            && domain.len() <= 253
            && domain.bytes().any(|c| c.is_ascii_alphabetic());
        if local.is_empty() || local.len() > 64 || !labels_ok {
            continue;
        }
        let address = format!("{local}@{domain}").to_ascii_lowercase();
        if !out.contains(&address) {
            out.push(address);
        }
    }
    out
}

/// The address of a DSN or ARF address field: the part after an address
/// type (`rfc822;`), without brackets, lower-case.
pub fn field_address(value: &str) -> Option<String> {
    let value = match value.split_once(';') {
        Some((kind, rest)) if !kind.contains('@') && !kind.contains(' ') => rest,
        _ => value,
    };
    addresses(value, 1).into_iter().next().or_else(|| {
        let v = value.trim().trim_matches(['<', '>']).trim();
        (v.contains('@') && !v.contains(char::is_whitespace) && v.len() <= 320)
            .then(|| v.to_ascii_lowercase())
    })
}

/// The first Message-ID of a quoted header line (`Message-ID: <id>`) in
/// free text, bare.
pub fn quoted_message_id(text: &str) -> Option<String> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start_matches(['>', ' ', '\t']);
        let Some((name, value)) = t.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let value = value.trim();
        let value = if value.is_empty() {
            lines.next().unwrap_or_default().trim()
        } else {
            value
        };
        let token = value.split_whitespace().next().unwrap_or_default();
        if let Some(id) = crate::ids::bare(token) {
            return Some(id);
        }
    }
    None
}

/// HTML reduced to text: tags removed (block tags become line breaks), the
/// common entities decoded.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(rest.get(..open).unwrap_or_default());
        let after = rest.get(open..).unwrap_or_default();
        let close = after.find('>').unwrap_or(after.len().saturating_sub(1));
        let tag = after.get(1..close).unwrap_or_default().to_ascii_lowercase();
        let name = tag.trim_start_matches('/');
        if ["br", "p", "div", "tr", "li", "table", "h1", "h2", "h3"]
            .iter()
            .any(|t| name.starts_with(t))
        {
            out.push('\n');
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            find_status("550 5.1.1 <a@b.c> unknown"),
            Some("5.1.1".into())
        );
        assert_eq!(find_status("host 192.0.2.1 said 550"), None);
        assert_eq!(find_status("(#5.5.0)"), Some("5.5.0".into()));
        assert_eq!(find_status("#4.4.7."), Some("4.4.7".into()));
        assert_eq!(find_status("v5.1.10x"), None);
        assert_eq!(find_status("5.7.26 DMARC"), Some("5.7.26".into()));
        assert_eq!(
            find_status("250 2.1.5 Ok 451 4.3.0 Error"),
            Some("4.3.0".into())
        );
        assert_eq!(find_status("250 2.1.5 Ok"), Some("2.1.5".into()));
        assert!(is_status("4.2.2"));
    }

    #[test]
    fn reply_codes() {
        assert_eq!(find_reply_code("said: 550 Unknown"), Some(550));
        assert_eq!(find_reply_code("550-5.7.26 x"), Some(550));
        assert_eq!(find_reply_code("port 5870 or 1550"), None);
    }

    #[test]
    fn finds_addresses() {
        let a = addresses("<Kiji@Example.JP>: and x@y, b@c.d. e@192.0.2.1", 10);
        assert_eq!(a, vec!["kiji@example.jp", "b@c.d"]);
        assert!(addresses(&"@".repeat(100_000), 10).is_empty());
        assert_eq!(
            field_address("rfc822; <A@b.example>"),
            Some("a@b.example".into())
        );
    }

    #[test]
    fn collapses_and_cuts() {
        assert_eq!(collapse("  a \n\t b "), Some("a b".into()));
        assert_eq!(
            collapse("é".repeat(600).as_str()).map(|s| s.len()),
            Some(500)
        );
        assert_eq!(collapse(" \n"), None);
    }

    #[test]
    fn quoted_ids() {
        let t = "blah\nMessage-Id: <x@y.example>\n";
        assert_eq!(quoted_message_id(t), Some("x@y.example".into()));
        assert_eq!(
            quoted_message_id("Message-ID:\n <a@b>\n"),
            Some("a@b".into())
        );
    }

    #[test]
    fn strips_html() {
        assert_eq!(strip_html("<p>a&lt;b&gt;</p><br>c"), "\na<b>\n\nc");
        assert_eq!(strip_html("<<<"), "");
    }
}
