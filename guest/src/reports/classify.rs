//! Status code and diagnostic text to class and reason.
//!
//! Status codes lie, so the diagnostic text is read as well as the code:
//!
//! 1. A *strong* reason found in the text (user unknown, mailbox full, ...)
//!    wins over the reason the enhanced status code gives; the code's reason
//!    wins over a *weak* one found in the text (a generic "rejected",
//!    "blocked", "policy").
//! 2. The reason settles the class whatever the code says:
//!    - reasons about the address (`user-unknown`, `host-unknown`,
//!      `mailbox-disabled`, `suspended`, `has-moved`, `not-accepting`) are
//!      **hard**, even under a 4.x.x code ("550 No user found" sent with
//!      4.x.x);
//!    - reasons that pass (`mailbox-full`, `expired`, `network`,
//!      `rate-limited`, `greylisted`, `system`) are **soft**, even under a
//!      5.x.x code ("552 5.2.2 mailbox full");
//!    - reasons about the message or the sender, not the address
//!      (`too-large`, `spam-blocked`, `virus`, `policy`, `auth-failure`,
//!      `relay-denied`, `blocked`, `rejected`, `protocol`) are **blocked**,
//!      under any code: retrying the address or suppressing it fixes
//!      nothing, our mail or our sending is what was refused.
//!
//!    A `network`, `rate-limited` or `greylisted` reason read from the code
//!    alone (X.4.x) does not settle it: the code's severity does.
//! 3. Without a reason, the code decides: 5.x.x (or a 5xx reply) hard,
//!    4.x.x (or 4xx) soft, 2.x.x not a bounce. A generic X.0.0 status gives
//!    way to the SMTP reply code of the text (Postfix's "4.0.0" over a "554
//!    Blocked"). Without a code, text that only says "temporary" is soft
//!    and text that only says the mail failed is hard.
//!
//! sisimai's reasons map as: userunknown, hostunknown, hasmoved, notaccept,
//! suspend, mailboxdisabled → hard; mailboxfull, expired, networkerror,
//! toomanyconn, speeding, exceedlimit (rate), systemerror, systemfull →
//! soft; blocked, rejected, filtered, spamdetected, policyviolation,
//! authfailure, securityerror, requireptr, badreputation, norelaying,
//! virusdetected, mesgtoobig, contenterror, notcompliantrfc, syntaxerror →
//! blocked; feedback → complaint; vacation, delivered → not a bounce.

use super::Class;
use super::text::{find_reply_code, find_status, is_status};

/// Reasons that settle the class whatever the code says.
const HARD_REASONS: &[&str] = &[
    "user-unknown",
    "host-unknown",
    "mailbox-disabled",
    "suspended",
    "has-moved",
    "not-accepting",
];
const SOFT_REASONS: &[&str] = &[
    "mailbox-full",
    "expired",
    "network",
    "rate-limited",
    "greylisted",
    "system",
];
/// Reasons about the message or the sender, not the address.
const BLOCKED_REASONS: &[&str] = &[
    "too-large",
    "spam-blocked",
    "virus",
    "policy",
    "auth-failure",
    "relay-denied",
    "blocked",
    "rejected",
    "protocol",
];

/// The class a reason gives on its own, if it settles the class.
pub fn class_of_reason(reason: &str) -> Option<Class> {
    if HARD_REASONS.contains(&reason) {
        Some(Class::Hard)
    } else if SOFT_REASONS.contains(&reason) {
        Some(Class::Soft)
    } else if BLOCKED_REASONS.contains(&reason) {
        Some(Class::Blocked)
    } else {
        None
    }
}

/// Words that tell a failure without telling why.
const FAILURE_WORDS: &[&str] = &[
    "permanent",
    "undeliverable",
    "could not be delivered",
    "couldn't be delivered",
    "not delivered",
    "delivery failed",
    "delivery failure",
    "unable to deliver",
    "failed",
];

