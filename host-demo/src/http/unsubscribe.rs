//! `/unsubscribe/{token}`: RFC 8058 one-click (public; the token
//! authenticates). Answers in `text/plain`, also on errors: 404 for
//! `invalid-token`, 400 for `invalid-body`, 503 for `store`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{App, Failure, blocking, host};
use crate::unsubscribe;

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

pub(super) async fn page(Path(_token): Path<String>) -> Response {
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

pub(super) async fn one_click(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let result = blocking(&app, move |mailroom, _| {
        mailroom
            .one_click(&token, content_type.as_deref(), &body)
            .map_err(host)
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
            tracing::error!(error = %format!("{e:#}"), "unsubscribe failed");
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
