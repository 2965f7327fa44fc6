//! Email addresses: the one addr-spec grammar every module checks against.
//!
//! Accepted (RFC 5322 3.4.1 without the obsolete forms, RFC 5321 4.1.2 and
//! 4.5.3.1):
//! - the local part is a dot-atom (runs of `atext` joined by single dots) or
//!   a quoted-string of printable ASCII and space, `"` and `\` escaped with
//!   `\`; at most 64 octets;
//! - exactly one `@` outside the quotes;
//! - the domain is a host name: IDNA (UTS 46) maps it to lower-case A-labels
//!   (`bücher.example` is `xn--bcher-kva.example`), each label LDH and 1 to
//!   63 octets, at least two labels, at most 253 octets; address literals
//!   (`[192.0.2.1]`) and trailing dots are refused;
//! - the whole address, as sent, at most 254 octets;
//! - no comments, folding white space or control characters anywhere;
//!   white space around the address is removed.
//!
//! A local part holding non-ASCII (`jürgen@…`) is well formed under RFC 6532
//! but needs an SMTPUTF8 (RFC 6531) transport and an internationalised
//! message: [`AddressError::NeedsSmtputf8`], never raw UTF-8 in a header.
//!
//! Comparison: two addresses are the same when their [`Address::key`]s are
//! equal: the canonical form (domain as A-labels, a quoted local part that
//! needs no quotes written as a dot-atom, no needless escapes) lower-cased.
//! RFC 5321 lets a host treat local parts as case-sensitive; no provider
//! mailroom knows of does, and for suppressions a false "same" errs on the
//! side of not sending.

use std::fmt;

use crate::ids;

/// Longest local part, in octets (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL: usize = 64;
/// Longest domain, in octets (RFC 1035's 255 less the length octets).
pub const MAX_DOMAIN: usize = 253;
/// Longest address, in octets (RFC 5321's 256-octet path less `<` and `>`).
pub const MAX_ADDRESS: usize = 254;

/// A checked address in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    local: String,
    domain: String,
}