/// Text patterns (lower-case substrings), strongest first. The flag marks a
/// strong reason, which beats the status code's.
const TEXT_RULES: &[(&str, bool, &[&str])] = &[
    (
        "mailbox-full",
        true,
        &[
            "mailbox full",
            "mailbox is full",
            "mailbox has exceeded",
            "mailbox size limit",
            "mailbox quota",
            "mailbox would exceed",
            "over quota",
            "overquota",
            "over the quota",
            "quota exceeded",
            "exceeded quota",
            "exceeds quota",
            "quota exceed",
            "disk quota",
            "exceeded storage",
            "exceeds its storage",
            "storage quota",
            "insufficient storage",
            "user's mailbox is over",
            "mailbox exceeds",
            "full mailbox",
            "mailfolder is full",
            "mail box full",
            "account is full",
            "inbox is full",
            "too much mail data",
            "mailbox exceed",
            "quota full",
            "is over its quota",
            "exceeded the storage",
            "not enough storage",
            "user is over quota",
        ],
    ),
    (
        "rejected",
        true,
        &[
            "domain of sender",
            "sender domain",
            "sender address",
            "sender verify",
            "sender verification",
            "unroutable sender",
            "unrouteable sender",
            "sender rejected",
            "envelope sender",
            "recipient preferences",
            "permission to post",
        ],
    ),
    (
        "network",
        true,
        &[
            "host not found, try again",
            "unexpected name server reply",
            "temporary failure in name resolution",
        ],
    ),
    (
        "has-moved",
        true,
        &[
            "has moved",
            "address has changed",
            "no longer valid, please use",
        ],
    ),
    (
        "mailbox-disabled",
        true,
        &[
            "mailbox disabled",
            "mailbox is disabled",
            "account disabled",
            "account is disabled",
            "account has been disabled",
            "disabled account",
            "mailbox is inactive",
            "inactive account",
            "account is inactive",
            "account has been deactivated",
            "deactivated",
            "no longer active",
            "mailbox is not active",
            "account is not active",
            "account expired",
            "account has expired",
            "mailbox unavailable for this user",
            "user account is unavailable",
            "this account has been locked",
            "account is locked",
            "recipient account is disabled",
            "mailbox has been blocked",
            "mailbox is frozen",
            "address is disabled",
        ],
    ),
    (
        "suspended",
        true,
        &[
            "suspended",
            "has been terminated",
            "account closed",
            "mailbox closed",
        ],
    ),
    (
        "host-unknown",
        true,
        &[
            "host unknown",
            "unknown host",
            "host not found",
            "host or domain name not found",
            "domain not found",
            "no such domain",
            "unknown domain",
            "domain does not exist",
            "domain doesn't exist",
            "domain name not found",
            "nxdomain",
            "name or service not known",
            "unrouteable mail domain",
            "unroutable mail domain",
            "no mx record",
            "no mail exchanger",
            "not a valid domain",
            "domain is not valid",
            "invalid domain",
            "domain unknown",
            "nonexistent domain",
            "non-existent domain",
            "non-existent host",
            "no route for domain",
            "could not be resolved",
            "name server: ",
            "dns lookup failed",
            "domain lookup failed",
            "bad destination host",
            "the domain is not reachable",
            "couldn't find a mail exchanger",
            "could not find a mail exchanger",
        ],
    ),
    (
        "not-accepting",
        true,
        &[
            "does not accept mail",
            "doesn't accept mail",
            "not accepting mail",
            "accepts no mail",
            "null mx",
            "not accepting network messages",
        ],
    ),
    (
        "user-unknown",
        true,
        &[
            "user unknown",
            "unknown user",
            "recipient address rejected: access denied",
            "unknown recipient",
            "recipient unknown",
            "recipient not found",
            "user not found",
            "no such user",
            "no such recipient",
            "no such mailbox",
            "no such address",
            "no user",
            "user doesn't exist",
            "user does not exist",
            "user does not have an account",
            "does not exist",
            "doesn't exist",
            "not exist",
            "invalid recipient",
            "invalid mailbox",
            "invalid address",
            "invalid user",
            "unknown address",
            "unknown local part",
            "unknown mailbox",
            "mailbox not found",
            "no mailbox",
            "not a valid mailbox",
            "bad destination mailbox",
            "unrouteable address",
            "unroutable address",
            "not our customer",
            "addressee unknown",
            "recipient name is not recognized",
            "no longer in use",
            "not listed in",
            "couldn't be found",
            "could not be found",
            "not found in",
            "is not a known user",
            "unknown or illegal alias",
            "no account by that name",
            "account that you tried to reach does not exist",
            "no valid recipients",
            "undeliverable address",
            "recipient does not exist",
            "address unknown",
            "user is unknown",
            "mailbox does not exist",
            "unknown email address",
            "user invalid",
            "invalid account",
            "not a valid user",
            "no one with that email address",
            "no recipients",
            "not a valid recipient",
            "unknown recipient address",
            "bad recipient",
            "nonexistent user",
            "non-existent user",
            "non-existent account",
            "email address is not valid",
            "the email account that you tried to reach",
            "mailbox name not allowed",
            "the recipient cannot be resolved",
            "no such person",
            "user not exist",
            "address does not exist",
            "no such local user",
            "destination mailbox",
            "unknown alias",
            "user_unknown",
            "is unknown",
            "malformed address",
            "malformed recipient",
            "delivery userid",
            "user doesn't have",
            "user does not have",
            "not a registered",
        ],
    ),
    (
        "too-large",
        true,
        &[
            "message too large",
            "message is too large",
            "message too big",
            "message is too big",
            "size limit",
            "message size exceeds",
            "exceeds the maximum size",
            "exceeded the maximum size",
            "exceeds size limit",
            "message length exceeds",
            "message exceeds",
            "too large",
            "size exceeds",
            "maximum message size",
            "message size",
        ],
    ),
    (
        "virus",
        true,
        &[
            "virus",
            "malware",
            "infected",
            "dangerous attachment",
            "harmful",
        ],
    ),
    (
        "greylisted",
        true,
        &["greylist", "graylist", "grey-list", "gray-list"],
    ),
    (
        "rate-limited",
        true,
        &[
            "too many connections",
            "too many concurrent",
            "too many simultaneous",
            "too many messages",
            "too many recipients",
            "rate limit",
            "ratelimit",
            "rate-limit",
            "rate that is",
            "sending rate",
            "throttl",
            "exceeded the rate",
            "receiving mail at a rate",
            "too many mails",
            "too fast",
            "frequency limit",
            "connection limit",
            "limit exceeded",
            "exceeded the limit",
            "daily limit",
            "too many errors",
        ],
    ),
    (
        "expired",
        true,
        &[
            "retry time",
            "retry timeout",
            "delivery time expired",
            "message expired",
            "expired",
            "could not be delivered within",
            "too long in queue",
            "queue too long",
            "been in the queue too long",
            "unable to deliver this message after",
            "giving up",
            "gave up",
            "delivery attempts will continue",
            "will continue to retry",
            "still trying",
            "has not yet been delivered",
            "delayed",
        ],
    ),
    (
        "auth-failure",
        true,
        &[
            "dmarc",
            "spf check",
            "spf fail",
            "spf validation",
            "spf record",
            "sender policy framework",
            "dkim",
            "unauthenticated email",
            "authentication check",
            "failed authentication",
            "not authenticated",
            "sender id",
            "purported responsible address",
        ],
    ),
    (
        "spam-blocked",
        true,
        &[
            "spam",
            "junk",
            "blacklist",
            "blocklist",
            "block list",
            "black list",
            "dnsbl",
            "rbl",
            "spamhaus",
            "spamcop",
            "barracuda",
            "reputation",
            "bulk mail",
            "unsolicited",
            "listed at",
            "listed in",
            "is listed",
            "content filter",
            "message content",
            "content rejected",
            "contains prohibited",
            "suspicious",
            "phish",
            "message filtered",
        ],
    ),
    (
        "relay-denied",
        true,
        &[
            "relaying denied",
            "relay access denied",
            "relay denied",
            "relaying not allowed",
            "not permitted to relay",
            "unable to relay",
            "relay not permitted",
            "we do not relay",
            "not allowed to relay",
            "relaying is not allowed",
            "no relaying",
            "relay prohibited",
        ],
    ),
    (
        "user-unknown",
        false,
        &[
            "mailbox unavailable",
            "mailbox not available",
            "requested action not taken: mailbox",
        ],
    ),
    (
        "network",
        false,
        &[
            "connection refused",
            "connection timed out",
            "timed out",
            "timeout",
            "no route to host",
            "network is unreachable",
            "lost connection",
            "connection reset",
            "connection closed",
            "connection dropped",
            "could not connect",
            "couldn't connect",
            "unable to connect",
            "failed to connect",
            "no smtp connection",
            "routing loop",
            "mail loop",
            "loops back",
            "too many hops",
            "hop count exceeded",
            "unable to route",
            "not reachable",
            "unreachable",
        ],
    ),
    (
        "blocked",
        false,
        &[
            "blocked",
            "client host rejected",
            "access denied",
            "refused",
            "not allowed",
            "banned",
            "reverse dns",
            "ptr record",
            "rdns",
            "no ptr",
            "hostname lookup",
            "your ip",
            "your host",
            "invalid ip",
            "denied",
            "not permitted",
        ],
    ),
    (
        "policy",
        false,
        &[
            "policy",
            "not authorized",
            "unauthorized",
            "prohibited",
            "restricted",
            "not accepted",
            "security",
            "tls required",
            "encryption required",
            "rfc 5322",
            "rfc5322",
            "rfc 2822",
            "rfc2822",
            "not compliant",
            "invalid header",
            "header error",
            "missing header",
            "duplicate header",
            "malformed header",
            "message id",
            "message-id",
        ],
    ),
    (
        "protocol",
        false,
        &[
            "syntax error",
            "command not recognized",
            "bad sequence",
            "unrecognized command",
            "command unrecognized",
            "protocol error",
            "protocol violation",
            "bad command",
            "invalid command",
            "not implemented",
        ],
    ),
    (
        "system",
        false,
        &[
            "system error",
            "internal error",
            "local error",
            "server error",
            "temporary failure",
            "temporarily",
            "temporary",
            "system not accepting",
            "insufficient system",
            "out of memory",
            "resources",
            "service unavailable",
            "service not available",
            "mailer error",
            "i/o error",
            "unexpected",
            "not available",
            "unavailable",
            "try again",
        ],
    ),
    // Postfix's "Recipient address rejected: <why>" names the address, but
    // the why (read by the rules above) is the reason when there is one.
    (
        "user-unknown",
        false,
        &[
            "recipient address rejected",
            "address rejected",
            "recipient rejected",
        ],
    ),
    (
        "rejected",
        false,
        &["rejected", "reject", "not accept", "refuse", "not a member"],
    ),
];

