//! Reading JSON request bodies, strictly. Every service reads its bodies
//! through [`parse`] (also behind `Incoming::json`), so every service answers
//! the same way:
//!
//! - a body that is not one well-formed JSON value is 400 `invalid_json`:
//!   empty, invalid UTF-8, a syntax error, anything but whitespace after the
//!   value (`{...} x`), or an object with a key twice (at any depth), since
//!   which of the two a parser keeps differs from one parser to the next;
//! - a field that is missing or of the wrong type is 400 `invalid_field`
//!   naming its path (`items[0].quantity`).
//!
//! serde_json does the parsing (its `Deserializer::end` finds trailing data);
//! it keeps the last of two equal keys without a word, so a first pass
//! ([`Checked`]) walks the value and refuses duplicates. No well-kept crate
//! does only that check, and the pass is a few lines over serde's visitor.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::json;

use crate::error::ApiError;

/// Parses `body` as a `T`; see the module comment for what is refused.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        ApiError::invalid_json(format!("the body is not valid UTF-8: invalid bytes at byte {at}")).with_details(json!({ "byte": at }))
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::invalid_json("expected a JSON body"));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    Checked::walk(&mut de).and_then(|()| de.end()).map_err(ApiError::from)?;

    // Well-formed by now: what is left is a field missing or of the wrong
    // type. Read plainly first; tracking each value's path costs every body
    // more than the read itself, so only a body that fails is read again
    // with it, to name the field.
    if let Ok(value) = T::deserialize(&mut serde_json::Deserializer::from_str(text)) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::from(inner);
        }
        let field = field_of(&path, &inner.to_string());
        let message = if field == "." { inner.to_string() } else { format!("{field}: {inner}") };
        ApiError::invalid_field(&field, message).with_details(json!({ "field": field, "line": inner.line(), "column": inner.column() }))
    })
}

/// The field a type error is about: its path (`.` for the whole body), with
/// the missing field's name appended when that is the error.
fn field_of(path: &str, error: &str) -> String {
    let missing = error.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')).map(|(name, _)| name);
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (_, Some(name)) => format!("{path}.{name}"),
        _ => path.to_owned(),
    }
}

/// A JSON value walked for keys given twice. It runs before every body is
/// read, so it allocates nothing on the way: keys are borrowed from the
/// body (unless escaped), one stack of keys serves every object, and where
/// a value sits ([`Place`]) becomes a path only for an error.
struct Checked<'p, 'k, 'de> {
    place: Place<'p>,
    /// The keys of the objects being walked, outermost first; each object
    /// pushes its own and takes them off again when it ends.
    keys: &'k mut Vec<Cow<'de, str>>,
}

/// Above this many keys, an object's duplicates are found through a hash
/// set instead of by comparing each key with those before it.
const LINEAR_SCAN_KEYS: usize = 32;

impl<'de> Checked<'_, '_, 'de> {
    /// Walks the whole of `de`'s value.
    fn walk<D: Deserializer<'de>>(de: D) -> Result<(), D::Error> {
        Checked { place: Place::Top, keys: &mut Vec::new() }.deserialize(de)
    }
}

/// Where a value sits: a chain of keys and indices up to the body's value.
#[derive(Clone, Copy)]
enum Place<'a> {
    Top,
    Key(&'a Place<'a>, &'a str),
    Index(&'a Place<'a>, usize),
}

