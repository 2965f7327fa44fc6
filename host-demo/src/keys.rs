//! Every key this host writes into the channel's store, beside the
//! component's (`guest/src/keys.rs`; `wit/store.wit` lists those; sends'
//! idempotency keys are the component's own, `idempotency/`). Host keys
//! start with `host`, which no component key does; their bytes never change
//! between releases.

/// API key records, by the SHA-256 (hex) of the secret (`auth`).
pub const API_KEY_PREFIX: &str = "host/api-key/";

/// An API key's record: `host/api-key/{sha256 of the secret, hex}`.
pub fn api_key(secret_digest: &str) -> String {
    format!("{API_KEY_PREFIX}{secret_digest}")
}

/// Queued messages waiting or being delivered (`queue`).
pub const QUEUE_ACTIVE: &str = "host-queue/active/";

/// Queued messages the queue is done with (delivered, bounced, expired).
pub const QUEUE_FINAL: &str = "host-queue/final/";

/// A queued message: `host-queue/active/{message-id}/{envelope digest}`.
pub fn queue_active(message_id: &str, envelope_digest: &str) -> String {
    format!("{QUEUE_ACTIVE}{message_id}/{envelope_digest}")
}

/// Where an active record goes when the queue is done with it.
pub fn queue_final(active_key: &str) -> String {
    format!(
        "{QUEUE_FINAL}{}",
        active_key.strip_prefix(QUEUE_ACTIVE).unwrap_or(active_key)
    )
}

/// Every record of one message under `prefix` (`QUEUE_ACTIVE` or
/// `QUEUE_FINAL`), one per envelope.
pub fn queue_message_prefix(prefix: &str, message_id: &str) -> String {
    format!("{prefix}{message_id}/")
}

/// Every host key family: prefix and what it holds.
pub const FAMILIES: &[(&str, &str)] = &[
    (API_KEY_PREFIX, "an API key (its digest, workspace, state)"),
    (QUEUE_ACTIVE, "a queued message: header and raw bytes"),
    (QUEUE_FINAL, "a message the queue is done with: its header"),
];

#[cfg(test)]
mod tests {
    #[test]
    fn host_keys_keep_their_bytes() {
        assert_eq!(super::api_key("ab"), "host/api-key/ab");
        let active = super::queue_active("a@x.example", "0011");
        assert_eq!(active, "host-queue/active/a@x.example/0011");
        assert_eq!(
            super::queue_final(&active),
            "host-queue/final/a@x.example/0011"
        );
        assert_eq!(
            super::queue_message_prefix(super::QUEUE_FINAL, "a@x.example"),
            "host-queue/final/a@x.example/"
        );
    }
}
