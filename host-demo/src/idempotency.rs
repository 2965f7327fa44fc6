//! Idempotent sends: `POST /messages` with an `Idempotency-Key` header, as
//! Stripe and Resend take it.
//!
//! Keys are the caller's workspace's: the same key sent by two workspaces
//! is two keys. The first request with a key claims it in the channel's
//! store (a create-if-absent of `host-idempotency/<sha256 of the workspace
//! and the key>`), runs, and
//! stores its answer (status and body) under the key with the SHA-256 of the
//! request. A retry with the same key and the same request (method, path,
//! body) gets that answer again, with `Idempotent-Replayed: true`, and sends
//! nothing; one that arrives while the first still runs, on this replica or
//! another, waits for it (up to [`WAIT`], then 409 `idempotency-in-progress`).
//! The same key with a different request is 409 `idempotency-key-reused`.
//! Answers of 500 and above are not kept (the claim is released, so a retry
//! runs again). A key is kept [`TTL`] (24 hours); after that, or when the
//! replica that claimed it died without answering for [`CLAIM_LEASE`], the
//! next request with it runs afresh. A key is 1 to 255 printable ASCII
//! characters (else 400).
//!
//! A host feature, not a component one: the key never reaches
//! `outbound.send`. Other hosts (the JS package) have no such layer; see
//! the README, "Running more than one".

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::host::store::{Expect, StoreError, for_call};
use crate::{Mailroom, hex};

/// How long a key is remembered.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a claim without an answer holds before another request may
/// take the key over (the claimer is taken for dead).
pub const CLAIM_LEASE: Duration = Duration::from_secs(120);
/// How long a request waits for the answer of the same key's first request.
pub const WAIT: Duration = Duration::from_secs(60);
/// The store prefix of keys.
pub const PREFIX: &str = "host-idempotency/";

