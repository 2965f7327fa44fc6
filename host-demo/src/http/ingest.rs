//! What the platform's plumbing posts: inbound mail from the MX, report
//! emails, and providers' webhook events (the ingest secret).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{App, Failure, Pairs, call, host, number_param, param, typed_body};
use crate::events::Event;
use crate::inbound::Envelope;
use crate::json as codec;
use crate::{Limits, Mailroom};

/// Calls `inbound.receive` and gives the result in the JSON form (the CLI's
/// `receive` prints it).
pub fn receive(
    mailroom: &Mailroom,
    raw: &[u8],
    envelope: &Envelope,
    limits: Limits,
) -> anyhow::Result<Value> {
    Ok(codec::result_json(
        &mailroom.receive(raw, envelope, limits)?,
    ))
}

pub(super) async fn event(State(app): State<App>, body: Bytes) -> Response {
    let event: Event = match typed_body(&body) {
        Ok(event) => event,
        Err(f) => return f.into_response(),
    };
    call(&app, StatusCode::OK, move |m, _| {
        m.record_event(&event).map_err(host)
    })
    .await
}

pub(super) async fn report(State(app): State<App>, body: Bytes) -> Response {
    call(&app, StatusCode::OK, move |m, _| {
        m.ingest_report(&body).map_err(host)
    })
    .await
}

/// The SMTP envelope comes from the query (`from`, `to` repeatable), else
/// from `X-Envelope-From` and `X-Envelope-To`; the parse limits may be
/// lowered by the query, never raised past the settings' ceilings.
pub(super) async fn inbound(
    State(app): State<App>,
    Query(query): Pairs,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .flat_map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut rcpt_to: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "to")
        .map(|(_, v)| v.clone())
        .collect();
    if rcpt_to.is_empty() {
        rcpt_to = header_values("x-envelope-to");
    }
    let mail_from = param(&query, "from")
        .map(str::to_string)
        .or_else(|| header_values("x-envelope-from").into_iter().next());
    let ceiling = app.defaults.ceilings;
    fn clamp<T: Ord + Copy>(asked: Option<T>, max: Option<T>) -> Option<T> {
        match (asked, max) {
            (Some(a), Some(m)) => Some(a.min(m)),
            (a, m) => m.or(a),
        }
    }
    let limits = match (|| {
        Ok::<_, Failure>(Limits {
            max_bytes: clamp(number_param(&query, "max-bytes")?, ceiling.max_bytes),
            max_depth: clamp(number_param(&query, "max-depth")?, ceiling.max_depth),
            max_parts: clamp(number_param(&query, "max-parts")?, ceiling.max_parts),
        })
    })() {
        Ok(limits) => limits,
        Err(f) => return f.into_response(),
    };
    let envelope = Envelope { mail_from, rcpt_to };
    call(&app, StatusCode::OK, move |m, _| {
        m.receive(&body, &envelope, limits).map_err(host)
    })
    .await
}