/// The reason in `text` (already lower-case) and whether it is strong.
pub(crate) fn text_reason(lower: &str) -> Option<(&'static str, bool)> {
    TEXT_RULES
        .iter()
        .find(|(_, _, patterns)| patterns.iter().any(|p| lower.contains(p)))
        .map(|(reason, strong, _)| (*reason, *strong))
}

/// The reason an enhanced status code gives on its own.
fn status_reason(status: &str) -> Option<&'static str> {
    let mut it = status.split('.');
    let (_, subject, detail) = (it.next()?, it.next()?, it.next()?);
    Some(match (subject, detail) {
        ("1", "1") | ("1", "3") | ("1", "0") => "user-unknown",
        ("1", "2") => "host-unknown",
        ("1", "6") => "has-moved",
        ("1", "10") => "not-accepting",
        ("1", "7") | ("1", "8") => "rejected",
        ("2", "1") => "mailbox-disabled",
        ("2", "2") => "mailbox-full",
        ("2", "3") | ("3", "4") => "too-large",
        ("2", _) => return None,
        ("3", "2") => "system",
        ("3", _) => "system",
        ("4", "7") => "expired",
        ("4", "6") => "network",
        ("4", "4") => "host-unknown",
        ("4", "1") | ("4", "2") => "network",
        ("4", _) => "network",
        ("5", _) => "protocol",
        ("6", _) => "rejected",
        ("7", "1") => "policy",
        ("7", "23") | ("7", "25") | ("7", "26") | ("7", "27") | ("7", "7") => "auth-failure",
        ("7", _) => "policy",
        _ => return None,
    })
}

