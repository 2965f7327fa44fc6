//! What every target shares: a clinic made once per process (a verified
//! setup, a transactional and a marketing use case, one message sent to
//! pat@patient.example), cloned for each input.

#![allow(dead_code)]

use std::sync::OnceLock;

use guest::env::FixedEnv;
use guest::outbound::{Recipient, SendRequest, Sent, send};
use guest::setups::{self, SetupOptions};
use guest::store::MemoryStore;
use guest::transport::RecordingTransport;
use guest::use_cases::{self, UseCaseType};

/// The clinic as stored after setup.
pub struct Clinic {
    pub store: MemoryStore,
    pub env: FixedEnv,
    pub setup: setups::Setup,
    pub transactional: String,
    pub marketing: String,
    pub sent: Sent,
    /// The unsubscribe secret and base of the setup.
    pub secret: Vec<u8>,
}

pub const DOMAIN: &str = "clinic.example";

pub fn clinic() -> &'static Clinic {
    static CLINIC: OnceLock<Clinic> = OnceLock::new();
    CLINIC.get_or_init(|| {
        let mut store = MemoryStore::default();
        let mut env = FixedEnv::new(1_772_442_000, 9);
        let options = SetupOptions {
            inbound_host: "inbound.mailroom.example".into(),
            spf_include: None,
            unsubscribe_base: None,
            pending_ttl: None,
            bounce_domain: None,
        };
        let setup = setups::create(&mut store, &mut env, "ws", DOMAIN, &options).expect("setup");
        let answers = setups::answers_publishing(&setup.records);
        let setup = setups::verify(&mut store, &mut env, &setup.id, &answers)
            .expect("verify")
            .setup;
        let uc = |store: &mut MemoryStore, env: &mut FixedEnv, kind, name: &str| {
            use_cases::create(
                store,
                env,
                &setup.id,
                &format!("{name}@{DOMAIN}"),
                kind,
                "Clinic",
                name,
            )
            .expect("use case")
            .id
        };
        let transactional = uc(
            &mut store,
            &mut env,
            UseCaseType::Transactional,
            "appointments",
        );
        let marketing = uc(&mut store, &mut env, UseCaseType::Marketing, "news");
        let request = SendRequest {
            use_case: transactional.clone(),
            to: vec![Recipient {
                name: None,
                address: "pat@patient.example".into(),
            }],
            cc: Vec::new(),
            subject: "Your appointment".into(),
            text: Some("See you on Monday.".into()),
            html: None,
            attachments: Vec::new(),
            in_reply_to: None,
            idempotency_key: None,
        };
        let mut transport = RecordingTransport::default();
        let sent = send(&mut store, &mut transport, &mut env, &request).expect("send");
        let secret = setups::unsubscribe_keys(&mut store, &setup.id)
            .expect("read")
            .expect("keys")
            .secret;
        Clinic {
            store,
            env,
            setup,
            transactional,
            marketing,
            sent,
            secret,
        }
    })
}