/// Why a string is not an address mailroom sends to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    /// Not an RFC 5321/5322 addr-spec; says why.
    Invalid(String),
    /// Well formed, but the local part holds non-ASCII: only an SMTPUTF8
    /// (RFC 6531) transport could carry it.
    NeedsSmtputf8(String),
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::Invalid(m) | AddressError::NeedsSmtputf8(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for AddressError {}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl Address {
    /// The local part as sent (dot-atom or quoted-string).
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain as lower-case A-labels.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The comparison key: the canonical form lower-cased.
    pub fn key(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }
}

/// `atext` of RFC 5322 3.2.3.
pub fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn is_dot_atom(s: &str, allow_utf8: bool) -> bool {
    !s.is_empty()
        && s.split('.').all(|run| {
            !run.is_empty()
                && run.chars().all(|c| {
                    is_atext(c)
                        || (allow_utf8 && !c.is_ascii() && !c.is_control() && !c.is_whitespace())
                })
        })
}

/// Parses and checks `input`; see the module documentation.
pub fn parse(input: &str) -> Result<Address, AddressError> {
    let input = input.trim();
    let invalid = |why: &str| {
        AddressError::Invalid(format!(
            "{} is not an address local@domain: {why}",
            ids::shown(input)
        ))
    };
    if input.is_empty() {
        return Err(invalid("it is empty"));
    }
    if input.chars().any(char::is_control) {
        return Err(invalid("it holds a control character"));
    }
    // The local part: a quoted-string up to its closing quote, else
    // everything before the first `@`.
    let (local, content, rest) = if let Some(quoted) = input.strip_prefix('"') {
        let mut content = String::new();
        let mut end = None;
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) if e == ' ' || (e.is_ascii_graphic()) || !e.is_ascii() => {
                        content.push(e)
                    }
                    _ => return Err(invalid("a quoted-pair escapes nothing printable")),
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c if c == ' ' || c.is_ascii_graphic() || !c.is_ascii() => content.push(c),
                _ => {
                    return Err(invalid(
                        "the quoted local part holds a character it may not",
                    ));
                }
            }
        }
        let Some(end) = end else {
            return Err(invalid("the quoted local part is not closed"));
        };
        let rest = quoted.get(end + 1..).unwrap_or_default();
        (quoted.get(..end).unwrap_or_default(), Some(content), rest)
    } else {
        match input.find('@') {
            Some(at) => (&input[..at], None, &input[at..]),
            None => return Err(invalid("it has no @")),
        }
    };
    let Some(domain) = rest.strip_prefix('@') else {
        return Err(invalid("the quoted local part is not followed by @"));
    };
    if domain.contains('@') {
        return Err(invalid("it has more than one unquoted @"));
    }
    let local = match content {
        Some(content) => {
            if content.is_empty() {
                return Err(invalid("the local part is empty"));
            }
            canonical_quoted(&content)
        }
        None => {
            if local.is_empty() {
                return Err(invalid("the local part is empty"));
            }
            if !is_dot_atom(local, true) {
                return Err(invalid(
                    "the local part is neither a dot-atom nor a quoted string (RFC 5322 3.4.1)",
                ));
            }
            local.to_string()
        }
    };
    let domain = check_domain(domain).map_err(|why| invalid(&why))?;
    if !local.is_ascii() {
        return Err(AddressError::NeedsSmtputf8(format!(
            "the local part of {} is not ASCII: sending to it needs SMTPUTF8 (RFC 6531), which this channel does not use",
            ids::shown(input)
        )));
    }
    if local.len() > MAX_LOCAL {
        return Err(invalid(&format!(
            "the local part is {} octets, over RFC 5321's {MAX_LOCAL}",
            local.len()
        )));
    }
    let address = Address { local, domain };
    let len = address.to_string().len();
    if len > MAX_ADDRESS {
        return Err(invalid(&format!(
            "it is {len} octets, over RFC 5321's {MAX_ADDRESS}"
        )));
    }
    Ok(address)
}

