//! Typed calls of the component's exports: one file per exported interface,
//! each an `impl Mailroom` block. Every call runs in a fresh instance with
//! the per-call memory and time caps; the outer `anyhow::Result` is a host
//! failure or a trap, the inner one the component's typed answer.
//!
//! Calls a tenant makes take the caller's `workspace` first (the one the
//! host authenticated); the component answers not-found for objects of
//! other workspaces.

mod events;
mod inbound;
mod outbound;
mod reporting;
mod setups;
mod suppression;
mod tracking;
mod unsubscribe;
mod use_cases;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::json::{from_json, result_json};
use crate::{Limits, Mailroom};

impl Mailroom {
    /// Calls the export `interface.function` by name with arguments and
    /// result in the JSON form of `tests/SCENARIOS.md`, through the typed
    /// methods above and [`crate::json`]. Wrong arguments are an error, as
    /// is a trap; the component's own errors are `{"err": …}`.
    pub fn call_json(&self, export: &str, args: &[Value]) -> anyhow::Result<Value> {
        fn arg<T: DeserializeOwned>(args: &[Value], i: usize) -> anyhow::Result<T> {
            from_json(args.get(i).unwrap_or(&Value::Null))
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("argument {}", i + 1))
        }
        let s = |i: usize| arg::<String>(args, i);
        let bytes = |i: usize| arg::<Vec<u8>>(args, i);
        Ok(match export {
            "inbound.parse" => result_json(&self.parse(&bytes(0)?, limits(args, 1)?)?),
            "inbound.receive" => {
                result_json(&self.receive(&bytes(0)?, &arg(args, 1)?, limits(args, 2)?)?)
            }
            "outbound.send" => result_json(&self.send(&s(0)?, &arg(args, 1)?)?),
            "outbound.report" => result_json(&self.report(&s(0)?, &arg(args, 1)?)?),
            "setups.create" => result_json(&self.create_setup(&s(0)?, &s(1)?, &arg(args, 2)?)?),
            "setups.get" => result_json(&self.get_setup(&s(0)?, &s(1)?)?),
            "setups.list" => result_json(&self.list_setups(&s(0)?)?),
            "setups.lookups" => result_json(&self.setup_lookups(&s(0)?, &s(1)?)?),
            "setups.verify" => {
                result_json(&self.verify_setup(&s(0)?, &s(1)?, &arg::<Vec<_>>(args, 2)?)?)
            }
            "setups.rotate-dkim" => result_json(&self.rotate_dkim(&s(0)?, &s(1)?)?),
            "use-cases.create" => result_json(&self.create_use_case(
                &s(0)?,
                &s(1)?,
                &s(2)?,
                arg(args, 3)?,
                &s(4)?,
                &s(5)?,
            )?),
            "use-cases.get" => result_json(&self.get_use_case(&s(0)?, &s(1)?)?),
            "use-cases.list" => result_json(&self.list_use_cases(&s(0)?, &s(1)?)?),
            "use-cases.disable" => result_json(&self.disable_use_case(&s(0)?, &s(1)?)?),
            "use-cases.set-list-unsubscribe" => {
                result_json(&self.set_list_unsubscribe(&s(0)?, &s(1)?, arg(args, 2)?)?)
            }
            "suppression.check" => result_json(&self.check_suppression(&s(0)?, &s(1)?, &s(2)?)?),
            "suppression.get" => result_json(&self.get_suppression(&s(0)?, &s(1)?, &s(2)?)?),
            "suppression.list" => result_json(&self.list_suppressions(
                &s(0)?,
                &s(1)?,
                arg::<Option<String>>(args, 2)?.as_deref(),
                arg(args, 3)?,
            )?),
            "suppression.remove" => {
                result_json(&self.remove_suppression(&s(0)?, &s(1)?, &s(2)?, &s(3)?)?)
            }
            "suppression.get-policy" => result_json(&self.get_policy(&s(0)?, &s(1)?)?),
            "suppression.set-policy" => {
                result_json(&self.set_policy(&s(0)?, &s(1)?, &arg(args, 2)?)?)
            }
            "suppression.get-health" => result_json(&self.get_health(&s(0)?, &s(1)?)?),
            "suppression.clear-pause" => result_json(&self.clear_pause(&s(0)?, &s(1)?, &s(2)?)?),
            "events.record" => result_json(&self.record_event(&arg(args, 0)?)?),
            "events.ingest-report" => result_json(&self.ingest_report(&bytes(0)?)?),
            "unsubscribe.one-click" => result_json(&self.one_click(
                &s(0)?,
                arg::<Option<String>>(args, 1)?.as_deref(),
                &bytes(2)?,
            )?),
            "reporting.count" => {
                result_json(&self.count(&s(0)?, &arg(args, 1)?, arg(args, 2)?, arg(args, 3)?)?)
            }
            other => bail!("no export {other}"),
        })
    }
}

/// The `limits` record: each field, or the whole record, may be left out.
fn limits(args: &[Value], i: usize) -> anyhow::Result<Limits> {
    let empty = Value::Object(serde_json::Map::new());
    let given = args.get(i).filter(|v| !v.is_null()).unwrap_or(&empty);
    from_json(given)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("argument {}", i + 1))
}
