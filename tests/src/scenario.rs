//! The native scenario runner: each step of a `tests/fixtures/<suite>/*.json`
//! scenario called on the domain library directly, with the fixed clock and
//! random stream every host uses (`tests/SCENARIOS.md`).

use guest::env::FixedEnv;
use guest::inbound::Limits;
use guest::inbound::receive::{Envelope, receive};
use guest::outbound::{DeliveryOutcome, SendRequest, report};
use guest::store::MemoryStore;
use guest::transport::RecordingTransport;
use guest::use_cases::UseCaseType;
use guest::{events, reporting, setups, suppression, tenant, tracking, unsubscribe};
use serde::Serialize;
use serde_json::{Value, json};

/// What a host answered to a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// `(step name, result JSON)` in order.
    pub steps: Vec<(String, Value)>,
    /// The recording transport's messages, in the fixture's form.
    pub transport: Vec<Value>,
}

/// Replaces every `{{STEP.path}}` in the strings of `value` (the same rule
/// every host's runner follows).
pub fn substitute(value: &Value, done: &[(String, Value)]) -> Value {
    host_demo::scenario::substitute(value, done)
        .unwrap_or_else(|e| panic!("a placeholder does not resolve: {e:#}"))
}

fn arg<T: serde::de::DeserializeOwned>(args: &[Value], i: usize) -> T {
    let value = args.get(i).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("argument {i} ({value}) does not fit: {e}"))
}

fn text(args: &[Value], i: usize) -> String {
    arg(args, i)
}

fn result<T: Serialize, E: Serialize>(r: Result<T, E>) -> Value {
    match r {
        Ok(v) => json!({ "ok": serde_json::to_value(v).expect("results serialize") }),
        Err(e) => json!({ "err": serde_json::to_value(e).expect("errors serialize") }),
    }
}

fn limits(v: &Value) -> Limits {
    let field = |name: &str| v.get(name).and_then(Value::as_u64);
    Limits {
        max_bytes: field("max-bytes"),
        max_depth: field("max-depth").and_then(|n| u32::try_from(n).ok()),
        max_parts: field("max-parts").and_then(|n| u32::try_from(n).ok()),
    }
}

/// Runs a scenario natively.
pub fn run_native(scenario: &Value) -> Transcript {
    run_native_on(scenario, &mut MemoryStore::default())
}

