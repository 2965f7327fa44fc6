//! The send decision, suppression lists, policy and health of a setup.

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    App, Pairs, call, field, host, number_param, object_body, param, typed_body, workspace_of,
};
use crate::auth::Caller;
use crate::suppression::Policy;

pub(super) async fn health(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.get_health(&workspace, &id).map_err(host)
    })
    .await
}

pub(super) async fn clear_pause(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let note: Option<String> = match object_body(&body, &["note"]).and_then(|f| field(&f, "note")) {
        Ok(note) => note,
        Err(f) => return f.into_response(),
    };
    let note = note.unwrap_or_else(|| "cleared through the HTTP API".into());
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.clear_pause(&workspace, &id, &note).map_err(host)
    })
    .await
}

pub(super) async fn get_policy(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.get_policy(&workspace, &id).map_err(host)
    })
    .await
}

pub(super) async fn set_policy(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let policy: Policy = match typed_body(&body) {
        Ok(policy) => policy,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.set_policy(&workspace, &id, &policy).map_err(host)
    })
    .await
}

pub(super) async fn list(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Pairs,
) -> Response {
    let limit = match number_param::<u32>(&query, "limit") {
        Ok(limit) => limit.unwrap_or(100),
        Err(f) => return f.into_response(),
    };
    let cursor = param(&query, "cursor")
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.list_suppressions(&workspace, &id, cursor.as_deref(), limit)
            .map_err(host)
    })
    .await
}

pub(super) async fn get(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, address)): Path<(String, String)>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.get_suppression(&workspace, &id, &address).map_err(host)
    })
    .await
}

pub(super) async fn remove(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, address)): Path<(String, String)>,
    Query(query): Pairs,
) -> Response {
    let note = param(&query, "note")
        .unwrap_or("removed through the HTTP API")
        .to_string();
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.remove_suppression(&workspace, &id, &address, &note)
            .map_err(host)
    })
    .await
}

pub(super) async fn check(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((use_case, address)): Path<(String, String)>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.check_suppression(&workspace, &use_case, &address)
            .map_err(host)
    })
    .await
}
