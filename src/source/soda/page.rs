//! A page of rows (SODA's JSON array of row objects) decoded straight into the lake's Arrow columns.
//!
//! A backfill reads every byte of about a gigabyte of JSON, so this is a scanner made for SODA's pages rather
//! than a general JSON library: rows are flat objects whose values are strings, their fields come in the same
//! order row after row, and most strings have no escapes. So each field name is compared with the one seen at
//! the same position in the row before (no lookup), a string without escapes is borrowed from the body (its
//! UTF-8 checked once for the whole page), and values go from text to a typed cell to the column's Arrow builder
//! without an allocation. Measured on generated pages (`benches/pipeline`): serde_json with borrowed strings
//! parsed them at ~440 MB/s, sonic-rs at ~720 MB/s, simd-json (which must copy the body first) at ~240 MB/s,
//! this scanner at ~1 GB/s — and it adds no dependency. Anything rarer (numbers, nested values, `null`) is read
//! the general way.
//!
//! One bad row is one quarantined row. A value that is not valid UTF-8, a lone surrogate escape (`"\ud800"`), a
//! raw control character or a row object that is not well-formed JSON rejects that row alone, with a reason
//! naming the field and the byte; the scan picks up again after the row's closing brace. Only a body whose rows
//! cannot be told apart fails the page: one that ends before its array does may have been cut short on the way
//! ([`MalformedPage::cut_short`], worth asking again); any other (not an array, bytes after it) is the server's
//! fault, never something to retry as if it were busy.

use std::borrow::Cow;
use std::collections::BTreeMap;

use arrow_array::RecordBatch;

use crate::domain::batch::{Cell, LakeBatchBuilder};
use crate::domain::row::{col, COLUMNS};
use crate::domain::SourceKind;
use crate::source::row::{extras_json, missing_required, parse_cell, timestamp_micros, Rejected};
use crate::source::schema::SourceSchema;

/// A page decoded: its kept rows as one Arrow batch in the lake's schema, and the rows to quarantine.
#[derive(Debug)]
pub struct DecodedPage {
    pub batch: RecordBatch,
    pub rejected: Vec<Rejected>,
    /// Row objects in the page, kept and rejected (the server's count of the page).
    pub rows: u64,
}

/// A body whose rows cannot be told apart: it is not a JSON array of row objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset} of the page")]
pub struct MalformedPage {
    pub offset: usize,
    pub message: String,
    /// The body ended before its array of rows did, so it may have been cut short on the way: worth another
    /// request. A body that ends where it should but is wrong would only come back the same.
    pub cut_short: bool,
}

/// Decodes one page (a JSON array of row objects) into lake columns, quarantining the rows that cannot be kept.
pub fn decode_page(schema: &SourceSchema, body: &[u8]) -> Result<DecodedPage, MalformedPage> {
    let mut d = PageDecoder {
        schema,
        b: body,
        utf8: std::str::from_utf8(body).is_ok(),
        keys: Vec::with_capacity(32),
        out: LakeBatchBuilder::with_capacity(body.len() / 700 + 1, 300),
        rejected: Vec::new(),
        rows: 0,
    };
    d.run()?;
    let batch =
        d.out.finish().map_err(|e| MalformedPage { offset: body.len(), message: e.to_string(), cut_short: false })?;
    Ok(DecodedPage { batch, rejected: d.rejected, rows: d.rows })
}

/// What a source field means for the lake row.
#[derive(Debug, Clone, Copy)]
enum KeyUse {
    RowId,
    UpdatedAt,
    System,
    Column(usize),
    Extra,
}

fn key_use(schema: &SourceSchema, key: &str) -> KeyUse {
    match key {
        ":id" => KeyUse::RowId,
        ":updated_at" => KeyUse::UpdatedAt,
        k if k.starts_with(':') => KeyUse::System,
        k => match schema.mapping.get(k) {
            Some(&c) if c <= col::LAST_SOURCE => KeyUse::Column(c),
            _ => KeyUse::Extra,
        },
    }
}

/// The field name last seen at one position of a row object: its bytes as sent, decoded, and its meaning.
struct CachedKey {
    raw: Vec<u8>,
    name: String,
    usage: KeyUse,
}

/// Why a string cannot be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BadString {
    InvalidUtf8 { offset: usize, byte: u8 },
    LoneSurrogate { offset: usize, unit: u16 },
    BadEscape { offset: usize },
    Control { offset: usize, byte: u8 },
}

