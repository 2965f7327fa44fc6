use base64ct::Encoding;

use super::rules::{self, ClickHistory, Context, Network};
use super::*;
use crate::env::FixedEnv;
use crate::outbound::{Recipient, SendRequest, send};
use crate::store::{Entry, MemoryStore, Page};
use crate::transport::RecordingTransport;

const START: i64 = 1_772_442_000;

struct Clinic {
    store: MemoryStore,
    env: FixedEnv,
    transport: RecordingTransport,
    setup: Setup,
    marketing: UseCase,
    transactional: UseCase,
}

fn clinic() -> Clinic {
    let mut store = MemoryStore::default();
    let mut env = FixedEnv::new(START, 9);
    let options = setups::SetupOptions {
        inbound_host: "in.clinic.example".into(),
        spf_include: None,
        unsubscribe_base: None,
        pending_ttl: None,
        bounce_domain: None,
    };
    let setup =
        setups::create(&mut store, &mut env, "ws", "clinic.example", &options).expect("setup");
    setups::verify(
        &mut store,
        &mut env,
        &setup.id,
        &setups::answers_publishing(&setup.records),
    )
    .expect("verify");
    let mut uc = |kind, name| {
        use_cases::create(
            &mut store,
            &mut env,
            &setup.id,
            "news@clinic.example",
            kind,
            "Clinic",
            name,
        )
        .expect("use case")
    };
    let marketing = uc(UseCaseType::Marketing, "News");
    let transactional = uc(UseCaseType::Transactional, "Care");
    Clinic {
        store,
        env,
        transport: RecordingTransport::default(),
        setup,
        marketing,
        transactional,
    }
}

const HTML: &str = "<html><body><p>Hello</p>\
    <a href=\"https://clinic.example/offer?a=1&amp;b=2\">offer</a>\
    <a href=\"mailto:care@clinic.example\">write</a>\
    <a href=\"[[unsubscribe-url]]\">unsubscribe</a>\
    </body></html>";

fn request(use_case: &str, html: &str) -> SendRequest {
    SendRequest {
        use_case: use_case.into(),
        to: vec![Recipient {
            name: None,
            address: "pat@example.org".into(),
        }],
        cc: vec![],
        subject: "News".into(),
        text: Some("Offer: https://clinic.example/offer?a=1&b=2".into()),
        html: Some(html.into()),
        attachments: vec![],
        in_reply_to: None,
        idempotency_key: None,
    }
}

fn html_of(raw: &[u8]) -> (String, String) {
    let m = mail_parser::MessageParser::new()
        .parse(raw)
        .expect("parses");
    (
        m.body_html(0).expect("html").into_owned(),
        m.body_text(0).expect("text").into_owned(),
    )
}

