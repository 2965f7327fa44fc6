//! The platform's HTTP API over the component (`host-demo serve`).
//!
//! JSON in and out, in the JSON form of WIT values of `tests/SCENARIOS.md`
//! (kebab-case field names in WIT order, variants as `{"case": payload}` or
//! `"case"`, options as `null` or the value). Each request runs one
//! component call on tokio's blocking pool, in a fresh wasmtime store; the
//! [`Mailroom`] (its store and transport) is shared by every request, and
//! at most `max-calls` requests hold a slot at once ([`crate::guard`]).
//!
//! # Who may call
//!
//! Tenant routes need a workspace key (or the admin key and
//! `X-Mailroom-Workspace`) as `Authorization: Bearer …`: the call acts for
//! that workspace, never one a body names. Ingest routes (`/inbound`,
//! `/reports`, `/events`, `/messages/{id}/outcome`) need the ingest secret
//! or the admin key; `/unsubscribe/{token}`, the tracking pixel and links
//! (`/t/o/{token}`, `/t/c/{token}`) and `/healthz` are public.
//! Missing or bad credentials answer 401 ([`crate::guard`], [`crate::auth`]).
//!
//! # Endpoints
//!
//! [`ROUTES`] lists them once: the router is built from it and
//! `host-demo serve --help` prints it ([`endpoints`]). Each handler lives in
//! the file of its resource and calls one typed [`Mailroom`] method;
//! arguments and results go through [`crate::json`], the one conversion
//! between WIT values and JSON.
//!
//! In `POST /messages`, `to`, `cc` and `attachments` may be left out (empty),
//! and an attachment's `content` is UTF-8 text (the WIT JSON form of
//! `list<u8>`) or `{"base64": "…"}` for binary files. In results, `list<u8>`
//! is `"sha256:<hex>"` of the bytes. `POST /inbound` takes the SMTP envelope
//! from the query parameters `from` and `to` (repeatable), else from the
//! headers `X-Envelope-From` and `X-Envelope-To` (repeatable or
//! comma-separated); without recipients the message's To and Cc stand in.
//!
//! `POST /messages` takes an `Idempotency-Key` header (as Stripe and Resend
//! do) into the request's `idempotency-key` (a body that names another key
//! is 400). A send whose key another send still runs, on this replica or
//! another, waits for it (up to 60 seconds) and then answers its
//! outcome; a replayed outcome carries `Idempotent-Replayed: true`.
//!
//! # Errors
//!
//! A component error answers `{"error": E}`, E its typed error in the JSON
//! form (`{"error": {"suppressed": [ … ]}}`), with the status of its case:
//!
//! | status | cases |
//! | --- | --- |
//! | 400 | `invalid-*` (domain, workspace, options, sender, name, request, header, address, policy, event, range, id, limits), `too-many-recipients`, `smtputf8-required`, `parse` (unparseable input) |
//! | 404 | `not-found`, `unknown-setup`, `unknown-use-case`, `unknown-message` |
//! | 409 | `domain-taken`, `name-taken`, `setup-not-verified`, `use-case-disabled`, `cross-use-case`, `marketing-needs-unsubscribe`, `suppressed`, `paused`, `expired`, `idempotency-key-reused`, `idempotency-in-progress` (after waiting) |
//! | 413 | `parse` with `limit-exceeded` |
//! | 422 | `unknown-parent` |
//! | 502 | `transport` |
//! | 503 | `store` |
//! | 500 | `key-generation`, `signing` and any other |
//!
//! A request the host cannot turn into a call answers 400
//! `{"error": {"bad-request": "why"}}`; a host failure or a trap 500
//! `{"error": {"host": "why"}}`. Bodies over the `max-bytes` ceiling plus
//! 1 MiB get 413; 401 `unauthorized`, 408 `timeout` and 429 `rate-limited`
//! come from [`crate::guard`]. The
//! one-click endpoint answers in `text/plain` also on errors: 404 for
//! `invalid-token`, 400 for `invalid-body`, 503 for `store`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::config::{Config, Platform};
use crate::guard::{self, Guard};
use crate::setups::SetupOptions;
use crate::{Limits, Mailroom, json as codec};

