//! A guest's parameter, encoded for the type the server inferred for its
//! placeholder. Integers widen to a larger integer column (an `int32` into
//! `bigint` is fine); anything else that does not fit the column is a
//! [`ParamError`], which the guest sees as `bad-parameter`.

use std::error::Error as StdError;
use std::fmt;
use std::str::FromStr;

use bytes::BytesMut;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use postgres_protocol::types::{self as wire, RangeBound};
use rust_decimal::Decimal;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

use super::v4::{ParameterValue as P, RangeBoundKind};

type BoxError = Box<dyn StdError + Sync + Send>;

/// Why a parameter could not be sent.
#[derive(Debug)]
pub struct ParamError(pub String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for ParamError {}

fn refuse(what: &str, ty: &Type) -> BoxError {
    Box::new(ParamError(format!("a {what} parameter cannot be sent for a column of type {ty}")))
}

fn bad(message: String) -> BoxError {
    Box::new(ParamError(message))
}

#[derive(Debug)]
pub struct Param(pub P);

/// An integer for an integer column of `ty`, widened (or checked) to fit.
fn integer(value: i64, what: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    let out_of_range = || bad(format!("{what} parameter {value} does not fit a column of type {ty}"));
    match *ty {
        Type::INT2 => i16::try_from(value).map_err(|_| out_of_range())?.to_sql(ty, out),
        Type::INT4 => i32::try_from(value).map_err(|_| out_of_range())?.to_sql(ty, out),
        Type::INT8 => value.to_sql(ty, out),
        Type::CHAR => i8::try_from(value).map_err(|_| out_of_range())?.to_sql(ty, out),
        Type::NUMERIC => Decimal::from(value).to_sql(ty, out),
        Type::FLOAT8 => (value as f64).to_sql(ty, out),
        _ => Err(refuse(what, ty)),
    }
}

fn decimal(text: &str) -> Result<Decimal, BoxError> {
    Decimal::from_str_exact(text.trim()).map_err(|e| bad(format!("`{text}` is not a decimal number souk can send: {e}")))
}

fn bound<T>(
    bound: &Option<(T, RangeBoundKind)>,
    write: impl FnOnce(&T, &mut BytesMut) -> Result<(), BoxError>,
    out: &mut BytesMut,
) -> Result<RangeBound<postgres_protocol::IsNull>, BoxError> {
    Ok(match bound {
        None => RangeBound::Unbounded,
        Some((value, kind)) => {
            write(value, out)?;
            match kind {
                RangeBoundKind::Inclusive => RangeBound::Inclusive(postgres_protocol::IsNull::No),
                RangeBoundKind::Exclusive => RangeBound::Exclusive(postgres_protocol::IsNull::No),
            }
        }
    })
}

type Bounds<T> = (Option<(T, RangeBoundKind)>, Option<(T, RangeBoundKind)>);

fn range<T>(
    range: &Bounds<T>,
    element: &Type,
    what: &str,
    ty: &Type,
    out: &mut BytesMut,
    write: fn(&T, &Type, &mut BytesMut) -> Result<(), BoxError>,
) -> Result<IsNull, BoxError> {
    match ty.kind() {
        Kind::Range(inner) if inner == element => {
            wire::range_to_sql(|o| bound(&range.0, |v, o| write(v, inner, o), o), |o| bound(&range.1, |v, o| write(v, inner, o), o), out)?;
            Ok(IsNull::No)
        }
        _ => Err(refuse(what, ty)),
    }
}

fn naive_datetime((y, mo, d, h, mi, s, ns): (i32, u8, u8, u8, u8, u8, u32)) -> Result<NaiveDateTime, BoxError> {
    let date = NaiveDate::from_ymd_opt(y, mo.into(), d.into()).ok_or_else(|| bad(format!("{y}-{mo}-{d} is not a date")))?;
    let time = NaiveTime::from_hms_nano_opt(h.into(), mi.into(), s.into(), ns).ok_or_else(|| bad(format!("{h}:{mi}:{s}.{ns} is not a time of day")))?;
    Ok(date.and_time(time))
}

/// A date-time for a `timestamp` or (as UTC) `timestamptz` column.
fn datetime(value: NaiveDateTime, what: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::TIMESTAMP => value.to_sql(ty, out),
        Type::TIMESTAMPTZ => value.and_utc().to_sql(ty, out),
        _ => Err(refuse(what, ty)),
    }
}

