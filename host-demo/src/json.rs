//! The JSON form of WIT values (`tests/SCENARIOS.md`) for the typed
//! bindings: the one conversion the HTTP API, the demo and the host tests
//! use.
//!
//! The generated types derive serde's traits (`src/bindings.rs`); this
//! module maps their Rust names back to the WIT's: fields `entity_name` and
//! `type_` are `entity-name` and `type`, cases `TooManyRecipients` are
//! `too-many-recipients`. Records are objects in WIT field order, variants
//! `{"case": payload}` or `"case"`, options `null` or the value, results
//! `{"ok": …}` or `{"err": …}`. A `list<u8>` is read from UTF-8 text or
//! `{"base64": "…"}` and written as `"sha256:<hex>"` of its bytes (an empty
//! one as `[]`, since serde cannot tell an empty byte list from any other).
//! A field left out of an object reads as null: an option is none, a list
//! empty; anything else is an error naming the field.

use std::fmt::Display;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::hex;

/// `value` in the JSON form.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Value {
    // The serializer below fails only on non-finite floats, which no WIT
    // type of this world holds.
    value.serialize(ToValue).unwrap_or(Value::Null)
}

/// A `result` in the JSON form: `{"ok": v}` or `{"err": e}`.
pub fn result_json<T: Serialize, E: Serialize>(result: &Result<T, E>) -> Value {
    to_json(result)
}

/// A value of type `T` from its JSON form; the error names what did not fit.
pub fn from_json<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    T::deserialize(FromValue(value)).map_err(|e| e.0)
}

/// `entity_name` → `entity-name`; `type_` → `type`.
fn field_name(rust: &str) -> String {
    rust.trim_end_matches('_').replace('_', "-")
}

/// `TooManyRecipients` → `too-many-recipients`; `Ok` → `ok`.
fn case_name(rust: &str) -> String {
    let mut out = String::with_capacity(rust.len() + 4);
    for (i, c) in rust.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Why a value could not be converted.
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl de::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

// ---- Rust value → JSON ----

struct ToValue;

/// A list being written; a non-empty list of `u8` becomes its digest.
struct Seq {
    items: Vec<Value>,
    bytes: Vec<u8>,
    all_bytes: bool,
}

/// A record being written, or a variant's record payload.
struct Record {
    map: Map<String, Value>,
    case: Option<String>,
}

/// A tuple (or a variant's tuple payload) being written.
struct Tuple {
    items: Vec<Value>,
    case: Option<String>,
}

fn tagged(case: Option<String>, value: Value) -> Value {
    match case {
        Some(case) => Value::Object(Map::from_iter([(case, value)])),
        None => value,
    }
}

impl ser::Serializer for ToValue {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Tuple;
    type SerializeTupleStruct = Tuple;
    type SerializeTupleVariant = Tuple;
    type SerializeMap = Record;
    type SerializeStruct = Record;
    type SerializeStructVariant = Record;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(v.into())
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| Error(format!("{v} has no JSON form")))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(digest(v))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        case: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::String(case_name(case)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        case: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        Ok(tagged(Some(case_name(case)), value.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq {
            items: Vec::with_capacity(len.unwrap_or(0).min(1024)),
            bytes: Vec::new(),
            all_bytes: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Tuple, Error> {
        Ok(Tuple {
            items: Vec::with_capacity(len),
            case: None,
        })
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Tuple, Error> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        case: &'static str,
        len: usize,
    ) -> Result<Tuple, Error> {
        Ok(Tuple {
            items: Vec::with_capacity(len),
            case: Some(case_name(case)),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Record, Error> {
        Ok(Record {
            map: Map::new(),
            case: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Record, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        case: &'static str,
        _: usize,
    ) -> Result<Record, Error> {
        Ok(Record {
            map: Map::new(),
            case: Some(case_name(case)),
        })
    }
}

/// `"sha256:<hex>"` of `bytes`.
pub fn digest(bytes: &[u8]) -> Value {
    Value::String(format!("sha256:{}", hex(&Sha256::digest(bytes))))
}

/// Tells whether a list element is a `u8`, keeping its value.
struct ByteProbe;

impl ser::Serializer for ByteProbe {
    type Ok = Option<u8>;
    type Error = Error;
    type SerializeSeq = ser::Impossible<Option<u8>, Error>;
    type SerializeTuple = ser::Impossible<Option<u8>, Error>;
    type SerializeTupleStruct = ser::Impossible<Option<u8>, Error>;
    type SerializeTupleVariant = ser::Impossible<Option<u8>, Error>;
    type SerializeMap = ser::Impossible<Option<u8>, Error>;
    type SerializeStruct = ser::Impossible<Option<u8>, Error>;
    type SerializeStructVariant = ser::Impossible<Option<u8>, Error>;

    fn serialize_u8(self, v: u8) -> Result<Option<u8>, Error> {
        Ok(Some(v))
    }
    fn serialize_bool(self, _: bool) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_i8(self, _: i8) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_i16(self, _: i16) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_i32(self, _: i32) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_i64(self, _: i64) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_u16(self, _: u16) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_u32(self, _: u32) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_u64(self, _: u64) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_f32(self, _: f32) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_f64(self, _: f64) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_char(self, _: char) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_str(self, _: &str) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_none(self) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_unit(self) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Option<u8>, Error> {
        Err(not_byte())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_byte())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_byte())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_byte())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_byte())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_byte())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_byte())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_byte())
    }
}

fn not_byte() -> Error {
    Error("not a byte".into())
}

impl ser::SerializeSeq for Seq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if self.all_bytes {
            if let Ok(Some(b)) = value.serialize(ByteProbe) {
                self.bytes.push(b);
                return Ok(());
            }
            self.all_bytes = false;
            self.items = self.bytes.drain(..).map(Value::from).collect();
        }
        self.items.push(value.serialize(ToValue)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        if self.all_bytes && !self.bytes.is_empty() {
            return Ok(digest(&self.bytes));
        }
        Ok(Value::Array(self.items))
    }
}

impl Tuple {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(ToValue)?);
        Ok(())
    }
    fn done(self) -> Result<Value, Error> {
        Ok(tagged(self.case, Value::Array(self.items)))
    }
}