mod ingest;
mod messages;
mod reporting;
mod setups;
mod suppression;
mod tracking;
mod unsubscribe;
mod use_cases;

pub use ingest::receive;
pub use messages::send_request_from_json;

/// Who may call a route ([`crate::guard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A workspace key, or the admin key with `X-Mailroom-Workspace`.
    Tenant,
    /// The ingest secret or the admin key: MX, transport and webhooks.
    Ingest,
    /// Anyone: token-authenticated or harmless.
    Public,
}

/// One route: the method and path, who may call it, what it does, and its
/// handler.
pub struct Route {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The path, `{name}` for a segment.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The component call and the success status.
    pub what: &'static str,
    pub(crate) handler: fn() -> MethodRouter<App>,
}

/// Every route of the API, in the order `--help` lists them.
pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/setups",
        access: Access::Tenant,
        what: "setups.create {domain, options?}: options default from the settings (201)",
        handler: || post(setups::create),
    },
    Route {
        method: "GET",
        path: "/setups",
        access: Access::Tenant,
        what: "setups.list",
        handler: || get(setups::list),
    },
    Route {
        method: "GET",
        path: "/setups/{id}",
        access: Access::Tenant,
        what: "setups.get",
        handler: || get(setups::get),
    },
    Route {
        method: "GET",
        path: "/setups/{id}/lookups",
        access: Access::Tenant,
        what: "setups.lookups",
        handler: || get(setups::lookups),
    },
    Route {
        method: "POST",
        path: "/setups/{id}/verify",
        access: Access::Tenant,
        what: "setups.verify, resolved by the configured nameserver",
        handler: || post(setups::verify),
    },
    Route {
        method: "POST",
        path: "/setups/{id}/rotate-dkim",
        access: Access::Tenant,
        what: "setups.rotate-dkim",
        handler: || post(setups::rotate_dkim),
    },
    Route {
        method: "GET",
        path: "/setups/{id}/health",
        access: Access::Tenant,
        what: "suppression.get-health",
        handler: || get(suppression::health),
    },
    Route {
        method: "POST",
        path: "/setups/{id}/clear-pause",
        access: Access::Tenant,
        what: "suppression.clear-pause {note}",
        handler: || post(suppression::clear_pause),
    },
    Route {
        method: "GET",
        path: "/setups/{id}/policy",
        access: Access::Tenant,
        what: "suppression.get-policy",
        handler: || get(suppression::get_policy),
    },
    Route {
        method: "PUT",
        path: "/setups/{id}/policy",
        access: Access::Tenant,
        what: "suppression.set-policy (body: a policy)",
        handler: || put(suppression::set_policy),
    },
    Route {
        method: "GET",
        path: "/setups/{id}/use-cases",
        access: Access::Tenant,
        what: "use-cases.list",
        handler: || get(use_cases::list),
    },
    Route {
        method: "GET",
        path: "/setups/{id}/suppressions",
        access: Access::Tenant,
        what: "suppression.list ?cursor=&limit= (limit default 100)",
        handler: || get(suppression::list),
    },
    Route {
        method: "GET",
        path: "/setups/{id}/suppressions/{address}",
        access: Access::Tenant,
        what: "suppression.get",
        handler: || get(suppression::get),
    },
    Route {
        method: "DELETE",
        path: "/setups/{id}/suppressions/{address}",
        access: Access::Tenant,
        what: "suppression.remove ?note=",
        handler: || delete(suppression::remove),
    },
    Route {
        method: "POST",
        path: "/use-cases",
        access: Access::Tenant,
        what: "use-cases.create {setup, sender, type, entity-name, use-case-name} (201)",
        handler: || post(use_cases::create),
    },
    Route {
        method: "GET",
        path: "/use-cases/{id}",
        access: Access::Tenant,
        what: "use-cases.get",
        handler: || get(use_cases::get),
    },
    Route {
        method: "POST",
        path: "/use-cases/{id}/disable",
        access: Access::Tenant,
        what: "use-cases.disable",
        handler: || post(use_cases::disable),
    },
    Route {
        method: "PUT",
        path: "/use-cases/{id}/list-unsubscribe",
        access: Access::Tenant,
        what: "use-cases.set-list-unsubscribe {enabled}",
        handler: || put(use_cases::set_list_unsubscribe),
    },
    Route {
        method: "POST",
        path: "/messages",
        access: Access::Tenant,
        what: "outbound.send (a send-request) (201)",
        handler: || post(messages::send),
    },
    Route {
        method: "GET",
        path: "/suppression/{use_case}/{address}",
        access: Access::Tenant,
        what: "suppression.check",
        handler: || get(suppression::check),
    },
    Route {
        method: "GET",
        path: "/reporting",
        access: Access::Tenant,
        what: "reporting.count ?setup=|use-case=&from=&until= (until default now, from 30 days before)",
        handler: || get(reporting::count),
    },
    Route {
        method: "GET",
        path: "/use-cases/{id}/tracking",
        access: Access::Tenant,
        what: "tracking.get-settings",
        handler: || get(tracking::get_settings),
    },
    Route {
        method: "PUT",
        path: "/use-cases/{id}/tracking",
        access: Access::Tenant,
        what: "tracking.set-settings {opens, clicks, scanner-window-secs}",
        handler: || put(tracking::set_settings),
    },
    Route {
        method: "GET",
        path: "/setups/{id}/tracking-base",
        access: Access::Tenant,
        what: "tracking.get-base",
        handler: || get(tracking::get_base),
    },
    Route {
        method: "PUT",
        path: "/setups/{id}/tracking-base",
        access: Access::Tenant,
        what: "tracking.set-base {base} (null: https://<inbound-host>/t)",
        handler: || put(tracking::set_base),
    },
    Route {
        method: "GET",
        path: "/messages/{id}/tracking",
        access: Access::Tenant,
        what: "tracking.message: tracked URLs, opens, per-link clicks",
        handler: || get(tracking::message),
    },
    Route {
        method: "GET",
        path: "/reporting/engagement",
        access: Access::Tenant,
        what: "reporting.count-engagement ?setup=|use-case=&from=&until=",
        handler: || get(tracking::engagement),
    },
    Route {
        method: "GET",
        path: "/reporting/link-clicks",
        access: Access::Tenant,
        what: "reporting.link-clicks ?use-case=&from=&until=",
        handler: || get(tracking::link_clicks),
    },
    Route {
        method: "PUT",
        path: "/tracking/networks",
        access: Access::Ingest,
        what: "tracking.set-networks (a list of CIDR networks: Apple's proxies)",
        handler: || put(tracking::networks),
    },
    Route {
        method: "POST",
        path: "/messages/{id}/outcome",
        access: Access::Ingest,
        what: "outbound.report (a delivery-outcome) (204)",
        handler: || post(messages::report),
    },
    Route {
        method: "POST",
        path: "/events",
        access: Access::Ingest,
        what: "events.record (an event: a provider's webhook)",
        handler: || post(ingest::event),
    },
    Route {
        method: "POST",
        path: "/reports",
        access: Access::Ingest,
        what: "events.ingest-report (raw MIME: a DSN, ARF or bounce)",
        handler: || post(ingest::report),
    },
    Route {
        method: "POST",
        path: "/inbound",
        access: Access::Ingest,
        what: "inbound.receive ?from=&to=&to=&max-bytes=&max-depth=&max-parts= (raw MIME)",
        handler: || post(ingest::inbound),
    },
    Route {
        method: "POST",
        path: "/unsubscribe/{token}",
        access: Access::Public,
        what: "unsubscribe.one-click (RFC 8058), text/plain",
        handler: || post(unsubscribe::one_click),
    },
    Route {
        method: "GET",
        path: "/unsubscribe/{token}",
        access: Access::Public,
        what: "a page whose button POSTs; a GET never unsubscribes",
        handler: || get(unsubscribe::page),
    },
    Route {
        method: "GET",
        path: "/t/o/{token}",
        access: Access::Public,
        what: "tracking.open: the 43-byte GIF; a plain 404 page for a bad token",
        handler: || get(tracking::pixel),
    },
    Route {
        method: "GET",
        path: "/t/c/{token}",
        access: Access::Public,
        what: "tracking.click (HEAD too): 302 to the stored URL; a plain 404 page for a bad token",
        handler: || get(tracking::link),
    },
    Route {
        method: "GET",
        path: "/healthz",
        access: Access::Public,
        what: "the store answers a read: 200 {\"status\": \"ok\"}, else 503",
        handler: || get(healthz),
    },
    crate::ops::READYZ,
    crate::ops::MESSAGE_STATE,
];

