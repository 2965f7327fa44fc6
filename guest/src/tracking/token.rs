//! Tracking tokens: base64url (no padding) of a version byte, the setup id,
//! the random part of the Message-ID and the link index (`OPEN` for the
//! pixel), followed by 128 bits of HMAC-SHA256 under the setup's tracking
//! key. The destination URL is never in the token.

use base64ct::{Base64UrlUnpadded, Encoding};

use crate::unsubscribe::hmac;

const VERSION: u8 = 1;
const SETUP_LEN: usize = 8;
const MESSAGE_LEN: usize = 16;
const MAC_LEN: usize = 16;
const LEN: usize = 1 + SETUP_LEN + MESSAGE_LEN + 2 + MAC_LEN;
/// The link index of the open pixel.
pub const OPEN: u16 = u16::MAX;
/// The longest token text read: longer ones are refused before decoding.
pub const MAX_TOKEN: usize = 128;

/// What a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `set_<16 hex>`.
    pub setup: String,
    /// The Message-ID's local part: 32 hex digits.
    pub message: String,
    /// The link's index, or [`OPEN`].
    pub link: u16,
}

/// The tracking key of a setup, derived from its secret so that tracking and
/// unsubscribe tokens never verify as each other.
pub fn key(setup_secret: &[u8]) -> [u8; 32] {
    hmac(setup_secret, b"mailroom tracking key v1")
}

fn unhex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn payload(claim: &Claim) -> Option<Vec<u8>> {
    let mut out = vec![VERSION];
    out.extend_from_slice(&unhex::<SETUP_LEN>(claim.setup.strip_prefix("set_")?)?);
    out.extend_from_slice(&unhex::<MESSAGE_LEN>(&claim.message)?);
    out.extend_from_slice(&claim.link.to_be_bytes());
    Some(out)
}

/// The token of `claim`; `None` when an id is not one the component made.
pub fn make(claim: &Claim, key: &[u8; 32]) -> Option<String> {
    let mut bytes = payload(claim)?;
    let mac = hmac(key, &bytes);
    bytes.extend_from_slice(mac.get(..MAC_LEN)?);
    Some(Base64UrlUnpadded::encode_string(&bytes))
}

/// Reads a token without checking its MAC; `None` when malformed.
pub fn read(token: &str) -> Option<(Claim, Vec<u8>, Vec<u8>)> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let bytes = Base64UrlUnpadded::decode_vec(token).ok()?;
    if bytes.len() != LEN || bytes.first() != Some(&VERSION) {
        return None;
    }
    let (payload, mac) = bytes.split_at(LEN - MAC_LEN);
    let setup = payload.get(1..1 + SETUP_LEN)?;
    let message = payload.get(1 + SETUP_LEN..1 + SETUP_LEN + MESSAGE_LEN)?;
    let link = payload.get(1 + SETUP_LEN + MESSAGE_LEN..)?;
    let claim = Claim {
        setup: format!("set_{}", crate::hex(setup)),
        message: crate::hex(message),
        link: u16::from_be_bytes([*link.first()?, *link.get(1)?]),
    };
    Some((claim, payload.to_vec(), mac.to_vec()))
}

/// Whether `mac` is the MAC of `payload` under `key`, in constant time.
pub fn mac_matches(key: &[u8; 32], payload: &[u8], mac: &[u8]) -> bool {
    let expected = hmac(key, payload);
    mac.len() == MAC_LEN
        && expected
            .iter()
            .zip(mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_flip_refused() {
        let claim = Claim {
            setup: "set_0123456789abcdef".into(),
            message: "00112233445566778899aabbccddeeff".into(),
            link: 3,
        };
        let key = key(b"secret");
        let t = make(&claim, &key).expect("a token");
        assert_eq!(t.len(), 58);
        let (read_claim, payload, mac) = read(&t).expect("reads");
        assert_eq!(read_claim, claim);
        assert!(mac_matches(&key, &payload, &mac));
        assert!(!mac_matches(&super::key(b"other"), &payload, &mac));
        let bytes = Base64UrlUnpadded::decode_vec(&t).expect("b64");
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            let forged = Base64UrlUnpadded::encode_string(&changed);
            if let Some((_, p, m)) = read(&forged) {
                assert!(!mac_matches(&key, &p, &m), "byte {i}");
            }
        }
        assert!(read(&"A".repeat(1 << 20)).is_none());
        assert!(read("").is_none());
        assert!(read("!!!").is_none());
    }
}
