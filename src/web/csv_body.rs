//! The `format=csv` bodies, made safe to open in a spreadsheet.
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or carriage return) as
//! a formula, so a source value such as `=HYPERLINK("http://…","click")` in an area or offense name would become
//! a live link or worse on the reader's machine. As OWASP recommends, such a cell is written with a leading `'`,
//! which spreadsheets show as the plain text it is.
//!
//! Only text cells are escaped: a cell is text when the row's field serializes as a string. Numbers (counts, a
//! year-over-year change of `-3.5`) serialize as numbers and are written as they are, so they stay numbers in the
//! sheet; the decision is by the field's type, never by what the value looks like.

use serde::Serialize;
use serde_json::Value;

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `rows` as CSV with a header line (the fields in declaration order), text cells escaped.
pub fn render<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let names = header(first)?;
    w.write_record(&names).map_err(|e| e.to_string())?;
    for row in rows {
        let Value::Object(fields) = serde_json::to_value(row).map_err(|e| e.to_string())? else {
            return Err("a CSV row is not a struct".to_string());
        };
        let cells: Vec<String> = names.iter().map(|name| cell(fields.get(name).unwrap_or(&Value::Null))).collect();
        w.write_record(&cells).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// The row's field names in declaration order, as the `csv` crate writes them (JSON objects here are sorted).
fn header<T: Serialize>(row: &T) -> Result<Vec<String>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(row).map_err(|e| e.to_string())?;
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    Ok(r.headers().map_err(|e| e.to_string())?.iter().map(str::to_string).collect())
}

/// One cell: text escaped, numbers and booleans as written, null empty.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => escape_text(s),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A text cell as a spreadsheet should see it: prefixed with `'` when it would start a formula.
pub fn escape_text(text: &str) -> String {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        area: String,
        count: i64,
        yoy_pct: Option<f64>,
        polygon: Option<&'static str>,
    }

    #[test]
    fn formula_text_is_escaped_and_negative_numbers_stay_numbers() {
        let rows = [
            Row { area: "=HYPERLINK(\"http://x\",\"y\")".into(), count: 3, yoy_pct: Some(-3.5), polygon: None },
            Row { area: "-1".into(), count: -2, yoy_pct: None, polygon: Some("@home") },
            Row { area: "FREMONT".into(), count: 0, yoy_pct: Some(10.0), polygon: Some("FREMONT") },
            Row { area: "\tx".into(), count: 1, yoy_pct: Some(0.1), polygon: Some("+1") },
        ];
        let text = String::from_utf8(render(&rows).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "area,count,yoy_pct,polygon", "fields in declaration order");
        assert_eq!(lines[1], r#""'=HYPERLINK(""http://x"",""y"")",3,-3.5,"#);
        assert_eq!(lines[2], "'-1,-2,,'@home");
        assert_eq!(lines[3], "FREMONT,0,10.0,FREMONT");
        assert_eq!(lines[4], "'\tx,1,0.1,'+1");
    }

    #[test]
    fn numbers_are_written_as_the_csv_writer_writes_them() {
        let rows = [Row { area: "A".into(), count: 1234567, yoy_pct: Some(-33.3), polygon: None }];
        let mut plain = csv::Writer::from_writer(Vec::new());
        plain.serialize(&rows[0]).unwrap();
        assert_eq!(render(&rows).unwrap(), plain.into_inner().unwrap());
    }
}