/// The endpoints, one a line, for `host-demo serve --help`.
pub fn endpoints() -> String {
    let mut out = String::new();
    for route in ROUTES {
        let access = match route.access {
            Access::Tenant => "",
            Access::Ingest => " [ingest]",
            Access::Public => " [public]",
        };
        out.push_str(&format!(
            "  {:<6} {:<38} {}{access}\n",
            route.method, route.path, route.what
        ));
    }
    out.push_str(
        "\nTenant routes need Authorization: Bearer <workspace key> (host-demo keys\n\
         create), or the admin key with X-Mailroom-Workspace; [ingest] routes need\n\
         the ingest secret (or the admin key); [public] ones no key. 401 without a\n\
         valid key.\n\n\
         JSON bodies and results use the JSON form of WIT values (tests/SCENARIOS.md).\n\
         Component errors answer {\"error\": {\"case\": payload}}: 400 invalid input,\n\
         404 unknown ids, 409 conflicts (taken, not verified, suppressed, paused), 413\n\
         limits, 422 unknown-parent, 502 transport, 503 store; host failures 500.",
    );
    out
}

/// What the server fills in when a request leaves it out: the settings a
/// setup's records depend on, and the nameserver verification asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `setup-options.inbound-host`.
    pub inbound_host: String,
    /// `setup-options.spf-include`.
    pub spf_include: Option<String>,
    /// `setup-options.unsubscribe-base`.
    pub unsubscribe_base: Option<String>,
    /// The nameserver `POST /setups/{id}/verify` resolves with.
    pub nameserver: Option<SocketAddr>,
    /// `setup-options.pending-ttl`.
    pub pending_ttl: u64,
    /// Whether posted DNS answers are accepted (tests only).
    pub posted_dns_answers: bool,
    /// The ceilings of the parse limits.
    pub ceilings: Limits,
}

