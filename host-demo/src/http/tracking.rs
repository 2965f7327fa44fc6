//! The engagement tracking routes (`wit/tracking.wit`).
//!
//! Public (the token is the credential, checked by the component): `GET
//! /t/o/{token}` (the open pixel) and `GET|HEAD /t/c/{token}` (a tracked
//! link). An unknown or forged token gets a plain 404 page, never a
//! redirect; a storage failure 503. The client address is the connection's
//! peer; behind a reverse proxy on the same machine (a loopback peer) the
//! first `X-Forwarded-For` entry.
//!
//! Tenant: the settings of a use case, the tracking base of a setup, one
//! message's links and counts, and the engagement counts. Operator (the
//! ingest secret or admin key): Apple's proxy networks, platform data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{
    App, Failure, Pairs, call, field, host, number_param, object_body, param, typed_body,
    workspace_of,
};
use crate::auth::Caller;
use crate::reporting::Subject;
use crate::tracking;

/// `GET /t/o/{token}`.
pub(super) async fn pixel(
    State(app): State<App>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    answer_request(&app, token, req, true).await
}

/// `GET|HEAD /t/c/{token}`.
pub(super) async fn link(
    State(app): State<App>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    answer_request(&app, token, req, false).await
}

/// `GET /use-cases/{id}/tracking`.
pub(super) async fn get_settings(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.tracking_settings(&workspace, &id).map_err(host)
    })
    .await
}

/// `PUT /use-cases/{id}/tracking` (body: tracking-settings).
pub(super) async fn set_settings(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let settings: tracking::TrackingSettings = match typed_body(&body) {
        Ok(s) => s,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.set_tracking_settings(&workspace, &id, settings)
            .map_err(host)
    })
    .await
}

/// `GET /setups/{id}/tracking-base`.
pub(super) async fn get_base(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.tracking_base(&workspace, &id).map_err(host)
    })
    .await
}

/// `PUT /setups/{id}/tracking-base` (body: `{"base": URL|null}`).
pub(super) async fn set_base(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let base: Option<String> = match object_body(&body, &["base"]).and_then(|f| field(&f, "base")) {
        Ok(b) => b,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.set_tracking_base(&workspace, &id, base.as_deref())
            .map_err(host)
    })
    .await
}

/// `GET /messages/{id}/tracking`.
pub(super) async fn message(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.tracked_message(&workspace, &id).map_err(host)
    })
    .await
}

/// `from` and `until` (seconds; `until` defaults to now, `from` to 30 days
/// before it).
fn period(query: &[(String, String)]) -> Result<(u64, u64), Failure> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let until = number_param::<u64>(query, "until")?.unwrap_or(now);
    let from = number_param::<u64>(query, "from")?.unwrap_or(until.saturating_sub(30 * 86_400));
    Ok((from, until))
}

/// `GET /reporting/engagement?setup=|use-case=&from=&until=`.
pub(super) async fn engagement(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Query(query): Pairs,
) -> Response {
    let subject = match (param(&query, "setup"), param(&query, "use-case")) {
        (Some(setup), None) => Subject::Setup(setup.to_string()),
        (None, Some(use_case)) => Subject::UseCase(use_case.to_string()),
        _ => {
            let why = "give exactly one of setup=ID or use-case=ID";
            return Failure::BadRequest(why.into()).into_response();
        }
    };
    let (from, until) = match period(&query) {
        Ok(p) => p,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.count_engagement(&workspace, &subject, from, until)
            .map_err(host)
    })
    .await
}

/// `GET /reporting/link-clicks?use-case=&from=&until=`.
pub(super) async fn link_clicks(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Query(query): Pairs,
) -> Response {
    let Some(use_case) = param(&query, "use-case").map(str::to_string) else {
        return Failure::BadRequest("give use-case=ID".into()).into_response();
    };
    let (from, until) = match period(&query) {
        Ok(p) => p,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.link_clicks(&workspace, &use_case, from, until)
            .map_err(host)
    })
    .await
}

/// `PUT /tracking/networks` (body: a list of CIDR networks).
pub(super) async fn networks(State(app): State<App>, body: Bytes) -> Response {
    let list: Vec<String> = match typed_body(&body) {
        Ok(l) => l,
        Err(f) => return f.into_response(),
    };
    call(&app, StatusCode::OK, move |m, _| {
        m.set_tracking_networks(&list).map_err(host)
    })
    .await
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

async fn answer_request(app: &App, token: String, req: Request, open: bool) -> Response {
    let mailroom = Arc::clone(&app.mailroom);
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
