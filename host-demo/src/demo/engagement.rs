//! The demo's engagement step: an HTML newsletter whose one web link is
//! tracked and whose pixel is added, then Apple's privacy prefetch, a
//! person's open and click, and a link scanner, as the tracking endpoints
//! of `serve` would pass them to the component, and the counts.

use std::io::Write;

use anyhow::bail;
use host_demo::{Mailroom, scenario};
use serde_json::{Value, json};

const LEE: &str = "lee@patient.example";
/// The clinic's workspace (as in `lifecycle`).
const WORKSPACE: &str = "riverside";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

fn ok(v: Value, what: &str) -> anyhow::Result<Value> {
    match v.get("ok") {
        Some(ok) => Ok(ok.clone()),
        None => bail!(
            "{what}: the component refused: {}",
            v.get("err").unwrap_or(&v)
        ),
    }
}

/// Step: opens and clicks, classified.
pub fn run(m: &Mailroom, newsletter: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let html = "<html><body><p>Spring opening hours: 08:00 to 19:00 from 1 April.</p>\
        <p><a href=\"https://riverside-clinic.example/hours\">See the hours</a> or \
        <a href=\"mailto:desk@riverside-clinic.example\">write to the desk</a>.</p>\
        <p><a href=\"[[unsubscribe-url]]\">Unsubscribe</a></p></body></html>";
    let sent = ok(
        scenario::call(
            m,
            "outbound.send",
            &[
                json!(WORKSPACE),
                json!({
                    "use-case": newsletter, "to": [{"name": null, "address": LEE}], "cc": [],
                    "subject": "Spring news", "text": "Spring opening hours: https://riverside-clinic.example/hours\r\n",
                    "html": html, "attachments": [], "in-reply-to": null,
                }),
            ],
        )?,
        "sending the HTML newsletter",
    )?;
    let id = sent["message-id"].as_str().unwrap_or_default().to_string();
    let tracked = ok(
        scenario::call(m, "tracking.message", &[json!(WORKSPACE), json!(id)])?,
        "reading its tracking",
    )?;
    let pixel = tracked["pixel-url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let link = tracked["links"][0]["tracked-url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    writeln!(
        out,
        "  HTML newsletter to {LEE}: 1 of 3 links tracked (mailto and unsubscribe kept), pixel added"
    )?;
    writeln!(out, "    {link}")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let requests = [
        (
            "open",
            &pixel,
            now + 2,
            "Mozilla/5.0",
            "17.58.63.1",
            "get",
            "Apple's proxy, 2 s after sending",
        ),
        (
            "click",
            &link,
            now + 3,
            SAFARI,
            "40.94.1.1",
            "head",
            "a link scanner's HEAD",
        ),
        (
            "open",
            &pixel,
            now + 3600,
            SAFARI,
            "203.0.113.9",
            "get",
            "the person, an hour later",
        ),
        (
            "click",
            &link,
            now + 3660,
            SAFARI,
            "203.0.113.9",
            "get",
            "the person's click, a minute after",
        ),
    ];
    for (kind, token, at, ua, ip, method, who) in requests {
        let answer = ok(
            scenario::call(
                m,
                &format!("tracking.{kind}"),
                &[
                    json!(token),
                    json!({"at": at, "user-agent": ua, "client-ip": ip, "method": method}),
                ],
            )?,
            "a tracking request",
        )?;
        let c = &answer["recorded"]["classification"];
        writeln!(
            out,
            "  {kind:5} {who}: {} ({}), answered {}",
            c["agent"].as_str().unwrap_or("?"),
            c["reason"].as_str().unwrap_or("?"),
            answer["status"]
        )?;
    }
    let counts = ok(
        scenario::call(
            m,
            "reporting.count-engagement",
            &[
                json!(WORKSPACE),
                json!({"use-case": newsletter}),
                json!(now.saturating_sub(86_400)),
                json!(now + 2 * 86_400),
            ],
        )?,
        "counting",
    )?;
    let e = &counts["engagement"];
    writeln!(
        out,
        "  counts for the newsletter: unique opens {} human / {} machine, clicks {} human / {} machine",
        e["unique-opens-human"], e["unique-opens-machine"], e["clicks-human"], e["clicks-machine"]
    )?;
    Ok(())
}
