//! SoQL values as the test server evaluates them: exact decimals (sums of 11-digit ids must not round, and
//! Socrata prints them without an exponent) and timestamps kept as normalized strings (so comparison is a
//! byte comparison and nothing is parsed per row).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

/// The SoQL column types the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SoqlType {
    Text,
    Number,
    FloatingTimestamp,
    FixedTimestamp,
    Boolean,
    /// The `NULL` literal: compatible with everything.
    Null,
}

impl SoqlType {
    /// The name Socrata uses in `X-SODA2-Types` and `/api/views` metadata.
    pub(crate) fn soda_name(self) -> &'static str {
        match self {
            SoqlType::Text | SoqlType::Null => "text",
            SoqlType::Number => "number",
            SoqlType::FloatingTimestamp => "floating_timestamp",
            SoqlType::FixedTimestamp => "fixed_timestamp",
            SoqlType::Boolean => "checkbox",
        }
    }

    pub(crate) fn is_timestamp(self) -> bool {
        matches!(self, SoqlType::FloatingTimestamp | SoqlType::FixedTimestamp)
    }
}

/// An exact decimal: `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// More fractional digits than this are cut (coordinates have at most 15).
const MAX_SCALE: u32 = 18;

impl Decimal {
    pub(crate) fn zero() -> Decimal {
        Decimal { mantissa: 0, scale: 0 }
    }

    pub(crate) fn from_i64(v: i64) -> Decimal {
        Decimal { mantissa: v as i128, scale: 0 }
    }

    /// Parses `-12`, `3.50`, `+1e3`, `.5`; `None` for anything else (including NaN and empty).
    pub(crate) fn parse(s: &str) -> Option<Decimal> {
        // Fast path: plain digits (ids, counts), the common case when summing `offense_id::number`.
        if !s.is_empty() && s.len() <= 30 && s.bytes().all(|b| b.is_ascii_digit()) {
            let mantissa = s.bytes().fold(0i128, |m, b| m * 10 + (b - b'0') as i128);
            return Some(Decimal { mantissa, scale: 0 });
        }
        let s = s.trim();
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (num, exp) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
            None => (body, 0),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac = &frac[..frac.len().min(MAX_SCALE as usize)];
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa.checked_mul(10)?.checked_add((b - b'0') as i128)?;
        }
        let mut scale = frac.len() as i64 - exp as i64;
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        let mut d = Decimal { mantissa: if neg { -mantissa } else { mantissa }, scale: scale as u32 };
        while d.scale > MAX_SCALE {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        Some(d)
    }

    fn rescaled(self, scale: u32) -> Option<i128> {
        let mut m = self.mantissa;
        for _ in self.scale..scale {
            m = m.checked_mul(10)?;
        }
        Some(m)
    }