fn tokens(html: &str, kind: &str) -> Vec<String> {
    let needle = format!("https://in.clinic.example/t/{kind}/");
    html.match_indices(&needle)
        .map(|(i, _)| {
            html[i + needle.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

fn get(at: u64, ua: &str) -> Request {
    Request {
        at,
        user_agent: Some(ua.into()),
        client_ip: Some("203.0.113.7".into()),
        method: Method::Get,
    }
}

const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

#[test]
fn marketing_send_rewrites_the_one_http_link_and_adds_the_pixel() {
    let mut c = clinic();
    let sent = send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.marketing.id, HTML),
    )
    .expect("sent");
    let (html, text) = html_of(&c.transport.sent[0].raw);
    assert_eq!(tokens(&html, "c").len(), 1, "{html}");
    assert_eq!(tokens(&html, "o").len(), 1, "{html}");
    assert!(html.contains("mailto:care@clinic.example"));
    assert!(html.contains(sent.unsubscribe_url.as_deref().expect("unsubscribe url")));
    assert!(!html.contains("clinic.example/offer"));
    let pixel = html.find("/t/o/").expect("pixel");
    assert!(pixel < html.find("</body>").expect("body end"));
    assert_eq!(text, "Offer: https://clinic.example/offer?a=1&b=2");

    // The click redirects to the stored, entity-decoded URL.
    let click_token = &tokens(&html, "c")[0];
    let later = START as u64 + 600;
    let a = click(&mut c.store, click_token, &get(later, BROWSER)).expect("click");
    assert_eq!(a.status, 302);
    assert_eq!(
        a.headers[0],
        (
            "location".into(),
            "https://clinic.example/offer?a=1&b=2".into()
        )
    );
    let m = message(&mut c.store, &sent.message_id).expect("tracked");
    assert_eq!(m.links.len(), 1);
    assert_eq!(m.links[0].url, "https://clinic.example/offer?a=1&b=2");
    assert_eq!(
        m.links[0].tracked_url,
        format!("https://in.clinic.example/t/c/{click_token}")
    );
    assert_eq!(
        m.links[0].machine, 1,
        "a click with no open: {:?}",
        a.recorded
    );
    assert!(html.contains(m.pixel_url.as_deref().expect("pixel")));
}

#[test]
fn transactional_mail_carries_neither_by_default_and_can_opt_in() {
    let mut c = clinic();
    let html = HTML.replace("[[unsubscribe-url]]", "https://clinic.example/prefs");
    send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.transactional.id, &html),
    )
    .expect("sent");
    let (sent_html, _) = html_of(&c.transport.sent[0].raw);
    assert!(tokens(&sent_html, "c").is_empty() && tokens(&sent_html, "o").is_empty());
    assert!(sent_html.contains("https://clinic.example/offer"));
    let on = TrackingSettings {
        opens: false,
        clicks: true,
        scanner_window_secs: 10,
    };
    set_settings(&mut c.store, &c.transactional.id, &on).expect("set");
    send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.transactional.id, &html),
    )
    .expect("sent");
    let (sent_html, _) = html_of(&c.transport.sent[1].raw);
    assert_eq!(tokens(&sent_html, "c").len(), 2);
    assert!(tokens(&sent_html, "o").is_empty());
}

/// Counts reads and writes of a memory store.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    reads: Vec<String>,
    writes: usize,
}

impl Store for Counting {
    fn get(&mut self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.reads.push(key.to_string());
        self.inner.get(key)
    }
    fn put(&mut self, key: &str, value: &[u8], expect: Expect) -> Result<u64, StoreError> {
        self.writes += 1;
        self.inner.put(key, value, expect)
    }
    fn delete(&mut self, key: &str, expect: Expect) -> Result<(), StoreError> {
        self.writes += 1;
        self.inner.delete(key, expect)
    }
    fn list(&mut self, prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Page, StoreError> {
        self.inner.list(prefix, cursor, limit)
    }
}

#[test]
fn forged_foreign_and_huge_tokens_are_refused_having_read_only_the_setup() {
    let mut c = clinic();
    send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.marketing.id, HTML),
    )
    .expect("sent");
    let (html, _) = html_of(&c.transport.sent[0].raw);
    let good = tokens(&html, "o").remove(0);
    let mut store = Counting {
        inner: c.store.clone(),
        ..Counting::default()
    };
    let bytes = base64ct::Base64UrlUnpadded::decode_vec(&good).expect("b64");
    for i in 0..bytes.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 0x40;
        let forged = base64ct::Base64UrlUnpadded::encode_string(&changed);
        store.reads.clear();
        let r = open(&mut store, &forged, &get(START as u64 + 100, BROWSER));
        assert!(
            matches!(r, Err(TrackingError::InvalidToken(_))),
            "byte {i}: {r:?}"
        );
        assert!(
            store.reads.len() <= 1 && store.reads.iter().all(|k| k.starts_with("setup/set_")),
            "byte {i}: {:?}",
            store.reads
        );
    }
    for bad in [
        "A".repeat(1 << 20),
        String::new(),
        "%%%".into(),
        format!("{good}x"),
    ] {
        assert!(matches!(
            open(&mut store, &bad, &get(START as u64, BROWSER)),
            Err(TrackingError::InvalidToken(_))
        ));
    }
    // An open token is not a click token.
    assert!(matches!(
        click(&mut store, &good, &get(START as u64 + 100, BROWSER)),
        Err(TrackingError::InvalidToken(_))
    ));
    assert_eq!(store.writes, 0);

    // A token of another setup does not verify under this one's key.
    let (claim, _, _) = token::read(&good).expect("reads");
    let other = token::make(
        &token::Claim {
            setup: claim.setup.clone(),
            ..claim
        },
        &token::key(b"another setup's secret"),
    )
    .expect("token");
    assert!(matches!(
        open(&mut store, &other, &get(START as u64, BROWSER)),
        Err(TrackingError::InvalidToken(_))
    ));
    assert_eq!(store.writes, 0);
}

