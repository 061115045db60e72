//! Ids are UUIDv7 strings: unique without coordination, and ordered by
//! creation time, so they index well and sort as records were made.

use uuid::Uuid;

pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// `text` as an id in canonical form, or a message naming what is wrong.
pub fn parse_id(text: &str) -> Result<String, String> {
    let id = Uuid::try_parse(text).map_err(|_| format!("{text:?} is not an id (a UUID)"))?;
    Ok(id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_and_ordered() {
        let a = new_id();
        let b = new_id();
        assert_eq!(Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert_ne!(a, b);
        assert!(a < b || a[..13] == b[..13], "later ids sort after earlier ones: {a} {b}");
    }

    #[test]
    fn parse_accepts_uuids_and_names_bad_input() {
        let id = new_id();
        assert_eq!(parse_id(&id.to_uppercase()).unwrap(), id);
        assert!(parse_id("42").unwrap_err().contains("\"42\""));
    }
}
