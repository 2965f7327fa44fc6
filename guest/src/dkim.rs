//! DKIM (RFC 6376): RSA keys made from the host's random source, the public
//! key record, and signing with rsa-sha256 and relaxed/relaxed
//! canonicalization, `t=` from the host's clock so every host signs alike.

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::rand_core::{CryptoRng, RngCore};
use rsa::sha2::{Digest, Sha256};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};

use crate::env::Env;
use crate::thread_index::{base64, unbase64};

/// RSA modulus size: what every receiver verifies.
pub const RSA_BITS: usize = 2048;

/// The headers signed when present, in this order.
pub const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// The host's random source as the `rsa` crate wants it.
struct HostRng<'a>(&'a mut dyn Env);

impl RngCore for HostRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let b = self.0.random_bytes(4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    fn next_u64(&mut self) -> u64 {
        let b = self.0.random_bytes(8);
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let bytes = self.0.random_bytes(dest.len());
        dest.copy_from_slice(&bytes);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for HostRng<'_> {}

impl rand_core_10::TryRng for HostRng<'_> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core_10::TryCryptoRng for HostRng<'_> {}

/// The public exponent.
const EXPONENT: u32 = 65_537;

/// A random 1024-bit prime `p`, its two top bits set (so two of them make
/// a 2048-bit modulus) and `p - 1` prime to [`EXPONENT`].
fn prime(rng: &mut HostRng<'_>) -> Result<rsa::BigUint, String> {
    use crypto_bigint::U1024;
    use crypto_primes::Flavor;
    use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
    loop {
        let factory =
            SmallFactorsSieveFactory::new(Flavor::Any, RSA_BITS as u32 / 2, SetBits::TwoMsb)
                .map_err(|e| e.to_string())?;
        let found: Option<U1024> = crypto_primes::sieve_and_find(rng, factory, |_, candidate| {
            crypto_primes::is_prime(Flavor::Any, candidate)
        })
        .map_err(|e| e.to_string())?;
        let p = found.ok_or("no prime found")?.to_be_bytes();
        // p mod 65537, byte by byte (a full-width remainder is 10 KB of code).
        let rem = p
            .iter()
            .fold(0u64, |r, b| (r * 256 + u64::from(*b)) % u64::from(EXPONENT));
        if rem != 1 {
            return Ok(rsa::BigUint::from_bytes_be(&p));
        }
    }
}

/// A new key pair: `(private key as PKCS#8 DER, TXT record value)`.
pub fn generate(env: &mut dyn Env) -> Result<(Vec<u8>, String), String> {
    let mut rng = HostRng(env);
    let p = prime(&mut rng)?;
    let q = loop {
        let q = prime(&mut rng)?;
        if q != p {
            break q;
        }
    };
    let key =
        RsaPrivateKey::from_p_q(p, q, rsa::BigUint::from(EXPONENT)).map_err(|e| e.to_string())?;
    let private = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let public = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| e.to_string())?;
    Ok((
        private.as_bytes().to_vec(),
        format!("v=DKIM1; k=rsa; p={}", base64(public.as_bytes())),
    ))
}

/// The `p=` tag of a DKIM record, white space removed.
pub fn public_key_tag(record: &str) -> Option<String> {
    record.split(';').find_map(|tag| {
        let (name, value) = tag.split_once('=')?;
        (name.trim() == "p").then(|| value.split_whitespace().collect())
    })
}

/// Signs `message` and returns it with a DKIM-Signature field in front.
pub fn sign(
    message: &[u8],
    private_key_der: &[u8],
    domain: &str,
    selector: &str,
    now: i64,
) -> Result<Vec<u8>, String> {
    let key = RsaPrivateKey::from_pkcs8_der(private_key_der).map_err(|e| e.to_string())?;
    let split = find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2);
    let (head, body) = message.split_at(split);
    let body = body.strip_prefix(b"\r\n").unwrap_or(body);
    let fields = header_fields(head);

    let mut names = Vec::new();
    let mut hashed = Vec::new();
    for name in SIGNED_HEADERS {
        if let Some((field_name, value)) = fields
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            names.push(name.to_ascii_lowercase());
            hashed.extend_from_slice(&relaxed_header(field_name, value));
        }
    }
    let body_hash = base64(&Sha256::digest(relaxed_body(body)));
    let unsigned = format!(
        "v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector}; t={now}; h={}; bh={body_hash}; b=",
        names.join(":")
    );
    let mut signature_field = relaxed_header("DKIM-Signature", unsigned.as_bytes());
    signature_field.truncate(signature_field.len() - 2);
    hashed.extend_from_slice(&signature_field);
    let digest = Sha256::digest(&hashed);
    let signature = key
        .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
        .map_err(|e| e.to_string())?;
    let mut out = format!(
        "DKIM-Signature: {}",
        fold(&format!("{unsigned}{}", base64(&signature)))
    )
    .into_bytes();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(message);
    Ok(out)
}

