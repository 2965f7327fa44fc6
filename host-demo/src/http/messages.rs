//! `/messages`: sending, and what became of a sent message.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{App, Failure, answer, blocking, call, host, typed_body, workspace_of};
use crate::auth::Caller;
use crate::json as codec;
use crate::outbound::{DeliveryOutcome, SendError, SendRequest};

/// The header of an idempotent send.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// How long a send waits for another send with its key to finish.
pub const IDEMPOTENCY_WAIT: Duration = Duration::from_secs(60);

/// A `send-request` from its JSON form: `to`, `cc` and `attachments` may be
/// left out, and an attachment's `content` may be `{"base64": "…"}`.
pub fn send_request_from_json(value: &Value) -> Result<SendRequest, String> {
    codec::from_json(value)
}

pub(super) async fn send(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request: SendRequest = match typed_body(&body) {
        Ok(request) => request,
        Err(f) => return f.into_response(),
    };
    if let Some(value) = headers.get(IDEMPOTENCY_KEY) {
        let Ok(key) = value.to_str() else {
            let why = "Idempotency-Key must be printable ASCII".to_string();
            return Failure::BadRequest(why).into_response();
        };
        if request.idempotency_key.as_deref().is_some_and(|k| k != key) {
            let why =
                "the Idempotency-Key header and the body's idempotency-key differ".to_string();
            return Failure::BadRequest(why).into_response();
        }
        request.idempotency_key = Some(key.to_string());
    }
    let workspace = workspace_of(&caller);
    let deadline = tokio::time::Instant::now() + IDEMPOTENCY_WAIT;
    loop {
        let (workspace, request) = (workspace.clone(), request.clone());
        let result =
            match blocking(&app, move |m, _| m.send(&workspace, &request).map_err(host)).await {
                Ok(result) => result,
                Err(failure) => return failure.into_response(),
            };
        if matches!(result, Err(SendError::IdempotencyInProgress(_)))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let replayed = matches!(&result, Ok(sent) if sent.replayed);
        let mut response = answer(&codec::result_json(&result), StatusCode::CREATED);
        if replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        return response;
    }
}

/// `outbound.report`: the transport's word on a message (ingest).
pub(super) async fn report(
    State(app): State<App>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let outcome: DeliveryOutcome = match typed_body(&body) {
        Ok(outcome) => outcome,
        Err(f) => return f.into_response(),
    };
    call(&app, StatusCode::OK, move |m, _| {
        m.report(&id, &outcome).map_err(host)
    })
    .await
}
