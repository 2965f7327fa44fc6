//! What outbound bytes look like on the wire: CRLF line ends only, no line
//! over 998 octets (RFC 5322 2.1.1, RFC 5321 4.5.3.1.6), bodies safe for
//! their transfer encoding. `outbound` normalises text with [`crlf`] and
//! checks every composed message with [`check`] before it is signed.

/// Longest line allowed, in octets, without its CRLF.
pub const MAX_LINE: usize = 998;

/// `text` with every bare CR, bare LF and CRLF written as CRLF.
pub fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `text` (already CRLF-normalised) holds a byte that 7bit and
/// 8bit forbid (RFC 2045 2.7, 2.8): NUL or another control character but
/// TAB, CR and LF. Such a body goes quoted-printable, which escapes them.
pub fn has_illegal_7bit(text: &str) -> bool {
    text.bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7F)
}

/// Checks a composed message: every CR is followed by LF and every LF
/// preceded by CR, no line is over [`MAX_LINE`] octets, and no byte is NUL.
/// The error names the first offence and its offset.
pub fn check(raw: &[u8]) -> Result<(), String> {
    let mut line_start = 0;
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' => {
                if raw.get(i + 1) != Some(&b'\n') {
                    return Err(format!("a bare CR at byte {i}"));
                }
                if i - line_start > MAX_LINE {
                    return Err(format!(
                        "a line of {} octets at byte {line_start}",
                        i - line_start
                    ));
                }
                i += 2;
                line_start = i;
                continue;
            }
            b'\n' => return Err(format!("a bare LF at byte {i}")),
            0 => return Err(format!("a NUL at byte {i}")),
            _ => {}
        }
        i += 1;
    }
    if raw.len() - line_start > MAX_LINE {
        return Err(format!(
            "a line of {} octets at byte {line_start}",
            raw.len() - line_start
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_crlf() {
        assert_eq!(
            crlf("a\rb\nc\r\nd\r\r\ne\n\r"),
            "a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\n"
        );
        assert_eq!(
            crlf("a<\r>.<\r>\r\nMAIL FROM"),
            "a<\r\n>.<\r\n>\r\nMAIL FROM"
        );
        assert_eq!(crlf("ü"), "ü");
    }

    #[test]
    fn illegal_bytes() {
        assert!(has_illegal_7bit("a\0b"));
        assert!(has_illegal_7bit("a\u{1b}b"));
        assert!(has_illegal_7bit("a\u{7f}"));
        assert!(!has_illegal_7bit("a\tb\r\nü"));
    }

    #[test]
    fn checks_messages() {
        assert!(check(b"a: b\r\n\r\nbody\r\n").is_ok());
        assert!(
            check(b"a: b\r\n\r\nbo\rdy\r\n")
                .unwrap_err()
                .contains("bare CR")
        );
        assert!(check(b"a: b\n").unwrap_err().contains("bare LF"));
        assert!(check(b"a\0\r\n").unwrap_err().contains("NUL"));
        let long = format!("X: {}\r\n", "a".repeat(996));
        assert!(check(long.as_bytes()).unwrap_err().contains("999 octets"));
        let fits = format!("X: {}\r\n", "a".repeat(995));
        assert!(check(fits.as_bytes()).is_ok());
    }
}
