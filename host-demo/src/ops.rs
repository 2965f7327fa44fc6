//! Operators' endpoints of `host-demo serve`, beside the API of
//! [`crate::http`] (which keeps `GET /healthz`, the liveness probe):
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
//! [`Hooks`] is what [`crate::http::router`] takes from here: these routes
//! and the `Idempotency-Key` layer of `POST /messages`
//! ([`crate::idempotency`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::{Value, json};

use crate::Mailroom;
use crate::guard::{self, Guard};
use crate::host::store::{StoreError, for_call};

/// The endpoints, one a line, for `host-demo serve --help`.
pub const ENDPOINTS: &str = "\
  GET    /readyz                                         200 when the store answers, else 503 (public)
  GET    /messages/{id}                                  the outbound queue's delivery state (ingest secret or admin key)
  POST   /messages with Idempotency-Key: K               a retry with K answers the first answer (24 h; 409 for another request)";

/// What the API's router takes from this module.
pub struct Hooks {
    mailroom: Arc<Mailroom>,
    guard: Guard,
}

impl Hooks {
    /// The hooks over `mailroom`, guarded by `guard` (the router's).
    pub fn new(mailroom: &Arc<Mailroom>, guard: &Guard) -> Self {
        Self {
            mailroom: Arc::clone(mailroom),
            guard: guard.clone(),
        }
    }

    /// `route` (`POST /messages`) with the `Idempotency-Key` layer, inside
    /// the tenant guard, so the key is the caller's workspace's.
    pub fn idempotent<S: Clone + Send + Sync + 'static>(
        &self,
        route: MethodRouter<S>,
    ) -> MethodRouter<S> {
        let state = crate::idempotency::Idempotency {
            mailroom: Arc::clone(&self.mailroom),
            max_body: usize::try_from(self.guard.platform().max_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(1024 * 1024),
        };
        route.layer(middleware::from_fn_with_state(
            state,
            crate::idempotency::middleware,
        ))
    }

    /// `/readyz` (public) and `GET /messages/{id}` (ingest), to merge into
    /// the API's router.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let public =
            Router::new()
                .route("/readyz", get(ready))
                .route_layer(middleware::from_fn_with_state(
                    self.guard.clone(),
                    guard::public,
                ));
        let ingest = Router::new()
            .route("/messages/{id}", get(message_state))
            .route_layer(middleware::from_fn_with_state(
                self.guard.clone(),
                guard::ingest,
            ));
        public.merge(ingest).with_state(Arc::clone(&self.mailroom))
    }
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
