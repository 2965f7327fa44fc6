//! Outlook's Thread-Index across a conversation, decoded here from
//! MS-OXOMSG 2.2.1.3 (PidTagConversationIndex) independently of the
//! guest's encoder: a 22-byte header block (0x01, 5 bytes of FILETIME, a
//! 16-byte GUID), then one 5-byte child block per reply (1 bit delta code,
//! 31 bits of time delta, 4 random bits, 4 bits of sequence count).
//! Outlook orders and indents a conversation by these blocks, so our reply
//! at reply depth d must carry d child blocks, whether or not the inbound
//! replies between ours carried a Thread-Index of their own.

use conformance::Clinic;
use guest::inbound::Limits;
use guest::inbound::receive::{Envelope, receive};
use guest::outbound::{Recipient, SendRequest, send};

/// A decoded PidTagConversationIndex.
#[derive(Debug, Clone, PartialEq)]
struct Index {
    filetime_high: [u8; 5],
    guid: [u8; 16],
    /// (delta in 100 ns units, random nibble, sequence nibble)
    children: Vec<(u64, u8, u8)>,
}

fn decode(bytes: &[u8]) -> Index {
    assert!(bytes.len() >= 22, "shorter than a header block: {bytes:?}");
    assert_eq!(bytes[0], 0x01, "the reserved byte");
    assert_eq!((bytes.len() - 22) % 5, 0, "whole child blocks");
    let children = bytes[22..]
        .chunks(5)
        .map(|c| {
            let word = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            let delta = u64::from(word & 0x7FFF_FFFF);
            let delta = if word & 0x8000_0000 == 0 {
                delta << 18
            } else {
                delta << 23
            };
            (delta, c[4] >> 4, c[4] & 0x0F)
        })
        .collect();
    Index {
        filetime_high: bytes[1..6].try_into().expect("5 bytes"),
        guid: bytes[6..22].try_into().expect("16 bytes"),
        children,
    }
}

/// Standard base64 (base64ct, through the guest's wrappers).
fn base64_decode(text: &str) -> Vec<u8> {
    guest::thread_index::unbase64(text).expect("base64")
}

fn base64_encode(bytes: &[u8]) -> String {
    guest::thread_index::base64(bytes)
}

/// The Thread-Index header of a message we sent.
fn thread_index_of(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let value = text
        .split("\r\n")
        .find_map(|l| l.strip_prefix("Thread-Index: "))
        .expect("our message carries a Thread-Index");
    base64_decode(value)
}

/// How an inbound reply carries Thread-Index.
#[derive(Clone, Copy, Debug)]
enum Own {
    /// None at all (Gmail, Apple Mail, iOS).
    None,
    /// Outlook's: ours plus one child block.
    Outlook,
    /// One of another conversation.
    Foreign,
    /// Not base64 of an index.
    Garbage,
}

#[test]
fn our_replies_carry_one_block_per_reply_depth() {
    let Clinic {
        mut store,
        mut transport,
        mut env,
        use_case,
    } = Clinic::new(17);
    let pattern = [
        Own::None,
        Own::Outlook,
        Own::Foreign,
        Own::None,
        Own::Garbage,
        Own::Outlook,
        Own::Outlook,
        Own::None,
    ];
    let mut parent: Option<String> = None;
    let mut root: Option<Index> = None;
    let mut depth = 0usize;
    let mut outlook: Option<Vec<u8>> = None;
    for (round, own) in pattern.iter().copied().enumerate() {
        let request = SendRequest {
            use_case: use_case.id.clone(),
            to: vec![Recipient {
                name: None,
                address: "pat@patient.example".into(),
            }],
            cc: Vec::new(),
            subject: "Re: Your care plan".into(),
            text: Some(format!("Round {round}.\r\n")),
            html: None,
            attachments: Vec::new(),
            in_reply_to: parent.clone(),
            idempotency_key: None,
        };
        let sent = send(&mut store, &mut transport, &mut env, &request).expect("sent");
        let ours = thread_index_of(&transport.sent.last().expect("submitted").raw);
        let index = decode(&ours);
        assert_eq!(
            index.children.len(),
            depth,
            "round {round}: our reply at depth {depth} (after an inbound reply {own:?})"
        );
        let root = root.get_or_insert_with(|| index.clone());
        assert_eq!(index.guid, root.guid, "round {round}: one conversation");
        assert_eq!(index.filetime_high, root.filetime_high, "round {round}");
        if let Some(theirs) = outlook.take() {
            assert!(
                ours.starts_with(&theirs),
                "round {round}: the Outlook reply's own block is kept"
            );
        }
        let deltas: Vec<u64> = index.children.iter().map(|c| c.0).collect();
        assert!(
            deltas.windows(2).all(|w| w[0] <= w[1]),
            "round {round}: later replies are later: {deltas:?}"
        );
        depth += 1;

        let reply_id = format!("pat-{round}@patient.example");
        let header = match own {
            Own::None => String::new(),
            Own::Outlook => {
                let mut theirs = ours.clone();
                // One block, as Outlook appends it: 31 bits of delta (just
                // after our message, in units of 2^18 * 100 ns), random,
                // count.
                let delta = (index.children.last().map_or(0, |c| c.0) >> 18) + 1;
                theirs.extend_from_slice(&(delta as u32 & 0x7FFF_FFFF).to_be_bytes());
                theirs.push(0xA0 | (index.children.len() as u8 & 0x0F));
                format!("Thread-Index: {}\r\n", base64_encode(&theirs))
            }
            Own::Foreign => "Thread-Index: AdqP3k7Xr2m1f0YfQ1y9c3lDq8n2Ag==\r\n".to_string(),
            Own::Garbage => "Thread-Index: not!base64\r\n".to_string(),
        };
        let raw = format!(
            "From: pat@patient.example\r\nTo: care@clinic.example\r\n\
             Subject: RE: Your care plan\r\nThread-Topic: Your care plan\r\n{header}\
             Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\
             Message-ID: <{reply_id}>\r\nIn-Reply-To: <{}>\r\n\r\nReply {round}.\r\n",
            sent.message_id
        );
        let received = receive(
            &mut store,
            &mut env,
            raw.as_bytes(),
            &Envelope::default(),
            &Limits::default(),
        )
        .expect("received");
        assert!(
            matches!(
                received.resolution,
                guest::inbound::receive::Resolution::Matched(_)
            ),
            "round {round}"
        );
        depth += 1;
        parent = Some(reply_id);

        if let Own::Outlook = own {
            let value = raw
                .split("\r\n")
                .find_map(|l| l.strip_prefix("Thread-Index: "))
                .unwrap_or_default();
            outlook = Some(base64_decode(value));
        }
    }
}
