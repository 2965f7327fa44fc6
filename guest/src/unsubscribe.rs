//! RFC 8058 one-click unsubscribe: tokens that carry what they unsubscribe
//! and an HMAC over it, the List-Unsubscribe headers, and the opt-out.

use base64ct::{Base64UrlUnpadded, Encoding};
use mail_parser::MessageParser;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::reporting::{self, Field};
use crate::store::{Store, StoreError};
use crate::suppression::{self, Change, Scope, Suppression, Target};
use crate::{setups, use_cases};

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
const ID_LEN: usize = 8;
/// The longest token accepted: a 254-byte address and the fixed parts.
const MAX_TOKEN: usize = 400;

/// What a token unsubscribes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub setup: String,
    pub use_case: String,
    /// True for every use case of the setup; else the use case only.
    pub whole_setup: bool,
    pub address: String,
}

/// An opt-out, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct OptOut {
    pub suppression: Suppression,
    pub new: bool,
    pub http_status: u16,
    pub body: String,
}

/// Why an opt-out was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnsubscribeError {
    InvalidToken(String),
    InvalidBody(String),
    Store(String),
}

display_cases!(UnsubscribeError {
    InvalidToken => "invalid-token",
    InvalidBody => "invalid-body",
    Store => "store",
});

impl From<StoreError> for UnsubscribeError {
    fn from(e: StoreError) -> Self {
        UnsubscribeError::Store(e.to_string())
    }
}

pub(crate) fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn id_bytes(id: &str, prefix: &str) -> Option<[u8; ID_LEN]> {
    let hex = id.strip_prefix(prefix)?;
    if hex.len() != ID_LEN * 2 {
        return None;
    }
    let mut out = [0u8; ID_LEN];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn payload(claim: &Claim) -> Option<Vec<u8>> {
    let mut out = vec![VERSION, u8::from(claim.whole_setup)];
    out.extend_from_slice(&id_bytes(&claim.setup, "set_")?);
    out.extend_from_slice(&id_bytes(&claim.use_case, "uc_")?);
    out.extend_from_slice(claim.address.as_bytes());
    Some(out)
}

/// The token for `claim` under `secret`; `None` if an id is not one the
/// component made.
pub fn token(claim: &Claim, secret: &[u8]) -> Option<String> {
    let mut bytes = payload(claim)?;
    let mac = hmac(secret, &bytes);
    bytes.extend_from_slice(&mac[..MAC_LEN]);
    Some(Base64UrlUnpadded::encode_string(&bytes))
}

/// Reads a token's claim without checking it; `None` if malformed.
fn unverified(token: &str) -> Option<(Claim, Vec<u8>, Vec<u8>)> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let bytes = Base64UrlUnpadded::decode_vec(token).ok()?;
    let head = 2 + 2 * ID_LEN;
    if bytes.len() < head + 3 + MAC_LEN || bytes.first() != Some(&VERSION) {
        return None;
    }
    let whole_setup = match bytes.get(1)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let (payload, mac) = bytes.split_at(bytes.len() - MAC_LEN);
    let address = std::str::from_utf8(payload.get(head..)?).ok()?;
    crate::address::parse(address).ok()?;
    let claim = Claim {
        setup: format!("set_{}", crate::hex(payload.get(2..2 + ID_LEN)?)),
        use_case: format!("uc_{}", crate::hex(payload.get(2 + ID_LEN..head)?)),
        whole_setup,
        address: address.to_string(),
    };
    Some((claim, payload.to_vec(), mac.to_vec()))
}

/// Checks a token: its form first, then its HMAC under the setup's secret
/// (the setup is the only record read).
pub fn verify(store: &mut dyn Store, token: &str) -> Result<Claim, UnsubscribeError> {
    let invalid = || UnsubscribeError::InvalidToken("the unsubscribe link is not valid".into());
    let (claim, payload, mac) = unverified(token.trim()).ok_or_else(invalid)?;
    let keys = setups::unsubscribe_keys(store, &claim.setup)?.ok_or_else(invalid)?;
    let expected = hmac(&keys.secret, &payload);
    let same = expected[..MAC_LEN]
        .iter()
        .zip(&mac)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if same != 0 || mac.len() != MAC_LEN {
        return Err(invalid());
    }
    Ok(claim)
}

/// The one-click URL and the List-Unsubscribe and List-Unsubscribe-Post
/// values for mail of `use_case` to `address`.
pub fn headers(
    store: &mut dyn Store,
    use_case: &use_cases::UseCase,
    address: &str,
) -> Result<(String, String, String), StoreError> {
    let keys = setups::unsubscribe_keys(store, &use_case.setup)?
        .ok_or_else(|| StoreError::Other(format!("setup {} is missing", use_case.setup)))?;
    let policy = suppression::load_policy(store, &use_case.setup)?;
    let claim = Claim {
        setup: use_case.setup.clone(),
        use_case: use_case.id.clone(),
        whole_setup: policy.unsubscribe_scope == Scope::Setup,
        address: address.to_ascii_lowercase(),
    };
    let token = token(&claim, &keys.secret)
        .ok_or_else(|| StoreError::Other("an id is not one the component made".into()))?;
    let url = format!("{}/{token}", keys.base);
    Ok((
        url.clone(),
        format!(
            "<{url}>,\r\n <mailto:unsubscribe@{}?subject={token}>",
            keys.setup.domain
        ),
        "List-Unsubscribe=One-Click".to_string(),
    ))
}

