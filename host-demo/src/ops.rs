//! Operators' additions to the API of [`crate::http`], kept apart from it:
//!
//! | method and path | who | answer |
//! | --- | --- | --- |
//! | `GET /readyz` | public | 200 `{"status": "ready"}` once a read of the store answers; 503 with the store's error otherwise (readiness: take the replica out of the load balancer) |
//! | `GET /messages/{id}` | ingest secret or admin key | the delivery state of a message the outbound queue took ([`crate::queue::delivery_state`]): 200 JSON; 404 when the queue never saw it |
//!
//! `GET /messages/{id}` is an operator's route, not a tenant's: the queue's
//! records carry the envelope but not the workspace, so a tenant key could
//! otherwise read another workspace's recipients.
//!
//! [`READYZ`] and [`MESSAGE_STATE`] are entries of [`crate::http::ROUTES`].

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::Mailroom;
use crate::host::store::{StoreError, for_call};
use crate::http::{Access, Route};

/// `GET /readyz`.
pub const READYZ: Route = Route {
    method: "GET",
    path: "/readyz",
    access: Access::Public,
    what: "readiness: the store answers a read: 200 {\"status\": \"ready\"}, else 503",
    handler: || get(ready),
};

/// `GET /messages/{id}`.
pub const MESSAGE_STATE: Route = Route {
    method: "GET",
    path: "/messages/{id}",
    access: Access::Ingest,
    what: "the outbound queue's delivery state of a message (404: never queued)",
    handler: || get(message_state),
};

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        format!("{value}\n"),
    )
        .into_response()
}

/// Runs a store operation on the blocking pool.
pub(crate) async fn with_store<R: Send + 'static>(
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
    match with_store(&mailroom, |s| s.get("host/readiness-probe")).await {
        Ok(_) => json_response(StatusCode::OK, &json!({"status": "ready"})),
        Err(e) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unavailable", "store": format!("{e:?}")}),
        ),
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
