//! Operators' endpoints of `host-demo serve`, beside the API of
//! [`crate::http`]:
//!
//! | method and path | answer |
//! | --- | --- |
//! | `GET /healthz` | 200 `ok`: the process serves HTTP (liveness) |
//! | `GET /readyz` | 200 `ready` once a read of the store answers; 503 with the store's error otherwise (readiness: take the replica out of the load balancer) |
//! | `GET /messages/{id}` | the delivery state of a message the outbound queue took ([`crate::queue::delivery_state`]): 200 JSON; 404 when the queue never saw it |

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::Mailroom;
use crate::host::store::{StoreError, for_call};

/// The endpoints, one a line, for `host-demo serve --help`.
pub const ENDPOINTS: &str = "\
  GET    /healthz                                        200 while the process serves
  GET    /readyz                                         200 when the store answers, else 503
  GET    /messages/{id}                                  the outbound queue's delivery state";

/// The operators' routes over `mailroom`'s store.
pub fn routes(mailroom: Arc<Mailroom>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { text(StatusCode::OK, "ok") }))
        .route("/readyz", get(ready))
        .route("/messages/{id}", get(message_state))
        .with_state(mailroom)
}

fn text(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{body}\n"),
    )
        .into_response()
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        format!("{value}\n"),
    )
        .into_response()
}

/// Runs a store operation on the blocking pool.
async fn with_store<R: Send + 'static>(
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

async fn ready(State(mailroom): State<Arc<Mailroom>>) -> Response {
    match with_store(&mailroom, |s| s.get("host-readiness-probe")).await {
        Ok(_) => text(StatusCode::OK, "ready"),
        Err(e) => {
            eprintln!("host-demo: not ready: {e:?}");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("not ready: {e:?}"),
            )
        }
    }
}

async fn message_state(State(mailroom): State<Arc<Mailroom>>, Path(id): Path<String>) -> Response {
    let lookup = id.clone();
    match with_store(&mailroom, move |s| crate::queue::delivery_state(s, &lookup)).await {
        Ok(Some(state)) => json_response(StatusCode::OK, &state),
        Ok(None) => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": {"not-found": format!("the outbound queue has no message {id}")}}),
        ),
        Err(e) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"error": {"store": format!("{e:?}")}}),
        ),
    }
}
