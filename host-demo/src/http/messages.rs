//! `/messages`: sending, and what became of a sent message.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{App, call, host, typed_body, workspace_of};
use crate::auth::Caller;
use crate::json as codec;
use crate::outbound::{DeliveryOutcome, SendRequest};

/// A `send-request` from its JSON form: `to`, `cc` and `attachments` may be
/// left out, and an attachment's `content` may be `{"base64": "…"}`.
pub fn send_request_from_json(value: &Value) -> Result<SendRequest, String> {
    codec::from_json(value)
}

pub(super) async fn send(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let request: SendRequest = match typed_body(&body) {
        Ok(request) => request,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::CREATED, move |m, _| {
        m.send(&workspace, &request).map_err(host)
    })
    .await
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