impl std::fmt::Display for BadString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadString::InvalidUtf8 { offset, byte } => {
                write!(f, "invalid UTF-8 (byte 0x{byte:02X} at byte {offset} of the page)")
            }
            BadString::LoneSurrogate { offset, unit } => write!(
                f,
                "the escape \\u{unit:04x} is half of a UTF-16 surrogate pair without its other half, so no character (at byte {offset} of the page)"
            ),
            BadString::BadEscape { offset } => write!(f, "an invalid escape (at byte {offset} of the page)"),
            BadString::Control { offset, byte } => write!(
                f,
                "a raw control character 0x{byte:02X}, which JSON strings must escape (at byte {offset} of the page)"
            ),
        }
    }
}

/// A row object that is not well-formed JSON (the scan goes on after its closing brace).
struct BadRow {
    offset: usize,
    message: &'static str,
}

/// A string token: its content between the quotes, and what the scan saw inside.
#[derive(Clone, Copy)]
struct StrToken {
    start: usize,
    end: usize,
    escaped: bool,
    control: Option<usize>,
}

/// Bytes that end a run of plain string content: the closing quote, an escape, a control character.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// Scans a string whose opening quote is at `i - 1`; returns the token and the index after its closing quote,
/// or `None` when the body ends first.
fn scan_string(b: &[u8], i: usize) -> Option<(StrToken, usize)> {
    let mut t = StrToken { start: i, end: i, escaped: false, control: None };
    let mut j = i;
    loop {
        while j < b.len() && !STOP[b[j] as usize] {
            j += 1;
        }
        match b.get(j)? {
            b'"' => {
                t.end = j;
                return Some((t, j + 1));
            }
            b'\\' => {
                t.escaped = true;
                j += 2;
            }
            _ => {
                t.control.get_or_insert(j);
                j += 1;
            }
        }
    }
}

/// The index after the object or array that starts at `start` (strings skipped), or `None` if it never ends.
fn find_value_end(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = start;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = scan_string(b, j + 1)?.1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// The text of a string token. Strict: the first problem is an error. Lossy (for quarantined rows): problems
/// become U+FFFD.
fn decode_string<'b>(b: &'b [u8], t: StrToken, utf8: bool, lossy: bool) -> Result<Cow<'b, str>, BadString> {
    if let (Some(offset), false) = (t.control, lossy) {
        return Err(BadString::Control { offset, byte: b[offset] });
    }
    let bytes = &b[t.start..t.end];
    if !t.escaped {
        return run_text(bytes, t.start, utf8, lossy);
    }
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().position(|&c| c == b'\\').map_or(bytes.len(), |k| i + k);
        out.push_str(&run_text(&bytes[i..run], t.start + i, utf8, lossy)?);
        if run == bytes.len() {
            break;
        }
        let at = t.start + run;
        let (c, used) = match unescape(&bytes[run..], at) {
            Ok(x) => x,
            Err(_) if lossy => ('\u{FFFD}', escape_len(&bytes[run..])),
            Err(e) => return Err(e),
        };
        out.push(c);
        i = run + used;
    }
    Ok(Cow::Owned(out))
}

/// A run of string content without escapes, as text.
fn run_text(bytes: &[u8], offset: usize, utf8: bool, lossy: bool) -> Result<Cow<'_, str>, BadString> {
    if utf8 {
        // SAFETY: the whole body is valid UTF-8 (checked once in `decode_page`), and this run starts and ends at
        // ASCII bytes (a quote, a backslash or an escape's last character) or the body's ends, which never fall
        // inside a multi-byte character — so the run is valid UTF-8 too.
        return Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) }));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(_) if lossy => Ok(String::from_utf8_lossy(bytes)),
        Err(e) => {
            let at = e.valid_up_to();
            Err(BadString::InvalidUtf8 { offset: offset + at, byte: bytes[at] })
        }
    }
}

/// How many bytes the escape at the start of `s` takes, for skipping a bad one.
fn escape_len(s: &[u8]) -> usize {
    if s.get(1) == Some(&b'u') {
        6.min(s.len())
    } else {
        2.min(s.len())
    }
}

