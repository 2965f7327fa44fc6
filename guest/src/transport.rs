//! Delivery as the domain sees it: the host's transport behind a trait.

/// The SMTP envelope.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Envelope {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
}

/// A finished message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub message_id: String,
    pub envelope: Envelope,
    pub raw: Vec<u8>,
}

/// Why the host did not accept a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    Rejected(String),
    Unavailable(String),
    Other(String),
}

display_cases!(TransportError {
    Rejected => "rejected",
    Unavailable => "unavailable",
    Other => "other",
});

/// The host's transport (the WIT `transport` import).
pub trait Transport {
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError>;
}

/// Accepts every message and keeps it, for tests.
#[derive(Debug, Default, Clone)]
pub struct RecordingTransport {
    pub sent: Vec<Outgoing>,
}

impl Transport for RecordingTransport {
    fn submit(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        self.sent.push(message.clone());
        Ok(())
    }
}
