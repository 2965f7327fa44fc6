//! Every storage key the component writes, one function per format: the
//! schema's key half (`wit/store.wit` lists the families). Modules build keys
//! only through these; a key's bytes never change between releases (a new
//! layout is a new family, see `records`).
//!
//! `{setup}`, `{use-case}` and message ids are the component's own ids or
//! Message-IDs as received; days are days since the epoch, six digits, so
//! keys sort by day; `{workspace}` is hex-encoded so that no workspace's
//! prefix is another's.

use crate::reporting::Subject;

/// A message whose setup is unknown (an inbound message no setup owns).
pub const UNROUTED: &str = "_unrouted";

/// A stored message (`messages::MessageRecord`) of a setup, by its Message-ID.
pub fn message(setup: Option<&str>, id: &str) -> String {
    format!("message/{}/{id}", setup.unwrap_or(UNROUTED))
}

/// A provider's id for one of a setup's messages: our Message-ID (string).
pub fn alias(setup: &str, id: &str) -> String {
    format!("alias/{setup}/{id}")
}

/// The setup (or `_unrouted`) that stores the message with this id (string).
pub fn message_owner(id: &str) -> String {
    format!("message-owner/{id}")
}

/// The setup whose message a provider's id names (string).
pub fn alias_owner(id: &str) -> String {
    format!("alias-owner/{id}")
}

/// An address's suppression and bounce history in a setup.
pub fn suppression(setup: &str, address: &str) -> String {
    format!("{}{address}", suppression_prefix(setup))
}

/// Every suppression key of a setup (for `list`).
pub fn suppression_prefix(setup: &str) -> String {
    format!("suppression/{setup}/")
}

/// A setup's suppression policy.
pub fn policy(setup: &str) -> String {
    format!("policy/{setup}")
}

/// A setup's current marketing pause, while one holds.
pub fn pause(setup: &str) -> String {
    format!("pause/{setup}")
}

/// The complaint-rate window a setup restarted at its last cleared pause.
pub fn rate_window(setup: &str) -> String {
    format!("rate-window/{setup}")
}

/// A cleared pause of a setup, by the second it began (20 digits).
pub fn pause_history(setup: &str, since: u64) -> String {
    format!("pause-history/{setup}/{since:020}")
}

/// The private DKIM key (base64 PKCS#8, string) of a setup's selector.
pub fn dkim_key(setup: &str, selector: &str) -> String {
    format!("dkim-key/{setup}/{selector}")
}

/// A setup with its options, its unsubscribe secret and selector count.
pub fn setup(id: &str) -> String {
    format!("setup/{id}")
}

/// The verified setup that owns a domain (string).
pub fn domain(domain: &str) -> String {
    format!("domain/{domain}")
}

/// A workspace's setup, oldest first (the setup id, string).
pub fn workspace_setup(workspace: &str, created_at: u64, id: &str) -> String {
    format!("{}{created_at:020}/{id}", workspace_setup_prefix(workspace))
}

/// Every workspace-setup key of a workspace (for `list`).
pub fn workspace_setup_prefix(workspace: &str) -> String {
    format!("workspace-setup/{}/", crate::hex(workspace.as_bytes()))
}

/// A use case.
pub fn use_case(id: &str) -> String {
    format!("use-case/{id}")
}

/// A use-case name taken in a setup: the use case's id (string).
pub fn use_case_name(setup: &str, name: &str) -> String {
    format!("{}{name}", use_case_name_prefix(setup))
}

/// Every use-case-name key of a setup (for `list`).
pub fn use_case_name_prefix(setup: &str) -> String {
    format!("use-case-name/{setup}/")
}

/// A delivery event or report recorded for a setup, by its event id (the
/// marker that makes recording idempotent).
pub fn event(setup: &str, id: &str) -> String {
    format!("event/{setup}/{id}")
}

/// A report that matched no message of ours, by its report id.
pub fn unmatched_report(id: &str) -> String {
    format!("unmatched-report/{id}")
}

/// A day's delivery counters of a setup or use case.
pub fn stats(subject: &Subject, day: u64) -> String {
    match subject {
        Subject::Setup(id) => format!("stats/setup/{id}/{day:06}"),
        Subject::UseCase(id) => format!("stats/use-case/{id}/{day:06}"),
    }
}

/// A use case's tracking settings.
pub fn tracking_settings(use_case: &str) -> String {
    format!("tracking-settings/{use_case}")
}

/// A setup's tracking base URL (string).
pub fn tracking_base(setup: &str) -> String {
    format!("tracking-base/{setup}")
}

/// The platform's machine networks (list of CIDR strings; one key).
pub const TRACKING_NETWORKS: &str = "tracking-networks";

/// A tracked message: its links and the opens and clicks seen.
pub fn tracking(setup: &str, message: &str) -> String {
    format!("tracking/{setup}/{message}")
}

/// Opens and clicks providers reported on a message we did not track.
pub fn tracking_reported(setup: &str, message: &str) -> String {
    format!("tracking-reported/{setup}/{message}")
}

/// A day's engagement counters of a setup or use case.
pub fn engagement(subject: &Subject, day: u64) -> String {
    match subject {
        Subject::Setup(id) => format!("engagement/setup/{id}/{day:06}"),
        Subject::UseCase(id) => format!("engagement/use-case/{id}/{day:06}"),
    }
}

