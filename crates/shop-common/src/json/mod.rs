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
//! it keeps the last of two equal keys without a word, so the typed read
//! runs through [`one_pass`], which refuses a key given twice as the type
//! reads it. A body that read well is done in that one pass. Any other
//! body is looked at again, to answer as exactly as it deserves: first the
//! walk in [`duplicates`] (which names where a key was given twice, and
//! makes a malformed body `invalid_json` even where a type error came
//! first), then a read that tracks each value's path, to name the field.
//! No well-kept crate does that check during a typed read.

mod duplicates;
mod one_pass;

use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::ApiError;
use duplicates::Checked;

/// Parses `body` as a `T`; see the module comment for what is refused.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        ApiError::invalid_json(format!("the body is not valid UTF-8: invalid bytes at byte {at}")).with_details(json!({ "byte": at }))
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::invalid_json("expected a JSON body"));
    }
    match one_pass::read::<T>(text) {
        Some(one_pass::Read::Checked(value)) => return Ok(value),
        // Read well, but some keys were not seen (a key read as a number,
        // say): the walk looks at all of them.
        Some(one_pass::Read::Unchecked(value)) => {
            well_formed(text)?;
            return Ok(value);
        }
        None => {}
    }
    // Something is wrong with it. A malformed body is `invalid_json`
    // whatever else is wrong, and a key given twice is named with where.
    well_formed(text)?;
    // Well-formed by now: what is left is a field missing or of the wrong
    // type, read again with each value's path tracked, to name the field.
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