fn array<T: ToSql>(values: &[Option<T>], element: &Type, what: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match ty.kind() {
        Kind::Array(inner) if inner == element || (*element == Type::TEXT && matches!(*inner, Type::VARCHAR | Type::BPCHAR | Type::NAME)) => {
            values.to_sql(ty, out)
        }
        _ => Err(refuse(what, ty)),
    }
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match &self.0 {
            P::DbNull => Ok(IsNull::Yes),
            P::Boolean(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            P::Boolean(_) => Err(refuse("boolean", ty)),
            P::Int8(i) => integer((*i).into(), "int8", ty, out),
            P::Int16(i) => integer((*i).into(), "int16", ty, out),
            P::Int32(i) => integer((*i).into(), "int32", ty, out),
            P::Int64(i) => integer(*i, "int64", ty, out),
            P::Floating32(f) => match *ty {
                Type::FLOAT4 => f.to_sql(ty, out),
                Type::FLOAT8 => f64::from(*f).to_sql(ty, out),
                _ => Err(refuse("floating32", ty)),
            },
            P::Floating64(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => Err(refuse("floating64", ty)),
            },
            P::Str(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => s.as_str().to_sql(ty, out),
                Type::JSON | Type::JSONB => json(s.as_bytes(), ty, out),
                _ if matches!(ty.kind(), Kind::Enum(_)) => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ => Err(refuse("str", ty)),
            },
            P::Binary(b) if *ty == Type::BYTEA => b.as_slice().to_sql(ty, out),
            P::Binary(_) => Err(refuse("binary", ty)),
            P::Date((y, m, d)) if *ty == Type::DATE => {
                NaiveDate::from_ymd_opt(*y, (*m).into(), (*d).into()).ok_or_else(|| bad(format!("{y}-{m}-{d} is not a date")))?.to_sql(ty, out)
            }
            P::Date(_) => Err(refuse("date", ty)),
            P::Time((h, mi, s, ns)) if *ty == Type::TIME => NaiveTime::from_hms_nano_opt((*h).into(), (*mi).into(), (*s).into(), *ns)
                .ok_or_else(|| bad(format!("{h}:{mi}:{s}.{ns} is not a time of day")))?
                .to_sql(ty, out),
            P::Time(_) => Err(refuse("time", ty)),
            P::Datetime(parts) => datetime(naive_datetime(*parts)?, "datetime", ty, out),
            P::Timestamp(seconds) => {
                let at = DateTime::from_timestamp(*seconds, 0).ok_or_else(|| bad(format!("{seconds} is not a time souk can send")))?;
                datetime(at.naive_utc(), "timestamp", ty, out)
            }
            P::Uuid(text) if *ty == Type::UUID => uuid::Uuid::from_str(text).map_err(|e| bad(format!("`{text}` is not a UUID: {e}")))?.to_sql(ty, out),
            P::Uuid(_) => Err(refuse("uuid", ty)),
            P::Jsonb(bytes) => json(bytes, ty, out),
            P::Decimal(text) if *ty == Type::NUMERIC => decimal(text)?.to_sql(ty, out),
            P::Decimal(_) => Err(refuse("decimal", ty)),
            P::RangeInt32(r) => range(r, &Type::INT4, "range-int32", ty, out, |v, t, o| v.to_sql(t, o).map(drop)),
            P::RangeInt64(r) => range(r, &Type::INT8, "range-int64", ty, out, |v, t, o| v.to_sql(t, o).map(drop)),
            P::RangeDecimal(r) => range(r, &Type::NUMERIC, "range-decimal", ty, out, |v, t, o| decimal(v)?.to_sql(t, o).map(drop)),
            P::ArrayInt32(a) => array(a, &Type::INT4, "array-int32", ty, out),
            P::ArrayInt64(a) => array(a, &Type::INT8, "array-int64", ty, out),
            P::ArrayStr(a) => array(a, &Type::TEXT, "array-str", ty, out),
            P::ArrayDecimal(a) => {
                let decimals = a.iter().map(|d| d.as_deref().map(decimal).transpose()).collect::<Result<Vec<_>, _>>()?;
                array(&decimals, &Type::NUMERIC, "array-decimal", ty, out)
            }
            P::Interval(i) if *ty == Type::INTERVAL => {
                wire::int8_to_sql(i.micros, out);
                wire::int4_to_sql(i.days, out);
                wire::int4_to_sql(i.months, out);
                Ok(IsNull::No)
            }
            P::Interval(_) => Err(refuse("interval", ty)),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Every parameter is checked against its column's type in `to_sql`,
        // where the error can say what did not fit.
        true
    }

    to_sql_checked!();
}

/// JSON text for a `json` or `jsonb` column (the server checks it).
fn json(text: &[u8], ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::JSONB => out.extend_from_slice(&[1]),
        Type::JSON => {}
        _ => return Err(refuse("jsonb", ty)),
    }
    out.extend_from_slice(text);
    Ok(IsNull::No)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(p: P, ty: &Type) -> Result<Vec<u8>, String> {
        let mut out = BytesMut::new();
        Param(p).to_sql(ty, &mut out).map(|_| out.to_vec()).map_err(|e| e.to_string())
    }

    #[test]
    fn integers_widen_but_never_truncate() {
        assert_eq!(encode(P::Int32(7), &Type::INT8).unwrap(), 7i64.to_be_bytes());
        assert_eq!(encode(P::Int64(7), &Type::INT2).unwrap(), 7i16.to_be_bytes());
        assert!(encode(P::Int64(1 << 40), &Type::INT4).unwrap_err().contains("does not fit a column of type int4"));
        assert!(encode(P::Str("x".into()), &Type::INT4).unwrap_err().contains("a str parameter cannot be sent for a column of type int4"));
    }

    #[test]
    fn intervals_ranges_and_json_use_the_binary_layouts() {
        let iv = super::super::v4::Interval { micros: 1, days: 2, months: 3 };
        assert_eq!(encode(P::Interval(iv), &Type::INTERVAL).unwrap(), [&1i64.to_be_bytes()[..], &2i32.to_be_bytes(), &3i32.to_be_bytes()].concat());
        let r = encode(P::RangeInt32((Some((1, RangeBoundKind::Inclusive)), None)), &Type::INT4_RANGE).unwrap();
        // Flags: lower inclusive (0x02), upper unbounded (0x10); one bound of 4 bytes.
        assert_eq!(r, [&[0x12u8][..], &4i32.to_be_bytes(), &1i32.to_be_bytes()].concat());
        assert!(encode(P::RangeInt32((None, None)), &Type::INT8_RANGE).is_err());
        assert_eq!(encode(P::Jsonb(b"{}".to_vec()), &Type::JSONB).unwrap(), b"\x01{}");
        assert!(encode(P::Decimal("12.5x".into()), &Type::NUMERIC).unwrap_err().contains("not a decimal"));
        assert!(encode(P::Date((2024, 2, 30)), &Type::DATE).unwrap_err().contains("not a date"));
    }
}