/// A day's clicks per link of a use case (map of URL to human and machine
/// counts).
pub fn link_clicks(use_case: &str, day: u64) -> String {
    format!("link-clicks/{use_case}/{day:06}")
}

/// A send's idempotency key in a workspace (`sha256(workspace, NUL, key)`,
/// hex): the request's digest, when claimed, the outcome once known.
pub fn idempotency(digest: &str) -> String {
    format!("idempotency/{digest}")
}

/// Every key family: its prefix and what it holds (the list `wit/store.wit`
/// documents; a test checks that every stored key belongs to one).
pub const FAMILIES: &[(&str, &str)] = &[
    ("message/", "a sent or received message, threading data"),
    ("alias/", "a provider's id of a message: our id"),
    ("message-owner/", "the setup storing a Message-ID"),
    (
        "alias-owner/",
        "the setup whose message a provider's id names",
    ),
    (
        "suppression/",
        "an address's suppression and bounce history",
    ),
    ("policy/", "a setup's suppression policy"),
    ("pause/", "a setup's current marketing pause"),
    (
        "rate-window/",
        "the complaint-rate window after a cleared pause",
    ),
    ("pause-history/", "a cleared pause"),
    ("dkim-key/", "a selector's private DKIM key"),
    ("setup/", "an email setup"),
    ("domain/", "the verified setup owning a domain"),
    ("workspace-setup/", "a workspace's setups, oldest first"),
    ("use-case/", "a use case"),
    ("use-case-name/", "a use-case name taken in a setup"),
    ("event/", "a recorded event or report (idempotency marker)"),
    ("unmatched-report/", "a report matching no message"),
    ("stats/", "a day's delivery counters"),
    ("tracking-settings/", "a use case's tracking settings"),
    ("tracking-base/", "a setup's tracking base URL"),
    ("tracking-networks", "the machine networks"),
    ("tracking/", "a tracked message's links, opens and clicks"),
    (
        "tracking-reported/",
        "provider-reported engagement on an untracked message",
    ),
    ("engagement/", "a day's engagement counters"),
    ("link-clicks/", "a day's clicks per link of a use case"),
    (
        "idempotency/",
        "a send's idempotency key: request digest, outcome",
    ),
];

/// The family a key belongs to, if any.
pub fn family(key: &str) -> Option<&'static str> {
    FAMILIES
        .iter()
        .map(|(prefix, _)| *prefix)
        .filter(|prefix| key.starts_with(prefix))
        .max_by_key(|prefix| prefix.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_keeps_its_bytes_and_family() {
        let s = Subject::Setup("set_1".into());
        let u = Subject::UseCase("uc_1".into());
        let all = [
            (message(Some("set_1"), "a@x"), "message/set_1/a@x"),
            (message(None, "a@x"), "message/_unrouted/a@x"),
            (alias("set_1", "p@x"), "alias/set_1/p@x"),
            (message_owner("a@x"), "message-owner/a@x"),
            (alias_owner("p@x"), "alias-owner/p@x"),
            (suppression("set_1", "a@x"), "suppression/set_1/a@x"),
            (policy("set_1"), "policy/set_1"),
            (pause("set_1"), "pause/set_1"),
            (rate_window("set_1"), "rate-window/set_1"),
            (
                pause_history("set_1", 7),
                "pause-history/set_1/00000000000000000007",
            ),
            (dkim_key("set_1", "mailroom1"), "dkim-key/set_1/mailroom1"),
            (setup("set_1"), "setup/set_1"),
            (domain("x.example"), "domain/x.example"),
            (
                workspace_setup("ws", 5, "set_1"),
                "workspace-setup/7773/00000000000000000005/set_1",
            ),
            (use_case("uc_1"), "use-case/uc_1"),
            (use_case_name("set_1", "care"), "use-case-name/set_1/care"),
            (event("set_1", "e1"), "event/set_1/e1"),
            (unmatched_report("rpt_1"), "unmatched-report/rpt_1"),
            (stats(&s, 20514), "stats/setup/set_1/020514"),
            (stats(&u, 3), "stats/use-case/uc_1/000003"),
            (tracking_settings("uc_1"), "tracking-settings/uc_1"),
            (tracking_base("set_1"), "tracking-base/set_1"),
            (TRACKING_NETWORKS.to_string(), "tracking-networks"),
            (tracking("set_1", "a@x"), "tracking/set_1/a@x"),
            (
                tracking_reported("set_1", "a@x"),
                "tracking-reported/set_1/a@x",
            ),
            (engagement(&s, 1), "engagement/setup/set_1/000001"),
            (engagement(&u, 1), "engagement/use-case/uc_1/000001"),
            (link_clicks("uc_1", 1), "link-clicks/uc_1/000001"),
            (idempotency("ab"), "idempotency/ab"),
        ];
        for (key, expected) in &all {
            assert_eq!(key, expected);
            let family = family(key).unwrap_or_else(|| panic!("{key}: no family"));
            assert!(key.starts_with(family), "{key} in {family}");
        }
        assert_eq!(family("host-queue/active/x"), None);
    }
}
