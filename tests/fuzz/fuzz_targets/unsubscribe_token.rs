//! One-click tokens: any string that verifies is the token we would make
//! for what it claims; a token of ours with any change is refused.

#![no_main]

#[path = "common.rs"]
mod common;

use base64ct::{Base64UrlUnpadded, Encoding};
use guest::unsubscribe::{Claim, one_click, token, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, u8, u16, String, String)| {
    let (mode, flip, at, text, body) = input;
    let clinic = common::clinic();
    let mut store = clinic.store.clone();
    let mut env = clinic.env.clone();
    if mode {
        // Arbitrary text as a token.
        if let Ok(claim) = verify(&mut store, &text) {
            assert_eq!(
                token(&claim, &clinic.secret).as_deref(),
                Some(text.trim()),
                "a token verified that we did not make"
            );
        }
        let _ = one_click(&mut store, &mut env, &text, None, body.as_bytes());
        return;
    }
    // One of ours, for an arbitrary address, with one byte changed.
    let claim = Claim {
        setup: clinic.setup.id.clone(),
        use_case: clinic.marketing.clone(),
        whole_setup: at % 2 == 0,
        address: format!(
            "{}@patient.example",
            text.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(60)
                .collect::<String>()
        ),
    };
    let Some(good) = token(&claim, &clinic.secret) else {
        return;
    };
    if claim.address.starts_with('@') {
        return;
    }
    assert_eq!(verify(&mut store, &good).ok().as_ref(), Some(&claim));
    let mut bytes = Base64UrlUnpadded::decode_vec(&good).expect("ours decode");
    let i = usize::from(at) % bytes.len();
    let flip = flip.max(1);
    bytes[i] ^= flip;
    let forged = Base64UrlUnpadded::encode_string(&bytes);
    assert!(
        verify(&mut store, &forged).is_err(),
        "byte {i} ^ {flip} verified"
    );
});
