//! A result row's values, decoded by their column's PostgreSQL type into
//! the newest interface's variants. A type the interface has no variant for
//! is `unsupported`, carrying the server's binary encoding.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use fallible_iterator::FallibleIterator;
use postgres_protocol::types::{self as wire, Range, RangeBound};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

use super::v4::{Column, DbDataType as T, DbValue as V, Interval, RangeBoundKind};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// A column's name and the interface's name for its type.
pub fn column(c: &tokio_postgres::Column) -> Column {
    Column { name: c.name().to_string(), data_type: data_type(c.type_()) }
}

fn data_type(ty: &Type) -> T {
    match *ty {
        Type::BOOL => T::Boolean,
        Type::CHAR => T::Int8,
        Type::INT2 => T::Int16,
        Type::INT4 => T::Int32,
        Type::INT8 => T::Int64,
        Type::FLOAT4 => T::Floating32,
        Type::FLOAT8 => T::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => T::Str,
        Type::BYTEA => T::Binary,
        Type::DATE => T::Date,
        Type::TIME => T::Time,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => T::Datetime,
        Type::UUID => T::Uuid,
        Type::JSON | Type::JSONB => T::Jsonb,
        Type::NUMERIC => T::Decimal,
        Type::INT4_RANGE => T::RangeInt32,
        Type::INT8_RANGE => T::RangeInt64,
        Type::NUM_RANGE => T::RangeDecimal,
        Type::INT4_ARRAY => T::ArrayInt32,
        Type::INT8_ARRAY => T::ArrayInt64,
        Type::NUMERIC_ARRAY => T::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => T::ArrayStr,
        Type::INTERVAL => T::Interval,
        _ => T::Other(ty.name().to_string()),
    }
}

/// A value's bytes as the server sent them, whatever its type.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(raw))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Every value of `row`, or why one could not be decoded.
pub fn values(row: &Row) -> Result<Vec<V>, String> {
    (0..row.len())
        .map(|i| {
            let column = &row.columns()[i];
            let raw: Option<Raw> = row.try_get(i).map_err(|e| e.to_string())?;
            match raw {
                None => Ok(V::DbNull),
                Some(Raw(bytes)) => value(column.type_(), bytes).map_err(|e| format!("column `{}` ({}): {e}", column.name(), column.type_())),
            }
        })
        .collect()
}

fn value(ty: &Type, raw: &[u8]) -> Result<V, BoxError> {
    Ok(match *ty {
        Type::BOOL => V::Boolean(bool::from_sql(ty, raw)?),
        Type::CHAR => V::Int8(i8::from_sql(ty, raw)?),
        Type::INT2 => V::Int16(i16::from_sql(ty, raw)?),
        Type::INT4 => V::Int32(i32::from_sql(ty, raw)?),
        Type::INT8 => V::Int64(i64::from_sql(ty, raw)?),
        Type::FLOAT4 => V::Floating32(f32::from_sql(ty, raw)?),
        Type::FLOAT8 => V::Floating64(f64::from_sql(ty, raw)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => V::Str(String::from_sql(ty, raw)?),
        Type::BYTEA => V::Binary(raw.to_vec()),
        Type::DATE => {
            let d = NaiveDate::from_sql(ty, raw)?;
            V::Date((d.year(), d.month() as u8, d.day() as u8))
        }
        Type::TIME => V::Time(time(NaiveTime::from_sql(ty, raw)?)),
        Type::TIMESTAMP => V::Datetime(datetime(NaiveDateTime::from_sql(ty, raw)?)),
        Type::TIMESTAMPTZ => V::Datetime(datetime(DateTime::<Utc>::from_sql(ty, raw)?.naive_utc())),
        Type::UUID => V::Uuid(uuid::Uuid::from_sql(ty, raw)?.hyphenated().to_string()),
        // jsonb's binary form is a version byte (1) before the text.
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => V::Jsonb(text.to_vec()),
            _ => return Err("a jsonb value of an unknown version".into()),
        },
        Type::JSON => V::Jsonb(raw.to_vec()),
        Type::NUMERIC => V::Decimal(numeric_text(raw)?),
        Type::INT4_RANGE => V::RangeInt32(range(raw, 0, wire::int4_from_sql)?),
        Type::INT8_RANGE => V::RangeInt64(range(raw, 0, wire::int8_from_sql)?),
        Type::NUM_RANGE => V::RangeDecimal(range(raw, "0".to_string(), numeric_text)?),
        Type::INT4_ARRAY => V::ArrayInt32(Vec::from_sql(ty, raw)?),
        Type::INT8_ARRAY => V::ArrayInt64(Vec::from_sql(ty, raw)?),
        Type::NUMERIC_ARRAY => {
            let array = wire::array_from_sql(raw)?;
            V::ArrayDecimal(array.values().map(|v| v.map(numeric_text).transpose()).collect()?)
        }
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => V::ArrayStr(Vec::from_sql(ty, raw)?),
        Type::INTERVAL => {
            let [m0, m1, m2, m3, m4, m5, m6, m7, d0, d1, d2, d3, n0, n1, n2, n3] = raw.try_into().map_err(|_| "an interval is 16 bytes")?;
            V::Interval(Interval {
                micros: i64::from_be_bytes([m0, m1, m2, m3, m4, m5, m6, m7]),
                days: i32::from_be_bytes([d0, d1, d2, d3]),
                months: i32::from_be_bytes([n0, n1, n2, n3]),
            })
        }
        _ => V::Unsupported(raw.to_vec()),
    })
}