#[test]
fn opens_and_clicks_count_unique_once_and_split_by_agent() {
    let mut c = clinic();
    let sent = send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.marketing.id, HTML),
    )
    .expect("sent");
    let (html, _) = html_of(&c.transport.sent[0].raw);
    let (o, k) = (tokens(&html, "o").remove(0), tokens(&html, "c").remove(0));
    let t = START as u64;
    // Apple's prefetch seconds after delivery, then the person, twice.
    let mpp = Request {
        client_ip: Some("17.58.1.2".into()),
        ..get(t + 3, "Mozilla/5.0")
    };
    let a = open(&mut c.store, &o, &mpp).expect("open");
    let e = a.recorded.expect("recorded");
    assert_eq!(
        (e.classification.agent, e.classification.reason),
        (Agent::Machine, Reason::AppleMpp)
    );
    assert_eq!(a.body, GIF.to_vec());
    for at in [t + 600, t + 601] {
        let a = open(&mut c.store, &o, &get(at, BROWSER)).expect("open");
        assert_eq!(a.recorded.expect("recorded").unique, at == t + 600);
    }
    let a = click(&mut c.store, &k, &get(t + 660, BROWSER)).expect("click");
    let e = a.recorded.expect("recorded");
    assert_eq!((e.classification.agent, e.unique), (Agent::Human, true));
    let p = engagement(
        &mut c.store,
        &Subject::UseCase(c.marketing.id.clone()),
        t,
        t + 86_400,
    )
    .expect("counts");
    assert_eq!(
        p.engagement,
        Engagement {
            opens_human: 2,
            opens_machine: 1,
            unique_opens_human: 1,
            unique_opens_machine: 1,
            clicks_human: 1,
            clicks_machine: 0,
            unique_clicks_human: 1,
            unique_clicks_machine: 0,
        }
    );
    let per_link = link_clicks(&mut c.store, &c.marketing.id, t, t + 86_400).expect("links");
    assert_eq!(per_link[0].human, 1);
    assert_eq!(
        message(&mut c.store, &sent.message_id)
            .expect("tracked")
            .links[0]
            .human,
        1
    );
}

#[test]
fn unsubscribed_and_bounced_recipients_are_never_recorded() {
    let mut c = clinic();
    let sent = send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.marketing.id, HTML),
    )
    .expect("sent");
    let (html, _) = html_of(&c.transport.sent[0].raw);
    let o = tokens(&html, "o").remove(0);
    let target = crate::suppression::Target {
        setup: &c.setup.id,
        use_case: &c.marketing.id,
        address: "pat@example.org",
        event: "ev-1",
        at: START as u64 + 5,
    };
    crate::suppression::apply(
        &mut c.store,
        &target,
        START as u64 + 5,
        &crate::suppression::Change::HardBounce,
    )
    .expect("bounce");
    let a = open(&mut c.store, &o, &get(START as u64 + 600, BROWSER)).expect("answered");
    assert_eq!((a.status, a.recorded), (200, None));
    assert_eq!(a.not_recorded.as_deref(), Some("the message bounced"));

    // Unsubscribed from marketing: the transactional use case with tracking
    // on sends untracked mail to them.
    let mut c = clinic();
    let url = send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.marketing.id, HTML),
    )
    .expect("sent")
    .unsubscribe_url
    .expect("url");
    crate::unsubscribe::one_click(
        &mut c.store,
        &mut c.env,
        &url,
        None,
        b"List-Unsubscribe=One-Click",
    )
    .expect("unsubscribed");
    let on = TrackingSettings::default_for(UseCaseType::Marketing);
    set_settings(&mut c.store, &c.transactional.id, &on).expect("set");
    send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.transactional.id, HTML),
    )
    .expect("sent");
    let (html, _) = html_of(&c.transport.sent[1].raw);
    assert!(tokens(&html, "o").is_empty() && tokens(&html, "c").is_empty());
    let _ = sent;
}

