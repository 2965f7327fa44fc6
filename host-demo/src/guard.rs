//! The HTTP API's trust boundary and bounds: who a request speaks for
//! ([`crate::auth`]), per-workspace rates and concurrency, request
//! timeouts, a bounded accept loop, and one structured log line per
//! request.
//!
//! Bounds, end to end (README, "The platform API"):
//! - a connection must send its headers within `header-timeout-ms`, and at
//!   most `max-connections` are open at once;
//! - a request holds one of `max-calls` slots while its body is read and
//!   while its component call runs, so buffered bodies are bounded by
//!   `max-calls × (max-bytes + 1 MiB)`; it must finish within
//!   `request-timeout-ms` (else 408);
//! - one workspace runs at most half the slots at once, and its setup
//!   creations and sends are rate-limited (429 with `Retry-After`), so one
//!   tenant cannot stall the others.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{
    AUTHORIZATION, CONNECTION, CONTENT_LENGTH, RETRY_AFTER, TRANSFER_ENCODING, WWW_AUTHENTICATE,
};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::{self, Caller};
use crate::config::Platform;
use crate::host::store::SharedStore;

/// The header an admin key names the workspace in.
pub const WORKSPACE_HEADER: &str = "x-mailroom-workspace";

/// What the guard layers share.
#[derive(Clone)]
pub struct Guard {
    store: SharedStore,
    platform: Arc<Platform>,
    /// Slots of request bodies and calls.
    slots: Arc<Semaphore>,
    /// Per-workspace in-flight slots.
    tenants: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// Per-workspace token buckets: `(kind, workspace)` → bucket.
    buckets: Arc<Mutex<HashMap<(Kind, String), Bucket>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    SetupCreate,
    Send,
}

/// A token bucket: `capacity` tokens, refilled at `per_second`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Guard {
    /// Guards over the channel's `store` (where the keys live) with the
    /// settings `platform`.
    pub fn new(store: SharedStore, platform: &Platform) -> Self {
        Self {
            store,
            platform: Arc::new(platform.clone()),
            slots: Arc::new(Semaphore::new(platform.max_calls)),
            tenants: Arc::default(),
            buckets: Arc::default(),
        }
    }

    /// The settings.
    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// The slots of bodies and calls (the handlers' call semaphore).
    pub fn slots(&self) -> Arc<Semaphore> {
        Arc::clone(&self.slots)
    }

    fn tenant_slots(&self, workspace: &str) -> Arc<Semaphore> {
        let per_tenant = (self.platform.max_calls / 2).max(1);
        let mut map = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, s| s.available_permits() < per_tenant);
        }
        Arc::clone(
            map.entry(workspace.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(per_tenant))),
        )
    }

    /// Takes a token of `kind` for `workspace`; `Err(seconds)` to wait.
    fn take(&self, kind: Kind, workspace: &str) -> Result<(), u64> {
        let (capacity, per_second) = match kind {
            Kind::SetupCreate => {
                let n = f64::from(self.platform.setups_per_minute);
                (n, n / 60.0)
            }
            Kind::Send => {
                let n = f64::from(self.platform.sends_per_second);
                (n, n)
            }
        };
        let now = Instant::now();
        let mut map = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(120));
        }
        let bucket = map.entry((kind, workspace.to_string())).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    async fn slot(&self, semaphore: Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
        semaphore.acquire_owned().await.ok()
    }
}

/// A JSON error answer of the API's form.
pub fn error(status: StatusCode, case: &str, why: &str) -> Response {
    let mut body = json!({ "error": { case: why } }).to_string().into_bytes();
    body.push(b'\n');
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn bearer(request: &Request) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim().to_string())
}

fn unauthorized(why: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, "unauthorized", why)
}

/// Tenant routes: a workspace key, or the admin key naming a workspace.
/// Then the workspace's rate limits and in-flight slots.
pub async fn tenant(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let Some(secret) = bearer(&request) else {
        return unauthorized("send an API key as Authorization: Bearer <key>");
    };
    let caller = if guard
        .platform
        .admin_key
        .as_deref()
        .is_some_and(|admin| auth::same_secret(&secret, admin))
    {
        let named = request
            .headers()
            .get(WORKSPACE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|w| !w.is_empty());
        let Some(workspace) = named else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "the admin key acts for the workspace named by X-Mailroom-Workspace",
            );
        };
        Caller::Workspace {
            workspace: workspace.to_string(),
            key: "admin".to_string(),
        }
    } else {
        let store = guard.store.clone();
        let found = tokio::task::spawn_blocking(move || auth::lookup(&store, &secret)).await;
        match found {
            Ok(Ok(Some(record))) if record.revoked_at.is_none() => Caller::Workspace {
                workspace: record.workspace,
                key: record.id,
            },
            Ok(Ok(_)) => return unauthorized("the API key is unknown or revoked"),
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "reading API keys failed");
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store",
                    "the API keys cannot be read",
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "the key lookup panicked");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "host",
                    "key lookup failed",
                );
            }
        }
    };
    let Caller::Workspace { workspace, .. } = &caller else {
        return unauthorized("not a workspace key");
    };
    let kind = match (request.method(), request.uri().path()) {
        (&Method::POST, "/setups") => Some(Kind::SetupCreate),
        (&Method::POST, "/messages") => Some(Kind::Send),
        _ => None,
    };
    if let Some(kind) = kind
        && let Err(wait) = guard.take(kind, workspace)
    {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            &format!("too many requests for workspace {workspace}; retry in {wait} s"),
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        return response;
    }
    // The workspace's share first, then a slot: a tenant queued behind its
    // own share holds no slot another tenant could use.
    let Some(_tenant) = guard.slot(guard.tenant_slots(workspace)).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "host", "shutting down");
    };
    let Some(_slot) = guard.slot(guard.slots()).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "host", "shutting down");
    };
    request.extensions_mut().insert(caller.clone());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(caller);
    response
}