/// The character of the escape at the start of `s` (which begins with a backslash) and its length in bytes; a
/// `\u` high surrogate takes the low one that must follow.
fn unescape(s: &[u8], offset: usize) -> Result<(char, usize), BadString> {
    let simple = match s.get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let unit = hex4(s.get(2..6)).ok_or(BadString::BadEscape { offset })?;
            return match unit {
                0xD800..=0xDBFF => {
                    let low = (s.get(6..8) == Some(b"\\u")).then(|| hex4(s.get(8..12))).flatten();
                    match low {
                        Some(low @ 0xDC00..=0xDFFF) => {
                            let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                            char::from_u32(c).map(|c| (c, 12)).ok_or(BadString::LoneSurrogate { offset, unit })
                        }
                        _ => Err(BadString::LoneSurrogate { offset, unit }),
                    }
                }
                0xDC00..=0xDFFF => Err(BadString::LoneSurrogate { offset, unit }),
                _ => char::from_u32(u32::from(unit)).map(|c| (c, 6)).ok_or(BadString::BadEscape { offset }),
            };
        }
        _ => return Err(BadString::BadEscape { offset }),
    };
    Ok((simple, 2))
}

fn hex4(s: Option<&[u8]>) -> Option<u16> {
    let s = std::str::from_utf8(s?).ok()?;
    if s.len() != 4 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(s, 16).ok()
}

/// One row object being read: its cells, unknown fields and the first reason to reject it.
struct RowCells<'b> {
    cells: [Cell<'b>; COLUMNS.len()],
    extras: BTreeMap<String, String>,
    error: Option<String>,
}

impl<'b> RowCells<'b> {
    fn new() -> RowCells<'b> {
        let mut cells: [Cell<'b>; COLUMNS.len()] = std::array::from_fn(|_| Cell::Null);
        cells[col::SOURCE_KIND] = Cell::Text(Cow::Borrowed(SourceKind::Soda.as_str()));
        RowCells { cells, extras: BTreeMap::new(), error: None }
    }

    fn reject(&mut self, reason: impl FnOnce() -> String) {
        if self.error.is_none() {
            self.error = Some(reason());
        }
    }

    /// Applies one field (a later repeat of a name wins, as in any JSON object).
    fn set(&mut self, usage: KeyUse, name: &str, text: Cow<'b, str>) {
        match usage {
            KeyUse::RowId => self.cells[col::SOURCE_ROW_ID] = Cell::Text(text),
            KeyUse::UpdatedAt => match timestamp_micros(&text) {
                Some(t) => self.cells[col::SOURCE_UPDATED_AT] = Cell::Timestamp(t),
                None => self.reject(|| format!(":updated_at {:?} is not a timestamp", text.as_ref())),
            },
            KeyUse::System => {}
            KeyUse::Column(c) => match cell(c, text) {
                Ok(v) => self.cells[c] = v,
                Err(reason) => self.reject(|| reason),
            },
            KeyUse::Extra => {
                self.extras.insert(name.to_string(), text.into_owned());
            }
        }
    }
}

/// A field as a reason names it: the lake column it fills, else its own name.
fn field_label(usage: KeyUse, name: &str) -> String {
    match usage {
        KeyUse::Column(c) => COLUMNS[c].0.to_string(),
        KeyUse::RowId => ":id".to_string(),
        KeyUse::UpdatedAt => ":updated_at".to_string(),
        KeyUse::Extra => name.to_string(),
        KeyUse::System => "a system field".to_string(),
    }
}

