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
//! or the admin key; `/unsubscribe/{token}` and `/healthz` are public.
//! Missing or bad credentials answer 401 ([`crate::guard`], [`crate::auth`]).
//!
//! # Endpoints
//!
//! | method and path | component call | success |
//! | --- | --- | --- |
//! | `POST /setups` `{domain, options?}` | `setups.create` for the caller's workspace (options default from the settings: `inbound-host`, `unsubscribe-base`, `pending-ttl-secs`) | 201 setup |
//! | `GET /setups` | `setups.list` | 200 setups |
//! | `GET /setups/{id}` | `setups.get` | 200 setup |
//! | `GET /setups/{id}/lookups` | `setups.lookups` | 200 lookups |
//! | `POST /setups/{id}/verify` | `setups.verify` with the lookups resolved by the configured nameserver (posted `answers` are refused unless the test-only `posted-dns-answers` is set) | 200 verification |
//! | `POST /setups/{id}/rotate-dkim` | `setups.rotate-dkim` | 200 setup |
//! | `GET /setups/{id}/health` | `suppression.get-health` | 200 health |
//! | `POST /setups/{id}/clear-pause` `{note}` | `suppression.clear-pause` | 200 health |
//! | `GET`, `PUT /setups/{id}/policy` (body: a policy) | `suppression.get-policy`, `set-policy` | 200 policy |
//! | `GET /setups/{id}/use-cases` | `use-cases.list` | 200 use cases |
//! | `GET /setups/{id}/suppressions?cursor=&limit=` | `suppression.list` (limit default 100) | 200 address states |
//! | `GET /setups/{id}/suppressions/{address}` | `suppression.get` | 200 address state |
//! | `DELETE /setups/{id}/suppressions/{address}?note=` | `suppression.remove` | 200 address state |
//! | `POST /use-cases` `{setup, sender, type, entity-name, use-case-name}` | `use-cases.create` | 201 use case |
//! | `GET /use-cases/{id}` | `use-cases.get` | 200 use case |
//! | `POST /use-cases/{id}/disable` | `use-cases.disable` | 200 use case |
//! | `PUT /use-cases/{id}/list-unsubscribe` `{enabled}` | `use-cases.set-list-unsubscribe` | 200 use case |
//! | `POST /messages` (a `send-request`) | `outbound.send` | 201 sent |
//! | `POST /messages/{id}/outcome` (a `delivery-outcome`) | `outbound.report` | 204 |
//! | `POST /events` (an `event`: a provider's webhook) | `events.record` | 200 recorded |
//! | `POST /reports` (raw MIME: a DSN, ARF or bounce) | `events.ingest-report` | 200 report |
//! | `POST /inbound?from=&to=&to=` (raw MIME) | `inbound.receive` (limits from `max-bytes`, `max-depth`, `max-parts` query parameters, clamped to the settings' ceilings, else the ceilings) | 200 received |
//! | `POST /unsubscribe/{token}` (RFC 8058 one-click) | `unsubscribe.one-click` | its `http-status` (200) and `body`, `text/plain` |
//! | `GET /unsubscribe/{token}` | none: a page whose button POSTs (link scanners GET; a GET never unsubscribes) | 200 `text/html` |
//! | `GET /suppression/{use-case}/{address}` | `suppression.check` | 200 decision |
//! | `GET /reporting?setup=…` or `?use-case=…`, `&from=&until=` | `reporting.count` (`until` default now, `from` default 30 days before) | 200 period |
//! | `GET /healthz` | none: the store answers a read | 200 `{"status": "ok"}`, else 503 |
//!
//! In `POST /messages`, `to`, `cc` and `attachments` may be left out (empty),
//! and an attachment's `content` is UTF-8 text (the WIT JSON form of
//! `list<u8>`) or `{"base64": "…"}` for binary files. In results, `list<u8>`
//! is `"sha256:<hex>"` of the bytes. `POST /inbound` takes the SMTP envelope
//! from the query parameters `from` and `to` (repeatable), else from the
//! headers `X-Envelope-From` and `X-Envelope-To` (repeatable or
//! comma-separated); without recipients the message's To and Cc stand in.
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
//! | 409 | `domain-taken`, `name-taken`, `setup-not-verified`, `use-case-disabled`, `cross-use-case`, `marketing-needs-unsubscribe`, `suppressed`, `paused`, `expired` |
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
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::bindings::exports::mailroom::channel::{events, suppression, unsubscribe};
use crate::config::{Config, Platform};
use crate::guard::{self, Guard};
use crate::inbound::{self, Envelope, ReceiveError, Received};
use crate::outbound::{OutgoingAttachment, Recipient, SendError, SendRequest, Sent};
use crate::setups::{DnsAnswer, DnsResult, Lookup, RecordType};
use crate::{Limits, Mailroom, Resolve, Resolver, hex, scenario, tracking_http};