/// Runs a scenario natively on `store` as it is (the upgrade tests start
/// from an earlier release's data and keep what the steps wrote).
pub fn run_native_on(scenario: &Value, store: &mut MemoryStore) -> Transcript {
    let start = scenario["clock-start"].as_i64().expect("clock-start");
    let seed = scenario["random-seed"].as_u64().expect("random-seed");
    let mut env = FixedEnv::new(start, seed);
    let mut transport = RecordingTransport::default();
    let mut steps: Vec<(String, Value)> = Vec::new();
    for step in scenario["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().expect("a step name").to_string();
        let call = step["call"].as_str().expect("a call");
        let args = substitute(&step["args"], &steps);
        let args = args.as_array().cloned().unwrap_or_default();
        let value = match call {
            "setups.create" => result(setups::create(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                &arg::<setups::SetupOptions>(&args, 2),
            )),
            "setups.get" => result(tenant::setups_get(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "setups.list" => result(tenant::setups_list(store, &mut env, &text(&args, 0))),
            "setups.lookups" => result(tenant::setups_lookups(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "setups.verify" => result(tenant::setups_verify(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                &arg::<Vec<setups::DnsAnswer>>(&args, 2),
            )),
            "setups.rotate-dkim" => result(tenant::setups_rotate_dkim(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "use-cases.create" => result(tenant::use_cases_create(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                &text(&args, 2),
                arg::<UseCaseType>(&args, 3),
                &text(&args, 4),
                &text(&args, 5),
            )),
            "use-cases.get" => result(tenant::use_cases_get(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "use-cases.list" => result(tenant::use_cases_list(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "use-cases.disable" => result(tenant::use_cases_disable(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "use-cases.set-list-unsubscribe" => result(tenant::use_cases_set_list_unsubscribe(
                store,
                &text(&args, 0),
                &text(&args, 1),
                arg::<bool>(&args, 2),
            )),
            "suppression.check" => result(tenant::suppression_check(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                &text(&args, 2),
            )),
            "suppression.get" => result(tenant::suppression_get(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                &text(&args, 2),
            )),
            "suppression.list" => result(tenant::suppression_list(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                arg::<Option<String>>(&args, 2).as_deref(),
                arg::<u32>(&args, 3),
            )),
            "suppression.remove" => result(tenant::suppression_remove(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                &text(&args, 2),
                &text(&args, 3),
            )),
            "suppression.get-policy" => result(tenant::suppression_get_policy(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "suppression.set-policy" => result(tenant::suppression_set_policy(
                store,
                &text(&args, 0),
                &text(&args, 1),
                &arg::<suppression::Policy>(&args, 2),
            )),
            "suppression.get-health" => result(tenant::suppression_get_health(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "suppression.clear-pause" => result(tenant::suppression_clear_pause(
                store,
                &mut env,
                &text(&args, 0),
                &text(&args, 1),
                &text(&args, 2),
            )),
            "events.record" => result(events::record(
                store,
                &mut env,
                &arg::<events::Event>(&args, 0),
            )),
            "events.ingest-report" => result(events::ingest_report(
                store,
                &mut env,
                text(&args, 0).as_bytes(),
            )),
            "unsubscribe.one-click" => result(unsubscribe::one_click(
                store,
                &mut env,
                &text(&args, 0),
                arg::<Option<String>>(&args, 1).as_deref(),
                text(&args, 2).as_bytes(),
            )),
            "reporting.count" => result(tenant::reporting_count(
                store,
                &text(&args, 0),
                &arg::<reporting::Subject>(&args, 1),
                arg::<u64>(&args, 2),
                arg::<u64>(&args, 3),
            )),
            "reporting.count-engagement" => result(tenant::reporting_count_engagement(
                store,
                &text(&args, 0),
                &arg::<reporting::Subject>(&args, 1),
                arg::<u64>(&args, 2),
                arg::<u64>(&args, 3),
            )),
            "reporting.link-clicks" => result(tenant::reporting_link_clicks(
                store,
                &text(&args, 0),
                &text(&args, 1),
                arg::<u64>(&args, 2),
                arg::<u64>(&args, 3),
            )),
            "tracking.get-settings" => result(tenant::tracking_get_settings(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "tracking.set-settings" => result(tenant::tracking_set_settings(
                store,
                &text(&args, 0),
                &text(&args, 1),
                &arg::<tracking::TrackingSettings>(&args, 2),
            )),
            "tracking.get-base" => result(tenant::tracking_get_base(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "tracking.set-base" => result(tenant::tracking_set_base(
                store,
                &text(&args, 0),
                &text(&args, 1),
                arg::<Option<String>>(&args, 2).as_deref(),
            )),
            "tracking.set-networks" => {
                result(tracking::set_networks(store, &arg::<Vec<String>>(&args, 0)))
            }
            "tracking.open" => result(tracking::open(
                store,
                &text(&args, 0),
                &arg::<tracking::Request>(&args, 1),
            )),
            "tracking.click" => result(tracking::click(
                store,
                &text(&args, 0),
                &arg::<tracking::Request>(&args, 1),
            )),
            "tracking.message" => result(tenant::tracking_message(
                store,
                &text(&args, 0),
                &text(&args, 1),
            )),
            "outbound.send" => result(tenant::send(
                store,
                &mut transport,
                &mut env,
                &text(&args, 0),
                &arg::<SendRequest>(&args, 1),
            )),
            "outbound.report" => result(
                report(store, &text(&args, 0), &arg::<DeliveryOutcome>(&args, 1))
                    .map(|()| Value::Null),
            ),
            "inbound.receive" => result(receive(
                store,
                &mut env,
                text(&args, 0).as_bytes(),
                &arg::<Envelope>(&args, 1),
                &limits(args.get(2).unwrap_or(&Value::Null)),
            )),
            "inbound.parse" => result(guest::inbound::parse(
                text(&args, 0).as_bytes(),
                &limits(args.get(1).unwrap_or(&Value::Null)),
            )),
            other => panic!("step {name}: unknown call {other}"),
        };
        steps.push((name, value));
    }
    let transport = transport
        .sent
        .iter()
        .map(|m| {
            json!({
                "message-id": m.message_id,
                "envelope": m.envelope,
                "raw": String::from_utf8_lossy(&m.raw),
            })
        })
        .collect();
    Transcript { steps, transport }
}

/// Every scenario fixture: `(suite/name, path)`, in suites other than
/// `inbound`, `reports-corpus` and `upgrade` (stored data, not scenarios), sorted.
pub fn scenario_files() -> Vec<(String, std::path::PathBuf)> {
    let dir = crate::root().join("tests/fixtures");
    let mut out = Vec::new();
    for suite in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let suite_name = suite.file_name().to_string_lossy().into_owned();
        if matches!(
            suite_name.as_str(),
            "inbound" | "reports-corpus" | "upgrade"
        ) || !suite.path().is_dir()
        {
            continue;
        }
        for file in std::fs::read_dir(suite.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                out.push((format!("{suite_name}/{name}"), path));
            }
        }
    }
    out.sort();
    out
}