/// [`parse_cell`] for text that is either borrowed from the page or decoded into a string of its own.
fn cell(column: usize, text: Cow<'_, str>) -> Result<Cell<'_>, String> {
    match text {
        Cow::Borrowed(t) => parse_cell(column, t),
        Cow::Owned(t) => parse_cell(column, &t).map(|c| match c {
            Cell::Text(t) => Cell::Text(Cow::Owned(t.into_owned())),
            Cell::Null => Cell::Null,
            Cell::Timestamp(x) => Cell::Timestamp(x),
            Cell::Double(x) => Cell::Double(x),
        }),
    }
}

struct PageDecoder<'s, 'b> {
    schema: &'s SourceSchema,
    b: &'b [u8],
    /// The whole body is valid UTF-8, so strings need no check of their own.
    utf8: bool,
    /// Per position in a row object, the field name seen there last.
    keys: Vec<CachedKey>,
    out: LakeBatchBuilder,
    rejected: Vec<Rejected>,
    rows: u64,
}

impl<'b> PageDecoder<'_, 'b> {
    /// The page cannot be read at `offset`; when that is the body's end, the body may have been cut short.
    fn malformed(&self, offset: usize, message: &str) -> MalformedPage {
        MalformedPage { offset, message: message.to_string(), cut_short: offset >= self.b.len() }
    }

    /// The array of row objects, one row at a time.
    fn run(&mut self) -> Result<(), MalformedPage> {
        let b = self.b;
        let mut i = skip_ws(b, 0);
        if b.get(i) != Some(&b'[') {
            return Err(self.malformed(i, "expected '[': the page is not a JSON array of rows"));
        }
        i = skip_ws(b, i + 1);
        if b.get(i) == Some(&b']') {
            i += 1;
        } else {
            loop {
                if b.get(i) != Some(&b'{') {
                    return Err(self.malformed(i, "expected a row object ('{')"));
                }
                i = match self.row(i) {
                    Ok(end) => end,
                    Err(bad) => {
                        let end = find_value_end(b, i).ok_or_else(|| MalformedPage {
                            cut_short: true,
                            ..self.malformed(i, "a row object never ends")
                        })?;
                        let reason = format!(
                            "the row is not a well-formed JSON object: {} (at byte {} of the page)",
                            bad.message, bad.offset
                        );
                        self.quarantine(reason, i, end);
                        end
                    }
                };
                self.rows += 1;
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    Some(b']') => {
                        i += 1;
                        break;
                    }
                    _ => return Err(self.malformed(i, "expected ',' or ']' after a row")),
                }
            }
        }
        i = skip_ws(b, i);
        if i < b.len() {
            return Err(self.malformed(i, "unexpected bytes after the array of rows"));
        }
        Ok(())
    }

    /// Reads the row object starting at `start` (its `{`) into the batch or the quarantine; returns the index
    /// after its `}`. A well-formed row with a bad value is rejected here; a malformed one is the caller's.
    fn row(&mut self, start: usize) -> Result<usize, BadRow> {
        let b = self.b;
        let mut row = RowCells::new();
        let mut i = skip_ws(b, start + 1);
        let mut position = 0;
        if b.get(i) == Some(&b'}') {
            i += 1;
        } else {
            loop {
                if b.get(i) != Some(&b'"') {
                    return Err(BadRow { offset: i, message: "expected a field name" });
                }
                let (usage, name, after_key) = self.key(position, i + 1, &mut row)?;
                position += 1;
                i = skip_ws(b, after_key);
                if b.get(i) != Some(&b':') {
                    return Err(BadRow { offset: i, message: "expected ':' after a field name" });
                }
                i = skip_ws(b, i + 1);
                i = self.value(i, usage, &name, &mut row)?;
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    Some(b'}') => {
                        i += 1;
                        break;
                    }
                    _ => return Err(BadRow { offset: i, message: "expected ',' or '}' after a value" }),
                }
            }
        }
        self.finish_row(row, start, i);
        Ok(i)
    }

    /// The field name whose content starts at `i` (after its quote): its meaning, its name when the meaning needs
    /// it, and the index after its closing quote. The name at the same position of the previous row is tried
    /// first: SODA lists every row's fields in one order.
    fn key(
        &mut self,
        position: usize,
        i: usize,
        row: &mut RowCells<'b>,
    ) -> Result<(KeyUse, Cow<'static, str>, usize), BadRow> {
        let b = self.b;
        if let Some(k) = self.keys.get(position) {
            let end = i + k.raw.len();
            if b.get(end) == Some(&b'"') && b[i..].starts_with(&k.raw) {
                let name = match k.usage {
                    KeyUse::Extra => Cow::Owned(k.name.clone()),
                    _ => Cow::Borrowed(""),
                };
                return Ok((k.usage, name, end + 1));
            }
        }
        let (t, after) = scan_string(b, i).ok_or(BadRow { offset: i, message: "a field name never ends" })?;
        let name = match decode_string(b, t, self.utf8, false) {
            Ok(n) => n.into_owned(),
            Err(e) => {
                row.reject(|| format!("a field name holds {e}"));
                return Ok((KeyUse::System, Cow::Borrowed(""), after));
            }
        };
        let usage = key_use(self.schema, &name);
        let cached = CachedKey { raw: b[t.start..t.end].to_vec(), name: name.clone(), usage };
        if position < self.keys.len() {
            self.keys[position] = cached;
        } else if position == self.keys.len() {
            self.keys.push(cached);
        }
        Ok((usage, Cow::Owned(name), after))
    }

    /// Reads the value at `i` into `row`; returns the index after it.
    fn value(&mut self, i: usize, usage: KeyUse, name: &str, row: &mut RowCells<'b>) -> Result<usize, BadRow> {
        let b = self.b;
        match b.get(i) {
            Some(b'"') => {
                let (t, after) = scan_string(b, i + 1).ok_or(BadRow { offset: i, message: "a string never ends" })?;
                match decode_string(b, t, self.utf8, false) {
                    Ok(text) => row.set(usage, name, text),
                    Err(e) => row.reject(|| format!("{}: the value holds {e}", field_label(usage, name))),
                }
                Ok(after)
            }
            Some(b'n') if b[i..].starts_with(b"null") => Ok(i + 4),
            Some(b'{' | b'[') => {
                let end = find_value_end(b, i).ok_or(BadRow { offset: i, message: "a nested value never ends" })?;
                self.other(i, end, usage, name, row);
                Ok(end)
            }
            Some(b't' | b'f' | b'-' | b'0'..=b'9') => {
                let end = (i..b.len()).find(|&j| matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'));
                let end = end.ok_or(BadRow { offset: i, message: "a value never ends" })?;
                self.other(i, end, usage, name, row);
                Ok(end)
            }
            _ => Err(BadRow { offset: i, message: "expected a value" }),
        }
    }

    /// A value that is not a string (a number, `true`, a nested object): its JSON text is the text.
    fn other(&mut self, start: usize, end: usize, usage: KeyUse, name: &str, row: &mut RowCells<'b>) {
        match serde_json::from_slice::<serde_json::Value>(&self.b[start..end]) {
            Ok(v) => row.set(usage, name, Cow::Owned(v.to_string())),
            Err(e) => row.reject(|| format!("{}: the value is not JSON ({e})", field_label(usage, name))),
        }
    }

    /// Appends a read row to the batch, or quarantines it with its reason.
    fn finish_row(&mut self, mut row: RowCells<'b>, start: usize, end: usize) {
        if row.error.is_none() {
            let missing = |c: usize| matches!(row.cells[c], Cell::Null);
            row.error = missing_required(missing(col::OFFENSE_ID), missing(col::REPORT_DATE_TIME)).map(String::from);
        }
        if let Some(reason) = row.error.take() {
            self.quarantine(reason, start, end);
            return;
        }
        if !row.extras.is_empty() {
            row.cells[col::EXTRA_COLUMNS] = Cell::Text(Cow::Owned(extras_json(&row.extras)));
        }
        if let Err(e) = self.out.append_row(&row.cells) {
            self.quarantine(e.to_string(), start, end);
        }
    }

    fn quarantine(&mut self, reason: String, start: usize, end: usize) {
        self.rejected.push(Rejected { reason, row: raw_row(&self.b[start..end]) });
    }
}

