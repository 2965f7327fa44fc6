//! `/reporting`: counts per setup or use case over a period.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{App, Failure, Pairs, call, host, number_param, param, workspace_of};
use crate::auth::Caller;
use crate::reporting::Subject;

/// `?setup=ID` or `?use-case=ID`, `&from=&until=` (seconds; `until`
/// defaults to now, `from` to 30 days before it).
pub(super) async fn count(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Query(query): Pairs,
) -> Response {
    const DAY: u64 = 86_400;
    let subject = match (param(&query, "setup"), param(&query, "use-case")) {
        (Some(setup), None) => Subject::Setup(setup.to_string()),
        (None, Some(use_case)) => Subject::UseCase(use_case.to_string()),
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
    let workspace = workspace_of(&caller);
    call(&app, StatusCode::OK, move |m, _| {
        m.count(&workspace, &subject, from, until).map_err(host)
    })
    .await
}