/// Ingest routes: the ingest secret or the admin key.
pub async fn ingest(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let Some(secret) = bearer(&request) else {
        return unauthorized("send the ingest secret as Authorization: Bearer <secret>");
    };
    let platform = &guard.platform;
    let allowed = [&platform.ingest_secret, &platform.admin_key]
        .into_iter()
        .flatten()
        .any(|expected| auth::same_secret(&secret, expected));
    if !allowed {
        return unauthorized("the ingest secret is wrong");
    }
    let Some(_slot) = guard.slot(guard.slots()).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "host", "shutting down");
    };
    request.extensions_mut().insert(Caller::Ingest);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Caller::Ingest);
    response
}

/// Public routes (a token authenticates them): a slot, nothing else.
pub async fn public(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Some(_slot) = guard.slot(guard.slots()).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "host", "shutting down");
    };
    next.run(request).await
}

/// Every route: a deadline (waiting for a slot, reading the body and the
/// call) and one log line (method, path, caller, status, duration). The
/// slot itself is taken by [`tenant`], [`ingest`] or [`public`].
pub async fn bounded(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let has_body = request.headers().contains_key(TRANSFER_ENCODING)
        || request
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|n| n.as_bytes() != b"0");
    let deadline = Duration::from_millis(guard.platform.request_timeout_ms);
    let mut response = match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the request was not read and answered in time",
        ),
    };
    // hyper closes a keep-alive connection idle past the header timeout;
    // clients that read this hint (Node, undici) retire it first.
    if let Ok(hint) = HeaderValue::from_str(&format!(
        "timeout={}",
        (guard.platform.header_timeout_ms / 1000)
            .saturating_sub(1)
            .max(1)
    )) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("keep-alive"), hint);
    }
    // A refusal may come before the body was read (a bad key, a rate
    // limit, a body past its limit). hyper then closes the connection
    // rather than drain the rest; saying so keeps a client from sending
    // its next request down a connection that is about to close.
    if has_body && (response.status().is_client_error() || response.status().is_server_error()) {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    let caller = response
        .extensions()
        .get::<Caller>()
        .map(|c| match c {
            Caller::Workspace { workspace, key } => format!("{workspace}/{key}"),
            Caller::Ingest => "ingest".to_string(),
        })
        .unwrap_or_else(|| "-".to_string());
    tracing::info!(
        target: "mailroom::http",
        %method,
        path = %shown_path(&path),
        caller = %caller,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// A path for logs: tokens of public routes are cut (they are secrets).
fn shown_path(path: &str) -> String {
    for public in ["/unsubscribe/", "/t/o/", "/t/c/"] {
        if path.starts_with(public) {
            return format!("{public}…");
        }
    }
    path.chars().take(200).collect()
}

/// Serves `router` on `listener` with the connection bounds, until
/// `shutdown` resolves; in-flight connections then get up to 30 s.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    platform: &Platform,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let connections = Arc::new(Semaphore::new(platform.max_connections));
    let header_timeout = Duration::from_millis(platform.header_timeout_ms);
    let open = tokio_util_tracker();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&connections).acquire_owned() => permit?,
        };
        let (stream, peer): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(
            router
                .clone()
                .layer(axum::Extension(axum::extract::ConnectInfo(peer))),
        );
        let open = Arc::clone(&open);
        open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 * 1024);
            if let Err(e) = http.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(permit);
            open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let until = Instant::now() + Duration::from_secs(30);
    while open.load(std::sync::atomic::Ordering::SeqCst) > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

fn tokio_util_tracker() -> Arc<std::sync::atomic::AtomicUsize> {
    Arc::new(std::sync::atomic::AtomicUsize::new(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::store::{MemoryStore, shared};

    #[test]
    fn buckets_refuse_past_the_rate_per_workspace() {
        let platform = Platform {
            setups_per_minute: 3,
            ..Platform::default()
        };
        let guard = Guard::new(shared(MemoryStore::default()), &platform);
        for _ in 0..3 {
            assert_eq!(guard.take(Kind::SetupCreate, "ws-a"), Ok(()));
        }
        let wait = guard.take(Kind::SetupCreate, "ws-a").unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(guard.take(Kind::SetupCreate, "ws-b"), Ok(()));
        assert_eq!(guard.take(Kind::Send, "ws-a"), Ok(()));
    }
}