impl Defaults {
    /// The defaults the settings give.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let nameserver = config
            .nameserver
            .as_deref()
            .map(crate::host::dns::parse_nameserver)
            .transpose()
            .context("nameserver")?;
        Ok(Self {
            inbound_host: config.inbound_host.clone(),
            spf_include: None,
            unsubscribe_base: config.unsubscribe_base.clone(),
            nameserver,
            pending_ttl: config.platform.pending_ttl_secs,
            posted_dns_answers: config.platform.posted_dns_answers,
            ceilings: Limits {
                max_bytes: Some(config.platform.max_bytes),
                max_depth: Some(config.platform.max_depth),
                max_parts: Some(config.platform.max_parts),
            },
        })
    }

    /// The `setup-options` these defaults give, with the fields of `given`
    /// (a JSON object) over them.
    fn setup_options(&self, given: Option<&Value>) -> Result<SetupOptions, Failure> {
        let mut options = Map::new();
        options.insert("inbound-host".into(), json!(self.inbound_host));
        options.insert("spf-include".into(), json!(self.spf_include));
        options.insert("unsubscribe-base".into(), json!(self.unsubscribe_base));
        options.insert("pending-ttl".into(), json!(self.pending_ttl));
        options.insert("bounce-domain".into(), Value::Null);
        match given {
            None | Some(Value::Null) => {}
            Some(Value::Object(fields)) => {
                for (key, value) in fields {
                    options.insert(key.clone(), value.clone());
                }
            }
            Some(other) => {
                return Err(Failure::BadRequest(format!(
                    "options must be an object, not {other}"
                )));
            }
        }
        codec::from_json(&Value::Object(options))
            .map_err(|e| Failure::BadRequest(format!("options: {e}")))
    }
}

/// The state every handler shares.
#[derive(Clone)]
pub struct App {
    mailroom: Arc<Mailroom>,
    defaults: Arc<Defaults>,
}

/// The channel of [`App`], for handlers outside this module
/// ([`crate::ops`]).
impl axum::extract::FromRef<App> for Arc<Mailroom> {
    fn from_ref(app: &App) -> Self {
        Arc::clone(&app.mailroom)
    }
}