impl ser::SerializeTuple for Tuple {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeTupleStruct for Tuple {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeTupleVariant for Tuple {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        self.done()
    }
}

impl ser::SerializeMap for Record {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Error> {
        Err(Error("WIT has no maps".into()))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Error> {
        Err(Error("WIT has no maps".into()))
    }
    fn end(self) -> Result<Value, Error> {
        Ok(tagged(self.case, Value::Object(self.map)))
    }
}

impl ser::SerializeStruct for Record {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map.insert(field_name(key), value.serialize(ToValue)?);
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(tagged(self.case, Value::Object(self.map)))
    }
}

impl ser::SerializeStructVariant for Record {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<Value, Error> {
        ser::SerializeStruct::end(self)
    }
}

// ---- JSON → Rust value ----

struct FromValue<'a>(&'a Value);

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> FromValue<'a> {
    fn expected(&self, what: &str) -> Error {
        Error(format!("expected {what}, found {}", kind(self.0)))
    }

    fn unsigned(&self) -> Result<u64, Error> {
        self.0
            .as_u64()
            .ok_or_else(|| self.expected("an unsigned integer"))
    }

    fn signed(&self) -> Result<i64, Error> {
        self.0.as_i64().ok_or_else(|| self.expected("an integer"))
    }
}

macro_rules! unsigned {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let n = self.unsigned()?;
            let n = <$ty>::try_from(n).map_err(|_| Error(format!("{n} is out of range")))?;
            visitor.$visit(n)
        }
    )*};
}

