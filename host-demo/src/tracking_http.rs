//! Engagement tracking over HTTP (`wit/tracking.wit`), merged into the
//! router of `serve` by one line in `http.rs`.
//!
//! Public (no API key; the token is the credential, checked by the
//! component; [`guard::public`]): `GET /t/o/{token}` (the open pixel) and
//! `GET|HEAD /t/c/{token}` (a tracked link). An unknown or forged token
//! gets a plain 404 page, never a redirect; a storage failure 503.
//!
//! Tenant ([`guard::tenant`], the caller's workspace passed first):
//! `GET|PUT /use-cases/{id}/tracking` (settings), `GET|PUT
//! /setups/{id}/tracking-base` (`{"base": URL|null}`), `GET
//! /messages/{id}/tracking` (one message's links and counts), `GET
//! /reporting/engagement?setup=|use-case=&from=&until=` and `GET
//! /reporting/link-clicks?use-case=&from=&until=`. Operator
//! ([`guard::ingest`]: the ingest secret or admin key): `PUT
//! /tracking/networks` (a JSON list of CIDR networks).
//!
//! The client address is the connection's peer; behind a reverse proxy on
//! the same machine (a loopback peer) the first `X-Forwarded-For` entry.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, Query, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::guard::{self, Guard};
use crate::{Mailroom, scenario, tracking};

/// The routes above, for any router state.
pub fn routes<S: Clone + Send + Sync + 'static>(
    mailroom: Arc<Mailroom>,
    guard: Guard,
) -> Router<S> {
    let m = mailroom;
    let (m1, m2) = (Arc::clone(&m), Arc::clone(&m));
    let public = Router::new()
        .route(
            "/t/o/{token}",
            get(move |Path(token): Path<String>, req: Request| {
                handle(Arc::clone(&m1), token, req, true)
            }),
        )
        .route(
            "/t/c/{token}",
            get(move |Path(token): Path<String>, req: Request| {
                handle(Arc::clone(&m2), token, req, false)
            }),
        )
        .route_layer(middleware::from_fn_with_state(guard.clone(), guard::public));

    let scoped = |target: &'static str| {
        let m = Arc::clone(&m);
        move |Extension(caller): Extension<Caller>, Path(id): Path<String>| {
            let m = Arc::clone(&m);
            async move { wit(m, target, vec![ws(&caller), json!(id)]).await }
        }
    };
    let scoped_body = |target: &'static str, field: Option<&'static str>| {
        let m = Arc::clone(&m);
        move |Extension(caller): Extension<Caller>, Path(id): Path<String>, body: Bytes| {
            let m = Arc::clone(&m);
            async move {
                let value = match json_body(&body, field) {
                    Ok(v) => v,
                    Err(r) => return r,
                };
                wit(m, target, vec![ws(&caller), json!(id), value]).await
            }
        }
    };
    let engagement = {
        let m = Arc::clone(&m);
        move |Extension(caller): Extension<Caller>, Query(q): Query<HashMap<String, String>>| {
            let m = Arc::clone(&m);
            async move {
                let subject = match (q.get("setup"), q.get("use-case")) {
                    (Some(s), None) => json!({ "setup": s }),
                    (None, Some(u)) => json!({ "use-case": u }),
                    _ => return bad_request("give exactly one of setup=ID or use-case=ID"),
                };
                let (from, until) = match period(&q) {
                    Ok(p) => p,
                    Err(r) => return r,
                };
                let args = vec![ws(&caller), subject, json!(from), json!(until)];
                wit(m, "reporting.count-engagement", args).await
            }
        }
    };
    let link_clicks = {
        let m = Arc::clone(&m);
        move |Extension(caller): Extension<Caller>, Query(q): Query<HashMap<String, String>>| {
            let m = Arc::clone(&m);
            async move {
                let Some(use_case) = q.get("use-case").cloned() else {
                    return bad_request("give use-case=ID");
                };
                let (from, until) = match period(&q) {
                    Ok(p) => p,
                    Err(r) => return r,
                };
                let args = vec![ws(&caller), json!(use_case), json!(from), json!(until)];
                wit(m, "reporting.link-clicks", args).await
            }
        }
    };
    let tenant = Router::new()
        .route(
            "/use-cases/{id}/tracking",
            get(scoped("tracking.get-settings")).put(scoped_body("tracking.set-settings", None)),
        )
        .route(
            "/setups/{id}/tracking-base",
            get(scoped("tracking.get-base")).put(scoped_body("tracking.set-base", Some("base"))),
        )
        .route("/messages/{id}/tracking", get(scoped("tracking.message")))
        .route("/reporting/engagement", get(engagement))
        .route("/reporting/link-clicks", get(link_clicks))
        .route_layer(middleware::from_fn_with_state(guard.clone(), guard::tenant));

    let networks = {
        let m = Arc::clone(&m);
        move |body: Bytes| {
            let m = Arc::clone(&m);
            async move {
                match json_body(&body, None) {
                    Ok(list) => wit(m, "tracking.set-networks", vec![list]).await,
                    Err(r) => r,
                }
            }
        }
    };
    let operator = Router::new()
        .route("/tracking/networks", put(networks))
        .route_layer(middleware::from_fn_with_state(guard, guard::ingest));

    public.merge(tenant).merge(operator)
}

