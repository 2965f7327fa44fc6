//! Runs the scenarios of `tests/SCENARIOS.md` through wasmtime's dynamic
//! component API.
//!
//! Each step names an export `interface.function`; its JSON arguments are
//! converted to [`Val`]s from the function's parameter types, the function is
//! called by name, and its result is converted back to the JSON form of
//! `tests/SCENARIOS.md`. Nothing here knows the mailroom world's functions,
//! so a new export is callable from a scenario without host changes.

use anyhow::{Context, anyhow, bail, ensure};
use serde_json::{Map, Number, Value, json};
use sha2::{Digest, Sha256};
use wasmtime::component::{Type, Val};

use crate::{Clock, Mailroom, Outgoing, hex};

/// What a host answered to a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// `(step name, result JSON)`, in order.
    pub steps: Vec<(String, Value)>,
    /// The messages the recording transport accepted, in the fixture's form.
    pub transport: Vec<Value>,
}

/// Runs `scenario` on a fresh channel of `component`'s compiled component:
/// an empty memory store, a recording transport, the clock fixed at the
/// scenario's `clock-start` and the random stream seeded with its
/// `random-seed`.
///
/// An error is a malformed scenario, an unknown function, or a trap; the
/// component's own errors are results (`{"err": …}`).
pub fn run(component: &Mailroom, scenario: &Value) -> anyhow::Result<Transcript> {
    let start = scenario
        .get("clock-start")
        .and_then(Value::as_u64)
        .context("the scenario has no clock-start (seconds since the Unix epoch)")?;
    let seed = scenario
        .get("random-seed")
        .and_then(Value::as_u64)
        .context("the scenario has no random-seed (an unsigned 64-bit integer)")?;
    let channel = Mailroom::builder()
        .reuse_component(component)
        .max_memory(component.max_memory)
        .clock(Clock::Fixed { start })
        .random_seed(seed)
        .build()?;

    let steps = scenario
        .get("steps")
        .and_then(Value::as_array)
        .context("the scenario has no steps array")?;
    let mut done: Vec<(String, Value)> = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let name = step
            .get("name")
            .and_then(Value::as_str)
            .with_context(|| format!("step {} has no name", i + 1))?
            .to_string();
        let target = step
            .get("call")
            .and_then(Value::as_str)
            .with_context(|| format!("step {name} has no call"))?;
        let args = match step.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(args)) => args
                .iter()
                .map(|a| substitute(a, &done))
                .collect::<anyhow::Result<_>>()
                .with_context(|| format!("step {name}"))?,
            Some(_) => bail!("step {name}: args is not an array"),
        };
        let result = call(&channel, target, &args).with_context(|| format!("step {name}"))?;
        done.push((name, result));
    }
    let transport = channel
        .recorded_messages()
        .unwrap_or_default()
        .iter()
        .map(outgoing_json)
        .collect();
    Ok(Transcript {
        steps: done,
        transport,
    })
}

/// Calls the export `interface.function` (e.g. `setups.create`) of a fresh
/// instance with JSON arguments, in WIT order, and returns the result's JSON.
/// The channel's state (store, transport, clock, random stream) is
/// `mailroom`'s.
pub fn call(mailroom: &Mailroom, target: &str, args: &[Value]) -> anyhow::Result<Value> {
    let (interface, function) = target
        .split_once('.')
        .with_context(|| format!("call {target:?} is not interface.function"))?;
    let export = export_name(mailroom, interface)?;
    let (mut store, instance) = mailroom.instantiate()?;
    let func = instance
        .get_export_index(&mut store, None, &export)
        .and_then(|iface| instance.get_export_index(&mut store, Some(&iface), function))
        .and_then(|index| instance.get_func(&mut store, index))
        .with_context(|| format!("{export} exports no function {function}"))?;

    let ty = func.ty(&store);
    let params: Vec<(String, Type)> = ty.params().map(|(n, t)| (n.to_string(), t)).collect();
    ensure!(
        params.len() == args.len(),
        "{target} takes {} arguments ({}), the step gives {}",
        params.len(),
        params
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        args.len()
    );
    let params = params
        .iter()
        .zip(args)
        .map(|((name, ty), arg)| to_val(arg, ty).with_context(|| format!("argument {name}")))
        .collect::<anyhow::Result<Vec<Val>>>()?;
    let result_types: Vec<Type> = ty.results().collect();
    let mut results = vec![Val::Bool(false); result_types.len()];
    // wasmtime 50 runs the post-return function inside `call` (and
    // `Func::post_return` is a deprecated no-op).
    func.call(&mut store, &params, &mut results)
        .map_err(anyhow::Error::from)
        .with_context(|| mailroom.failed_while(&format!("calling {target}")))?;

    match (results.as_slice(), result_types.as_slice()) {
        ([], []) => Ok(Value::Null),
        ([val], [ty]) => from_val(val, ty),
        _ => results
            .iter()
            .zip(&result_types)
            .map(|(v, t)| from_val(v, t))
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Value::Array),
    }
}

