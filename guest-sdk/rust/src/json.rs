//! JSON text for what a guest sends the host. serde_json writes a NaN or an
//! infinity as `null` without a word, so a value that JSON cannot carry
//! would arrive changed; here it is refused, naming what was being encoded
//! and where in it the number sits.

use serde::Serialize;
use serde::ser;

use crate::Failure;

/// `value` as JSON text; `what` ("the orchestration's output") names it in
/// the failure.
pub(crate) fn to_json<T: Serialize + ?Sized>(
    value: &T,
    what: impl std::fmt::Display,
) -> Result<String, Failure> {
    let text = serde_json::to_string(value)
        .map_err(|error| Failure::new(format!("{what} is not JSON: {error}")))?;
    // A non-finite number comes out as `null`: only text with one in it
    // needs the second look that tells them from real nulls.
    if text.contains("null")
        && let Err(NotFinite(found)) = value.serialize(Finder::default())
    {
        return Err(Failure::new(format!("{what} is not JSON: {found}")));
    }
    Ok(text)
}

/// Where a non-finite number was found, as a sentence.
#[derive(Debug)]
struct NotFinite(String);

impl std::fmt::Display for NotFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFinite {}

impl ser::Error for NotFinite {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        Self(message.to_string())
    }
}

/// Walks a value as a serializer would, writing nothing, and stops at the
/// first float that is not finite. `path` is where it is (`.rates[2]`).
#[derive(Default)]
struct Finder {
    path: String,
}

impl Finder {
    fn at(&self, segment: &str) -> Self {
        Self {
            path: format!("{}{segment}", self.path),
        }
    }

    fn check(self, value: f64) -> Result<(), NotFinite> {
        if value.is_finite() {
            return Ok(());
        }
        let name = if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "infinity"
        } else {
            "-infinity"
        };
        let place = if self.path.is_empty() {
            String::new()
        } else {
            format!(" at {}", self.path)
        };
        Err(NotFinite(format!(
            "{name}{place} (JSON has no NaN or infinity)"
        )))
    }
}

macro_rules! scalars {
    ($($method:ident: $type:ty),* $(,)?) => {
        $(fn $method(self, _: $type) -> Result<(), NotFinite> { Ok(()) })*
    };
}

impl ser::Serializer for Finder {
    type Ok = ();
    type Error = NotFinite;
    type SerializeSeq = Compound;
    type SerializeTuple = Compound;
    type SerializeTupleStruct = Compound;
    type SerializeTupleVariant = Compound;
    type SerializeMap = Compound;
    type SerializeStruct = Compound;
    type SerializeStructVariant = Compound;

    scalars!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_char: char,
        serialize_str: &str, serialize_bytes: &[u8], serialize_unit_struct: &'static str,
    );

    fn serialize_f32(self, value: f32) -> Result<(), NotFinite> {
        self.check(value.into())
    }

    fn serialize_f64(self, value: f64) -> Result<(), NotFinite> {
        self.check(value)
    }

    fn serialize_none(self) -> Result<(), NotFinite> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotFinite> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), NotFinite> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), NotFinite> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotFinite> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), NotFinite> {
        value.serialize(self.at(&format!(".{variant}")))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound, NotFinite> {
        Ok(Compound::new(self))
    }

    fn serialize_tuple(self, _: usize) -> Result<Compound, NotFinite> {
        Ok(Compound::new(self))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound, NotFinite> {
        Ok(Compound::new(self))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound, NotFinite> {
        Ok(Compound::new(self.at(&format!(".{variant}"))))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound, NotFinite> {
        Ok(Compound::new(self))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound, NotFinite> {
        Ok(Compound::new(self))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound, NotFinite> {
        Ok(Compound::new(self.at(&format!(".{variant}"))))
    }
}

/// A sequence, tuple, map or struct being walked: its elements are numbered
/// and its entries named, for the path.
struct Compound {
    finder: Finder,
    index: usize,
    key: String,
}

impl Compound {
    fn new(finder: Finder) -> Self {
        Self {
            finder,
            index: 0,
            key: String::new(),
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotFinite> {
        let at = self.finder.at(&format!("[{}]", self.index));
        self.index += 1;
        value.serialize(at)
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), NotFinite> {
        value.serialize(self.finder.at(&format!(".{name}")))
    }
}

/// The compound serializers whose entries are numbered or named alike.
macro_rules! compound {
    ($($trait:ident::$method:ident),* => numbered) => {$(
        impl ser::$trait for Compound {
            type Ok = ();
            type Error = NotFinite;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotFinite> {
                self.element(value)
            }
            fn end(self) -> Result<(), NotFinite> {
                Ok(())
            }
        }
    )*};
    ($($trait:ident),* => named) => {$(
        impl ser::$trait for Compound {
            type Ok = ();
            type Error = NotFinite;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                name: &'static str,
                value: &T,
            ) -> Result<(), NotFinite> {
                self.field(name, value)
            }
            fn end(self) -> Result<(), NotFinite> {
                Ok(())
            }
        }
    )*};
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field => numbered
);
compound!(SerializeStruct, SerializeStructVariant => named);

impl ser::SerializeMap for Compound {
    type Ok = ();
    type Error = NotFinite;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NotFinite> {
        // JSON keys are strings; serde_json has accepted this one already.
        self.key = match serde_json::to_value(key) {
            Ok(serde_json::Value::String(key)) => key,
            Ok(other) => other.to_string(),
            Err(_) => "?".into(),
        };
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotFinite> {
        let key = std::mem::take(&mut self.key);
        self.field(&key, value)
    }
    fn end(self) -> Result<(), NotFinite> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Quote {
        name: &'static str,
        rates: Vec<f64>,
        note: Option<()>,
    }

    #[test]
    fn finite_numbers_and_real_nulls_pass() {
        let quote = Quote {
            name: "a",
            rates: vec![1.5],
            note: None,
        };
        assert_eq!(
            to_json(&quote, "the output").unwrap(),
            r#"{"name":"a","rates":[1.5],"note":null}"#
        );
    }

    #[test]
    fn a_non_finite_number_is_refused_with_its_place() {
        let quote = Quote {
            name: "a",
            rates: vec![1.0, f64::NAN],
            note: None,
        };
        assert_eq!(
            to_json(&quote, "the orchestration's output")
                .unwrap_err()
                .message,
            "the orchestration's output is not JSON: NaN at .rates[1] (JSON has no NaN or infinity)"
        );
        let map = std::collections::BTreeMap::from([("x", f64::NEG_INFINITY)]);
        assert_eq!(
            to_json(&map, "it").unwrap_err().message,
            "it is not JSON: -infinity at .x (JSON has no NaN or infinity)"
        );
        assert_eq!(
            to_json(&f32::INFINITY, "it").unwrap_err().message,
            "it is not JSON: infinity (JSON has no NaN or infinity)"
        );
    }
}