fn ws(caller: &Caller) -> Value {
    match caller {
        Caller::Workspace { workspace, .. } => json!(workspace),
        Caller::Ingest => json!(""),
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut body = value.to_string().into_bytes();
    body.push(b'\n');
    (status, [("content-type", "application/json")], body).into_response()
}

fn bad_request(why: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": {"bad-request": why}}),
    )
}

/// The body as JSON, or its field `field` (`null` when absent).
fn json_body(body: &[u8], field: Option<&str>) -> Result<Value, Response> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(&format!("the body is not JSON: {e}")))?;
    Ok(match field {
        Some(f) => value.get(f).cloned().unwrap_or(Value::Null),
        None => value,
    })
}

/// `from` and `until` (seconds); default the last 30 days.
fn period(q: &HashMap<String, String>) -> Result<(u64, u64), Response> {
    let number = |k: &str| {
        q.get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad_request(&format!("{k} must be seconds since the epoch")))
            })
            .transpose()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let until = number("until")?.unwrap_or(now);
    let from = number("from")?.unwrap_or(until.saturating_sub(30 * 86_400));
    Ok((from, until))
}

/// Calls `target` with JSON arguments (checked first) and answers its
/// result: `ok` as 200, `err` with the status of `http::error_status`.
async fn wit(m: Arc<Mailroom>, target: &'static str, args: Vec<Value>) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        scenario::check_args(&m, target, &args).map_err(|e| (true, e))?;
        scenario::call(&m, target, &args).map_err(|e| (false, e))
    })
    .await;
    match result {
        Ok(Ok(value)) => match (value.get("ok"), value.get("err")) {
            (Some(ok), _) => json_response(StatusCode::OK, ok),
            (None, Some(err)) => {
                json_response(crate::http::error_status(err), &json!({ "error": err }))
            }
            _ => json_response(StatusCode::OK, &value),
        },
        Ok(Err((true, e))) => bad_request(&format!("{e:#}")),
        Ok(Err((false, e))) => {
            tracing::error!(error = %format!("{e:#}"), "request failed");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": {"host": format!("{e:#}")}}),
            )
        }
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": {"host": format!("the call panicked or was cancelled: {e}")}}),
        ),
    }
}

/// What the component is told of a request.
fn request(req: &Request) -> tracking::Request {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(2048).collect::<String>())
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = header("x-forwarded-for")
        .and_then(|v| v.split(',').next().map(|s| s.trim().to_string()))
        .filter(|s| s.parse::<std::net::IpAddr>().is_ok());
    let client_ip = match peer {
        Some(ip) if ip.is_loopback() => forwarded.or_else(|| Some(ip.to_string())),
        Some(ip) => Some(ip.to_string()),
        None => None,
    };
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    tracking::Request {
        at,
        user_agent: header("user-agent"),
        client_ip,
        method: if req.method() == Method::HEAD {
            tracking::Method::Head
        } else {
            tracking::Method::Get
        },
    }
}

const NOT_FOUND: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Not found</title></head>\n<body><p>This link is not valid.</p></body></html>\n";

fn page(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
        ],
        text,
    )
        .into_response()
}

async fn handle(mailroom: Arc<Mailroom>, token: String, req: Request, open: bool) -> Response {
    let r = request(&req);
    let head = req.method() == Method::HEAD;
    let result = tokio::task::spawn_blocking(move || {
        if open {
            mailroom.tracking_open(&token, &r)
        } else {
            mailroom.tracking_click(&token, &r)
        }
    })
    .await;
    let answer = match result {
        Ok(Ok(Ok(answer))) => answer,
        Ok(Ok(Err(tracking::TrackingError::Store(why)))) => {
            tracing::error!(error = %why, "tracking: storage failed");
            return page(StatusCode::SERVICE_UNAVAILABLE, "Please try again later.\n");
        }
        Ok(Ok(Err(_))) => return page(StatusCode::NOT_FOUND, NOT_FOUND),
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "tracking failed");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again later.\n",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "tracking task failed");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again later.\n",
            );
        }
    };
    let body = if head {
        axum::body::Body::empty()
    } else {
        axum::body::Body::from(answer.body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response
}