impl Place<'_> {
    /// `items[0].card`; empty for the body's value itself.
    fn path(&self) -> String {
        match self {
            Place::Top => String::new(),
            Place::Key(Place::Top, key) => (*key).to_owned(),
            Place::Key(parent, key) => format!("{}.{key}", parent.path()),
            Place::Index(parent, index) => format!("{}[{index}]", parent.path()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Place::Top => "the top-level object".to_owned(),
            _ => format!("`{}`", self.path()),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq.next_element_seed(Checked { place: Place::Index(&self.place, index), keys: &mut *self.keys })?.is_some() {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let start = self.keys.len();
        // Only for an object with many keys.
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        let result = (|| {
            while let Some(key) = map.next_key_seed(Key)? {
                let seen = match &many {
                    Some(set) => set.contains(&key),
                    None => self.keys[start..].contains(&key),
                };
                if seen {
                    // The value is read first so the error points past it.
                    map.next_value::<IgnoredAny>()?;
                    return Err(de::Error::custom(format!("duplicate key {:?} in {}", &*key, self.place.describe())));
                }
                map.next_value_seed(Checked { place: Place::Key(&self.place, &key), keys: &mut *self.keys })?;
                match &mut many {
                    Some(set) => {
                        set.insert(key);
                    }
                    None if self.keys.len() - start < LINEAR_SCAN_KEYS => self.keys.push(key),
                    None => {
                        let mut set: HashSet<_> = self.keys.drain(start..).collect();
                        set.insert(key);
                        many = Some(set);
                    }
                }
            }
            Ok(())
        })();
        self.keys.truncate(start);
        result
    }
}

/// An object's key, borrowed from the body unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Item>,
    }

    fn refused(body: &[u8]) -> ApiError {
        let err = parse::<Order>(body).unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_json"), "{:?}: {}", String::from_utf8_lossy(body), err.message);
        err
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = parse::<Order>(br#"{"items": [{"sku": "A", "quantity": "two"}]}"#).unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_field"));
        assert_eq!(err.details["field"], "items[0].quantity");
        let err = parse::<Order>(br#"{"items": [{"sku": "A"}]}"#).unwrap_err();
        assert_eq!((err.code, &err.details["field"]), ("invalid_field", &json!("items[0].quantity")), "{}", err.message);
        assert!(err.message.contains("missing field `quantity`"), "{}", err.message);
        // Well-formed JSON of the wrong shape is not invalid JSON.
        let err = parse::<Order>(br#"{}"#).unwrap_err();
        assert_eq!((err.status, err.code, &err.details["field"]), (400, "invalid_field", &json!("items")), "{}", err.message);
        let err = parse::<Order>(br#""items""#).unwrap_err();
        assert_eq!((err.code, &err.details["field"]), ("invalid_field", &json!(".")), "{}", err.message);
    }

    #[test]
    fn not_json_and_empty_bodies_are_invalid_json() {
        for body in [&b"{"[..], b"nope", b"", b"  ", b"{\"items\": [}"] {
            refused(body);
        }
        assert_eq!(parse::<Order>(br#"{"items": []}"#).unwrap().items.len(), 0);
        assert_eq!(parse::<Order>(b" \n{\"items\": []}\r\n\t ").unwrap().items.len(), 0, "whitespace around the value is fine");
    }

    #[test]
    fn anything_after_the_value_is_refused() {
        for body in [&br#"{"items": []} x"#[..], br#"{"items": []}{"items": []}"#, br#"{"items": []} []"#, br#"{"items": []} 1"#] {
            let err = refused(body);
            assert!(err.message.contains("trailing characters"), "{}", err.message);
        }
    }

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth_and_named() {
        let err = refused(br#"{"items": [], "items": []}"#);
        assert!(err.message.contains(r#"duplicate key "items" in the top-level object"#), "{}", err.message);
        let err = refused(br#"{"items": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1, "quantity": 9}]}"#);
        assert!(err.message.contains(r#"duplicate key "quantity" in `items[1]`"#), "{}", err.message);
        // Also in fields the type ignores, and in free-form maps, where serde
        // on its own would keep the last value silently.
        refused(br#"{"items": [], "extra": {"a": 1, "a": 2}}"#);
        let err = parse::<HashMap<String, u32>>(br#"{"a": 1, "a": 2}"#).unwrap_err();
        assert_eq!(err.code, "invalid_json");
        // Escapes name the same key.
        refused(br#"{"items": [], "\u0069tems": []}"#);
        // The same key in two objects is no duplicate.
        parse::<Order>(br#"{"items": [{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 1}]}"#).unwrap();
    }

    #[test]
    fn objects_with_many_keys_and_nested_objects_still_find_each_duplicate() {
        let keys = |n: usize| (0..n).map(|i| format!(r#""k{i}": {i}"#)).collect::<Vec<_>>();
        for n in [LINEAR_SCAN_KEYS - 1, LINEAR_SCAN_KEYS, LINEAR_SCAN_KEYS + 1, 3 * LINEAR_SCAN_KEYS] {
            let fine = format!(r#"{{"items": [], "extra": {{{}}}}}"#, keys(n).join(", "));
            parse::<Order>(fine.as_bytes()).unwrap_or_else(|e| panic!("{n} keys: {}", e.message));
            for again in [0, n / 2, n - 1] {
                let twice = format!(r#"{{"items": [], "extra": {{{}, "k{again}": 0}}}}"#, keys(n).join(", "));
                let err = refused(twice.as_bytes());
                assert!(err.message.contains(&format!(r#"duplicate key "k{again}" in `extra`"#)), "{n} keys: {}", err.message);
            }
        }
        // An inner object's keys are its own: the outer one's repeat in it
        // freely, and the outer object still sees its own after it ends.
        parse::<Order>(br#"{"extra": {"items": 1, "extra": {"items": 2}}, "items": []}"#).unwrap();
        let err = refused(br#"{"extra": {"a": {"b": 1}, "c": [{"d": 1}]}, "items": [], "extra": 2}"#);
        assert!(err.message.contains(r#"duplicate key "extra" in the top-level object"#), "{}", err.message);
        let err = refused(br#"[{"a": [{"b": {"c": 1, "c": 2}}]}]"#);
        assert!(err.message.contains(r#"duplicate key "c" in `[0].a[0].b`"#), "{}", err.message);
    }

    #[test]
    fn invalid_utf8_is_refused_with_where() {
        let err = refused(b"{\"items\": [{\"sku\": \"\xff\", \"quantity\": 1}]}");
        assert!(err.message.contains("UTF-8"), "{}", err.message);
        assert_eq!(err.details["byte"], 20);
        // Also where the type would not look (an ignored field).
        refused(b"{\"items\": [], \"note\": \"caf\xc3\"}");
        // Escaped lone surrogates are not UTF-8 either.
        refused(br#"{"items": [{"sku": "\ud800", "quantity": 1}]}"#);
    }
}