/// Where in the SMTP dialogue a failure came, when the text says it came
/// before any recipient was named (at the greeting, HELO/EHLO or MAIL
/// FROM): then our host or our sender was refused, not the address.
fn refused_before_recipient(lower: &str) -> bool {
    const STAGES: &[&str] = &[
        "after mail from",
        "in reply to mail from",
        "after initial connection",
        "in reply to initial",
        "after helo",
        "after ehlo",
        "in reply to helo",
        "in reply to ehlo",
        "my name was rejected",
    ];
    if STAGES.iter().any(|s| lower.contains(s)) {
        return true;
    }
    // A transcript (`>>> COMMAND` / `<<< reply`) whose last command is
    // MAIL FROM.
    lower
        .rfind(">>> ")
        .and_then(|i| lower.get(i + 4..))
        .is_some_and(|rest| rest.starts_with("mail from"))
}

/// The remote server's own words when a provider wraps them (Amazon SES:
/// `5.1.0 - Unknown address error 550-'… the server's text …'`): the
/// provider's gloss of the code is not evidence.
fn remote_words(lower: &str) -> &str {
    lower
        .find("-'")
        .filter(|&i| {
            i >= 3
                && lower
                    .get(i - 3..i)
                    .is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit()))
        })
        .and_then(|i| lower.get(i - 3..))
        .unwrap_or(lower)
}