/// The API's routes over `mailroom` ([`ROUTES`]), each behind the guard of
/// its [`Access`].
pub fn router(mailroom: Arc<Mailroom>, defaults: Defaults, platform: &Platform) -> Router {
    let guard = Guard::new(mailroom.store().clone(), platform);
    let app = App {
        mailroom,
        defaults: Arc::new(defaults),
    };
    let (mut tenant, mut ingest, mut public) = (Router::new(), Router::new(), Router::new());
    for route in ROUTES {
        let part = match route.access {
            Access::Tenant => &mut tenant,
            Access::Ingest => &mut ingest,
            Access::Public => &mut public,
        };
        *part = std::mem::take(part).route(route.path, (route.handler)());
    }
    let body_limit = usize::try_from(platform.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024);
    tenant
        .route_layer(middleware::from_fn_with_state(guard.clone(), guard::tenant))
        .merge(ingest.route_layer(middleware::from_fn_with_state(guard.clone(), guard::ingest)))
        .merge(public.route_layer(middleware::from_fn_with_state(guard.clone(), guard::public)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(guard, guard::bounded))
        .with_state(app)
}

/// Serves the API on `config.listen` over the channel `config` describes,
/// until SIGINT or SIGTERM; then in-flight requests finish. Prints
/// `listening on http://ADDR` (the bound address, so port 0 works) on
/// standard error.
///
/// Loading the component blocks: on a multi-thread runtime it runs in
/// `block_in_place`.
pub async fn serve(config: &Config) -> anyhow::Result<()> {
    let defaults = Defaults::from_config(config)?;
    let mailroom = match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| crate::queue::serve_mailroom(config))?
        }
        _ => crate::queue::serve_mailroom(config)?,
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr().context("the bound address")?;
    eprintln!("listening on http://{address}");
    let router = router(mailroom, defaults, &config.platform);
    guard::serve(listener, router, &config.platform, shutdown_signal())
        .await
        .context("serving HTTP")
}
/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    eprintln!("shutting down");
}

/// Why a request got no answer from the component.
enum Failure {
    /// The request cannot be turned into a call.
    BadRequest(String),
    /// The host failed, or the call trapped.
    Host(anyhow::Error),
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::BadRequest(why) => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": {"bad-request": why}}),
            ),
            Failure::Host(e) => {
                tracing::error!(error = %format!("{e:#}"), "request failed");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": {"host": format!("{e:#}")}}),
                )
            }
        }
    }
}

/// `value` as compact JSON and a newline.
fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut body = value.to_string().into_bytes();
    body.push(b'\n');
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

/// The answer to a component result `{"ok": v}` (`ok` and v; 204 for a
/// null v) or `{"err": e}` (e's status and `{"error": e}`).
fn answer(result: &Value, ok: StatusCode) -> Response {
    match result {
        Value::Object(map) if map.len() == 1 => {
            if let Some(value) = map.get("ok") {
                if value.is_null() {
                    return StatusCode::NO_CONTENT.into_response();
                }
                return json_response(ok, value);
            }
            if let Some(error) = map.get("err") {
                return json_response(error_status(error), &json!({ "error": error }));
            }
            json_response(ok, result)
        }
        other => json_response(ok, other),
    }
}

