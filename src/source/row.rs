//! Building a lake row ([`CanonicalRow`]) from the source's text values.
//!
//! Every SODA value arrives as a string; CSV exports are text too. Placeholders become NULL here (and only here)
//! so the lake holds one spelling of "unknown": `"-"` and empty strings in any text column; `"REDACTED"` in
//! block_address, reporting_area and the coordinates; coordinates `-1` and `0` in any spelling. Other dirty values
//! are kept as published (staging cleans them). A value that cannot be parsed makes the whole row a
//! [`Rejected`] row with a reason, so it is quarantined rather than silently nulled.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::row::{col, CanonicalRow, ColumnKind, Value, COLUMNS};
use crate::domain::SourceKind;

/// A row that could not be parsed: why, and the row as the source gave it (written to `_quarantine.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub reason: String,
    pub row: serde_json::Map<String, serde_json::Value>,
}

/// Collects one source row's fields, then checks and types them.
pub struct RowBuilder {
    values: Vec<Value>,
    extras: std::collections::BTreeMap<String, String>,
    error: Option<String>,
}

impl RowBuilder {
    pub fn new(kind: SourceKind) -> RowBuilder {
        let mut values = vec![Value::Null; COLUMNS.len()];
        values[col::SOURCE_KIND] = Value::Text(kind.as_str().to_string());
        RowBuilder { values, extras: Default::default(), error: None }
    }

    /// Sets lake column `column` from the source's text `raw`, applying the placeholder rules.
    pub fn set(&mut self, column: usize, raw: &str) {
        match parse_value(column, raw) {
            Ok(v) => self.values[column] = v,
            Err(reason) => {
                if self.error.is_none() {
                    self.error = Some(reason);
                }
            }
        }
    }

    /// Keeps a source column the canonical schema does not know, as text.
    pub fn extra(&mut self, name: &str, raw: String) {
        self.extras.insert(name.to_string(), raw);
    }

    pub fn set_row_id(&mut self, id: &str) {
        self.values[col::SOURCE_ROW_ID] = Value::Text(id.to_string());
    }

    pub fn set_updated_at(&mut self, raw: &str) {
        match parse_timestamp(raw) {
            Some(t) => self.values[col::SOURCE_UPDATED_AT] = Value::Timestamp(t),
            None => {
                if self.error.is_none() {
                    self.error = Some(format!(":updated_at {raw:?} is not a timestamp"));
                }
            }
        }
    }

    /// The typed row, or why it must be quarantined. `raw` is called only for rejected rows.
    pub fn finish(
        mut self,
        raw: impl FnOnce() -> serde_json::Map<String, serde_json::Value>,
    ) -> Result<CanonicalRow, Rejected> {
        if self.error.is_none() {
            if matches!(self.values[col::OFFENSE_ID], Value::Null) {
                self.error = Some("offense_id is missing (it is the row key; the row cannot be kept)".into());
            } else if matches!(self.values[col::REPORT_DATE_TIME], Value::Null) {
                self.error = Some("report_date_time is missing (it decides the report month)".into());
            }
        }
        if let Some(reason) = self.error {
            return Err(Rejected { reason, row: raw() });
        }
        if !self.extras.is_empty() {
            // A BTreeMap is ordered by key, so the same row always gives the same text.
            let text = serde_json::to_string(&self.extras).unwrap_or_default();
            self.values[col::EXTRA_COLUMNS] = Value::Text(text);
        }
        Ok(CanonicalRow { values: self.values })
    }
}

/// Parses one source value for lake column `column`.
pub fn parse_value(column: usize, raw: &str) -> Result<Value, String> {
    let name = COLUMNS[column].0;
    let t = raw.trim();
    if t.is_empty() || t == "-" {
        return Ok(Value::Null);
    }
    let redactable = matches!(column, col::BLOCK_ADDRESS | col::REPORTING_AREA | col::LATITUDE | col::LONGITUDE);
    if redactable && t.eq_ignore_ascii_case("REDACTED") {
        return Ok(Value::Null);
    }
    match COLUMNS[column].1 {
        ColumnKind::Text => Ok(Value::Text(t.to_string())),
        ColumnKind::Timestamp => {
            parse_timestamp(t).map(Value::Timestamp).ok_or_else(|| format!("{name} {raw:?} is not a timestamp"))
        }
        ColumnKind::Double => {
            let x: f64 = t.parse().map_err(|_| format!("{name} {raw:?} is not a number"))?;
            if !x.is_finite() {
                return Err(format!("{name} {raw:?} is not a finite number"));
            }
            // -1 and 0 are SPD's "location withheld" coordinates.
            if x == 0.0 || x == -1.0 {
                Ok(Value::Null)
            } else {
                Ok(Value::Double(x))
            }
        }
    }
}

/// The API's own spelling, `YYYY-MM-DD[T ]HH:MM:SS[.f…]`, read byte by byte: every row has four timestamps, and
/// trying chrono's format strings one after another was a visible share of ingest time. Anything else (or an
/// impossible date) returns `None` and goes through the general formats, so the result never differs from them.
fn parse_iso(b: &[u8]) -> Option<NaiveDateTime> {
    fn num(b: &[u8]) -> Option<u32> {
        b.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    }
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => num(frac)? * 10u32.pow(9 - frac.len() as u32),
        _ => return None,
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?, nanos)?;
    Some(date.and_time(time))
}