/// A rejected row's fields as the source sent them, for the quarantine file: exactly, when the row is valid JSON;
/// else field by field with each bad byte or escape replaced by U+FFFD, and whatever cannot be split into fields
/// kept as text under `"(unparsed)"`.
fn raw_row(span: &[u8]) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value as J;
    if let Ok(map) = serde_json::from_slice(span) {
        return map;
    }
    let mut map = serde_json::Map::new();
    let lossy = |t: StrToken| decode_string(span, t, false, true).map(Cow::into_owned).unwrap_or_default();
    let mut i = skip_ws(span, 1);
    let rest = |i: usize| J::String(String::from_utf8_lossy(&span[i.min(span.len())..]).into_owned());
    while span.get(i) == Some(&b'"') {
        let Some((k, after)) = scan_string(span, i + 1) else { break };
        let key = lossy(k);
        i = skip_ws(span, after);
        if span.get(i) != Some(&b':') {
            break;
        }
        i = skip_ws(span, i + 1);
        let (value, end) = match span.get(i) {
            Some(b'"') => match scan_string(span, i + 1) {
                Some((t, after)) => (J::String(lossy(t)), after),
                None => break,
            },
            _ => {
                let end = match span.get(i) {
                    Some(b'{' | b'[') => find_value_end(span, i),
                    _ => (i..span.len()).find(|&j| matches!(span[j], b',' | b'}')),
                };
                let Some(end) = end else { break };
                let v = serde_json::from_slice(&span[i..end])
                    .unwrap_or_else(|_| J::String(String::from_utf8_lossy(&span[i..end]).into_owned()));
                (v, end)
            }
        };
        map.insert(key, value);
        i = skip_ws(span, end);
        if span.get(i) != Some(&b',') {
            break;
        }
        i = skip_ws(span, i + 1);
    }
    if skip_ws(span, i) + 1 < span.len() {
        map.insert("(unparsed)".into(), rest(i));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::batch::value_at;
    use crate::domain::Value;
    use crate::source::fields::NEW_API_FIELDS;

    fn new_schema() -> SourceSchema {
        SourceSchema::from_fields(&NEW_API_FIELDS).unwrap()
    }

    /// Row `r` of a decoded page's batch, as values.
    fn row(page: &DecodedPage, r: usize) -> Vec<Value> {
        (0..COLUMNS.len()).map(|c| value_at(&page.batch, r, c)).collect()
    }

    #[test]
    fn a_page_decodes_into_lake_columns_and_rejects_bad_rows() {
        let mut fields: Vec<&str> = NEW_API_FIELDS.to_vec();
        fields.push("census_block_2020");
        let schema = SourceSchema::from_fields(&fields).unwrap();
        let body = br#"[{":id":"row-1",":updated_at":"2026-01-02T03:04:05.678Z","report_number":"2026-906790","report_date_time":"2026-04-20T08:28:24.000","offense_id":"69762952251","latitude":"-1.0","longitude":"-122.33","block_address":"REDACTED","census_block_2020":"6400.3016","precinct":"North"},
        {":id":"row-2","offense_id":"1","report_date_time":"garbage"}]"#;
        let page = decode_page(&schema, body).unwrap();
        assert_eq!((page.rows, page.batch.num_rows(), page.rejected.len()), (2, 1, 1));
        let ok = row(&page, 0);
        assert_eq!(ok[col::SOURCE_ROW_ID], Value::Text("row-1".into()));
        assert_eq!(ok[col::LATITUDE], Value::Null);
        assert_eq!(ok[col::LONGITUDE], Value::Double(-122.33));
        assert_eq!(ok[col::BLOCK_ADDRESS], Value::Null);
        assert_eq!(ok[13], Value::Text("North".into()));
        assert_eq!(ok[col::EXTRA_COLUMNS], Value::Text(r#"{"census_block_2020":"6400.3016"}"#.into()));
        assert_eq!(ok[col::SOURCE_KIND], Value::Text("soda".into()));
        assert_eq!(
            ok[col::SOURCE_UPDATED_AT].as_timestamp().map(|t| t.to_string()),
            Some("2026-01-02 03:04:05.678".into())
        );
        let bad = &page.rejected[0];
        assert!(bad.reason.contains("report_date_time"), "{}", bad.reason);
        assert_eq!(bad.row.get(":id").and_then(|v| v.as_str()), Some("row-2"));
    }

    #[test]
    fn rows_with_other_key_orders_escapes_and_non_string_values_decode_alike() {
        let schema = new_schema();
        // Three spellings of one row: SODA's, keys reordered with an escaped string, and numbers instead of
        // strings with a nested value and a repeated key (the last one wins, as in a JSON object).
        let body = br#"[
        {":id":"r1","offense_id":"7","report_date_time":"2024-03-05T10:00:00.000","beat":"B2","latitude":"47.61","precinct":null},
        {"beat":"B\u0032","report_date_time":"2024-03-05T10:00:00.000","latitude":"47.61",":id":"r1","offense_id":"7"},
        {":id":"r1","offense_id":7,"report_date_time":"2024-03-05T10:00:00.000","beat":"X","beat":"B2","latitude":47.61,":@computed":{"a":[1]}}
        ]"#;
        let page = decode_page(&schema, body).unwrap();
        assert_eq!((page.rows, page.batch.num_rows()), (3, 3));
        let first = row(&page, 0);
        assert_eq!(first[12], Value::Text("B2".into()));
        assert_eq!(first[col::OFFENSE_ID], Value::Text("7".into()));
        assert_eq!(first[col::LATITUDE], Value::Double(47.61));
        for r in 1..3 {
            assert_eq!(row(&page, r), first, "row {r}");
        }
        // A rejected row keeps every field as sent, non-string values included.
        let bad =
            decode_page(&schema, br#"[{":id":"r9","offense_id":9,"report_date_time":"soon","x":{"y":1}}]"#).unwrap();
        let bad = &bad.rejected[0];
        assert_eq!(bad.row.get("offense_id"), Some(&serde_json::json!(9)));
        assert_eq!(bad.row.get("x"), Some(&serde_json::json!({"y": 1})));
        assert_eq!(bad.row.get("report_date_time"), Some(&serde_json::json!("soon")));
    }

    /// Issue 17, item 4: a lone surrogate, an invalid UTF-8 byte, a raw control character or a broken row object
    /// rejects that row alone, naming the field and the cause; the rows around it are kept.
    #[test]
    fn one_bad_string_or_broken_row_quarantines_that_row_alone() {
        let schema = new_schema();
        let good = |id: &str| {
            format!(r#"{{":id":"{id}","offense_id":"{id}","report_date_time":"2024-03-05T10:00:00.000","beat":"B2"}}"#)
        };
        let cases: [(&[u8], &str, &str); 6] = [
            (br#""beat":"B\ud800""#, "beat", "surrogate"),
            (b"\"beat\":\"B\xff2\"", "beat", "invalid UTF-8 (byte 0xFF"),
            (br#""beat":"B\udc00\u0041""#, "beat", "\\udc00"),
            (b"\"beat\":\"B\n2\"", "beat", "control character 0x0A"),
            (br#""beat":"B\q""#, "beat", "invalid escape"),
            (br#""beat" "B2""#, "not a well-formed JSON object", "expected ':'"),
        ];
        for (field, in_reason, detail) in cases {
            let mut body = format!("[{},\n", good("a")).into_bytes();
            body.extend_from_slice(br#"{":id":"bad","offense_id":"8","report_date_time":"2024-03-05T10:00:00.000","#);
            body.extend_from_slice(field);
            body.extend_from_slice(format!("}},{}]", good("c")).as_bytes());
            let page =
                decode_page(&schema, &body).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(field)));
            assert_eq!(
                (page.rows, page.batch.num_rows(), page.rejected.len()),
                (3, 2, 1),
                "{}",
                String::from_utf8_lossy(field)
            );
            assert_eq!(row(&page, 1)[col::SOURCE_ROW_ID], Value::Text("c".into()));
            let bad = &page.rejected[0];
            assert!(bad.reason.contains(in_reason) && bad.reason.contains(detail), "{}", bad.reason);
            assert_eq!(bad.row.get(":id").and_then(|v| v.as_str()), Some("bad"), "{:?}", bad.row);
        }
        // A valid pair of surrogate escapes is one character.
        let page = decode_page(
            &schema,
            br#"[{"offense_id":"1","report_date_time":"2024-03-05T10:00:00","beat":"\ud83d\ude93"}]"#,
        )
        .unwrap();
        assert_eq!(row(&page, 0)[12], Value::Text("\u{1F693}".into()));
    }

    #[test]
    fn a_body_whose_rows_cannot_be_told_apart_fails_the_page() {
        let schema = new_schema();
        // Whole but wrong: asking again would get the same body.
        for (body, says) in [
            (&b"<html>busy</html>"[..], "expected '['"),
            (br#"[{"offense_id":"1"} {"offense_id":"2"}]"#, "expected ',' or ']'"),
            (br#"[{"offense_id":"1"}] x"#, "after the array"),
            (br#"["row"]"#, "expected a row object"),
        ] {
            let err = decode_page(&schema, body).unwrap_err();
            assert!(err.to_string().contains(says) && !err.cut_short, "{err}");
        }
        // Ending before the array does: cut short on the way, worth another request.
        for (body, says) in [
            (&b""[..], "expected '['"),
            (br#"[{"offense_id":"1"},{"off"#, "never ends"),
            (br#"[{"offense_id":"1"},"#, "expected a row object"),
            (br#"[{"offense_id":"1"}"#, "expected ',' or ']'"),
        ] {
            let err = decode_page(&schema, body).unwrap_err();
            assert!(err.to_string().contains(says) && err.cut_short, "{err}");
        }
        let empty = decode_page(&schema, b" [ ]\n").unwrap();
        assert_eq!((empty.rows, empty.batch.num_rows()), (0, 0));
    }
}
