//! Building a lake row ([`CanonicalRow`]) from the source's text values.
//!
//! Every SODA value arrives as a string; CSV exports are text too. Placeholders become NULL here (and only here)
//! so the lake holds one spelling of "unknown": `"-"` and empty strings in any text column; `"REDACTED"` in
//! block_address, reporting_area and the coordinates; coordinates `-1` and `0` in any spelling. Other dirty values
//! are kept as published (staging cleans them). A value that cannot be parsed makes the whole row a
//! [`Rejected`] row with a reason, so it is quarantined rather than silently nulled.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::batch::{to_micros, Cell};
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
            let missing = |c: usize| matches!(self.values[c], Value::Null);
            self.error = missing_required(missing(col::OFFENSE_ID), missing(col::REPORT_DATE_TIME)).map(String::from);
        }
        if let Some(reason) = self.error {
            return Err(Rejected { reason, row: raw() });
        }
        if !self.extras.is_empty() {
            self.values[col::EXTRA_COLUMNS] = Value::Text(extras_json(&self.extras));
        }
        Ok(CanonicalRow { values: self.values })
    }
}

/// Why a row whose values all parsed must still be quarantined: it has no offense id or no report date.
pub fn missing_required(offense_id_missing: bool, report_date_missing: bool) -> Option<&'static str> {
    if offense_id_missing {
        Some("offense_id is missing (it is the row key; the row cannot be kept)")
    } else if report_date_missing {
        Some("report_date_time is missing (it decides the report month)")
    } else {
        None
    }
}

/// The `extra_columns` text of a row's unknown columns: a BTreeMap is ordered by key, so the same row always
/// gives the same text.
pub fn extras_json(extras: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(extras).unwrap_or_default()
}

/// Parses one source value for lake column `column`.
pub fn parse_value(column: usize, raw: &str) -> Result<Value, String> {
    parse_cell(column, raw).map(|c| c.to_value())
}

/// Parses one source value for lake column `column` into a cell that borrows the text from `raw` (the page
/// decoder's path: no allocation per value).
pub fn parse_cell(column: usize, raw: &str) -> Result<Cell<'_>, String> {
    let t = raw.trim();
    if t.is_empty() || t == "-" {
        return Ok(Cell::Null);
    }
    let redactable = matches!(column, col::BLOCK_ADDRESS | col::REPORTING_AREA | col::LATITUDE | col::LONGITUDE);
    if redactable && t.eq_ignore_ascii_case("REDACTED") {
        return Ok(Cell::Null);
    }
    match COLUMNS[column].1 {
        ColumnKind::Text => Ok(Cell::Text(Cow::Borrowed(t))),
        ColumnKind::Timestamp => timestamp_micros(t)
            .map(Cell::Timestamp)
            .ok_or_else(|| format!("{} {raw:?} is not a timestamp", COLUMNS[column].0)),
        ColumnKind::Double => {
            let name = COLUMNS[column].0;
            let x: f64 = t.parse().map_err(|_| format!("{name} {raw:?} is not a number"))?;
            if !x.is_finite() {
                return Err(format!("{name} {raw:?} is not a finite number"));
            }
            // -1 and 0 are SPD's "location withheld" coordinates.
            if x == 0.0 || x == -1.0 {
                Ok(Cell::Null)
            } else {
                Ok(Cell::Double(x))
            }
        }
    }
}

/// [`parse_timestamp`] as the lake stores it (microseconds of a zone-less time), the API's own spelling read
/// without building a date on the way: four timestamps per row make this a visible share of a backfill.
pub fn timestamp_micros(raw: &str) -> Option<i64> {
    let t = raw.trim();
    let t = t.strip_suffix('Z').unwrap_or(t);
    iso_micros(t.as_bytes()).or_else(|| parse_timestamp(t).map(to_micros))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f…]` → microseconds since 1970-01-01T00:00:00 (fractions below a microsecond
/// dropped, as chrono's `timestamp_micros` drops them); `None` for any other spelling or an impossible date.
fn iso_micros(b: &[u8]) -> Option<i64> {
    let [y, m, d, hh, mm, ss, nanos] = iso_fields(b)?.map(i64::from);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3_600 + mm * 60 + ss) * 1_000_000 + nanos / 1_000)
}

/// The API's own spelling, `YYYY-MM-DD[T ]HH:MM:SS[.f…]`, read byte by byte: every row has four timestamps, and
/// trying chrono's format strings one after another was a visible share of ingest time. Anything else (or an
/// impossible date) returns `None` and goes through the general formats, so the result never differs from them.
fn parse_iso(b: &[u8]) -> Option<NaiveDateTime> {
    let [y, m, d, hh, mm, ss, nanos] = iso_fields(b)?;
    let date = chrono::NaiveDate::from_ymd_opt(y as i32, m, d)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(hh, mm, ss, nanos)?;
    Some(date.and_time(time))
}

/// The numbers of `YYYY-MM-DD[T ]HH:MM:SS[.f…]` — year, month, day, hour, minute, second, nanosecond — not yet
/// checked to be a real date and time; `None` for any other spelling.
fn iso_fields(b: &[u8]) -> Option<[u32; 7]> {
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
    let (y, m, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    Some([y, m, d, num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?, nanos])
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
    fn microseconds_read_straight_from_the_text_agree_with_chrono() {
        let mut checked = 0;
        for date in ["2024-02-29", "2023-02-29", "1999-12-31", "1900-03-01", "1969-12-31", "1970-01-01", "0001-01-01"] {
            for date in [date.to_string(), date.replace("-12-", "-13-"), date.replace("-01", "-00")] {
                for time in ["00:00:00", "23:59:59", "12:30:60", "24:00:00", "07:05:09"] {
                    for frac in ["", ".5", ".000", ".123456", ".1234567", ".123456789", ".1234567891", "."] {
                        let t = format!("{date}T{time}{frac}");
                        let chrono = parse_timestamp(&t).map(to_micros);
                        assert_eq!(timestamp_micros(&t), chrono, "{t}");
                        if let Some(fast) = iso_micros(t.as_bytes()) {
                            assert_eq!(Some(fast), chrono, "{t}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        // 13 of the 21 dates are real (the variants repeat some), × 3 real times × 6 readable fractions.
        assert_eq!(checked, 13 * 3 * 6);
        assert_eq!(timestamp_micros(" 2026-11-01T10:00:00.123Z "), Some(1_793_527_200_123_000));
        assert_eq!(
            timestamp_micros("12/01/2020 06:35:48 PM"),
            parse_timestamp("12/01/2020 06:35:48 PM").map(to_micros)
        );
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
