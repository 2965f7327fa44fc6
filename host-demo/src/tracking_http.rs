//! The public tracking endpoints of `serve`: `GET /t/o/{token}` (the open
//! pixel) and `GET|HEAD /t/c/{token}` (a tracked link). No API key: the
//! token is the credential, checked by the component (`tracking.open` and
//! `tracking.click`). An unknown or forged token gets a plain 404 page,
//! never a redirect; a storage failure 503.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Mailroom;
use crate::bindings::exports::mailroom::channel::tracking;

/// The routes, to be nested under `/t` (the default tracking base is
/// `https://<inbound-host>/t`).
pub fn router(mailroom: Arc<Mailroom>) -> Router {
    Router::new()
        .route("/o/{token}", get(open))
        .route("/c/{token}", get(click))
        .with_state(mailroom)
}

fn request(req: &Request) -> tracking::Request {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(2048).collect::<String>())
    };
    let client_ip = header("x-forwarded-for")
        .and_then(|v| v.split(',').next().map(|s| s.trim().to_string()))
        .or_else(|| {
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        });
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
        mailroom.call(
            || "answering a tracking request".to_string(),
            |store, m| {
                let t = m.mailroom_channel_tracking();
                if open {
                    t.call_open(store, &token, &r)
                } else {
                    t.call_click(store, &token, &r)
                }
            },
        )
    })
    .await;
    let answer = match result {
        Ok(Ok(Ok(answer))) => answer,
        Ok(Ok(Err(tracking::TrackingError::Store(why)))) => {
            eprintln!("host-demo: tracking: storage failed: {why}");
            return page(StatusCode::SERVICE_UNAVAILABLE, "Please try again later.\n");
        }
        Ok(Ok(Err(_))) => return page(StatusCode::NOT_FOUND, NOT_FOUND),
        Ok(Err(e)) => {
            eprintln!("host-demo: tracking failed: {e:#}");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again later.\n",
            );
        }
        Err(e) => {
            eprintln!("host-demo: tracking task failed: {e}");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again later.\n",
            );
        }
    };
    let mut response = if head {
        Response::new(axum::body::Body::empty())
    } else {
        Response::new(axum::body::Body::from(answer.body))
    };
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

async fn open(
    axum::extract::State(m): axum::extract::State<Arc<Mailroom>>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    handle(m, token, req, true).await
}

async fn click(
    axum::extract::State(m): axum::extract::State<Arc<Mailroom>>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    handle(m, token, req, false).await
}