/// Timestamp spellings the source uses, all floating (no zone):
/// API `2022-04-16T00:00:00.000`, reformatted `2023-12-31 00:32:25`, old exports `12/01/2020 06:35:48 PM`,
/// 2026 exports `2025 Dec 01 09:15:21 PM`. `:updated_at` carries a trailing `Z` (UTC), which is dropped.
pub fn parse_timestamp(raw: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 9] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M %p",
        "%Y %b %d %I:%M:%S %p",
    ];
    let t = raw.trim();
    let t = t.strip_suffix('Z').unwrap_or(t);
    if let Some(x) = parse_iso(t.as_bytes()) {
        return Some(x);
    }
    if let Some(x) = FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(t, f).ok()) {
        return Some(x);
    }
    // A bare date (some exports drop midnight times).
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(t, "%m/%d/%Y"))
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn ts(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, s).unwrap()
    }

    #[test]
    fn every_timestamp_spelling_parses_to_the_same_local_time() {
        let want = ts(2025, 12, 1, 21, 15, 21);
        for s in [
            "2025-12-01T21:15:21.000",
            "2025-12-01T21:15:21",
            "2025-12-01 21:15:21",
            "12/01/2025 09:15:21 PM",
            "2025 Dec 01 09:15:21 PM",
            "2025-12-01T21:15:21.000Z",
        ] {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
        assert_eq!(parse_timestamp("12/01/2020 12:05:00 AM"), Some(ts(2020, 12, 1, 0, 5, 0)));
        assert_eq!(parse_timestamp("1900-01-01"), Some(ts(1900, 1, 1, 0, 0, 0)));
        assert_eq!(parse_timestamp("2025-12-01T21:15:21.5"), Some(want + chrono::Duration::milliseconds(500)));
        assert_eq!(parse_timestamp("2025-12-01 21:15:21.000123"), Some(want + chrono::Duration::microseconds(123)));
        for bad in [
            "",
            "yesterday",
            "2025-13-01T00:00:00",
            "2025 Foo 01 09:15:21 PM",
            "2025-02-30T00:00:00",
            "2025-12-01T21:15:21.",
            "2025-12-01T25:15:21",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_fast_iso_reader_agrees_with_the_general_formats() {
        let general = |t: &str| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        };
        let mut checked = 0;
        for date in ["2024-02-29", "2023-02-29", "1999-12-31", "2026-00-10", "2026-11-31", "0001-01-01"] {
            for time in ["00:00:00", "23:59:59", "12:30:61", "24:00:00", "07:05:09"] {
                for frac in ["", ".0", ".000", ".123456", ".123456789", ".1234567891", ".", ".12a"] {
                    for sep in ['T', ' '] {
                        let t = format!("{date}{sep}{time}{frac}");
                        if let Some(fast) = parse_iso(t.as_bytes()) {
                            assert_eq!(Some(fast), general(&t), "{t}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 90, "3 real dates × 3 real times × 5 fractions × 2 separators");
    }

    #[test]
    fn placeholders_become_null_and_dirt_is_kept() {
        assert_eq!(parse_value(col::LATITUDE, "-1.0"), Ok(Value::Null));
        assert_eq!(parse_value(col::LATITUDE, "0.000000000"), Ok(Value::Null));
        assert_eq!(parse_value(col::LONGITUDE, "0"), Ok(Value::Null));
        assert_eq!(parse_value(col::LATITUDE, "REDACTED"), Ok(Value::Null));
        assert_eq!(parse_value(col::LATITUDE, "89.99998854"), Ok(Value::Double(89.99998854)));
        assert_eq!(parse_value(col::BLOCK_ADDRESS, "REDACTED"), Ok(Value::Null));
        assert_eq!(parse_value(col::REPORTING_AREA, "REDACTED"), Ok(Value::Null));
        assert_eq!(parse_value(12, "-"), Ok(Value::Null)); // beat
        assert_eq!(parse_value(13, ""), Ok(Value::Null)); // precinct
        assert_eq!(parse_value(13, "UNKNOWN"), Ok(Value::Text("UNKNOWN".into())));
        assert_eq!(parse_value(14, "99"), Ok(Value::Text("99".into())));
        // REDACTED is only a placeholder where SPD uses it; elsewhere it is data.
        assert_eq!(parse_value(15, "REDACTED"), Ok(Value::Text("REDACTED".into())));
        assert!(parse_value(col::LATITUDE, "north").unwrap_err().contains("latitude"));
        assert!(parse_value(col::OFFENSE_DATE, "soon").unwrap_err().contains("offense_date"));
    }

    #[test]
    fn rows_without_key_or_report_date_are_rejected_with_a_reason() {
        let mut b = RowBuilder::new(SourceKind::Soda);
        b.set(col::REPORT_NUMBER, "2022-1");
        b.set(col::REPORT_DATE_TIME, "2022-04-16T00:00:00.000");
        let r = b.finish(serde_json::Map::new).unwrap_err();
        assert!(r.reason.contains("offense_id"), "{}", r.reason);

        let mut b = RowBuilder::new(SourceKind::Soda);
        b.set(col::OFFENSE_ID, "1");
        b.set(col::REPORT_DATE_TIME, "not a date");
        let r = b.finish(serde_json::Map::new).unwrap_err();
        assert!(r.reason.contains("report_date_time"), "{}", r.reason);

        let mut b = RowBuilder::new(SourceKind::Csv);
        b.set(col::OFFENSE_ID, "1");
        b.set(col::REPORT_DATE_TIME, "2022-04-16T00:00:00.000");
        b.extra("zeta", "z".into());
        b.extra("census_block_2020", "6400.3016".into());
        let row = b.finish(serde_json::Map::new).unwrap();
        assert_eq!(row.get(col::EXTRA_COLUMNS).as_text(), Some(r#"{"census_block_2020":"6400.3016","zeta":"z"}"#));
        assert_eq!(row.get(col::SOURCE_KIND).as_text(), Some("csv"));
    }
}