/// The header.
pub const HEADER: &str = "idempotency-key";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Record {
    request: String,
    at: u64,
    /// `None` while the first request runs.
    status: Option<u16>,
    body: Option<String>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn error(status: StatusCode, case: &str, why: String) -> Response {
    let body = format!("{}\n", json!({ "error": { case: why } }));
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// What a claim found.
enum Claim {
    /// Ours: run the request; the version to finish against.
    Run(u64),
    /// Answered before.
    Replay(u16, String),
    /// The same key with another request.
    Reused,
    /// The first request still runs.
    Pending,
}

async fn store_call<R: Send + 'static>(
    mailroom: &Arc<Mailroom>,
    f: impl FnOnce(&mut dyn crate::Store) -> Result<R, StoreError> + Send + 'static,
) -> Result<R, StoreError> {
    let handle = for_call(mailroom.store());
    tokio::task::spawn_blocking(move || match handle.lock() {
        Ok(mut store) => f(&mut *store),
        Err(_) => Err(StoreError::Unavailable("the store failed earlier".into())),
    })
    .await
    .unwrap_or_else(|e| Err(StoreError::Other(format!("the store call panicked: {e}"))))
}

/// Claims `key` for `request`, or says what holds it.
fn claim(store: &mut dyn crate::Store, key: &str, request: &str) -> Result<Claim, StoreError> {
    for _ in 0..8 {
        let now = now();
        let fresh = Record {
            request: request.to_string(),
            at: now,
            status: None,
            body: None,
        };
        let value = serde_json::to_vec(&fresh).unwrap_or_default();
        let existing = match store.get(key)? {
            None => match store.put(key, &value, Expect::Absent) {
                Ok(v) => return Ok(Claim::Run(v)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            },
            Some(entry) => entry,
        };
        let record: Option<Record> = serde_json::from_slice(&existing.value).ok();
        let expired = record.as_ref().is_none_or(|r| {
            r.at.saturating_add(TTL.as_secs()) <= now
                || (r.status.is_none() && r.at.saturating_add(CLAIM_LEASE.as_secs()) <= now)
        });
        if expired {
            match store.put(key, &value, Expect::Version(existing.version)) {
                Ok(v) => return Ok(Claim::Run(v)),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        let Some(record) = record else { continue };
        if record.request != request {
            return Ok(Claim::Reused);
        }
        return Ok(match (record.status, record.body) {
            (Some(status), Some(body)) => Claim::Replay(status, body),
            _ => Claim::Pending,
        });
    }
    Err(StoreError::Conflict(format!(
        "{key}: too many concurrent writers"
    )))
}

/// The middleware's state: the channel, and the longest body it reads.
#[derive(Clone)]
pub struct Idempotency {
    /// The channel whose store keeps the keys.
    pub mailroom: Arc<Mailroom>,
    /// The longest request body (the router's body limit).
    pub max_body: usize,
}

/// The middleware (`axum::middleware::from_fn_with_state`), on the tenant
/// routes inside the tenant guard (it reads the caller's workspace): acts on
/// `POST /messages`; every other request passes.
pub async fn middleware(
    State(state): State<Idempotency>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || request.uri().path() != "/messages" {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    let workspace = match request.extensions().get::<Caller>() {
        Some(Caller::Workspace { workspace, .. }) => workspace.clone(),
        _ => {
            let why = "Idempotency-Key needs a workspace caller".to_string();
            return refuse(request, state.max_body, why).await;
        }
    };
    let (mailroom, max_body) = (state.mailroom, state.max_body);
    let key = match key.to_str() {
        Ok(k)
            if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            k.to_string()
        }
        _ => {
            let why = "Idempotency-Key must be 1 to 255 printable ASCII characters".to_string();
            return refuse(request, max_body, why).await;
        }
    };
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, max_body).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let why = format!("reading the body: {e}");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "bad-request", why);
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(parts.uri.path().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let request_hash = hex(&hasher.finalize());
    let mut scoped = Sha256::new();
    scoped.update(workspace.as_bytes());
    scoped.update([0]);
    scoped.update(key.as_bytes());
    let store_key = format!("{PREFIX}{}", hex(&scoped.finalize()));

    let deadline = tokio::time::Instant::now() + WAIT;
    let version = loop {
        let (k, r) = (store_key.clone(), request_hash.clone());
        match store_call(&mailroom, move |s| claim(s, &k, &r)).await {
            Ok(Claim::Run(version)) => break version,
            Ok(Claim::Replay(status, body)) => return replay(status, body),
            Ok(Claim::Reused) => {
                let why = format!(
                    "Idempotency-Key {key:?} was used for a different request in the last 24 hours"
                );
                return error(StatusCode::CONFLICT, "idempotency-key-reused", why);
            }
            Ok(Claim::Pending) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(Claim::Pending) => {
                let why = format!("a request with Idempotency-Key {key:?} is still running");
                return error(StatusCode::CONFLICT, "idempotency-in-progress", why);
            }
            Err(e) => {
                return error(StatusCode::SERVICE_UNAVAILABLE, "store", format!("{e:?}"));
            }
        }
    };

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = response.into_parts();
    let body: Bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let status = parts.status.as_u16();
    let k = store_key.clone();
    if status >= 500 {
        // Not an answer to keep: a retry runs again.
        let _ = store_call(&mailroom, move |s| s.delete(&k, Expect::Version(version))).await;
    } else {
        let done = Record {
            request: request_hash,
            at: now(),
            status: Some(status),
            body: Some(String::from_utf8_lossy(&body).into_owned()),
        };
        let value = serde_json::to_vec(&done).unwrap_or_default();
        if let Err(e) = store_call(&mailroom, move |s| {
            s.put(&k, &value, Expect::Version(version))
        })
        .await
        {
            eprintln!("host-demo: keeping the answer of an idempotent send: {e:?}");
        }
    }
    Response::from_parts(parts, Body::from(body))
}

/// 400 `bad-request`, after reading the body (up to `max_body`): a body
/// left unread makes the server close the connection, and a keep-alive
/// client's next request on it would fail.
async fn refuse(request: Request, max_body: usize, why: String) -> Response {
    let _ = to_bytes(request.into_body(), max_body).await;
    error(StatusCode::BAD_REQUEST, "bad-request", why)
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, [(CONTENT_TYPE, "application/json")], body).into_response();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