/// Checks JSON arguments for the export `interface.function` against its
/// parameter types, without instantiating or calling anything: `Ok` means
/// [`call`] will accept them. A host serving callers (`http`) uses it to
/// tell a caller's malformed input from a failure of the call.
pub fn check_args(mailroom: &Mailroom, target: &str, args: &[Value]) -> anyhow::Result<()> {
    use wasmtime::component::types::ComponentItem;

    let (interface, function) = target
        .split_once('.')
        .with_context(|| format!("call {target:?} is not interface.function"))?;
    let export = export_name(mailroom, interface)?;
    let engine = mailroom.engine();
    let component = mailroom.loaded.pre.instance_pre().component();
    let ty = component.component_type();
    let Some(ComponentItem::ComponentInstance(iface)) =
        ty.get_export(engine, &export).map(|e| e.ty)
    else {
        bail!("{export} is not an exported interface");
    };
    let Some(ComponentItem::ComponentFunc(func)) = iface.get_export(engine, function).map(|e| e.ty)
    else {
        bail!("{export} exports no function {function}");
    };
    ensure!(
        func.params().len() == args.len(),
        "{target} takes {} arguments, {} given",
        func.params().len(),
        args.len()
    );
    for ((name, ty), arg) in func.params().zip(args) {
        to_val(arg, &ty).with_context(|| format!("argument {name}"))?;
    }
    Ok(())
}

/// The full name of the exported interface `short` (`setups` →
/// `mailroom:channel/setups@0.1.0`).
fn export_name(mailroom: &Mailroom, short: &str) -> anyhow::Result<String> {
    let component = mailroom.loaded.pre.instance_pre().component();
    let ty = component.component_type();
    let names: Vec<&str> = ty
        .exports(mailroom.engine())
        .map(|(name, _)| name)
        .collect();
    names
        .iter()
        .find(|name| {
            let path = name.split_once('@').map_or(**name, |(path, _)| path);
            let last = path.rsplit_once('/').map_or(path, |(_, last)| last);
            last == short
        })
        .map(|name| (*name).to_string())
        .with_context(|| {
            format!(
                "the component exports no interface {short} (it exports {})",
                names.join(", ")
            )
        })
}

