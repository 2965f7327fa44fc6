//! Outlook's `Thread-Index` and `Thread-Topic` (MS-OXOMSG 2.2.1.3,
//! PidTagConversationIndex): a 22-byte header block (0x01, the high 40 bits
//! of the FILETIME, a GUID) followed by a 5-byte child block per reply, sent
//! in base64. Outlook and Exchange group messages by it.

/// Seconds between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const EPOCH_DIFFERENCE: i64 = 11_644_473_600;

fn filetime(unix_seconds: i64) -> u64 {
    ((unix_seconds + EPOCH_DIFFERENCE).max(0) as u64).saturating_mul(10_000_000)
}

/// The index of a new conversation.
pub fn root(unix_seconds: i64, guid: &[u8]) -> Vec<u8> {
    let time = (filetime(unix_seconds) >> 24).to_be_bytes();
    let mut index = Vec::with_capacity(22);
    index.push(1);
    index.extend_from_slice(&time[3..8]);
    index.extend((0..16).map(|i| guid.get(i).copied().unwrap_or(0)));
    index
}

/// Whether `index` is a header block plus whole child blocks.
pub fn is_valid(index: &[u8]) -> bool {
    index.len() >= 22 && (index.len() - 22).is_multiple_of(5) && index.first() == Some(&1)
}

/// `parent` extended by one child block for a reply sent at `unix_seconds`.
pub fn reply(parent: &[u8], unix_seconds: i64, random: u8) -> Vec<u8> {
    let mut header_time = [0u8; 8];
    header_time[3..8].copy_from_slice(parent.get(1..6).unwrap_or(&[0; 5]));
    let start = u64::from_be_bytes(header_time) << 24;
    let delta = filetime(unix_seconds).saturating_sub(start);
    let block = if delta >> 49 == 0 {
        ((delta >> 18) & 0x7FFF_FFFF) as u32
    } else {
        0x8000_0000 | ((delta >> 23) & 0x7FFF_FFFF) as u32
    };
    let children = parent.len().saturating_sub(22) / 5;
    let mut index = parent.to_vec();
    index.extend_from_slice(&block.to_be_bytes());
    index.push(((random & 0x0F) << 4) | (children as u8 & 0x0F));
    index
}

/// A decoded index (MS-OXOMSG 2.2.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The header block's time: a FILETIME with its low 24 bits zero.
    pub time: u64,
    /// The conversation's GUID.
    pub guid: [u8; 16],
    /// One per reply, oldest first.
    pub children: Vec<Child>,
}

/// A child block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    /// The time after the header block's, in FILETIME units (the 31 bits
    /// of the block shifted by 18, or by 23 when its first bit is set).
    pub delta: u64,
    /// The 4 random bits.
    pub random: u8,
    /// The 4-bit sequence count.
    pub sequence: u8,
}

/// Decodes an index; `None` unless [`is_valid`].
pub fn decode(index: &[u8]) -> Option<Decoded> {
    if !is_valid(index) {
        return None;
    }
    let mut time = [0u8; 8];
    time[..5].copy_from_slice(&index[1..6]);
    let mut guid = [0u8; 16];
    guid.copy_from_slice(&index[6..22]);
    let children = index[22..]
        .as_chunks::<5>()
        .0
        .iter()
        .map(|b| {
            let bits = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let shift = if bits >> 31 == 0 { 18 } else { 23 };
            Child {
                delta: u64::from(bits & 0x7FFF_FFFF) << shift,
                random: b[4] >> 4,
                sequence: b[4] & 0x0F,
            }
        })
        .collect();
    Some(Decoded {
        time: u64::from_be_bytes(time),
        guid,
        children,
    })
}

/// The subject without reply and forward prefixes, as Thread-Topic carries it.
pub fn topic(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_lowercase();
        let prefix = [
            "re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:", "tr:", "rv:", "antw:",
        ]
        .iter()
        .find(|p| lower.starts_with(**p));
        match prefix {
            Some(p) => rest = rest[p.len()..].trim_start(),
            None => return rest.to_string(),
        }
    }
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    use base64ct::Encoding as _;
    base64ct::Base64::encode_string(bytes)
}

/// Decodes standard base64 (white space ignored, padding optional, nothing
/// read after a `=`); `None` on anything else.
pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    use base64ct::Encoding as _;
    let digits: String = text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .take_while(|&c| c != '=')
        .collect();
    base64ct::Base64Unpadded::decode_vec(&digits).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_replies_extend_by_five_bytes() {
        let guid = [7u8; 16];
        let first = root(1_772_442_000, &guid);
        assert_eq!(first.len(), 22);
        assert!(is_valid(&first));
        let second = reply(&first, 1_772_442_000 + 3600, 5);
        assert_eq!(second.len(), 27);
        assert_eq!(&second[..22], &first[..]);
        let third = reply(&second, 1_772_442_000 + 7200, 5);
        assert_eq!(third.len(), 32);
        assert_eq!(third[31] & 0x0F, 1);
        assert_eq!(unbase64(&base64(&third)).as_deref(), Some(&third[..]));
    }

    #[test]
    fn base64_round_trips() {
        for n in 0..10 {
            let bytes: Vec<u8> = (0..n).map(|i: u8| i.wrapping_mul(37)).collect();
            assert_eq!(unbase64(&base64(&bytes)), Some(bytes));
        }
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(unbase64("not base64!"), None);
    }

    #[test]
    fn topic_strips_prefixes() {
        assert_eq!(topic("Re: RE: Fwd: Your appointment"), "Your appointment");
        assert_eq!(topic("AW: Termin"), "Termin");
    }
}