/// A NUMERIC's exact decimal text, whatever its size (`NaN` and the
/// infinities as PostgreSQL writes them). The binary form: digit count,
/// weight (of the first digit, in powers of 10000), sign, display scale,
/// then the base-10000 digits.
fn numeric_text(raw: &[u8]) -> Result<String, BoxError> {
    use std::fmt::Write;
    let word = |at: usize| raw.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or("a numeric value is cut short");
    let (count, weight, sign, scale) = (word(0)? as usize, word(2)? as i16 as i32, word(4)?, word(6)? as usize);
    if raw.len() != 8 + 2 * count {
        return Err("a numeric value has the wrong length".into());
    }
    let digit = |i: i32| if (0..count as i32).contains(&i) { word(8 + 2 * i as usize).unwrap_or(0) } else { 0 };
    let mut text = match sign {
        0x0000 => String::new(),
        0x4000 => "-".to_string(),
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        other => return Err(format!("a numeric value with an unknown sign {other:#x}").into()),
    };
    if weight < 0 {
        text.push('0');
    }
    for i in 0..=weight {
        let _ = if i == 0 { write!(text, "{}", digit(i)) } else { write!(text, "{:04}", digit(i)) };
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut i = weight + 1;
        while fraction.len() < scale {
            let _ = write!(fraction, "{:04}", digit(i));
            i += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

fn time(t: NaiveTime) -> (u8, u8, u8, u32) {
    (t.hour() as u8, t.minute() as u8, t.second() as u8, t.nanosecond())
}

fn datetime(at: NaiveDateTime) -> (i32, u8, u8, u8, u8, u8, u32) {
    let (h, mi, s, ns) = time(at.time());
    (at.year(), at.month() as u8, at.day() as u8, h, mi, s, ns)
}

type Bound<T> = Option<(T, RangeBoundKind)>;

/// A range's bounds. The interface has no empty range: an empty one is
/// `(zero, zero)`, both exclusive, which is empty too and reads back empty.
fn range<T: Clone>(raw: &[u8], zero: T, element: impl Fn(&[u8]) -> Result<T, BoxError>) -> Result<(Bound<T>, Bound<T>), BoxError> {
    let side = |bound: RangeBound<Option<&[u8]>>| -> Result<Bound<T>, BoxError> {
        Ok(match bound {
            RangeBound::Unbounded => None,
            RangeBound::Inclusive(Some(b)) => Some((element(b)?, RangeBoundKind::Inclusive)),
            RangeBound::Exclusive(Some(b)) => Some((element(b)?, RangeBoundKind::Exclusive)),
            RangeBound::Inclusive(None) | RangeBound::Exclusive(None) => return Err("a range bound is null".into()),
        })
    };
    match wire::range_from_sql(raw)? {
        Range::Empty => Ok((Some((zero.clone(), RangeBoundKind::Exclusive)), Some((zero, RangeBoundKind::Exclusive)))),
        Range::Nonempty(lower, upper) => Ok((side(lower)?, side(upper)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_ranges_and_jsonb_decode_from_the_binary_layouts() {
        let raw = [&5i64.to_be_bytes()[..], &6i32.to_be_bytes(), &7i32.to_be_bytes()].concat();
        assert!(matches!(value(&Type::INTERVAL, &raw).unwrap(), V::Interval(Interval { micros: 5, days: 6, months: 7 })));
        let raw = [&[0x02u8][..], &4i32.to_be_bytes(), &2i32.to_be_bytes(), &4i32.to_be_bytes(), &41i32.to_be_bytes()].concat();
        assert!(matches!(
            value(&Type::INT4_RANGE, &raw).unwrap(),
            V::RangeInt32((Some((2, RangeBoundKind::Inclusive)), Some((41, RangeBoundKind::Exclusive))))
        ));
        assert!(matches!(
            value(&Type::INT4_RANGE, &[0x01]).unwrap(),
            V::RangeInt32((Some((0, RangeBoundKind::Exclusive)), Some((0, RangeBoundKind::Exclusive))))
        ));
        assert!(matches!(value(&Type::JSONB, b"\x01{\"a\":1}").unwrap(), V::Jsonb(ref j) if j == b"{\"a\":1}"));
        assert!(value(&Type::JSONB, b"\x02{}").is_err());
        assert!(matches!(value(&Type::POINT, &[0; 16]).unwrap(), V::Unsupported(ref b) if b.len() == 16));
        assert!(matches!(data_type(&Type::POINT), T::Other(ref n) if n == "point"));
    }

    fn numeric(count: u16, weight: i16, sign: u16, scale: u16, digits: &[u16]) -> Vec<u8> {
        let mut raw = [count.to_be_bytes(), weight.to_be_bytes(), sign.to_be_bytes(), scale.to_be_bytes()].concat();
        digits.iter().for_each(|d| raw.extend(d.to_be_bytes()));
        raw
    }

    #[test]
    fn numerics_decode_exactly_at_any_size() {
        assert_eq!(numeric_text(&numeric(6, 2, 0, 9, &[1, 2345, 6789, 1234, 5678, 9000])).unwrap(), "123456789.123456789");
        assert_eq!(numeric_text(&numeric(1, 10, 0, 0, &[1])).unwrap(), format!("1{}", "0".repeat(40)));
        assert_eq!(numeric_text(&numeric(1, -1, 0x4000, 5, &[500])).unwrap(), "-0.05000");
        assert_eq!(numeric_text(&numeric(0, 0, 0, 2, &[])).unwrap(), "0.00");
        assert_eq!(numeric_text(&numeric(0, 0, 0xC000, 0, &[])).unwrap(), "NaN");
        assert!(numeric_text(&numeric(2, 0, 0, 0, &[1])).is_err());
    }
}