/// Classifies a status code and/or diagnostic text; returns the class and
/// the reason (see the module documentation for how they combine). With
/// neither, or with a 2.x.x code and no failure in the text, it is
/// [`Class::NotABounce`].
pub fn classify(status: Option<&str>, diagnostic: Option<&str>) -> (Class, Option<String>) {
    let status = status
        .map(str::trim)
        .filter(|s| is_status(s))
        .map(str::to_string)
        .or_else(|| diagnostic.and_then(find_status));
    let whole = diagnostic.map(str::to_lowercase).unwrap_or_default();
    let lower = remote_words(&whole);
    let from_text = if refused_before_recipient(lower) {
        Some(("rejected", true))
    } else {
        text_reason(lower)
    };
    let from_code = status.as_deref().and_then(status_reason);
    // X.5.0 ("other protocol status") says nothing a weak text reason
    // would not say better.
    let vague_code = status.as_deref().is_some_and(|s| s.ends_with(".5.0"));
    let reason = match (from_text, from_code) {
        (Some((t, true)), _) => Some(t),
        (Some((t, false)), Some(_)) if vague_code => Some(t),
        (_, Some(c)) => Some(c),
        (Some((t, false)), None) => Some(t),
        (None, None) => None,
    };
    let code_only = from_text.is_none_or(|(t, _)| Some(t) != reason);
    // A generic X.0.0 status gives way to the SMTP reply code.
    let reply = diagnostic
        .and_then(find_reply_code)
        .map(|c| if c >= 500 { '5' } else { '4' });
    let severity = match status.as_deref() {
        Some(s) if s.ends_with(".0.0") && reply.is_some() => reply,
        Some(s) => s.chars().next(),
        None => reply,
    };
    let failed = || lower.contains("temporar") || FAILURE_WORDS.iter().any(|w| whole.contains(w));
    let class = match reason {
        // An address reason read from a 4.x.x code alone ("421 4.2.1
        // Service refused") is not evidence enough to suppress.
        Some(r) if HARD_REASONS.contains(&r) && code_only && severity == Some('4') => Class::Soft,
        Some(r) => class_of_reason(r).unwrap_or(Class::Soft),
        // Without a reason nothing says the address is at fault: soft, so
        // the soft-bounce rule suppresses an address that keeps failing for
        // a day at a time, and a working one is not lost.
        None => match severity {
            Some('5' | '4') => Class::Soft,
            Some(_) => Class::NotABounce,
            None if failed() => Class::Soft,
            None => Class::NotABounce,
        },
    };
    let reason = (class != Class::NotABounce).then_some(reason).flatten();
    (class, reason.map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: Option<&str>, text: &str) -> (Class, Option<String>) {
        classify(status, Some(text))
    }

    #[test]
    fn text_beats_lying_codes() {
        assert_eq!(
            c(Some("5.0.0"), "550 5.0.0 Unknown User"),
            (Class::Hard, Some("user-unknown".into()))
        );
        assert_eq!(
            c(Some("4.0.0"), "550 No user found"),
            (Class::Hard, Some("user-unknown".into()))
        );
        assert_eq!(
            c(Some("5.2.2"), "552 mailbox full"),
            (Class::Soft, Some("mailbox-full".into()))
        );
        assert_eq!(
            c(
                Some("5.2.0"),
                "550 5.2.0 Mail rejete. Mail rejected. ofr_506 spam"
            ),
            (Class::Blocked, Some("spam-blocked".into()))
        );
        assert_eq!(
            c(Some("5.3.4"), "552 5.3.4 Message size exceeds fixed limit"),
            (Class::Blocked, Some("too-large".into()))
        );
        assert_eq!(
            c(
                Some("5.7.1"),
                "550 5.7.1 Relaying denied: our IP has no reverse DNS"
            ),
            (Class::Blocked, Some("relay-denied".into()))
        );
        assert_eq!(
            c(Some("5.1.1"), "552 5.1.1 mailbox full"),
            (Class::Soft, Some("mailbox-full".into()))
        );
    }

    #[test]
    fn codes_alone() {
        assert_eq!(
            classify(Some("5.1.1"), None),
            (Class::Hard, Some("user-unknown".into()))
        );
        assert_eq!(
            classify(Some("4.4.7"), None),
            (Class::Soft, Some("expired".into()))
        );
        assert_eq!(
            classify(Some("4.7.1"), None),
            (Class::Blocked, Some("policy".into()))
        );
        assert_eq!(classify(Some("2.0.0"), None), (Class::NotABounce, None));
        assert_eq!(classify(None, None), (Class::NotABounce, None));
        assert_eq!(
            classify(Some("nonsense"), Some("")),
            (Class::NotABounce, None)
        );
    }

    #[test]
    fn reply_code_without_status() {
        assert_eq!(
            c(None, "host said: 554 message refused"),
            (Class::Blocked, Some("blocked".into()))
        );
        assert_eq!(c(None, "451 please retry"), (Class::Soft, None));
    }

    #[test]
    fn hostile_text() {
        let long = "x".repeat(1_000_000);
        assert_eq!(c(None, &long), (Class::NotABounce, None));
    }
}
