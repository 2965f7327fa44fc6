//! The `transport` import: delivery of finished messages, over a small
//! [`Transport`] trait so a real backend (SMTP, an HTTP API, an outbox) can
//! replace the [`RecordingTransport`].

use std::sync::{Arc, Mutex, PoisonError};

use crate::bindings::mailroom::channel::transport::Host;
pub use crate::bindings::mailroom::channel::transport::{Envelope, Outgoing, TransportError};
use crate::host::HostState;

/// Delivery as the host provides it: the WIT `transport` interface in Rust.
///
/// `submit` must not wait for delivery: a backend delivers at once if it can
/// answer quickly, or queues the message, and reports the outcome later
/// through `outbound.report`.
pub trait Transport: Send {
    /// Accepts a message for delivery.
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError>;
}

/// A transport shared by every call of one [`Mailroom`](crate::Mailroom).
pub type SharedTransport = Arc<Mutex<dyn Transport>>;

/// Wraps a transport for sharing.
pub fn shared(transport: impl Transport + 'static) -> SharedTransport {
    Arc::new(Mutex::new(transport))
}

/// Accepts every message and keeps it, in order. Clones share the same
/// record, so a clone kept by the embedder sees what the host submitted.
#[derive(Debug, Default, Clone)]
pub struct RecordingTransport {
    sent: Arc<Mutex<Vec<Outgoing>>>,
}

impl RecordingTransport {
    /// A transport with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Outgoing> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Transport for RecordingTransport {
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message.clone());
        Ok(())
    }
}

impl Host for HostState {
    fn submit(&mut self, message: Outgoing) -> Result<(), TransportError> {
        match self.transport.lock() {
            Ok(mut transport) => transport.submit(&message),
            Err(_) => Err(TransportError::Unavailable(
                "the host transport failed during an earlier call".to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_keeps_every_message_in_order_across_clones() {
        let recorder = RecordingTransport::new();
        let mut handle = recorder.clone();
        for id in ["a@x", "b@x"] {
            let message = Outgoing {
                message_id: id.to_string(),
                envelope: Envelope {
                    mail_from: "s@x".to_string(),
                    rcpt_to: vec!["r@y".to_string()],
                },
                raw: b"Subject: hi\r\n\r\nhi\r\n".to_vec(),
            };
            assert_eq!(handle.submit(&message), Ok(()));
        }
        let ids: Vec<String> = recorder
            .messages()
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        assert_eq!(ids, ["a@x", "b@x"]);
    }
}