/// Checks a POST body is the RFC 8058 form.
pub fn check_body(content_type: Option<&str>, body: &[u8]) -> Result<(), UnsubscribeError> {
    let kind = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let wrong = |what: &str| {
        Err(UnsubscribeError::InvalidBody(format!(
            "{what}; RFC 8058 one-click posts List-Unsubscribe=One-Click"
        )))
    };
    match kind.as_deref() {
        None | Some("application/x-www-form-urlencoded") => {
            let text = body.strip_suffix(b"\r\n").unwrap_or(body);
            let text = text.strip_suffix(b"\n").unwrap_or(text);
            if text == b"List-Unsubscribe=One-Click" {
                Ok(())
            } else {
                wrong("the body is not List-Unsubscribe=One-Click")
            }
        }
        Some("multipart/form-data") => {
            let Some(content_type) = content_type.filter(|c| !c.contains(['\r', '\n'])) else {
                return wrong("the content type holds a line break");
            };
            let mut whole = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
            whole.extend_from_slice(body);
            let Some(message) = MessageParser::new().parse(&whole) else {
                return wrong("the form does not parse");
            };
            let fields: Vec<(String, String)> = message
                .root()
                .parts()
                .filter(|p| !p.is_multipart())
                .map(|p| {
                    let name = p
                        .content_disposition()
                        .and_then(|d| d.attribute("name").map(str::to_string))
                        .unwrap_or_default();
                    let value = String::from_utf8_lossy(&p.decoded()).into_owned();
                    (name, value.trim_end_matches(['\r', '\n']).to_string())
                })
                .collect();
            if fields.len() == 1
                && fields
                    .first()
                    .is_some_and(|(n, v)| n == "List-Unsubscribe" && v == "One-Click")
            {
                Ok(())
            } else {
                wrong("the form is not the single field List-Unsubscribe=One-Click")
            }
        }
        Some(other) => wrong(&format!("content type {other} is not a form")),
    }
}

/// Records the opt-out a verified claim asks for.
pub fn opt_out(
    store: &mut dyn Store,
    env: &mut dyn Env,
    claim: &Claim,
) -> Result<OptOut, UnsubscribeError> {
    let use_case = use_cases::get(store, &claim.use_case).map_err(|e| match e {
        use_cases::UseCaseError::NotFound(m) => UnsubscribeError::InvalidToken(m),
        other => UnsubscribeError::Store(format!("{other}")),
    })?;
    if use_case.setup != claim.setup {
        return Err(UnsubscribeError::InvalidToken(
            "the unsubscribe link is not valid".into(),
        ));
    }
    let scope = if claim.whole_setup {
        Scope::Setup
    } else {
        Scope::UseCase(use_case.id.clone())
    };
    let now = suppression::now(env);
    let event = format!(
        "unsubscribe:{}:{}",
        if claim.whole_setup {
            "setup"
        } else {
            "use-case"
        },
        use_case.id
    );
    let target = Target {
        setup: &claim.setup,
        use_case: &use_case.id,
        address: &claim.address,
        event: &event,
        at: now,
    };
    let (began, in_force) = suppression::apply(store, &target, now, &Change::Unsubscribe(scope))?;
    let suppression =
        in_force.ok_or_else(|| UnsubscribeError::Store("the opt-out was not recorded".into()))?;
    let new = !began.is_empty();
    if new {
        reporting::bump(
            store,
            &claim.setup,
            Some(&use_case.id),
            env.now(),
            Field::Unsubscribed,
            1,
        )?;
    }
    let body = if claim.whole_setup {
        format!(
            "{} will get no more mail from {}.",
            claim.address, use_case.entity_name
        )
    } else {
        format!(
            "{} will get no more {} mail from {}.",
            claim.address, use_case.use_case_name, use_case.entity_name
        )
    };
    Ok(OptOut {
        suppression,
        new,
        http_status: 200,
        body,
    })
}