/// Verifies the first DKIM-Signature of `message` (as [`sign`] writes it:
/// rsa-sha256, relaxed/relaxed) against the TXT `record` of its selector.
/// For tests and fuzzing: the canonicalisation is this module's own, so an
/// independent verifier (dkimpy) checks it in the tests of every host.
pub fn verify(message: &[u8], record: &str) -> Result<(), String> {
    let split = find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2);
    let (head, body) = message.split_at(split);
    let body = body.strip_prefix(b"\r\n").unwrap_or(body);
    let fields = header_fields(head);
    let (_, signature) = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("DKIM-Signature"))
        .ok_or("no DKIM-Signature")?;
    let signature = String::from_utf8_lossy(signature).into_owned();
    let tag = |name: &str| {
        signature.split(';').find_map(|t| {
            let (n, v) = t.split_once('=')?;
            (n.trim() == name).then(|| v.split_whitespace().collect::<String>())
        })
    };
    let body_hash = base64(&Sha256::digest(relaxed_body(body)));
    if tag("bh").as_deref() != Some(body_hash.as_str()) {
        return Err("the body hash differs".into());
    }
    let mut hashed = Vec::new();
    let mut used = vec![false; fields.len()];
    for name in tag("h").ok_or("no h=")?.split(':') {
        // The last instance not yet used, as RFC 6376 5.4.2 selects.
        if let Some(i) = (0..fields.len())
            .rev()
            .find(|&i| !used[i] && fields[i].0.eq_ignore_ascii_case(name))
        {
            used[i] = true;
            hashed.extend_from_slice(&relaxed_header(&fields[i].0, &fields[i].1));
        }
    }
    let emptied: Vec<String> = signature
        .split(';')
        .map(|t| match t.split_once('=') {
            Some((n, _)) if n.trim() == "b" => format!("{n}="),
            _ => t.to_string(),
        })
        .collect();
    let mut field = relaxed_header("DKIM-Signature", emptied.join(";").as_bytes());
    field.truncate(field.len() - 2);
    hashed.extend_from_slice(&field);
    let key = unbase64(&public_key_tag(record).ok_or("no p= in the record")?)
        .ok_or("p= is not base64")?;
    let key = RsaPublicKey::from_public_key_der(&key).map_err(|e| e.to_string())?;
    let b = unbase64(&tag("b").ok_or("no b=")?).ok_or("b= is not base64")?;
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&hashed), &b)
        .map_err(|e| format!("the signature does not verify: {e}"))
}