/// The endpoints, one a line, for `host-demo serve --help`.
pub const ENDPOINTS: &str = "\
  POST   /setups {domain, options?}                      setups.create (201)
  GET    /setups                                         setups.list
  GET    /setups/{id}                                    setups.get
  GET    /setups/{id}/lookups                            setups.lookups
  POST   /setups/{id}/verify                             setups.verify (the configured nameserver)
  POST   /setups/{id}/rotate-dkim                        setups.rotate-dkim
  GET    /setups/{id}/health                             suppression.get-health
  POST   /setups/{id}/clear-pause {note}                 suppression.clear-pause
  GET    /setups/{id}/policy, PUT (body: a policy)       suppression.get-policy, set-policy
  GET    /setups/{id}/use-cases                          use-cases.list
  GET    /setups/{id}/suppressions?cursor=&limit=        suppression.list
  GET    /setups/{id}/suppressions/{address}             suppression.get
  DELETE /setups/{id}/suppressions/{address}?note=       suppression.remove
  POST   /use-cases {setup, sender, type, entity-name, use-case-name}   (201)
  GET    /use-cases/{id}; POST /use-cases/{id}/disable
  PUT    /use-cases/{id}/list-unsubscribe {enabled}
  POST   /messages (send-request JSON)                   outbound.send (201)
  POST   /messages/{id}/outcome (delivery-outcome JSON)  outbound.report (204)
  POST   /events (event JSON, a provider webhook)        events.record
  POST   /reports (raw MIME bounce or complaint)         events.ingest-report
  POST   /inbound?from=&to=&to= (raw MIME)               inbound.receive
  POST   /unsubscribe/{token} (RFC 8058 one-click)       unsubscribe.one-click (text/plain)
  GET    /unsubscribe/{token}                            a page with a button; never unsubscribes
  GET    /t/o/{token}, GET|HEAD /t/c/{token}             tracking.open / tracking.click (public)
  GET    /suppression/{use-case}/{address}               suppression.check
  GET    /reporting?setup=|use-case=&from=&until=        reporting.count
  GET    /healthz                                        the store answers (public)

Tenant routes need Authorization: Bearer <workspace key> (host-demo keys
create), or the admin key with X-Mailroom-Workspace; /inbound, /reports,
/events and /messages/{id}/outcome need the ingest secret (or the admin
key); /unsubscribe/{token} and /healthz are public. 401 without a valid key.

JSON bodies and results use the JSON form of WIT values (tests/SCENARIOS.md).
Component errors answer {\"error\": {\"case\": payload}}: 400 invalid input,
404 unknown ids, 409 conflicts (taken, not verified, suppressed, paused), 413
limits, 422 unknown-parent, 502 transport, 503 store; host failures 500.";

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

    /// The `setup-options` JSON these defaults give, with the fields of
    /// `given` (a JSON object) over them.
    fn setup_options(&self, given: Option<&Value>) -> Result<Value, Failure> {
        let mut options = Map::new();
        options.insert("inbound-host".into(), json!(self.inbound_host));
        options.insert("spf-include".into(), json!(self.spf_include));
        options.insert("unsubscribe-base".into(), json!(self.unsubscribe_base));
        options.insert("pending-ttl".into(), json!(self.pending_ttl));
        match given {
            None | Some(Value::Null) => {}
            Some(Value::Object(fields)) => {
                for (key, value) in fields {
                    if !options.contains_key(key) {
                        return Err(Failure::BadRequest(format!("options has no field {key}")));
                    }
                    options.insert(key.clone(), value.clone());
                }
            }
            Some(other) => {
                return Err(Failure::BadRequest(format!(
                    "options must be an object, not {other}"
                )));
            }
        }
        Ok(Value::Object(options))
    }
}

/// The state every handler shares.
#[derive(Clone)]
struct App {
    mailroom: Arc<Mailroom>,
    defaults: Arc<Defaults>,
}

/// The API's routes over `mailroom`; see the module documentation. Tenant
/// routes need a workspace key (or the admin key), ingest routes the ingest
/// secret (or the admin key); `/unsubscribe/{token}` and `/healthz` are
/// public ([`crate::guard`]).
pub fn router(mailroom: Arc<Mailroom>, defaults: Defaults, platform: &Platform) -> Router {
    let guard = Guard::new(mailroom.store().clone(), platform);
    let app = App {
        mailroom,
        defaults: Arc::new(defaults),
    };
    let tenant = Router::new()
        .route("/setups", post(create_setup).get(list_setups))
        .route("/setups/{id}", get(get_setup))
        .route("/setups/{id}/lookups", get(setup_lookups))
        .route("/setups/{id}/verify", post(verify_setup))
        .route("/setups/{id}/rotate-dkim", post(rotate_dkim))
        .route("/setups/{id}/health", get(setup_health))
        .route("/setups/{id}/clear-pause", post(clear_pause))
        .route("/setups/{id}/policy", get(get_policy).put(set_policy))
        .route("/setups/{id}/use-cases", get(list_use_cases))
        .route("/setups/{id}/suppressions", get(list_suppressions))
        .route(
            "/setups/{id}/suppressions/{address}",
            get(get_suppression).delete(remove_suppression),
        )
        .route("/use-cases", post(create_use_case))
        .route("/use-cases/{id}", get(get_use_case))
        .route("/use-cases/{id}/disable", post(disable_use_case))
        .route(
            "/use-cases/{id}/list-unsubscribe",
            put(set_list_unsubscribe),
        )
        .route("/messages", post(send_message))
        .route("/suppression/{use_case}/{address}", get(check_suppression))
        .route("/reporting", get(reporting))
        .route_layer(middleware::from_fn_with_state(guard.clone(), guard::tenant));
    let ingest = Router::new()
        .route("/messages/{id}/outcome", post(report_outcome))
        .route("/events", post(record_event))
        .route("/reports", post(ingest_report_handler))
        .route("/inbound", post(receive_inbound))
        .route_layer(middleware::from_fn_with_state(guard.clone(), guard::ingest));
    let public = Router::new()
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe_one_click),
        )
        .route("/healthz", get(healthz))
        .route_layer(middleware::from_fn_with_state(guard.clone(), guard::public));
    let body_limit = usize::try_from(platform.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(1024 * 1024);
    tenant
        .merge(ingest)
        .merge(public)
        .merge(tracking_http::routes(app.mailroom.clone(), guard.clone()))
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
            tokio::task::block_in_place(|| config.mailroom())?
        }
        _ => config.mailroom()?,
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr().context("the bound address")?;
    eprintln!("listening on http://{address}");
    let router = router(Arc::new(mailroom), defaults, &config.platform);
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
        | "expired" => StatusCode::CONFLICT,
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

