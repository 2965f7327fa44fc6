//! `/setups`: sending domains, their records and verification.

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{App, Failure, call, field, host, object_body, workspace_of};
use crate::auth::Caller;
use crate::setups::{DnsAnswer, SetupError, Verification};
use crate::{Resolve, Resolver};

pub(super) async fn create(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let workspace = workspace_of(&caller);
    let parsed = object_body(&body, &["workspace", "domain", "options"]).and_then(|fields| {
        if let Some(named) = fields.get("workspace").and_then(Value::as_str)
            && named != workspace
        {
            let why = "the workspace comes from the API key; leave it out of the body";
            return Err(Failure::BadRequest(why.into()));
        }
        let domain: String = field(&fields, "domain")?;
        Ok((domain, app.defaults.setup_options(fields.get("options"))?))
    });
    let (domain, options) = match parsed {
        Ok(parsed) => parsed,
        Err(f) => return f.into_response(),
    };
    call(&app, StatusCode::CREATED, move |m, _| {
        m.create_setup(&workspace, &domain, &options).map_err(host)
    })
    .await
}

pub(super) async fn list(State(app): State<App>, Extension(caller): Extension<Caller>) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.list_setups(&workspace).map_err(host)
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
        m.get_setup(&workspace, &id).map_err(host)
    })
    .await
}

pub(super) async fn lookups(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.setup_lookups(&workspace, &id).map_err(host)
    })
    .await
}

/// Verification resolves the setup's records through the configured
/// nameserver; posted answers are refused unless the test-only
/// `posted-dns-answers` setting allows them.
pub(super) async fn verify(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let workspace = workspace_of(&caller);
    let posted: Option<Vec<DnsAnswer>> =
        match object_body(&body, &["answers"]).and_then(|fields| field(&fields, "answers")) {
            Ok(posted) => posted,
            Err(f) => return f.into_response(),
        };
    if posted.is_some() && !app.defaults.posted_dns_answers {
        let why = "DNS answers are not accepted over the API: the server resolves the \
                   setup's records through its own nameserver (post an empty body)";
        return Failure::BadRequest(why.into()).into_response();
    }
    call(&app, StatusCode::OK, move |m, defaults| {
        if let Some(answers) = posted {
            return m.verify_setup(&workspace, &id, &answers).map_err(host);
        }
        // The lookups first: another workspace's setup is not-found, with
        // or without a nameserver.
        let lookups = match m.setup_lookups(&workspace, &id).map_err(host)? {
            Ok(lookups) => lookups,
            Err(e) => return Ok(Err::<Verification, SetupError>(e)),
        };
        let Some(nameserver) = defaults.nameserver else {
            let why = "no nameserver is configured (nameserver, MAILROOM_NAMESERVER): \
                       the server resolves the setup's records itself";
            return Err(Failure::BadRequest(why.into()));
        };
        let answers = Resolver::new(nameserver)
            .map_err(host)?
            .resolve_all(&lookups);
        m.verify_setup(&workspace, &id, &answers).map_err(host)
    })
    .await
}

pub(super) async fn rotate_dkim(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.rotate_dkim(&workspace, &id).map_err(host)
    })
    .await
}