/// Folds a tag list at `; ` and inside the long `b=` value, near 76 columns.
fn fold(value: &str) -> String {
    let mut out = String::new();
    let mut column = "DKIM-Signature: ".len();
    for (i, tag) in value.split("; ").enumerate() {
        let piece = if i == 0 {
            tag.to_string()
        } else {
            format!("; {tag}")
        };
        if column + piece.len() > 76 && i > 0 {
            out.push_str(";\r\n\t");
            column = 1;
            let mut rest = &piece[2..];
            // Only b= may be cut inside its value: it is not hashed, and
            // its base64 may hold folding white space. A tag like h= is kept
            // whole, since folding inside a header name changes it.
            while rest.starts_with("b=") && column + rest.len() > 76 {
                let cut = 76 - column;
                out.push_str(&rest[..cut]);
                out.push_str("\r\n\t");
                rest = &rest[cut..];
                column = 1;
            }
            out.push_str(rest);
            column += rest.len();
        } else {
            out.push_str(&piece);
            column += piece.len();
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `(name, raw value with its folding, without the final CRLF)` of each field.
fn header_fields(head: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some((_, value)) = fields.last_mut() {
                value.extend_from_slice(b"\r\n");
                value.extend_from_slice(line);
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
            fields.push((name, line[colon + 1..].to_vec()));
        }
    }
    fields
}

/// RFC 6376 3.4.2: lower-case name, unfolded value, runs of white space as
/// one space, none around the colon or at the end; CRLF after.
fn relaxed_header(name: &str, value: &[u8]) -> Vec<u8> {
    let mut out = name.trim().to_ascii_lowercase().into_bytes();
    out.push(b':');
    let mut space = false;
    let mut started = false;
    for &b in value {
        if b == b'\r' || b == b'\n' {
            continue;
        }
        if b == b' ' || b == b'\t' {
            space = true;
            continue;
        }
        if space && started {
            out.push(b' ');
        }
        space = false;
        started = true;
        out.push(b);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// RFC 6376 3.4.4: white space runs as one space, none at line ends, no
/// empty lines at the end, a final CRLF unless the body is empty.
fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let text = body.strip_suffix(b"\r\n").unwrap_or(body);
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut out = Vec::with_capacity(line.len());
        let mut space = false;
        for &b in line {
            if b == b' ' || b == b'\t' {
                space = true;
                continue;
            }
            if space {
                out.push(b' ');
            }
            space = false;
            out.push(b);
        }
        lines.push(out);
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The private key stored for a setup's selector.
pub fn key_name(setup: &str, selector: &str) -> String {
    crate::keys::dkim_key(setup, selector)
}

/// Decodes a stored key.
pub fn decode_key(stored: &str) -> Option<Vec<u8>> {
    unbase64(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalizes_as_rfc_6376_example() {
        assert_eq!(
            relaxed_header("SUBJect", b" AbC\r\n\t de  "),
            b"subject:AbC de\r\n"
        );
        assert_eq!(relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n"), b" C\r\nD E\r\n");
        assert_eq!(relaxed_body(b""), b"");
    }

    #[test]
    fn folds_only_between_tags_and_inside_b() {
        let h =
            "h=from:to:cc:subject:date:message-id:in-reply-to:references:mime-version:content-type";
        let folded = fold(&format!("v=1; a=rsa-sha256; {h}; b={}", "A".repeat(300)));
        assert!(folded.contains(h), "{folded}");
    }

    #[test]
    fn generated_keys_are_valid_2048_bit_keys() {
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        let mut moduli = Vec::new();
        for seed in 1..4 {
            let mut env = crate::env::FixedEnv::new(0, seed);
            let (der, _) = generate(&mut env).unwrap();
            let key = RsaPrivateKey::from_pkcs8_der(&der).unwrap();
            key.validate().unwrap();
            assert_eq!(key.n().bits(), RSA_BITS);
            assert_eq!(key.e(), &rsa::BigUint::from(EXPONENT));
            assert_eq!(key.primes().len(), 2);
            assert_ne!(key.primes()[0], key.primes()[1]);
            moduli.push(key.n().clone());
        }
        moduli.dedup();
        assert_eq!(moduli.len(), 3, "each seed its own key");
    }

    #[test]
    fn signs_with_a_generated_key() {
        let mut env = crate::env::FixedEnv::new(0, 1);
        let (key, record) = generate(&mut env).unwrap();
        assert!(public_key_tag(&record).is_some_and(|p| p.len() > 300));
        let message = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: Hi\r\n\r\nHello.\r\n";
        let signed = sign(message, &key, "example.com", "s1", 1_700_000_000).unwrap();
        let text = String::from_utf8(signed).unwrap();
        assert!(text.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;"));
        assert!(text.contains("h=from:to:subject;"), "{text}");
        assert!(text.ends_with("Hello.\r\n"));
        assert_eq!(verify(text.as_bytes(), &record), Ok(()));
        let altered = text.replace("Hello.", "Hallo.");
        assert!(verify(altered.as_bytes(), &record).is_err());
        let altered = text.replace("Subject: Hi", "Subject: Ho");
        assert!(verify(altered.as_bytes(), &record).is_err());
    }
}