fn cx(apple: &[Network]) -> Context<'_> {
    Context {
        sent_at: 1000,
        apple,
        scanner_window: 10,
    }
}

#[test]
fn classification_rules_one_by_one() {
    let apple = [Network::parse("17.0.0.0/8").expect("cidr")];
    let cx = cx(&apple);
    let mpp = Request {
        client_ip: Some("17.1.2.3".into()),
        ..get(1002, "Mozilla/5.0")
    };
    assert_eq!(rules::classify_open(&mpp, &cx).reason, Reason::AppleMpp);
    // From Apple's range seconds after delivery, whatever the agent.
    let early = Request {
        client_ip: Some("17.1.2.3".into()),
        ..get(1005, BROWSER)
    };
    assert_eq!(rules::classify_open(&early, &cx).reason, Reason::AppleMpp);
    let gmail = get(
        1500,
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    );
    let c = rules::classify_open(&gmail, &cx);
    assert_eq!(
        (c.agent, c.proxied, c.reason),
        (Agent::Human, true, Reason::GmailImageProxy)
    );
    let yahoo = get(
        1500,
        "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    );
    assert_eq!(
        rules::classify_open(&yahoo, &cx).reason,
        Reason::YahooImageProxy
    );
    let head = Request {
        method: Method::Head,
        ..get(5000, BROWSER)
    };
    assert_eq!(rules::classify_open(&head, &cx).reason, Reason::HeadRequest);
    let none = ClickHistory {
        pixel: true,
        opened: true,
        other_link_just_before: false,
    };
    assert_eq!(
        rules::classify_click(&head, &cx, &none).reason,
        Reason::HeadRequest
    );
    let scanner = get(5000, "Mozilla/5.0 (compatible; Barracuda Sentinel)");
    assert_eq!(
        rules::classify_click(&scanner, &cx, &none).reason,
        Reason::ScannerUserAgent
    );
    assert_eq!(
        rules::classify_click(&get(5000, ""), &cx, &none).reason,
        Reason::NoUserAgent
    );
    // A click two seconds after delivery.
    assert_eq!(
        rules::classify_click(&get(1002, BROWSER), &cx, &none).reason,
        Reason::TooSoonAfterDelivery
    );
    let burst = ClickHistory {
        other_link_just_before: true,
        ..none
    };
    assert_eq!(
        rules::classify_click(&get(5000, BROWSER), &cx, &burst).reason,
        Reason::LinkBurst
    );
    let unopened = ClickHistory {
        opened: false,
        ..none
    };
    assert_eq!(
        rules::classify_click(&get(5000, BROWSER), &cx, &unopened).reason,
        Reason::ClickWithoutOpen
    );
    // Outlook blocks images by default: its click without an open is a person's.
    let outlook = get(5000, "Microsoft Outlook 16.0.17928; Pro");
    assert_eq!(
        rules::classify_click(&outlook, &cx, &unopened).agent,
        Agent::Human
    );
    // People: an open, then a click a minute later.
    assert_eq!(
        rules::classify_open(&get(4000, BROWSER), &cx).reason,
        Reason::Person
    );
    let c = rules::classify_click(&get(4060, BROWSER), &cx, &none);
    assert_eq!(
        (c.agent, c.proxied, c.reason),
        (Agent::Human, false, Reason::Person)
    );
}

#[test]
fn three_links_in_one_second_are_a_scanner() {
    let mut c = clinic();
    let html = "<body><a href=\"https://a.example/1\">1</a><a href=\"https://a.example/2\">2</a>\
                <a href=\"https://a.example/3\">3</a></body>";
    send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.marketing.id, html),
    )
    .expect("sent");
    let (sent, _) = html_of(&c.transport.sent[0].raw);
    let t = START as u64;
    open(&mut c.store, &tokens(&sent, "o")[0], &get(t + 100, BROWSER)).expect("open");
    let agents: Vec<(Agent, Reason)> = tokens(&sent, "c")
        .iter()
        .map(|k| {
            let e = click(&mut c.store, k, &get(t + 200, BROWSER))
                .expect("click")
                .recorded
                .expect("recorded");
            (e.classification.agent, e.classification.reason)
        })
        .collect();
    assert_eq!(
        agents,
        [
            (Agent::Human, Reason::Person),
            (Agent::Machine, Reason::LinkBurst),
            (Agent::Machine, Reason::LinkBurst)
        ]
    );
}