/// Replaces every `{{STEP.path}}` in the strings of `value` by the value at
/// the dot-separated `path` of the result of the earlier step `STEP` (a
/// string as is, anything else as JSON).
pub fn substitute(value: &Value, done: &[(String, Value)]) -> anyhow::Result<Value> {
    Ok(match value {
        Value::String(s) => Value::String(substitute_str(s, done)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, done))
                .collect::<anyhow::Result<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, done)?)))
                .collect::<anyhow::Result<_>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute_str(s: &str, done: &[(String, Value)]) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let reference = &rest[start + 2..start + len];
        let mut path = reference.split('.');
        let step = path.next().unwrap_or_default();
        let mut found = done
            .iter()
            .find(|(name, _)| name == step)
            .map(|(_, v)| v)
            .with_context(|| format!("{{{{{reference}}}}}: no earlier step named {step}"))?;
        for key in path {
            found = match found {
                Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                other => other.get(key),
            }
            .with_context(|| format!("{{{{{reference}}}}}: no {key} in {found}"))?;
        }
        match found {
            Value::String(text) => out.push_str(text),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A transport message in the fixture's form, `raw` as UTF-8 text.
pub fn outgoing_json(m: &Outgoing) -> Value {
    json!({
        "message-id": m.message_id,
        "envelope": {
            "mail-from": m.envelope.mail_from,
            "rcpt-to": m.envelope.rcpt_to,
        },
        "raw": String::from_utf8_lossy(&m.raw),
    })
}

/// Converts an argument from its JSON form to a value of type `ty`.
pub fn to_val(json: &Value, ty: &Type) -> anyhow::Result<Val> {
    let mismatch = || anyhow!("{json} is not a {}", type_name(ty));
    Ok(match ty {
        Type::Bool => Val::Bool(json.as_bool().ok_or_else(mismatch)?),
        Type::S8 => Val::S8(signed(json).ok_or_else(mismatch)?),
        Type::U8 => Val::U8(unsigned(json).ok_or_else(mismatch)?),
        Type::S16 => Val::S16(signed(json).ok_or_else(mismatch)?),
        Type::U16 => Val::U16(unsigned(json).ok_or_else(mismatch)?),
        Type::S32 => Val::S32(signed(json).ok_or_else(mismatch)?),
        Type::U32 => Val::U32(unsigned(json).ok_or_else(mismatch)?),
        Type::S64 => Val::S64(signed(json).ok_or_else(mismatch)?),
        Type::U64 => Val::U64(unsigned(json).ok_or_else(mismatch)?),
        // Narrowing to f32 is the conversion a JSON number needs here.
        #[allow(clippy::cast_possible_truncation)]
        Type::Float32 => Val::Float32(json.as_f64().ok_or_else(mismatch)? as f32),
        Type::Float64 => Val::Float64(json.as_f64().ok_or_else(mismatch)?),
        Type::Char => {
            let s = json.as_str().ok_or_else(mismatch)?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(mismatch()),
            }
        }
        Type::String => Val::String(json.as_str().ok_or_else(mismatch)?.to_string()),
        Type::List(list) => {
            let item = list.ty();
            match (json, &item) {
                // list<u8> is given as text, encoded as UTF-8.
                (Value::String(text), Type::U8) => Val::List(text.bytes().map(Val::U8).collect()),
                (Value::Array(items), _) => Val::List(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| to_val(v, &item).with_context(|| format!("item {i}")))
                        .collect::<anyhow::Result<_>>()?,
                ),
                _ => return Err(mismatch()),
            }
        }
        Type::Record(record) => {
            let object = json.as_object().ok_or_else(mismatch)?;
            let mut fields = Vec::new();
            for field in record.fields() {
                // A field left out is null, which only an option accepts.
                let value = object.get(field.name).unwrap_or(&Value::Null);
                let val =
                    to_val(value, &field.ty).with_context(|| format!("field {}", field.name))?;
                fields.push((field.name.to_string(), val));
            }
            if let Some(extra) = object
                .keys()
                .find(|k| !record.fields().any(|f| f.name == k.as_str()))
            {
                bail!("{} has no field {extra}", type_name(ty));
            }
            Val::Record(fields)
        }
        Type::Tuple(tuple) => {
            let items = json.as_array().ok_or_else(mismatch)?;
            ensure!(items.len() == tuple.types().len(), mismatch());
            Val::Tuple(
                items
                    .iter()
                    .zip(tuple.types())
                    .map(|(v, t)| to_val(v, &t))
                    .collect::<anyhow::Result<_>>()?,
            )
        }
        Type::Variant(variant) => {
            let (case, payload) = one_case(json).ok_or_else(mismatch)?;
            let Some(case_ty) = variant.cases().find(|c| c.name == case) else {
                bail!("{} has no case {case}", type_name(ty));
            };
            let payload = match (case_ty.ty, payload) {
                (None, None | Some(Value::Null)) => None,
                (Some(t), Some(p)) => Some(Box::new(
                    to_val(p, &t).with_context(|| format!("case {case}"))?,
                )),
                (Some(_), None) => bail!("case {case} needs a payload: {{\"{case}\": …}}"),
                (None, Some(_)) => bail!("case {case} has no payload: \"{case}\""),
            };
            Val::Variant(case.to_string(), payload)
        }
        Type::Enum(e) => {
            let case = json.as_str().ok_or_else(mismatch)?;
            ensure!(
                e.names().any(|n| n == case),
                "{} has no case {case}",
                type_name(ty)
            );
            Val::Enum(case.to_string())
        }
        Type::Option(option) => match json {
            Value::Null => Val::Option(None),
            value => Val::Option(Some(Box::new(to_val(value, &option.ty())?))),
        },
        Type::Result(result) => {
            let (case, payload) = one_case(json).ok_or_else(mismatch)?;
            let side = match case {
                "ok" => result.ok(),
                "err" => result.err(),
                _ => return Err(mismatch()),
            };
            let payload = match (side, payload) {
                (None, None | Some(Value::Null)) => None,
                (Some(t), Some(p)) => Some(Box::new(to_val(p, &t)?)),
                _ => return Err(mismatch()),
            };
            Val::Result(if case == "ok" {
                Ok(payload)
            } else {
                Err(payload)
            })
        }
        Type::Flags(flags) => {
            let items = json.as_array().ok_or_else(mismatch)?;
            let mut set = Vec::new();
            for item in items {
                let name = item.as_str().ok_or_else(mismatch)?;
                ensure!(
                    flags.names().any(|n| n == name),
                    "{} has no flag {name}",
                    type_name(ty)
                );
                set.push(name.to_string());
            }
            Val::Flags(set)
        }
        _ => bail!("{} arguments are not supported", type_name(ty)),
    })
}