/// One JSON value, nothing after it, and no object with a key twice.
fn well_formed(text: &str) -> Result<(), ApiError> {
    let mut de = serde_json::Deserializer::from_str(text);
    Checked::walk(&mut de).and_then(|()| de.end()).map_err(ApiError::from)
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

#[cfg(test)]
mod tests {
    use super::duplicates::LINEAR_SCAN_KEYS;
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

    /// Shapes serde hands a type in other ways than a plain struct.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum Payment {
        Card { number: String, extra: Option<HashMap<String, u32>> },
        Cash(u32),
        Voucher(Item),
        Free,
    }

    #[derive(Deserialize, Debug)]
    #[serde(tag = "kind")]
    #[allow(dead_code)]
    enum Tagged {
        Gift { to: String },
        Plain,
    }

    #[derive(Deserialize, Debug)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Either {
        One(Item),
        Many(Vec<Item>),
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Flattened {
        sku: String,
        #[serde(flatten)]
        rest: HashMap<String, serde_json::Value>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrapper {
        payment: Payment,
        tagged: Option<Tagged>,
        either: Option<Either>,
    }

    /// What the one pass made of a body on its own.
    #[derive(Debug, PartialEq)]
    enum OnItsOwn {
        Refused,
        Checked,
        Unchecked,
    }

    /// Asserts that `parse` answers as the walk for duplicates followed by a
    /// plain typed read (what it did before the one pass) would; returns
    /// what the one pass made of the body on its own.
    fn agrees<T: DeserializeOwned>(body: &str) -> OnItsOwn {
        let walked = well_formed(body).map_err(|e| e.code);
        let expected = walked.and_then(|()| serde_json::from_str::<T>(body).map(|_| ()).map_err(|_| "invalid_field"));
        let got = parse::<T>(body.as_bytes()).map(|_| ()).map_err(|e| e.code);
        assert_eq!(got, expected, "{body}");
        match one_pass::read::<T>(body) {
            None => OnItsOwn::Refused,
            Some(one_pass::Read::Checked(_)) => OnItsOwn::Checked,
            Some(one_pass::Read::Unchecked(_)) => OnItsOwn::Unchecked,
        }
    }

    #[test]
    fn the_one_pass_refuses_what_the_walk_refuses_in_every_shape_serde_reads() {
        // A body, and the type it is read as.
        type Case = (&'static str, fn(&str) -> OnItsOwn);
        let cases: &[Case] = &[
            (r#"{"items": [{"sku": "A", "quantity": 1}], "note": {"x": [{"y": 1}]}}"#, agrees::<Order>),
            (r#"{"items": [{"sku": "A", "quantity": 1}], "note": {"x": [{"y": 1, "y": 2}]}}"#, agrees::<Order>),
            (r#"{"items": [{"sku": "A", "quantity": 1, "sku": "B"}]}"#, agrees::<Order>),
            (r#"{"items": [{"sku": "A", "quantity": "x"}], "items": []}"#, agrees::<Order>),
            (r#"{"items": [{"sku": "A", "quantity": "x"}]} x"#, agrees::<Order>),
            (r#"{"a": 1, "b": 2}"#, agrees::<HashMap<String, u32>>),
            (r#"{"a": 1, "b": 2, "a": 3}"#, agrees::<HashMap<String, u32>>),
            (r#"{"a": {"b": [1, {"c": 1}]}, "d": null}"#, agrees::<serde_json::Value>),
            (r#"{"a": {"b": [1, {"c": 1, "c": 1}]}, "d": null}"#, agrees::<serde_json::Value>),
            (r#"{"payment": {"Card": {"number": "4242", "extra": {"a": 1}}}}"#, agrees::<Wrapper>),
            (r#"{"payment": {"Card": {"number": "4242", "extra": {"a": 1, "a": 1}}}}"#, agrees::<Wrapper>),
            (r#"{"payment": {"Card": {"number": "4242", "number": "1"}}}"#, agrees::<Wrapper>),
            (r#"{"payment": {"Voucher": {"sku": "A", "quantity": 1, "quantity": 2}}}"#, agrees::<Wrapper>),
            (r#"{"payment": {"Cash": 5}, "tagged": {"kind": "Gift", "to": "Ann"}}"#, agrees::<Wrapper>),
            (r#"{"payment": "Free", "tagged": {"kind": "Gift", "to": "Ann", "to": "Bob"}}"#, agrees::<Wrapper>),
            (r#"{"payment": "Free", "tagged": {"kind": "Plain", "kind": "Plain"}}"#, agrees::<Wrapper>),
            (r#"{"payment": "Free", "either": [{"sku": "A", "quantity": 1}]}"#, agrees::<Wrapper>),
            (r#"{"payment": "Free", "either": [{"sku": "A", "quantity": 1, "sku": "A"}]}"#, agrees::<Wrapper>),
            (r#"{"payment": "Free", "either": {"sku": "A", "quantity": 1, "x": {"y": 1, "y": 1}}}"#, agrees::<Wrapper>),
            (r#"{"sku": "A", "colour": "red", "size": {"eu": 40}}"#, agrees::<Flattened>),
            (r#"{"sku": "A", "colour": "red", "colour": "blue"}"#, agrees::<Flattened>),
            (r#"{"sku": "A", "size": {"eu": 40, "eu": 41}}"#, agrees::<Flattened>),
            (r#"{"sku": "A", "sku": "B"}"#, agrees::<Flattened>),
        ];
        for (body, agrees) in cases {
            // The one pass sees every key in these shapes: it refuses a
            // body with a key twice itself, and passes the others checked.
            let twice = well_formed(body).is_err_and(|e| e.message.contains("duplicate key"));
            let on_its_own = agrees(body);
            assert_ne!(on_its_own, OnItsOwn::Unchecked, "{body}");
            if twice {
                assert_eq!(on_its_own, OnItsOwn::Refused, "{body}");
            }
        }
    }

    #[test]
    fn keys_the_one_pass_cannot_see_are_walked_for_as_well() {
        // Number keys are read as numbers, not text: the pass says it did
        // not see them, and the walk finds the duplicate.
        assert_eq!(agrees::<HashMap<u32, u32>>(r#"{"1": 1, "2": 2}"#), OnItsOwn::Unchecked);
        assert_eq!(agrees::<HashMap<u32, u32>>(r#"{"1": 1, "1": 2}"#), OnItsOwn::Unchecked);
        let err = parse::<HashMap<u32, u32>>(br#"{"1": 1, "1": 2}"#).unwrap_err();
        assert!(err.message.contains(r#"duplicate key "1" in the top-level object"#), "{}", err.message);
    }
}
