//! `/use-cases`: who sends, for what.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{App, Failure, call, field, host, object_body, workspace_of};
use crate::auth::Caller;
use crate::use_cases::UseCaseType;

pub(super) async fn create(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    const FIELDS: [&str; 5] = ["setup", "sender", "type", "entity-name", "use-case-name"];
    let parsed = object_body(&body, &FIELDS).and_then(|f| {
        Ok::<_, Failure>((
            field::<String>(&f, "setup")?,
            field::<String>(&f, "sender")?,
            field::<UseCaseType>(&f, "type")?,
            field::<String>(&f, "entity-name")?,
            field::<String>(&f, "use-case-name")?,
        ))
    });
    let (setup, sender, kind, entity, name) = match parsed {
        Ok(parsed) => parsed,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::CREATED, move |m, _| {
        m.create_use_case(&workspace, &setup, &sender, kind, &entity, &name)
            .map_err(host)
    })
    .await
}

pub(super) async fn list(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(setup): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.list_use_cases(&workspace, &setup).map_err(host)
    })
    .await
}

pub(super) async fn get(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.get_use_case(&workspace, &id).map_err(host)
    })
    .await
}

pub(super) async fn disable(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.disable_use_case(&workspace, &id).map_err(host)
    })
    .await
}

pub(super) async fn set_list_unsubscribe(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let enabled: bool = match object_body(&body, &["enabled"]).and_then(|f| field(&f, "enabled")) {
        Ok(enabled) => enabled,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.set_list_unsubscribe(&workspace, &id, enabled)
            .map_err(host)
    })
    .await
}