/// The HTTP status of a component error (see the module documentation).
pub fn error_status(error: &Value) -> StatusCode {
    let (case, payload) = match error {
        Value::String(case) => (case.as_str(), &Value::Null),
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((case, payload)) => (case.as_str(), payload),
            None => ("", &Value::Null),
        },
        _ => ("", &Value::Null),
    };
    match case {
        "not-found" | "unknown-setup" | "unknown-use-case" | "unknown-message"
        | "invalid-token" => StatusCode::NOT_FOUND,
        "domain-taken"
        | "name-taken"
        | "setup-not-verified"
        | "use-case-disabled"
        | "cross-use-case"
        | "marketing-needs-unsubscribe"
        | "suppressed"
        | "paused"
        | "expired"
        | "idempotency-key-reused"
        | "idempotency-in-progress" => StatusCode::CONFLICT,
        "unknown-parent" => StatusCode::UNPROCESSABLE_ENTITY,
        "parse" if payload.get("limit-exceeded").is_some() => StatusCode::PAYLOAD_TOO_LARGE,
        "parse" => StatusCode::BAD_REQUEST,
        "transport" => StatusCode::BAD_GATEWAY,
        "store" => StatusCode::SERVICE_UNAVAILABLE,
        "too-many-recipients" | "smtputf8-required" => StatusCode::BAD_REQUEST,
        case if case.starts_with("invalid-") => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Runs `f` on the blocking pool. The request already holds one of the
/// `max-calls` slots ([`crate::guard`]). A call runs to its end even when
/// the client goes away.
async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&Mailroom, &Defaults) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let (mailroom, defaults) = (Arc::clone(&app.mailroom), Arc::clone(&app.defaults));
    tokio::task::spawn_blocking(move || f(&mailroom, &defaults))
        .await
        .map_err(|e| Failure::Host(anyhow::anyhow!("the call panicked or was cancelled: {e}")))?
}

/// Runs a typed call on the blocking pool and answers its result: `ok`
/// and the value (204 for a unit), or the error's status and
/// `{"error": e}`.
async fn call<T, E>(
    app: &App,
    ok: StatusCode,
    f: impl FnOnce(&Mailroom, &Defaults) -> Result<Result<T, E>, Failure> + Send + 'static,
) -> Response
where
    T: Serialize + Send + 'static,
    E: Serialize + Send + 'static,
{
    match blocking(app, f).await {
        Ok(result) => answer(&codec::result_json(&result), ok),
        Err(failure) => failure.into_response(),
    }
}

/// A host error (a trap, the store's lock) as a [`Failure`].
fn host(e: anyhow::Error) -> Failure {
    Failure::Host(e)
}

/// The body as JSON; an empty body is `null`.
fn json_body(body: &[u8]) -> Result<Value, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| Failure::BadRequest(format!("the body is not JSON: {e}")))
}

/// The body as a WIT value of type `T`.
fn typed_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    codec::from_json(&json_body(body)?).map_err(Failure::BadRequest)
}

/// The fields of a JSON object body, each checked against `allowed`; an
/// empty body has none.
fn object_body(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, Failure> {
    let map = match json_body(body)? {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => return Err(Failure::BadRequest("the body must be a JSON object".into())),
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Failure::BadRequest(format!(
            "unknown field {extra} (expected {})",
            allowed.join(", ")
        )));
    }
    Ok(map)
}

/// Field `name` of a body object as a WIT value of type `T` (absent is
/// null).
fn field<T: DeserializeOwned>(fields: &Map<String, Value>, name: &str) -> Result<T, Failure> {
    codec::from_json(fields.get(name).unwrap_or(&Value::Null))
        .map_err(|e| Failure::BadRequest(format!("{name}: {e}")))
}

/// The query parameter `name`, the last if repeated.
fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The query parameter `name` as a number, if given.
fn number_param<T: std::str::FromStr>(
    query: &[(String, String)],
    name: &str,
) -> Result<Option<T>, Failure> {
    param(query, name)
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| Failure::BadRequest(format!("{name}={v:?} is not a number")))
        })
        .transpose()
}

type Pairs = Query<Vec<(String, String)>>;

/// The caller's workspace (tenant routes always have one).
fn workspace_of(caller: &Caller) -> String {
    match caller {
        Caller::Workspace { workspace, .. } => workspace.clone(),
        Caller::Ingest => String::new(),
    }
}

/// Liveness and readiness: the store answers a read.
async fn healthz(State(app): State<App>) -> Response {
    let store = app.mailroom.store().clone();
    let read = tokio::task::spawn_blocking(move || {
        store
            .lock()
            .map_err(|_| "the store lock is poisoned".to_string())
            .and_then(|mut s| s.get("host/health").map_err(|e| format!("{e:?}")))
    })
    .await;
    match read {
        Ok(Ok(_)) => json_response(StatusCode::OK, &json!({"status": "ok"})),
        Ok(Err(why)) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unavailable", "store": why}),
        ),
        Err(e) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unavailable", "store": e.to_string()}),
        ),
    }
}
