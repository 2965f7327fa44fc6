//! `Content-Transfer-Encoding: x-uuencode` (also `uuencode`, `x-uue`, `uue`):
//! the encoding of Outlook Express and older mailers, which no RFC defines.
//! A body is a `begin MODE NAME` line, lines of encoded bytes (the first
//! character gives the line's byte count, each 4 characters 3 bytes, both
//! offset by 32, with `` ` `` for zero), and `end`.

/// Whether a Content-Transfer-Encoding value names uuencode.
pub fn is_uuencode(value: &[u8]) -> bool {
    let value = String::from_utf8_lossy(value);
    // Comments and parameters are not part of the token.
    let token = value
        .split(['(', ';'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        token.as_str(),
        "x-uuencode" | "uuencode" | "x-uue" | "uue" | "x-uuencoded"
    )
}

/// The decoded bytes and the file name of the `begin` line, if it gave one.
/// Lines before `begin` are skipped (without a `begin` line every line is
/// data); decoding stops at `end` or a zero-length line. A line shorter than
/// its count says (encoders strip trailing blanks) is read as if padded.
pub fn decode(body: &[u8]) -> (Vec<u8>, Option<String>) {
    let lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    let begin = lines.iter().position(|l| l.starts_with(b"begin "));
    let name = begin.and_then(|i| begin_name(lines[i]));
    let data_lines = match begin {
        Some(i) => &lines[i + 1..],
        None => &lines[..],
    };
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for line in data_lines {
        if line.is_empty() {
            continue;
        }
        if *line == b"end" || line.starts_with(b"end ") {
            break;
        }
        let count = usize::from(value(line[0]));
        if count == 0 {
            break;
        }
        let chars = &line[1..];
        let mut written = 0;
        for group in 0..count.div_ceil(3) {
            let c = |i: usize| value(chars.get(group * 4 + i).copied().unwrap_or(b' '));
            let n = (u32::from(c(0)) << 18)
                | (u32::from(c(1)) << 12)
                | (u32::from(c(2)) << 6)
                | u32::from(c(3));
            for byte in &n.to_be_bytes()[1..] {
                if written < count {
                    out.push(*byte);
                    written += 1;
                }
            }
        }
    }
    (out, name)
}

/// A character's 6-bit value: (c - 32) mod 64, so `` ` `` is 0.
fn value(c: u8) -> u8 {
    c.wrapping_sub(b' ') & 0x3F
}

/// `begin 644 name.pdf` → `name.pdf`.
fn begin_name(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let mut words = text.splitn(3, ' ');
    words.next()?;
    words.next()?;
    let name = words.next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic example: "Cat" is `#0V%T`.
    #[test]
    fn decodes_a_known_line() {
        let (bytes, name) = decode(b"begin 644 cat.txt\n#0V%T\n`\nend\n");
        assert_eq!(bytes, b"Cat");
        assert_eq!(name.as_deref(), Some("cat.txt"));
    }

    #[test]
    fn decodes_crlf_and_stripped_trailing_blanks() {
        // "hello world\n" (12 bytes) encoded by uuencode(1).
        let body = b"begin 600 hi.txt\r\n,:&5L;&\\@=V]R;&0*\r\n`\r\nend\r\n";
        assert_eq!(decode(body).0, b"hello world\n");
        // Two bytes; the trailing blank of `"86( ` stripped.
        assert_eq!(decode(b"begin 644 x\n\"86(\nend\n").0, b"ab");
        assert_eq!(decode(b"begin 644 x\n\"86( \nend\n").0, b"ab");
    }

    #[test]
    fn names_the_encoding() {
        assert!(is_uuencode(b" X-UUENCODE\r\n"));
        assert!(is_uuencode(b"x-uue (legacy)"));
        assert!(is_uuencode(b"uuencode"));
        assert!(!is_uuencode(b"base64"));
    }

    #[test]
    fn garbage_never_panics() {
        for body in [&b""[..], b"begin", b"begin 644\n", b"\xff\xff\n\x00", b"M"] {
            let _ = decode(body);
        }
    }
}
