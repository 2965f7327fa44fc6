//! Ids taken from inbound mail never reach an emitted header unless they
//! reduce to the bare msg-id grammar.

use conformance::Clinic;
use guest::ids;
use guest::inbound::Limits;
use guest::inbound::receive::{Envelope, receive};
use guest::outbound::{Recipient, SendRequest, send};

#[test]
fn hostile_ids_never_reach_a_header() {
    let Clinic {
        mut store,
        mut transport,
        mut env,
        use_case: uc,
    } = Clinic::new(9);
    let request = |in_reply_to: Option<String>| SendRequest {
        use_case: uc.id.clone(),
        to: vec![Recipient {
            name: None,
            address: "pat@patient.example".into(),
        }],
        cc: Vec::new(),
        subject: "Hello".into(),
        text: Some("Hi\r\n".into()),
        html: None,
        attachments: Vec::new(),
        in_reply_to,
        idempotency_key: None,
    };
    let first = send(&mut store, &mut transport, &mut env, &request(None)).expect("sent");
    let long = "x".repeat(5000);
    let raw = format!(
        "From: pat@patient.example\r\nTo: care@clinic.example\r\nSubject: Re: Hello\r\n\
         Message-ID: <{long}@patient.example>\r\n\
         In-Reply-To: <a b@c> <{}>\r\n\
         References: <unbalanced@x <{long}@y> <ok@patient.example> <sp ace@z> <x@y>>\r\n\
         \r\nHi\r\n",
        first.message_id
    );
    let received = receive(
        &mut store,
        &mut env,
        raw.as_bytes(),
        &Envelope::default(),
        &Limits::default(),
    )
    .expect("received");
    assert!(!received.notes.is_empty(), "dropped ids are noted");
    assert!(
        received.message_id.len() < 100,
        "the 5,000-character id was replaced"
    );
    let reply = send(
        &mut store,
        &mut transport,
        &mut env,
        &request(Some(received.message_id.clone())),
    )
    .expect("reply sent");
    for id in reply.references.iter().chain(&received.references) {
        assert_eq!(ids::bare(id).as_deref(), Some(id.as_str()), "{id:?}");
    }
    let emitted = String::from_utf8_lossy(&transport.sent[1].raw).into_owned();
    let headers = emitted.split("\r\n\r\n").next().unwrap_or_default();
    assert!(!headers.contains(&long), "a 5,000-character id was echoed");
    assert!(
        !headers.contains("a b@c") && !headers.contains("sp ace"),
        "{headers}"
    );
    for line in headers.split("\r\n") {
        assert!(!line.contains('\r') && !line.contains('\n'));
        if let Some(value) = line
            .strip_prefix("In-Reply-To:")
            .or(line.strip_prefix("References:"))
        {
            for id in value.split_whitespace() {
                assert!(ids::bare(id).is_some(), "{id:?} in {line:?}");
            }
        }
    }
}