    /// The sum; `None` on overflow (far beyond any data set here).
    pub(crate) fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let m = self.rescaled(scale)?.checked_add(other.rescaled(scale)?)?;
        Some(Decimal { mantissa: m, scale })
    }

    pub(crate) fn neg(self) -> Decimal {
        Decimal { mantissa: -self.mantissa, scale: self.scale }
    }

    pub(crate) fn checked_div_int(self, n: u64) -> Option<Decimal> {
        if n == 0 {
            return None;
        }
        let scale = self.scale.max(MAX_SCALE.min(self.scale + 12));
        let m = self.rescaled(scale)? / n as i128;
        Some(Decimal { mantissa: m, scale })
    }

    pub(crate) fn to_f64(self) -> f64 {
        self.mantissa as f64 / 10f64.powi(self.scale as i32)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Decimal {}
impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        match (self.rescaled(scale), other.rescaled(scale)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Decimal {
    /// Plain digits, no exponent, no trailing fractional zeros (`123`, `-0.5`, `47.66287425`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = self.mantissa;
        let mut scale = self.scale;
        while scale > 0 && m % 10 == 0 {
            m /= 10;
            scale -= 1;
        }
        let neg = m < 0;
        let digits = m.unsigned_abs().to_string();
        let sign = if neg { "-" } else { "" };
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let scale = scale as usize;
        if digits.len() > scale {
            let (i, fr) = digits.split_at(digits.len() - scale);
            write!(f, "{sign}{i}.{fr}")
        } else {
            write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// One evaluated SoQL value; text borrows from the data set where it can.
#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    Number(Decimal),
    /// A normalized timestamp: `YYYY-MM-DDTHH:MM:SS.mmm`, plus `Z` for fixed (UTC) ones.
    Timestamp(Cow<'a, str>),
    Bool(bool),
}

impl Value<'_> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Total order used by `$order`, `min` and `max`; `None` when either side is NULL.
    pub(crate) fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Number(a), Value::Number(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b))
            | (Value::Timestamp(a), Value::Timestamp(b))
            | (Value::Text(a), Value::Timestamp(b))
            | (Value::Timestamp(a), Value::Text(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (Value::Number(a), Value::Text(b)) => Decimal::parse(b).map(|b| a.cmp(&b)),
            (Value::Text(a), Value::Number(b)) => Decimal::parse(a).map(|a| a.cmp(b)),
            _ => None,
        }
    }

    /// The text Socrata puts in JSON for this value (`None` for NULL, which is omitted from the row).
    pub(crate) fn render(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
            Value::Text(t) | Value::Timestamp(t) => Some(Cow::Borrowed(t.as_ref())),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        }
    }

    /// A hashable key for `$group`.
    pub(crate) fn group_key(&self) -> GroupKey {
        match self {
            Value::Null => GroupKey::Null,
            Value::Text(t) => GroupKey::Text(t.to_string()),
            Value::Timestamp(t) => GroupKey::Text(t.to_string()),
            Value::Number(n) => GroupKey::Text(n.to_string()),
            Value::Bool(b) => GroupKey::Bool(*b),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum GroupKey {
    Null,
    Text(String),
    Bool(bool),
}

/// Normalizes a timestamp literal or value to `YYYY-MM-DDTHH:MM:SS.mmm` (`fixed` appends `Z`). Accepts
/// `2024-03-01`, `2024-03-01T00:00`, `2024-03-01T00:00:00`, `...00.000`, `...00.123456`, with a trailing `Z`
/// or `+00:00` for fixed timestamps.
pub(crate) fn normalize_timestamp(s: &str, fixed: bool) -> Option<String> {
    let s = s.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00")).unwrap_or(s);
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    if !(digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(7) == Some(&b'-') && digits(8..10)) {
        return None;
    }
    let month: u32 = s[5..7].parse().ok()?;
    let day: u32 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut out = String::with_capacity(24);
    out.push_str(&s[..10]);
    let rest = &s[10..];
    let (hh, mm, ss, frac) = if rest.is_empty() {
        ("00", "00", "00", "")
    } else {
        let rest = rest.strip_prefix(['T', ' '])?;
        let (time, frac) = rest.split_once('.').unwrap_or((rest, ""));
        let mut parts = time.split(':');
        let hh = parts.next()?;
        let mm = parts.next().unwrap_or("00");
        let ss = parts.next().unwrap_or("00");
        if parts.next().is_some() {
            return None;
        }
        (hh, mm, ss, frac)
    };
    for (part, max) in [(hh, 23), (mm, 59), (ss, 60)] {
        if part.len() != 2 || part.parse::<u32>().ok()? > max {
            return None;
        }
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let ms: String = frac.chars().chain("000".chars()).take(3).collect();
    out.push_str(&format!("T{hh}:{mm}:{ss}.{ms}"));
    if fixed {
        out.push('Z');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parses_adds_and_prints_without_exponent() {
        let a = Decimal::parse("69762952251").unwrap();
        let b = Decimal::parse("7663504285").unwrap();
        assert_eq!(a.checked_add(b).unwrap().to_string(), "77426456536");
        assert_eq!(Decimal::parse("-122.349303056792").unwrap().to_string(), "-122.349303056792");
        assert_eq!(Decimal::parse("-1.0").unwrap().to_string(), "-1");
        assert_eq!(Decimal::parse("0.000000000").unwrap().to_string(), "0");
        assert_eq!(Decimal::parse("1e3").unwrap().to_string(), "1000");
        assert_eq!(Decimal::parse(".05").unwrap().to_string(), "0.05");
        assert!(Decimal::parse("REDACTED").is_none());
        assert!(Decimal::parse("-").is_none());
        assert!(Decimal::parse("2.5").unwrap() > Decimal::parse("2.49").unwrap());
    }

    #[test]
    fn timestamps_normalize_from_literal_spellings() {
        for s in ["2024-03-01", "2024-03-01T00:00:00", "2024-03-01T00:00:00.000", "2024-03-01 00:00"] {
            assert_eq!(normalize_timestamp(s, false).as_deref(), Some("2024-03-01T00:00:00.000"), "{s}");
        }
        assert_eq!(normalize_timestamp("2026-11-01T10:00:00.123Z", true).as_deref(), Some("2026-11-01T10:00:00.123Z"));
        assert!(normalize_timestamp("2024-13-01", false).is_none());
        assert!(normalize_timestamp("yesterday", false).is_none());
    }
}