/// The canonical form of a quoted local part's content: bare when it is a
/// dot-atom, else quoted with only `"` and `\` escaped.
fn canonical_quoted(content: &str) -> String {
    if is_dot_atom(content, false) {
        return content.to_string();
    }
    let mut out = String::with_capacity(content.len() + 2);
    out.push('"');
    for c in content.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A host name as lower-case A-labels: IDNA (UTS 46) applied, LDH labels of
/// 1 to 63 octets, at least two labels, at most 253 octets, no trailing dot.
/// The message says why not.
pub fn check_domain(domain: &str) -> Result<String, String> {
    let shown = ids::shown(domain);
    if domain.is_empty() {
        return Err("the domain is empty".into());
    }
    if domain.starts_with('[') {
        return Err(format!(
            "{shown} is an address literal; only host names are accepted"
        ));
    }
    // A-labels are never shorter than what they encode by more than the
    // `xn--` prefixes; anything this long cannot map to 253 octets.
    if domain.len() > 4 * MAX_DOMAIN || domain.ends_with('.') {
        return Err(format!("{shown} is not a valid domain name"));
    }
    let ascii = idna::domain_to_ascii(domain)
        .map_err(|_| format!("{shown} is not a valid domain name (IDNA)"))?;
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if ascii.len() > MAX_DOMAIN {
        return Err(format!(
            "the domain {shown} is over {MAX_DOMAIN} octets as A-labels"
        ));
    }
    if ascii.split('.').count() < 2 || !ascii.split('.').all(label_ok) {
        return Err(format!(
            "{shown} is not a valid domain name (letters, digits and hyphens, at least two labels)"
        ));
    }
    Ok(ascii)
}

/// The comparison key of `input` (see the module documentation).
pub fn key(input: &str) -> Result<String, AddressError> {
    parse(input).map(|a| a.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_string()
    }

    fn bad(s: &str) -> String {
        match parse(s) {
            Err(AddressError::Invalid(m)) => m,
            other => panic!("{s}: expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn dot_atoms_and_quoted_strings() {
        assert_eq!(
            ok(" Ana.Silva+x@Clinic.Example "),
            "Ana.Silva+x@clinic.example"
        );
        assert_eq!(ok("o'brien@x.example"), "o'brien@x.example");
        assert_eq!(ok("\"ana\"@x.example"), "ana@x.example");
        assert_eq!(ok("\"a b\"@x.example"), "\"a b\"@x.example");
        assert_eq!(ok("\"a@b\"@x.example"), "\"a@b\"@x.example");
        assert_eq!(ok("\"a\\\"b\"@x.example"), "\"a\\\"b\"@x.example");
        assert_eq!(ok("\"\\a\"@x.example"), "a@x.example");
    }

    #[test]
    fn exactly_one_unquoted_at() {
        assert!(bad("a@b@x.example").contains("more than one unquoted @"));
        assert!(bad("ax.example").contains("no @"));
        assert!(bad("@x.example").contains("empty"));
        assert!(bad("\"a\"b@x.example").contains("not followed by @"));
    }

    #[test]
    fn local_part_grammar() {
        for s in [
            ".a@x.example",
            "a.@x.example",
            "a..b@x.example",
            "a b@x.example",
            "a<b@x.example",
            "a,b@x.example",
            "a(b)@x.example",
            "\"open@x.example",
            "\"a\rb\"@x.example",
            "a\r\nb@x.example",
            "a\0@x.example",
        ] {
            bad(s);
        }
    }

    #[test]
    fn lengths() {
        let local = "a".repeat(64);
        ok(&format!("{local}@x.example"));
        assert!(bad(&format!("{local}b@x.example")).contains("local part is 65 octets"));
        assert!(bad(&format!("{}@x.example", "a".repeat(100_000))).contains("over RFC 5321"));
        let label = "d".repeat(63);
        let domain = format!("{label}.{label}.{label}.{}.ex", "d".repeat(58));
        assert_eq!(domain.len(), 253);
        // 253-octet domain and a 1-octet local part: 255 octets, over 254.
        assert!(bad(&format!("a@{domain}")).contains("over RFC 5321's 254"));
        let domain = format!("{label}.{label}.{label}.{}.ex", "d".repeat(59));
        assert!(bad(&format!("a@{domain}")).contains("over 253"));
        assert!(bad(&format!("a@{}.example", "d".repeat(64))).contains("not a valid domain"));
    }

    #[test]
    fn domains_become_a_labels() {
        assert_eq!(ok("x@Bücher.Example"), "x@xn--bcher-kva.example");
        bad("x@[192.0.2.1]");
        bad("x@localhost");
        bad("x@x.example.");
        bad("x@_spf.x.example");
        bad("x@-a.example");
    }

    #[test]
    fn non_ascii_local_parts_need_smtputf8() {
        for s in [
            "jürgen@x.example",
            "\"jür gen\"@bücher.example",
            "用户@例子.广告",
        ] {
            match parse(s) {
                Err(AddressError::NeedsSmtputf8(m)) => assert!(m.contains("SMTPUTF8"), "{m}"),
                other => panic!("{s}: {other:?}"),
            }
        }
        // Malformed first: a non-ASCII local part with two @ is invalid.
        bad("jür@gen@x.example");
    }

    #[test]
    fn comparison_keys() {
        assert_eq!(key("Ana@Clinic.Example"), key("\"ana\"@clinic.example"));
        assert_eq!(key("x@bücher.example"), key("X@XN--BCHER-KVA.example"));
        assert_ne!(key("a@x.example"), key("b@x.example"));
    }
}