/// `unsubscribe.one-click`.
pub fn one_click(
    store: &mut dyn Store,
    env: &mut dyn Env,
    token: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<OptOut, UnsubscribeError> {
    let token = token.trim().rsplit('/').next().unwrap_or_default();
    let claim = verify(store, token)?;
    check_body(content_type, body)?;
    opt_out(store, env, &claim)
}

/// The token of a mailto unsubscribe: a word of the subject that verifies.
pub fn from_subject(store: &mut dyn Store, subject: &str) -> Result<Option<Claim>, StoreError> {
    let separator = |c: char| c.is_whitespace() || ":/?=&<>".contains(c);
    for word in subject.split(separator).take(40) {
        if unverified(word).is_none() {
            continue;
        }
        match verify(store, word) {
            Ok(claim) => return Ok(Some(claim)),
            Err(UnsubscribeError::Store(m)) => return Err(StoreError::Other(m)),
            Err(_) => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            crate::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_round_trip_and_refuse_changes() {
        let claim = Claim {
            setup: "set_0123456789abcdef".into(),
            use_case: "uc_fedcba9876543210".into(),
            whole_setup: false,
            address: "pat@example.org".into(),
        };
        let t = token(&claim, b"secret").expect("a token");
        let (read, payload, mac) = unverified(&t).expect("it reads");
        assert_eq!(read, claim);
        assert_eq!(&hmac(b"secret", &payload)[..MAC_LEN], mac.as_slice());
        let mut bytes = Base64UrlUnpadded::decode_vec(&t).expect("base64url");
        bytes[1] = 1;
        let forged = Base64UrlUnpadded::encode_string(&bytes);
        let (_, payload, mac) = unverified(&forged).expect("it reads");
        assert_ne!(&hmac(b"secret", &payload)[..MAC_LEN], mac.as_slice());
    }

    /// Counts reads and writes of a memory store.
    #[derive(Default)]
    struct Counting {
        inner: crate::store::MemoryStore,
        reads: Vec<String>,
        writes: usize,
    }

    impl Store for Counting {
        fn get(&mut self, key: &str) -> Result<Option<crate::store::Entry>, StoreError> {
            self.reads.push(key.to_string());
            self.inner.get(key)
        }
        fn put(
            &mut self,
            key: &str,
            value: &[u8],
            expect: crate::store::Expect,
        ) -> Result<u64, StoreError> {
            self.writes += 1;
            self.inner.put(key, value, expect)
        }
        fn delete(&mut self, key: &str, expect: crate::store::Expect) -> Result<(), StoreError> {
            self.writes += 1;
            self.inner.delete(key, expect)
        }
        fn list(
            &mut self,
            prefix: &str,
            cursor: Option<&str>,
            limit: u32,
        ) -> Result<crate::store::Page, StoreError> {
            self.inner.list(prefix, cursor, limit)
        }
    }

    #[test]
    fn a_token_with_any_byte_changed_is_refused_reading_only_the_setup() {
        let mut store = Counting::default();
        let mut env = crate::env::FixedEnv::new(1_772_442_000, 7);
        let options = setups::SetupOptions {
            inbound_host: "in.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
        };
        let setup = setups::create(&mut store, &mut env, "ws", "clinic.example", &options)
            .expect("a setup");
        let keys = setups::unsubscribe_keys(&mut store, &setup.id)
            .expect("read")
            .expect("keys");
        let claim = Claim {
            setup: setup.id.clone(),
            use_case: "uc_0011223344556677".into(),
            whole_setup: false,
            address: "pat@example.org".into(),
        };
        let good = token(&claim, &keys.secret).expect("a token");
        assert_eq!(verify(&mut store, &good), Ok(claim));
        let bytes = Base64UrlUnpadded::decode_vec(&good).expect("base64url");
        for i in 0..bytes.len() {
            for flip in [1u8, 0x80] {
                let mut changed = bytes.clone();
                changed[i] ^= flip;
                let forged = Base64UrlUnpadded::encode_string(&changed);
                store.reads.clear();
                store.writes = 0;
                let refused = one_click(
                    &mut store,
                    &mut env,
                    &forged,
                    None,
                    b"List-Unsubscribe=One-Click",
                );
                assert!(
                    matches!(refused, Err(UnsubscribeError::InvalidToken(_))),
                    "byte {i} ^ {flip}: {refused:?}"
                );
                assert_eq!(store.writes, 0, "byte {i}: a forged token wrote");
                assert!(
                    store.reads.iter().all(|k| k.starts_with("setup/")) && store.reads.len() <= 1,
                    "byte {i}: read {:?}",
                    store.reads
                );
            }
        }
    }

    #[test]
    fn bodies() {
        assert!(check_body(None, b"List-Unsubscribe=One-Click").is_ok());
        assert!(
            check_body(
                Some("application/x-www-form-urlencoded"),
                b"List-Unsubscribe=One-Click\r\n"
            )
            .is_ok()
        );
        assert!(check_body(None, b"List-Unsubscribe=One-Click&x=1").is_err());
        assert!(check_body(Some("text/plain"), b"List-Unsubscribe=One-Click").is_err());
        let form = b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
        assert!(check_body(Some("multipart/form-data; boundary=b"), form).is_ok());
        let other =
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nOne-Click\r\n--b--\r\n";
        assert!(check_body(Some("multipart/form-data; boundary=b"), other).is_err());
    }
}
