//! Times in the API are RFC 3339 in UTC (`2026-11-23T08:00:00Z`); stored as
//! Unix seconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub fn to_rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| "invalid-time".to_owned())
}

/// An RFC 3339 time (any offset) as Unix seconds.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    OffsetDateTime::parse(text, &Rfc3339).map(|t| t.unix_timestamp()).map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_utc_and_round_trips() {
        assert_eq!(to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(to_rfc3339(1_795_392_000), "2026-11-23T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-11-23T00:00:00Z").unwrap(), 1_795_392_000);
        assert_eq!(parse_rfc3339("2026-11-23T01:00:00+01:00").unwrap(), 1_795_392_000);
        assert!(parse_rfc3339("yesterday").is_err());
        assert!(now_unix() > 1_700_000_000);
    }
}