#[test]
fn networks_parse_and_match() {
    let n = Network::parse("2620:149::/32").expect("v6");
    assert!(n.contains("2620:149:a::1".parse().expect("ip")));
    assert!(!n.contains("17.0.0.1".parse().expect("ip")));
    let v4 = Network::parse("17.0.0.0/8").expect("v4");
    assert!(v4.contains("::ffff:17.2.3.4".parse().expect("ip")));
    assert!(Network::parse("17.0.0.0/33").is_none());
    assert!(
        Network::parse("0.0.0.0/0")
            .expect("all")
            .contains("1.2.3.4".parse().expect("ip"))
    );
    let mut store = MemoryStore::default();
    assert!(matches!(
        set_networks(&mut store, &["nope".into()]),
        Err(TrackingError::InvalidInput(_))
    ));
    assert_eq!(
        set_networks(&mut store, &["17.0.0.0/8".into(), "2620:149::/32".into()]),
        Ok(2)
    );
}

fn plan_rewrite(html: &str) -> rewrite::Rewritten {
    let make = |i: u16| Some(format!("https://t.example/c/{i}"));
    let plan = rewrite::Plan {
        click: Some(&make),
        pixel: Some("https://t.example/o/x"),
        keep: &["https://u.example/unsub/1"],
        keep_prefixes: &["https://u.example/unsub/"],
    };
    rewrite::rewrite(html, &plan).expect("rewrites")
}