/// Converts a result of type `ty` to its JSON form.
pub fn from_val(val: &Val, ty: &Type) -> anyhow::Result<Value> {
    let mismatch = || anyhow!("a {} value does not match its type", type_name(ty));
    Ok(match (val, ty) {
        (Val::Bool(b), Type::Bool) => Value::Bool(*b),
        (Val::S8(n), Type::S8) => Value::from(*n),
        (Val::U8(n), Type::U8) => Value::from(*n),
        (Val::S16(n), Type::S16) => Value::from(*n),
        (Val::U16(n), Type::U16) => Value::from(*n),
        (Val::S32(n), Type::S32) => Value::from(*n),
        (Val::U32(n), Type::U32) => Value::from(*n),
        (Val::S64(n), Type::S64) => Value::from(*n),
        (Val::U64(n), Type::U64) => Value::from(*n),
        (Val::Float32(x), Type::Float32) => float(f64::from(*x))?,
        (Val::Float64(x), Type::Float64) => float(*x)?,
        (Val::Char(c), Type::Char) => Value::String(c.to_string()),
        (Val::String(s), Type::String) => Value::String(s.clone()),
        (Val::List(items), Type::List(list)) => {
            let item = list.ty();
            if matches!(item, Type::U8) {
                // list<u8> in results: the SHA-256 of the bytes.
                let bytes = items
                    .iter()
                    .map(|v| match v {
                        Val::U8(b) => Ok(*b),
                        _ => Err(mismatch()),
                    })
                    .collect::<anyhow::Result<Vec<u8>>>()?;
                Value::String(format!("sha256:{}", hex(&Sha256::digest(&bytes))))
            } else {
                Value::Array(
                    items
                        .iter()
                        .map(|v| from_val(v, &item))
                        .collect::<anyhow::Result<_>>()?,
                )
            }
        }
        (Val::Record(fields), Type::Record(record)) => {
            // Keys in WIT order: the type's field order.
            let mut object = Map::new();
            for field in record.fields() {
                let value = fields
                    .iter()
                    .find(|(name, _)| name == field.name)
                    .map(|(_, v)| v)
                    .ok_or_else(mismatch)?;
                object.insert(field.name.to_string(), from_val(value, &field.ty)?);
            }
            Value::Object(object)
        }
        (Val::Tuple(items), Type::Tuple(tuple)) => Value::Array(
            items
                .iter()
                .zip(tuple.types())
                .map(|(v, t)| from_val(v, &t))
                .collect::<anyhow::Result<_>>()?,
        ),
        (Val::Variant(case, payload), Type::Variant(variant)) => {
            let case_ty = variant
                .cases()
                .find(|c| c.name == case)
                .ok_or_else(mismatch)?;
            match (payload, case_ty.ty) {
                (None, _) => Value::String(case.clone()),
                (Some(p), Some(t)) => single(case, from_val(p, &t)?),
                (Some(_), None) => return Err(mismatch()),
            }
        }
        (Val::Enum(case), Type::Enum(_)) => Value::String(case.clone()),
        (Val::Option(None), Type::Option(_)) => Value::Null,
        (Val::Option(Some(v)), Type::Option(option)) => from_val(v, &option.ty())?,
        (Val::Result(r), Type::Result(result)) => {
            let (case, payload, side) = match r {
                Ok(p) => ("ok", p, result.ok()),
                Err(p) => ("err", p, result.err()),
            };
            let value = match (payload, side) {
                (Some(p), Some(t)) => from_val(p, &t)?,
                (None, _) => Value::Null,
                (Some(_), None) => return Err(mismatch()),
            };
            single(case, value)
        }
        (Val::Flags(set), Type::Flags(_)) => {
            Value::Array(set.iter().cloned().map(Value::String).collect())
        }
        _ => bail!("{} results are not supported", type_name(ty)),
    })
}