macro_rules! signed {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let n = self.signed()?;
            let n = <$ty>::try_from(n).map_err(|_| Error(format!("{n} is out of range")))?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de, 'a> de::Deserializer<'de> for FromValue<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Items(items.iter())),
            Value::Object(_) => Err(self.expected("a WIT value")),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(*b),
            _ => Err(self.expected("a boolean")),
        }
    }

    unsigned!(deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
              deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64);
    signed!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
            deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(self.0.as_f64().ok_or_else(|| self.expected("a number"))?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_str(s),
            _ => Err(self.expected("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_byte_buf(bytes_of(self.0)?)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.expected("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.iter())),
            Value::Null => visitor.visit_seq(Items([].iter())),
            // A `list<u8>`: UTF-8 text, or `{"base64": "…"}`.
            Value::String(_) | Value::Object(_) => {
                let bytes = bytes_of(self.0)?;
                visitor.visit_seq(de::value::SeqDeserializer::new(bytes.into_iter()))
            }
            _ => Err(self.expected("an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error("WIT has no maps".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let Value::Object(map) = self.0 else {
            return Err(self.expected("an object"));
        };
        if let Some(key) = map
            .keys()
            .find(|k| !fields.iter().any(|f| field_name(f) == **k))
        {
            let known: Vec<String> = fields.iter().map(|f| field_name(f)).collect();
            return Err(Error(format!(
                "unknown field {key} (expected {})",
                known.join(", ")
            )));
        }
        // A missing field reads as null: an option is none, a list empty.
        let entries: Vec<(&'static str, &Value)> = fields
            .iter()
            .map(|f| (*f, map.get(&field_name(f)).unwrap_or(&Value::Null)))
            .collect();
        visitor.visit_map(Fields {
            entries: entries.into_iter(),
            value: None,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        cases: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (tag, payload) = match self.0 {
            Value::String(tag) => (tag, None),
            Value::Object(map) if map.len() == 1 => match map.iter().next() {
                Some((tag, payload)) => (tag, Some(payload)),
                None => return Err(self.expected("a case")),
            },
            _ => return Err(self.expected("a case name or {\"case\": payload}")),
        };
        let case = cases.iter().find(|c| case_name(c) == *tag).ok_or_else(|| {
            let known: Vec<String> = cases.iter().map(|c| case_name(c)).collect();
            Error(format!(
                "unknown case {tag} (expected {})",
                known.join(", ")
            ))
        })?;
        visitor.visit_enum(Case { case, payload })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The bytes of a `list<u8>` given as text or `{"base64": "…"}` (standard
/// or URL-safe alphabet, padding and line breaks optional).
fn bytes_of(value: &Value) -> Result<Vec<u8>, Error> {
    match value {
        Value::String(text) => Ok(text.as_bytes().to_vec()),
        Value::Object(map) if map.len() == 1 => {
            let text = map
                .get("base64")
                .and_then(Value::as_str)
                .ok_or_else(|| Error("bytes must be text or {\"base64\": …}".into()))?;
            base64_decode(text).map_err(Error)
        }
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| Error("a byte is an integer 0..=255".into()))
            })
            .collect(),
        other => Err(Error(format!(
            "bytes must be text or {{\"base64\": …}}, found {}",
            kind(other)
        ))),
    }
}

/// Decodes base64 in either alphabet; padding and whitespace are ignored.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    use base64ct::Encoding as _;
    let compact: String = text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    base64ct::Base64Unpadded::decode_vec(compact.trim_end_matches('='))
        .map_err(|e| format!("not base64: {e}"))
}

struct Items<'a>(std::slice::Iter<'a, Value>);

impl<'de, 'a> de::SeqAccess<'de> for Items<'a> {
    type Error = Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(FromValue(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Fields<'a> {
    entries: std::vec::IntoIter<(&'static str, &'a Value)>,
    value: Option<(&'static str, &'a Value)>,
}

impl<'de, 'a> de::MapAccess<'de> for Fields<'a> {
    type Error = Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((field, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((field, value));
        seed.deserialize(field.into_deserializer()).map(Some)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (field, value) = self
            .value
            .take()
            .ok_or_else(|| Error("a value without a field".into()))?;
        seed.deserialize(FromValue(value))
            .map_err(|e| Error(format!("{}: {e}", field_name(field))))
    }
}

struct Case<'a> {
    case: &'static str,
    payload: Option<&'a Value>,
}

impl<'de, 'a> de::EnumAccess<'de> for Case<'a> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let case: de::value::StrDeserializer<'_, Error> = self.case.into_deserializer();
        Ok((seed.deserialize(case)?, self))
    }
}

impl<'de, 'a> de::VariantAccess<'de> for Case<'a> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        match self.payload {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(Error(format!(
                "case {} has no payload",
                case_name(self.case)
            ))),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.payload {
            Some(value) => seed.deserialize(FromValue(value)),
            None => Err(Error(format!(
                "case {} needs a payload",
                case_name(self.case)
            ))),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        match self.payload {
            Some(value) => de::Deserializer::deserialize_seq(FromValue(value), visitor),
            None => Err(Error(format!(
                "case {} needs a payload",
                case_name(self.case)
            ))),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.payload {
            Some(value) => {
                de::Deserializer::deserialize_struct(FromValue(value), "", fields, visitor)
            }
            None => Err(Error(format!(
                "case {} needs a payload",
                case_name(self.case)
            ))),
        }
    }
}

impl From<de::value::Error> for Error {
    fn from(e: de::value::Error) -> Self {
        Error(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(field_name("entity_name"), "entity-name");
        assert_eq!(field_name("type_"), "type");
        assert_eq!(case_name("TooManyRecipients"), "too-many-recipients");
        assert_eq!(case_name("NotAReport"), "not-a-report");
        assert_eq!(case_name("Ipv4"), "ipv4");
    }

    #[test]
    fn base64_decodes_both_alphabets() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Ok(&b"hello"[..]));
        assert_eq!(base64_decode("aGVs\r\nbG8").as_deref(), Ok(&b"hello"[..]));
        assert_eq!(base64_decode("-_8").as_deref(), Ok(&[0xfb, 0xff][..]));
        assert!(base64_decode("a*b").is_err());
    }

    #[test]
    fn bytes_and_lists() {
        assert_eq!(to_json(&vec![1u8, 2]), digest(&[1, 2]));
        assert_eq!(to_json(&vec![1u32, 2]), serde_json::json!([1, 2]));
        let from: Vec<u8> = from_json(&serde_json::json!({"base64": "AAECAw=="})).unwrap();
        assert_eq!(from, vec![0, 1, 2, 3]);
        let text: Vec<u8> = from_json(&serde_json::json!("hi")).unwrap();
        assert_eq!(text, b"hi");
    }

    /// `POST /events` reads a provider's click in the WIT's JSON form.
    #[test]
    fn clicked_event_round_trips() {
        let json = serde_json::json!({
            "id": "sg-1", "message-id": "<a@b.example>", "recipient": "p@x.example", "at": 5,
            "kind": {"clicked": {"user-agent": "ua", "client-ip": "203.0.113.1",
                                 "url": "https://x.example/", "classification": null}}
        });
        let event: crate::events::Event = from_json(&json).unwrap();
        assert_eq!(to_json(&event), json);
    }
}