#[test]
fn hostile_html_is_rewritten_in_bounded_time() {
    // Unclosed tags: no </body>, the pixel goes at the end.
    let r = plan_rewrite("<div><a href=https://x.example/1>one<p><a href='https://x.example/2'");
    assert_eq!(r.links, ["https://x.example/1"]);
    assert!(r.html.ends_with("<img src=\"https://t.example/o/x\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">"), "{}", r.html);
    // Links in comments, scripts and attributes other than <a href> stay.
    let html = "<!-- <a href=\"https://c.example/\">x</a> --><script>var a='<a href=\"https://s.example\">'</script>\
                <base href=\"https://b.example/\"><a href=\"page\">rel</a><img src=\"https://i.example/p.png\">\
                <a href=\"#top\">top</a><a href=\"tel:+1\">tel</a><a href=\" HTTPS://Up.example/\">up</a>\
                <a href=\"https://u.example/unsub/abc\">u</a><a data-mailroom-no-track href=\"https://n.example/\">n</a></body>";
    let r = plan_rewrite(html);
    assert_eq!(r.links, ["HTTPS://Up.example/"]);
    assert!(
        r.html
            .contains("<!-- <a href=\"https://c.example/\">x</a> -->")
    );
    assert!(r.html.contains("var a='<a href=\"https://s.example\">'"));
    assert!(
        r.html.contains("<a  href=\"https://n.example/\">")
            || r.html.contains("<a href=\"https://n.example/\">"),
        "{}",
        r.html
    );
    assert!(!r.html.contains(rewrite::NO_TRACK_ATTRIBUTE));
    // 10,000 links: the first MAX_LINKS are tracked, the rest stay.
    let many: String = (0..10_000)
        .map(|i| format!("<a href=\"https://m.example/{i}\">{i}</a>"))
        .collect();
    let r = plan_rewrite(&many);
    assert_eq!(r.links.len(), rewrite::MAX_LINKS);
    assert!(r.html.contains("https://m.example/9999"));
    // Nesting and garbage.
    let deep = "<a href=\"https://d.example/\">".repeat(5_000)
        + &"<div>".repeat(20_000)
        + "\0\u{FFFD}<<<>>>";
    let r = plan_rewrite(&deep);
    assert_eq!(r.links.len(), rewrite::MAX_LINKS);
    assert_eq!(
        rewrite::decode_entities("a&amp;b&#38;c&#x26;d&bogus;&"),
        "a&b&c&d&bogus;&"
    );
}

#[test]
fn another_workspace_sees_not_found_and_changes_nothing() {
    use crate::tenant;
    let mut c = clinic();
    let sent = send(
        &mut c.store,
        &mut c.transport,
        &mut c.env,
        &request(&c.marketing.id, HTML),
    )
    .expect("sent");
    let before = c.store.clone();
    let on = TrackingSettings::default_for(UseCaseType::Marketing);
    let uc = c.marketing.id.clone();
    let setup = c.setup.id.clone();
    let theirs = [
        tenant::tracking_get_settings(&mut c.store, "other", &uc).map(|_| ()),
        tenant::tracking_set_settings(&mut c.store, "other", &uc, &on).map(|_| ()),
        tenant::tracking_get_base(&mut c.store, "other", &setup).map(|_| ()),
        tenant::tracking_set_base(&mut c.store, "other", &setup, None).map(|_| ()),
        tenant::tracking_message(&mut c.store, "other", &sent.message_id).map(|_| ()),
    ];
    let missing = [
        tenant::tracking_get_settings(&mut c.store, "other", "uc_0").map(|_| ()),
        tenant::tracking_set_settings(&mut c.store, "other", "uc_0", &on).map(|_| ()),
        tenant::tracking_get_base(&mut c.store, "other", "set_0").map(|_| ()),
        tenant::tracking_set_base(&mut c.store, "other", "set_0", None).map(|_| ()),
        tenant::tracking_message(&mut c.store, "other", "nope@clinic.example").map(|_| ()),
    ];
    for (t, m) in theirs.iter().zip(&missing) {
        assert!(matches!(t, Err(TrackingError::NotFound(_))), "{t:?}");
        assert!(matches!(m, Err(TrackingError::NotFound(_))), "{m:?}");
    }
    assert_eq!(
        theirs[4],
        Err(message_not_found(&sent.message_id)),
        "the same text as an unknown message"
    );
    let subject = Subject::UseCase(uc.clone());
    assert!(matches!(
        tenant::reporting_count_engagement(&mut c.store, "other", &subject, 0, 86_400),
        Err(crate::reporting::ReportingError::NotFound(_))
    ));
    assert!(matches!(
        tenant::reporting_link_clicks(&mut c.store, "other", &uc, 0, 86_400),
        Err(crate::reporting::ReportingError::NotFound(_))
    ));
    assert_eq!(c.store, before, "refused calls write nothing");
    assert!(tenant::tracking_message(&mut c.store, "ws", &sent.message_id).is_ok());
    assert!(tenant::tracking_get_settings(&mut c.store, "ws", &uc).is_ok());
}

mod webhooks {
    use super::*;
    use crate::events::{self, Engaged, Event, EventError, EventKind};

    fn report(id: &str, message_id: &str, at: u64, kind: EventKind) -> Event {
        Event {
            id: id.into(),
            message_id: message_id.into(),
            recipient: "pat@example.org".into(),
            at: Some(at),
            kind,
        }
    }

    fn seen(ua: Option<&str>, ip: Option<&str>, url: Option<&str>) -> Engaged {
        Engaged {
            user_agent: ua.map(Into::into),
            client_ip: ip.map(Into::into),
            url: url.map(Into::into),
            classification: None,
        }
    }

    fn class(kind: &EventKind) -> Classification {
        match kind {
            EventKind::Opened(e) | EventKind::Clicked(e) => e.classification.expect("classified"),
            other => panic!("not an engagement: {other:?}"),
        }
    }

    /// A marketing message, tracked (one link), and a transactional one,
    /// not tracked by us.
    fn sent(c: &mut Clinic) -> (String, String) {
        let m = send(
            &mut c.store,
            &mut c.transport,
            &mut c.env,
            &request(&c.marketing.id, HTML),
        )
        .expect("sent");
        let t = send(
            &mut c.store,
            &mut c.transport,
            &mut c.env,
            &request(&c.transactional.id, HTML),
        )
        .expect("sent");
        (m.message_id, t.message_id)
    }

    #[test]
    fn provider_opens_and_clicks_are_classified_and_counted_with_ours() {
        let mut c = clinic();
        let (tracked, plain) = sent(&mut c);
        let t = START as u64;
        let rec = |c: &mut Clinic, e: Event| {
            events::record(&mut c.store, &mut c.env, &e).expect("recorded")
        };
        // An SES-like open from Apple's proxy: machine.
        let r = rec(
            &mut c,
            report(
                "ses-1",
                &tracked,
                t + 5,
                EventKind::Opened(seen(Some("Mozilla/5.0"), Some("17.1.2.3"), None)),
            ),
        );
        assert_eq!(
            (class(&r.kind).agent, class(&r.kind).reason),
            (Agent::Machine, Reason::AppleMpp)
        );
        // A Gmail proxy open: a person, proxied.
        let gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
        let r = rec(
            &mut c,
            report(
                "ses-2",
                &tracked,
                t + 300,
                EventKind::Opened(seen(Some(gmail), Some("66.249.84.1"), None)),
            ),
        );
        let k = class(&r.kind);
        assert_eq!((k.agent, k.proxied), (Agent::Human, true));
        // A click 2 s after sending: a scanner.
        let url = "https://clinic.example/offer?a=1&b=2";
        let r = rec(
            &mut c,
            report(
                "ses-3",
                &tracked,
                t + 2,
                EventKind::Clicked(seen(Some(BROWSER), None, Some(url))),
            ),
        );
        assert_eq!(
            (class(&r.kind).agent, class(&r.kind).reason),
            (Agent::Machine, Reason::TooSoonAfterDelivery)
        );
        // A person's click, reported twice: counted once.
        let click = report(
            "ses-4",
            &tracked,
            t + 900,
            EventKind::Clicked(seen(Some(BROWSER), Some("203.0.113.9"), Some(url))),
        );
        let first = rec(&mut c, click.clone());
        let again = rec(&mut c, click);
        assert_eq!(class(&first.kind).agent, Agent::Human);
        assert!(!first.duplicate && again.duplicate);
        assert_eq!(again.kind, first.kind);
        // A provider reporting our own tracked URL: the same link.
        let ours = message(&mut c.store, &tracked).expect("tracked").links[0]
            .tracked_url
            .clone();
        let r = rec(
            &mut c,
            report(
                "sg-2",
                &tracked,
                t + 950,
                EventKind::Clicked(seen(Some(BROWSER), None, Some(&ours))),
            ),
        );
        assert_eq!(class(&r.kind).agent, Agent::Human);
        // A click on a message we did not track: counted, no link.
        let r = rec(
            &mut c,
            report(
                "sg-1",
                &plain,
                t + 900,
                EventKind::Clicked(seen(
                    Some(BROWSER),
                    None,
                    Some("https://elsewhere.example/"),
                )),
            ),
        );
        assert_eq!(class(&r.kind).agent, Agent::Human);

        let (uc, setup) = (c.marketing.id.clone(), c.setup.id.clone());
        let day = |c: &mut Clinic, s: Subject| {
            engagement(&mut c.store, &s, t, t + 86_400)
                .expect("counts")
                .engagement
        };
        assert_eq!(
            day(&mut c, Subject::UseCase(uc.clone())),
            Engagement {
                opens_human: 1,
                opens_machine: 1,
                unique_opens_human: 1,
                unique_opens_machine: 1,
                clicks_human: 2,
                clicks_machine: 1,
                unique_clicks_human: 1,
                unique_clicks_machine: 1,
            }
        );
        assert_eq!(day(&mut c, Subject::Setup(setup.clone())).clicks_human, 3);
        let links = link_clicks(&mut c.store, &c.marketing.id, t, t + 86_400).expect("links");
        assert_eq!((links.len(), links[0].human, links[0].machine), (1, 2, 1));
        assert!(
            link_clicks(&mut c.store, &c.transactional.id, t, t + 86_400)
                .expect("links")
                .is_empty()
        );
        let m = message(&mut c.store, &tracked).expect("tracked");
        assert_eq!(
            (m.opens_human, m.opens_machine, m.links[0].human),
            (1, 1, 2)
        );
        assert!(message(&mut c.store, &plain).is_err());
    }

    /// A webhook retried after the counts were written but before its
    /// event was marked (a crash between the two writes), and one delivered
    /// twice at once: each counts once.
    #[test]
    fn a_reported_open_retried_after_a_crash_counts_once() {
        use crate::store::{Expect, Store};
        let mut c = clinic();
        let (tracked, _) = sent(&mut c);
        let t = START as u64;
        let open = report(
            "ses-open",
            &tracked,
            t + 600,
            EventKind::Opened(seen(Some(BROWSER), Some("203.0.113.9"), None)),
        );
        let first = events::record(&mut c.store, &mut c.env, &open).expect("recorded");
        let setup = c.setup.id.clone();
        c.store
            .delete(&crate::keys::event(&setup, "ses-open"), Expect::Any)
            .expect("the marker is dropped, as if never written");
        let retry = events::record(&mut c.store, &mut c.env, &open).expect("recorded");
        assert_eq!(retry.kind, first.kind);
        let again = events::record(&mut c.store, &mut c.env, &open).expect("recorded");
        assert!(again.duplicate);
        let m = message(&mut c.store, &tracked).expect("tracked");
        assert_eq!((m.opens_human, m.opens_machine), (1, 0));
        let day = engagement(&mut c.store, &Subject::Setup(setup), t, t + 86_400)
            .expect("counts")
            .engagement;
        assert_eq!((day.opens_human, day.unique_opens_human), (1, 1));
    }

    #[test]
    fn unknown_messages_and_bad_reports_write_nothing() {
        let mut c = clinic();
        let (tracked, _) = sent(&mut c);
        let before: Vec<(String, Entry)> = c
            .store
            .entries()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let t = START as u64;
        let unknown = report(
            "x-1",
            "<nobody@clinic.example>",
            t + 900,
            EventKind::Opened(seen(Some(BROWSER), None, None)),
        );
        assert!(matches!(
            events::record(&mut c.store, &mut c.env, &unknown),
            Err(EventError::UnknownMessage(_))
        ));
        let long = "x".repeat(2049);
        for kind in [
            EventKind::Opened(seen(Some(BROWSER), None, Some("https://a.example/"))),
            EventKind::Clicked(seen(Some(&long), None, None)),
            EventKind::Clicked(seen(None, Some(&long), None)),
            EventKind::Clicked(seen(None, None, Some(&long))),
        ] {
            assert!(matches!(
                events::record(&mut c.store, &mut c.env, &report("x-2", &tracked, t, kind)),
                Err(EventError::InvalidEvent(_))
            ));
        }
        let after: Vec<(String, Entry)> = c
            .store
            .entries()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(before, after);
    }
}