/// `{"case": payload}`, or `"case"` alone, as one (case, payload) pair.
fn one_case(json: &Value) -> Option<(&str, Option<&Value>)> {
    match json {
        Value::String(case) => Some((case, None)),
        Value::Object(map) if map.len() == 1 => {
            map.iter().next().map(|(case, p)| (case.as_str(), Some(p)))
        }
        _ => None,
    }
}

fn single(key: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(key.to_string(), value);
    Value::Object(object)
}

fn float(x: f64) -> anyhow::Result<Value> {
    Number::from_f64(x)
        .map(Value::Number)
        .with_context(|| format!("{x} has no JSON form"))
}

fn unsigned<T: TryFrom<u64>>(json: &Value) -> Option<T> {
    json.as_u64().and_then(|n| T::try_from(n).ok())
}

fn signed<T: TryFrom<i64>>(json: &Value) -> Option<T> {
    json.as_i64().and_then(|n| T::try_from(n).ok())
}

/// A short name of a type for messages.
fn type_name(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::List(_) => "list",
        Type::Map(_) => "map",
        Type::Record(_) => "record",
        Type::Tuple(_) => "tuple",
        Type::Variant(_) => "variant",
        Type::Enum(_) => "enum",
        Type::Option(_) => "option",
        Type::Result(_) => "result",
        Type::Flags(_) => "flags",
        Type::Own(_) | Type::Borrow(_) => "resource",
        Type::Future(_) => "future",
        Type::Stream(_) => "stream",
        Type::ErrorContext => "error-context",
        Type::FixedLengthList(_) => "fixed-length list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_from_earlier_results() {
        let done = vec![(
            "out1".to_string(),
            json!({"ok": {"message-id": "a@b", "size": 3, "references": ["r@b"]}}),
        )];
        let args = json!(["<{{out1.ok.message-id}}> {{out1.ok.size}}", {"x": "{{out1.ok.references.0}}"}, 1]);
        assert_eq!(
            substitute(&args, &done).expect("substitutes"),
            json!(["<a@b> 3", {"x": "r@b"}, 1])
        );
        assert!(substitute(&json!("{{nope.ok}}"), &done).is_err());
        assert!(substitute(&json!("{{out1.err}}"), &done).is_err());
        assert_eq!(
            substitute(&json!("{{unclosed"), &done).expect("left alone"),
            json!("{{unclosed")
        );
    }
}