/// Calls the export `target` with JSON arguments (checked first: a mismatch
/// is the caller's) and answers its result.
async fn wit(app: &App, target: &'static str, args: Vec<Value>, ok: StatusCode) -> Response {
    let result = blocking(app, move |mailroom, _| {
        scenario::check_args(mailroom, target, &args)
            .map_err(|e| Failure::BadRequest(format!("{e:#}")))?;
        scenario::call(mailroom, target, &args).map_err(Failure::Host)
    })
    .await;
    match result {
        Ok(value) => answer(&value, ok),
        Err(failure) => failure.into_response(),
    }
}

/// The body as JSON; an empty body is `null`.
fn json_body(body: &[u8]) -> Result<Value, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| Failure::BadRequest(format!("the body is not JSON: {e}")))
}

/// The fields of a JSON object body, each checked against `allowed`.
fn object_body(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, Failure> {
    let Value::Object(map) = json_body(body)? else {
        return Err(Failure::BadRequest("the body must be a JSON object".into()));
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Failure::BadRequest(format!(
            "unknown field {extra} (expected {})",
            allowed.join(", ")
        )));
    }
    Ok(map)
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

async fn create_setup(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let mut fields = match object_body(&body, &["workspace", "domain", "options"]) {
        Ok(fields) => fields,
        Err(f) => return f.into_response(),
    };
    let options = match app.defaults.setup_options(fields.get("options")) {
        Ok(options) => options,
        Err(f) => return f.into_response(),
    };
    let workspace = ws(&caller);
    if let Some(named) = fields.remove("workspace").filter(|w| !w.is_null())
        && named != workspace
    {
        let why = "the workspace comes from the API key; leave it out of the body";
        return Failure::BadRequest(why.into()).into_response();
    }
    let domain = fields.remove("domain").unwrap_or(Value::Null);
    wit(
        &app,
        "setups.create",
        vec![workspace, domain, options],
        StatusCode::CREATED,
    )
    .await
}

/// The caller's workspace (tenant routes always have one).
fn workspace_of(caller: &Caller) -> String {
    match caller {
        Caller::Workspace { workspace, .. } => workspace.clone(),
        Caller::Ingest => String::new(),
    }
}

/// The caller's workspace as a JSON argument.
fn ws(caller: &Caller) -> Value {
    Value::String(workspace_of(caller))
}

async fn list_setups(State(app): State<App>, Extension(caller): Extension<Caller>) -> Response {
    wit(&app, "setups.list", vec![ws(&caller)], StatusCode::OK).await
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

async fn get_setup(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "setups.get",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn setup_lookups(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "setups.lookups",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn verify_setup(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let workspace = ws(&caller);
    let answers = match json_body(&body) {
        Ok(Value::Null) => None,
        Ok(Value::Object(mut map)) => {
            if let Some(extra) = map.keys().find(|k| *k != "answers") {
                let why = format!("unknown field {extra} (expected answers)");
                return Failure::BadRequest(why).into_response();
            }
            map.remove("answers").filter(|a| !a.is_null())
        }
        Ok(_) => {
            let why = "the body must be a JSON object or empty".to_string();
            return Failure::BadRequest(why).into_response();
        }
        Err(f) => return f.into_response(),
    };
    if let Some(answers) = answers {
        if !app.defaults.posted_dns_answers {
            let why = "DNS answers are not accepted over the API: the server resolves the \
                       setup's records through its own nameserver (post an empty body)";
            return Failure::BadRequest(why.into()).into_response();
        }
        return wit(
            &app,
            "setups.verify",
            vec![workspace, json!(id), answers],
            StatusCode::OK,
        )
        .await;
    }
    let nameserver = app.defaults.nameserver;
    let result = blocking(&app, move |mailroom, _| {
        // The lookups first: another workspace's setup is not-found, with or
        // without a nameserver.
        let lookups = scenario::call(mailroom, "setups.lookups", &[workspace.clone(), json!(id)])
            .map_err(Failure::Host)?;
        let Some(list) = lookups.get("ok").and_then(Value::as_array) else {
            return Ok(lookups);
        };
        let Some(nameserver) = nameserver else {
            let why = "no nameserver is configured (nameserver, MAILROOM_NAMESERVER): \
                       the server resolves the setup's records itself";
            return Err(Failure::BadRequest(why.into()));
        };
        let lookups = list
            .iter()
            .map(lookup_from_json)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Failure::Host(anyhow::anyhow!("unexpected lookups {list:?}")))?;
        let resolver = Resolver::new(nameserver).map_err(Failure::Host)?;
        let answers: Vec<Value> = resolver
            .resolve_all(&lookups)
            .iter()
            .map(dns_answer_json)
            .collect();
        scenario::call(
            mailroom,
            "setups.verify",
            &[workspace, json!(id), Value::Array(answers)],
        )
        .map_err(Failure::Host)
    })
    .await;
    match result {
        Ok(value) => answer(&value, StatusCode::OK),
        Err(f) => f.into_response(),
    }
}

async fn rotate_dkim(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "setups.rotate-dkim",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn setup_health(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "suppression.get-health",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn clear_pause(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let note = match json_body(&body) {
        Ok(Value::Null) => json!("cleared through the HTTP API"),
        Ok(_) => match object_body(&body, &["note"]) {
            Ok(mut fields) => fields.remove("note").unwrap_or(Value::Null),
            Err(f) => return f.into_response(),
        },
        Err(f) => return f.into_response(),
    };
    let args = vec![ws(&caller), json!(id), note];
    wit(&app, "suppression.clear-pause", args, StatusCode::OK).await
}

async fn get_policy(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "suppression.get-policy",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn set_policy(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match json_body(&body) {
        Ok(policy) => {
            let args = vec![ws(&caller), json!(id), policy];
            wit(&app, "suppression.set-policy", args, StatusCode::OK).await
        }
        Err(f) => f.into_response(),
    }
}

async fn list_use_cases(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "use-cases.list",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn list_suppressions(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(query): Pairs,
) -> Response {
    let limit = match number_param::<u32>(&query, "limit") {
        Ok(limit) => limit.unwrap_or(100),
        Err(f) => return f.into_response(),
    };
    let cursor = param(&query, "cursor").filter(|c| !c.is_empty());
    let args = vec![ws(&caller), json!(id), json!(cursor), json!(limit)];
    wit(&app, "suppression.list", args, StatusCode::OK).await
}

async fn get_suppression(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, address)): Path<(String, String)>,
) -> Response {
    let args = vec![ws(&caller), json!(id), json!(address)];
    wit(&app, "suppression.get", args, StatusCode::OK).await
}

async fn remove_suppression(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, address)): Path<(String, String)>,
    Query(query): Pairs,
) -> Response {
    let note = param(&query, "note").unwrap_or("removed through the HTTP API");
    let args = vec![ws(&caller), json!(id), json!(address), json!(note)];
    wit(&app, "suppression.remove", args, StatusCode::OK).await
}

async fn create_use_case(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    const FIELDS: [&str; 5] = ["setup", "sender", "type", "entity-name", "use-case-name"];
    let mut fields = match object_body(&body, &FIELDS) {
        Ok(fields) => fields,
        Err(f) => return f.into_response(),
    };
    let args = std::iter::once(ws(&caller))
        .chain(
            FIELDS
                .iter()
                .map(|name| fields.remove(*name).unwrap_or(Value::Null)),
        )
        .collect();
    wit(&app, "use-cases.create", args, StatusCode::CREATED).await
}

async fn get_use_case(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "use-cases.get",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn disable_use_case(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    wit(
        &app,
        "use-cases.disable",
        vec![ws(&caller), json!(id)],
        StatusCode::OK,
    )
    .await
}

async fn set_list_unsubscribe(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let enabled = match object_body(&body, &["enabled"]) {
        Ok(mut fields) => fields.remove("enabled").unwrap_or(Value::Null),
        Err(f) => return f.into_response(),
    };
    let args = vec![ws(&caller), json!(id), enabled];
    wit(&app, "use-cases.set-list-unsubscribe", args, StatusCode::OK).await
}

async fn send_message(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let request = match json_body(&body)
        .and_then(|v| send_request_from_json(&v).map_err(Failure::BadRequest))
    {
        Ok(request) => request,
        Err(f) => return f.into_response(),
    };
    let workspace = workspace_of(&caller);
    let result = blocking(&app, move |mailroom, _| {
        send(mailroom, &workspace, &request).map_err(Failure::Host)
    })
    .await;
    match result {
        Ok(value) => answer(&value, StatusCode::CREATED),
        Err(f) => f.into_response(),
    }
}

async fn report_outcome(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    match json_body(&body) {
        Ok(outcome) => {
            let args = vec![json!(id), outcome];
            wit(&app, "outbound.report", args, StatusCode::OK).await
        }
        Err(f) => f.into_response(),
    }
}

async fn record_event(State(app): State<App>, body: Bytes) -> Response {
    match json_body(&body) {
        Ok(event) => wit(&app, "events.record", vec![event], StatusCode::OK).await,
        Err(f) => f.into_response(),
    }
}

async fn ingest_report_handler(State(app): State<App>, body: Bytes) -> Response {
    let result = blocking(&app, move |mailroom, _| {
        ingest_report(mailroom, &body).map_err(Failure::Host)
    })
    .await;
    match result {
        Ok(value) => answer(&value, StatusCode::OK),
        Err(f) => f.into_response(),
    }
}

async fn receive_inbound(
    State(app): State<App>,
    Query(query): Pairs,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .flat_map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut rcpt_to: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "to")
        .map(|(_, v)| v.clone())
        .collect();
    if rcpt_to.is_empty() {
        rcpt_to = header_values("x-envelope-to");
    }
    let mail_from = param(&query, "from")
        .map(str::to_string)
        .or_else(|| header_values("x-envelope-from").into_iter().next());
    // A request may lower a limit, never raise it past the ceiling.
    let ceiling = app.defaults.ceilings;
    fn clamp<T: Ord + Copy>(asked: Option<T>, max: Option<T>) -> Option<T> {
        match (asked, max) {
            (Some(a), Some(m)) => Some(a.min(m)),
            (a, m) => m.or(a),
        }
    }
    let limits = match (|| {
        Ok::<_, Failure>(Limits {
            max_bytes: clamp(number_param(&query, "max-bytes")?, ceiling.max_bytes),
            max_depth: clamp(number_param(&query, "max-depth")?, ceiling.max_depth),
            max_parts: clamp(number_param(&query, "max-parts")?, ceiling.max_parts),
        })
    })() {
        Ok(limits) => limits,
        Err(f) => return f.into_response(),
    };
    let envelope = Envelope { mail_from, rcpt_to };
    let result = blocking(&app, move |mailroom, _| {
        receive(mailroom, &body, &envelope, limits).map_err(Failure::Host)
    })
    .await;
    match result {
        Ok(value) => answer(&value, StatusCode::OK),
        Err(f) => f.into_response(),
    }
}

/// The page a GET of an unsubscribe link shows. It does nothing by itself:
/// link scanners and previews GET every link (RFC 8058 section 3.2); the
/// button POSTs the one-click form to the same URL.
const UNSUBSCRIBE_PAGE: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Unsubscribe</title></head>
<body>
<h1>Unsubscribe</h1>
<p>Press the button to stop receiving these emails.</p>
<form method=\"post\">
<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">
<button type=\"submit\">Unsubscribe</button>
</form>
</body>
</html>
";

async fn unsubscribe_page(Path(_token): Path<String>) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        UNSUBSCRIBE_PAGE,
    )
        .into_response()
}

async fn unsubscribe_one_click(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let result = blocking(&app, move |mailroom, _| {
        one_click(mailroom, &token, content_type.as_deref(), &body).map_err(Failure::Host)
    })
    .await;
    let (status, text) = match result {
        Ok(Ok(opt_out)) => (
            StatusCode::from_u16(opt_out.http_status).unwrap_or(StatusCode::OK),
            opt_out.body,
        ),
        Ok(Err(error)) => match error {
            unsubscribe::UnsubscribeError::InvalidToken(why) => (StatusCode::NOT_FOUND, why),
            unsubscribe::UnsubscribeError::InvalidBody(why) => (StatusCode::BAD_REQUEST, why),
            unsubscribe::UnsubscribeError::Store(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
        },
        Err(Failure::BadRequest(why)) => (StatusCode::BAD_REQUEST, why),
        Err(Failure::Host(e)) => {
            eprintln!("host-demo: unsubscribe failed: {e:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The request could not be handled; please try again later.".to_string(),
            )
        }
    };
    let mut text = text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    (
        status,
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

async fn check_suppression(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((use_case, address)): Path<(String, String)>,
) -> Response {
    let args = vec![ws(&caller), json!(use_case), json!(address)];
    wit(&app, "suppression.check", args, StatusCode::OK).await
}

async fn reporting(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Query(query): Pairs,
) -> Response {
    const DAY: u64 = 86_400;
    let subject = match (param(&query, "setup"), param(&query, "use-case")) {
        (Some(setup), None) => json!({ "setup": setup }),
        (None, Some(use_case)) => json!({ "use-case": use_case }),
        _ => {
            let why = "give exactly one of setup=ID or use-case=ID";
            return Failure::BadRequest(why.into()).into_response();
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (from, until) = match (
        number_param::<u64>(&query, "from"),
        number_param::<u64>(&query, "until"),
    ) {
        (Ok(from), Ok(until)) => {
            let until = until.unwrap_or(now);
            (from.unwrap_or(until.saturating_sub(30 * DAY)), until)
        }
        (Err(f), _) | (_, Err(f)) => return f.into_response(),
    };
    let args = vec![ws(&caller), subject, json!(from), json!(until)];
    wit(&app, "reporting.count", args, StatusCode::OK).await
}

// Calls whose arguments or results carry bytes run through the typed
// bindings: the dynamic API would hold each byte as a `Val`.

/// Calls `outbound.send` and gives the result in the JSON form
/// (`{"ok": sent}` or `{"err": send-error}`).
pub fn send(mailroom: &Mailroom, workspace: &str, request: &SendRequest) -> anyhow::Result<Value> {
    Ok(match mailroom.send(workspace, request)? {
        Ok(sent) => json!({ "ok": sent_json(&sent) }),
        Err(error) => json!({ "err": send_error_json(&error) }),
    })
}

/// Calls `inbound.receive` and gives the result in the JSON form.
pub fn receive(
    mailroom: &Mailroom,
    raw: &[u8],
    envelope: &Envelope,
    limits: Limits,
) -> anyhow::Result<Value> {
    Ok(result_json(
        &mailroom.receive(raw, envelope, limits)?,
        received_json,
        receive_error_json,
    ))
}

/// Calls `events.ingest-report` and gives the result in the JSON form.
pub fn ingest_report(mailroom: &Mailroom, raw: &[u8]) -> anyhow::Result<Value> {
    let result = mailroom.ingest_report(raw)?;
    Ok(result_json(&result, report_json, event_error_json))
}

/// Calls `unsubscribe.one-click`.
pub fn one_click(
    mailroom: &Mailroom,
    token: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> anyhow::Result<Result<unsubscribe::OptOut, unsubscribe::UnsubscribeError>> {
    mailroom.one_click(token, content_type, body)
}

/// A one-click result in the JSON form.
pub fn one_click_json(
    result: &Result<unsubscribe::OptOut, unsubscribe::UnsubscribeError>,
) -> Value {
    result_json(result, opt_out_json, |e| match e {
        unsubscribe::UnsubscribeError::InvalidToken(m) => json!({ "invalid-token": m }),
        unsubscribe::UnsubscribeError::InvalidBody(m) => json!({ "invalid-body": m }),
        unsubscribe::UnsubscribeError::Store(m) => json!({ "store": m }),
    })
}

fn opt_out_json(o: &unsubscribe::OptOut) -> Value {
    json!({
        "suppression": suppression_json(&o.suppression),
        "new": o.new,
        "http-status": o.http_status,
        "body": o.body,
    })
}

fn result_json<T, E>(
    result: &Result<T, E>,
    ok: impl Fn(&T) -> Value,
    err: impl Fn(&E) -> Value,
) -> Value {
    match result {
        Ok(value) => json!({ "ok": ok(value) }),
        Err(error) => json!({ "err": err(error) }),
    }
}

/// `list<u8>` in results: `"sha256:<hex>"`.
fn bytes_json(bytes: &[u8]) -> Value {
    use sha2::{Digest, Sha256};
    json!(format!("sha256:{}", hex(&Sha256::digest(bytes))))
}

/// A `send-request` from its JSON form; `to`, `cc` and `attachments` may be
/// left out, and an attachment's `content` may be `{"base64": "…"}`.
pub fn send_request_from_json(value: &Value) -> Result<SendRequest, String> {
    let map = fields(
        value,
        "send-request",
        &[
            "use-case",
            "to",
            "cc",
            "subject",
            "text",
            "html",
            "attachments",
            "in-reply-to",
        ],
    )?;
    let recipients = |name: &str| -> Result<Vec<Recipient>, String> {
        list(map, name)?
            .iter()
            .map(|r| {
                let r = fields(r, name, &["name", "address"])?;
                Ok(Recipient {
                    name: optional_string(r, "name")?,
                    address: string(r, "address")?,
                })
            })
            .collect()
    };
    let attachments = list(map, "attachments")?
        .iter()
        .map(|a| {
            let a = fields(
                a,
                "attachment",
                &["filename", "content-type", "content-id", "content"],
            )?;
            let content = match a.get("content") {
                Some(Value::String(text)) => text.as_bytes().to_vec(),
                Some(Value::Object(encoded)) if encoded.len() == 1 => {
                    match encoded.get("base64").and_then(Value::as_str) {
                        Some(text) => base64_decode(text)?,
                        None => return Err("content must be text or {\"base64\": …}".into()),
                    }
                }
                _ => return Err("content must be text or {\"base64\": …}".into()),
            };
            Ok(OutgoingAttachment {
                filename: string(a, "filename")?,
                content_type: string(a, "content-type")?,
                content_id: optional_string(a, "content-id")?,
                content,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(SendRequest {
        use_case: string(map, "use-case")?,
        to: recipients("to")?,
        cc: recipients("cc")?,
        subject: string(map, "subject")?,
        text: optional_string(map, "text")?,
        html: optional_string(map, "html")?,
        attachments,
        in_reply_to: optional_string(map, "in-reply-to")?,
    })
}

fn fields<'a>(
    value: &'a Value,
    what: &str,
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, String> {
    let map = value
        .as_object()
        .ok_or_else(|| format!("{what} must be an object"))?;
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!("{what} has no field {extra}")),
        None => Ok(map),
    }
}

fn string(map: &Map<String, Value>, name: &str) -> Result<String, String> {
    map.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("field {name} must be a string"))
}

fn optional_string(map: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("field {name} must be a string or null")),
    }
}

fn list<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a [Value], String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("field {name} must be an array")),
    }
}

/// Decodes base64, standard or URL-safe alphabet, padding optional,
/// whitespace ignored.
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return Err(format!("{:?} is not a base64 character", char::from(c))),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

fn sent_json(s: &Sent) -> Value {
    json!({
        "message-id": s.message_id,
        "thread-id": s.thread_id,
        "in-reply-to": s.in_reply_to,
        "references": s.references,
        "size": s.size,
        "unsubscribe-url": s.unsubscribe_url,
    })
}

fn send_error_json(e: &SendError) -> Value {
    match e {
        SendError::UnknownUseCase(m) => json!({ "unknown-use-case": m }),
        SendError::UseCaseDisabled(m) => json!({ "use-case-disabled": m }),
        SendError::SetupNotVerified(m) => json!({ "setup-not-verified": m }),
        SendError::InvalidRequest(m) => json!({ "invalid-request": m }),
        SendError::InvalidHeader(m) => json!({ "invalid-header": m }),
        SendError::UnknownParent(m) => json!({ "unknown-parent": m }),
        SendError::CrossUseCase(m) => json!({ "cross-use-case": m }),
        SendError::Suppressed(list) => {
            json!({ "suppressed": list.iter().map(suppression_json).collect::<Vec<_>>() })
        }
        SendError::Paused(p) => json!({ "paused": pause_json(p) }),
        SendError::Transport(m) => json!({ "transport": m }),
        SendError::Store(m) => json!({ "store": m }),
        SendError::TooManyRecipients(m) => json!({ "too-many-recipients": m }),
        SendError::Smtputf8Required(m) => json!({ "smtputf8-required": m }),
        SendError::Signing(m) => json!({ "signing": m }),
    }
}

fn suppression_json(s: &suppression::Suppression) -> Value {
    json!({
        "address": s.address,
        "scope": match &s.scope {
            suppression::Scope::Setup => json!("setup"),
            suppression::Scope::Marketing => json!("marketing"),
            suppression::Scope::UseCase(id) => json!({ "use-case": id }),
        },
        "reason": match s.reason {
            suppression::Reason::HardBounce => "hard-bounce",
            suppression::Reason::SoftBounces => "soft-bounces",
            suppression::Reason::Complaint => "complaint",
            suppression::Reason::Unsubscribe => "unsubscribe",
        },
        "since": s.since,
        "until": s.until,
        "event": s.event,
        "use-case": s.use_case,
    })
}

fn pause_json(p: &suppression::Pause) -> Value {
    json!({ "since": p.since, "reason": p.reason })
}

fn received_json(r: &Received) -> Value {
    json!({
        "message-id": r.message_id,
        "resolution": match &r.resolution {
            inbound::Resolution::Matched(a) => json!({ "matched": {
                "workspace": a.workspace,
                "setup": a.setup,
                "use-case": a.use_case,
                "thread-id": a.thread_id,
                "parent-message-id": a.parent_message_id,
                "sender-mismatch": a.sender_mismatch,
            }}),
            inbound::Resolution::Unmatched(why) => json!({ "unmatched": why }),
        },
        "references": r.references,
        "auto-reply": r.auto_reply.as_ref().map(|a| json!({
            "kind": match a.kind {
                inbound::AutoReplyKind::AutoReplied => "auto-replied",
                inbound::AutoReplyKind::AutoGenerated => "auto-generated",
                inbound::AutoReplyKind::Bulk => "bulk",
                inbound::AutoReplyKind::OutOfOffice => "out-of-office",
            },
            "reason": a.reason,
        })),
        "new-text": r.new_text,
        "unsubscribed": r.unsubscribed.as_ref().map(opt_out_json),
        "notes": r.notes,
        "message": parsed_json(&r.message),
    })
}

fn parsed_json(m: &inbound::ParsedMessage) -> Value {
    let mailboxes = |list: &[inbound::Mailbox]| -> Value {
        list.iter()
            .map(|b| json!({ "name": b.name, "address": b.address }))
            .collect()
    };
    json!({
        "message-id": m.message_id,
        "in-reply-to": m.in_reply_to,
        "references": m.references,
        "from": mailboxes(&m.from),
        "to": mailboxes(&m.to),
        "cc": mailboxes(&m.cc),
        "reply-to": mailboxes(&m.reply_to),
        "subject": m.subject,
        "date": m.date,
        "text": m.text,
        "html": m.html,
        "attachments": m.attachments.iter().map(|a| json!({
            "filename": a.filename,
            "content-type": a.content_type,
            "content-id": a.content_id,
            "disposition": crate::canonical::disposition_name(a.disposition),
            "inline": a.inline,
            "size": a.size,
            "content": bytes_json(&a.content),
        })).collect::<Vec<_>>(),
        "headers": crate::canonical::headers(&m.headers),
    })
}

/// A `receive-error` in the JSON form.
pub fn receive_error_json(e: &ReceiveError) -> Value {
    match e {
        ReceiveError::Parse(p) => json!({ "parse": match p {
            inbound::ParseError::LimitExceeded(l) => json!({ "limit-exceeded": {
                "limit": crate::canonical::limit_name(l.limit),
                "value": l.value,
                "message": l.message,
            }}),
            inbound::ParseError::InvalidLimits(m) => json!({ "invalid-limits": m }),
            inbound::ParseError::Malformed(m) => json!({ "malformed": m }),
        }}),
        ReceiveError::Store(m) => json!({ "store": m }),
    }
}

fn report_json(r: &events::Report) -> Value {
    json!({
        "format": match r.format {
            events::ReportFormat::DeliveryStatus => "delivery-status",
            events::ReportFormat::FeedbackReport => "feedback-report",
            events::ReportFormat::PlainBounce => "plain-bounce",
            events::ReportFormat::AutoReply => "auto-reply",
            events::ReportFormat::NotAReport => "not-a-report",
        },
        "class": report_class(r.class),
        "mta": r.mta,
        "original-message-id": r.original_message_id,
        "findings": r.findings.iter().map(|f| json!({
            "recipient": f.recipient,
            "class": report_class(f.class),
            "action": f.action,
            "status": f.status,
            "diagnostic": f.diagnostic,
            "reason": f.reason,
            "feedback-type": f.feedback_type,
        })).collect::<Vec<_>>(),
        "outcome": match &r.outcome {
            events::ReportOutcome::Matched(list) => {
                json!({ "matched": list.iter().map(recorded_json).collect::<Vec<_>>() })
            }
            events::ReportOutcome::Unmatched(id) => json!({ "unmatched": id }),
            events::ReportOutcome::Ignored => json!("ignored"),
        },
    })
}

fn report_class(c: events::ReportClass) -> &'static str {
    match c {
        events::ReportClass::Hard => "hard",
        events::ReportClass::Soft => "soft",
        events::ReportClass::Blocked => "blocked",
        events::ReportClass::Complaint => "complaint",
        events::ReportClass::NotABounce => "not-a-bounce",
    }
}

fn recorded_json(r: &events::Recorded) -> Value {
    json!({
        "id": r.id,
        "message-id": r.message_id,
        "setup": r.setup,
        "use-case": r.use_case,
        "recipient": r.recipient,
        "at": r.at,
        "kind": match &r.kind {
            events::EventKind::Delivered => json!("delivered"),
            events::EventKind::Bounced(b) => json!({ "bounced": {
                "type": match b.type_ {
                    events::BounceType::Hard => "hard",
                    events::BounceType::Soft => "soft",
                    events::BounceType::Blocked => "blocked",
                },
                "status": b.status,
                "diagnostic": b.diagnostic,
            }}),
            events::EventKind::Complained(t) => json!({ "complained": t }),
            events::EventKind::Deferred(d) => json!({ "deferred": d }),
        },
        "duplicate": r.duplicate,
        "suppressions": r.suppressions.iter().map(suppression_json).collect::<Vec<_>>(),
    })
}

fn event_error_json(e: &events::EventError) -> Value {
    match e {
        events::EventError::UnknownMessage(m) => json!({ "unknown-message": m }),
        events::EventError::InvalidEvent(m) => json!({ "invalid-event": m }),
        events::EventError::Store(m) => json!({ "store": m }),
    }
}

fn lookup_from_json(value: &Value) -> Option<Lookup> {
    Some(Lookup {
        name: value.get("name")?.as_str()?.to_string(),
        type_: match value.get("type")?.as_str()? {
            "txt" => RecordType::Txt,
            "mx" => RecordType::Mx,
            _ => return None,
        },
    })
}

fn dns_answer_json(a: &DnsAnswer) -> Value {
    json!({
        "name": a.name,
        "type": match a.type_ {
            RecordType::Txt => "txt",
            RecordType::Mx => "mx",
        },
        "result": match &a.result {
            DnsResult::Txt(records) => json!({ "txt": records }),
            DnsResult::Mx(records) => json!({ "mx": records
                .iter()
                .map(|m| json!({ "preference": m.preference, "exchange": m.exchange }))
                .collect::<Vec<_>>() }),
            DnsResult::NoSuchName => json!("no-such-name"),
            DnsResult::NoRecords => json!("no-records"),
            DnsResult::Timeout => json!("timeout"),
            DnsResult::ServerFailure(m) => json!({ "server-failure": m }),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_both_alphabets() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Ok(&b"hello"[..]));
        assert_eq!(base64_decode("aGVs\r\nbG8").as_deref(), Ok(&b"hello"[..]));
        assert_eq!(base64_decode("-_8").as_deref(), Ok(&[0xfb, 0xff][..]));
        assert!(base64_decode("a*b").is_err());
    }

    #[test]
    fn statuses_follow_the_error_case() {
        assert_eq!(
            error_status(&json!({"suppressed": []})),
            StatusCode::CONFLICT
        );
        assert_eq!(
            error_status(&json!({"parse": {"limit-exceeded": {}}})),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            error_status(&json!({"invalid-header": "x"})),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            error_status(&json!({"store": "x"})),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            error_status(&json!("other")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
