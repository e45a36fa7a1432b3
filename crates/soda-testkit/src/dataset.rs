//! The served data set in a compact column store: each column is a dictionary plus one `u32` code per row, so
//! 1.2M generated rows fit in a few hundred MB and the server never re-parses a value per request. Rows are
//! kept sorted by `:id`, which makes `$order=:id` paging free; timestamp columns get a lazily built sorted
//! index so month-range `$where`s touch only the rows in range.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

// Dictionary interning and identity matching want a fast hash, not resistance to hash flooding; a fixed seed
// keeps every run alike.
use foldhash::fast::FixedState;

use super::value::SoqlType;
use super::Row;

const NULL: u32 = u32::MAX;

/// The field order Socrata's SPD data set uses (new names, then old names); other columns follow by name.
const KNOWN_ORDER: &[&str] = &[
    "report_number",
    "report_date_time",
    "offense_id",
    "offense_date",
    "nibrs_group_a_b",
    "nibrs_crime_against_category",
    "offense_sub_category",
    "shooting_type_group",
    "block_address",
    "latitude",
    "longitude",
    "beat",
    "precinct",
    "sector",
    "neighborhood",
    "reporting_area",
    "offense_category",
    "nibrs_offense_code_description",
    "nibrs_offense_code",
    "offense_start_datetime",
    "offense_end_datetime",
    "report_datetime",
    "group_a_b",
    "crime_against_category",
    "offense_parent_group",
    "offense",
    "offense_code",
    "mcpp",
    "_100_block_address",
];

/// Socrata types a column by its data; the SPD data set's timestamps are exactly the fields named `*date*`.
pub(crate) fn column_type(name: &str) -> SoqlType {
    if name.contains("date") {
        SoqlType::FloatingTimestamp
    } else {
        SoqlType::Text
    }
}

/// The hidden identity of a row: where its `:id` comes from and when it was created/updated (server clock ticks).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowMeta {
    /// The 60-bit number behind `:id`; rows are stored in ascending order of it.
    pub id_bits: u64,
    pub created_tick: u32,
    pub updated_tick: u32,
}

pub(crate) struct Column {
    pub name: String,
    pub ty: SoqlType,
    codes: Vec<u32>,
    /// The distinct values, back to back, numbered in order of first use in row order (so a scan in row
    /// order reads the dictionary sequentially too).
    arena: String,
    /// `arena[offsets[code]..offsets[code + 1]]` is value `code`.
    offsets: Vec<u32>,
}

impl Column {
    #[inline]
    fn text(&self, code: u32) -> &str {
        &self.arena[self.offsets[code as usize] as usize..self.offsets[code as usize + 1] as usize]
    }

    fn distinct(&self) -> usize {
        self.offsets.len() - 1
    }
}

pub(crate) struct Dataset {
    pub columns: Vec<Column>,
    by_name: HashMap<String, usize>,
    metas: Vec<RowMeta>,
    /// `tick_labels[t]` is the `:updated_at` text of clock tick `t`.
    tick_labels: Vec<String>,
    /// The current clock tick (the newest publication).
    pub clock_tick: u32,
    indexes: Vec<OnceLock<Vec<u32>>>,
}

/// The wall time of clock tick 0: `:created_at`/`:updated_at` of the first publication.
const CLOCK_START_MS: i64 = 1_793_527_200_123; // 2026-11-01T10:00:00.123Z
/// Each publication moves the server clock by this much.
const CLOCK_STEP_MS: i64 = 3_600_000;

/// Epoch milliseconds of a clock tick.
pub(crate) fn tick_epoch_ms(tick: u32) -> i64 {
    CLOCK_START_MS + tick as i64 * CLOCK_STEP_MS
}

fn tick_label(tick: u32) -> String {
    chrono::DateTime::from_timestamp_millis(tick_epoch_ms(tick))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// A bijection on 60 bits, so serial numbers become scattered yet unique `:id`s.
pub(crate) fn scramble_id(serial: u64) -> u64 {
    const MASK: u64 = (1 << 60) - 1;
    let mut x = serial & MASK;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9) & MASK;
    x ^= x >> 32;
    x
}

/// `row-abcd~efgh_ijkl`: fixed width over an alphabet in ASCII order, so text order equals numeric order.
pub(crate) fn format_row_id(bits: u64) -> String {
    const ALPHABET: &[u8; 32] = b"23456789abcdefghijkmnpqrstuvwxyz";
    let mut out = String::with_capacity(18);
    out.push_str("row-");
    for i in 0..12 {
        if i == 4 {
            out.push('~');
        } else if i == 8 {
            out.push('_');
        }
        let shift = 55 - 5 * i;
        out.push(ALPHABET[((bits >> shift) & 31) as usize] as char);
    }
    out
}

/// The text a JSON value stands for in a row (`None` for JSON null, which Socrata never sends).
pub(crate) fn value_text(v: &serde_json::Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        other => Some(std::borrow::Cow::Owned(other.to_string())),
    }
}

/// Hash of a row's content (non-null fields, by name); equal rows hash equal whether stored or incoming.
fn hash_fields<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (k, v) in fields {
        k.hash(&mut h);
        v.hash(&mut h);
    }
    h.finish()
}

pub(crate) fn row_content_hash(row: &Row) -> u64 {
    let texts: Vec<(&str, std::borrow::Cow<'_, str>)> =
        row.iter().filter_map(|(k, v)| value_text(v).map(|t| (k.as_str(), t))).collect();
    hash_fields(texts.iter().map(|(k, v)| (*k, v.as_ref())))
}

impl Dataset {
    pub(crate) fn empty() -> Dataset {
        DatasetBuilder::default().finish(0)
    }

    pub(crate) fn len(&self) -> usize {
        self.metas.len()
    }

    pub(crate) fn column_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    #[inline]
    pub(crate) fn value(&self, col: usize, row: u32) -> Option<&str> {
        let c = &self.columns[col];
        match c.codes[row as usize] {
            NULL => None,
            code => Some(c.text(code)),
        }
    }

    pub(crate) fn meta(&self, row: u32) -> RowMeta {
        self.metas[row as usize]
    }

    pub(crate) fn row_id(&self, row: u32) -> String {
        format_row_id(self.metas[row as usize].id_bits)
    }

    pub(crate) fn created_at(&self, row: u32) -> &str {
        &self.tick_labels[self.metas[row as usize].created_tick as usize]
    }

    pub(crate) fn updated_at(&self, row: u32) -> &str {
        &self.tick_labels[self.metas[row as usize].updated_tick as usize]
    }

    /// Rows with a non-null value in `col`, in ascending text order of it (built on first use).
    pub(crate) fn sorted_index(&self, col: usize) -> &[u32] {
        self.indexes[col].get_or_init(|| {
            let c = &self.columns[col];
            let mut order: Vec<u32> = (0..c.distinct() as u32).collect();
            order.sort_unstable_by(|a, b| c.text(*a).cmp(c.text(*b)));
            let mut rank = vec![0u32; c.distinct()];
            for (r, code) in order.iter().enumerate() {
                rank[*code as usize] = r as u32;
            }
            let mut rows: Vec<u32> = (0..c.codes.len() as u32).filter(|r| c.codes[*r as usize] != NULL).collect();
            rows.sort_by_key(|r| rank[c.codes[*r as usize] as usize]);
            rows
        })
    }

    /// Builds the timestamp indexes now, so the first month-range query is as fast as the next ones.
    pub(crate) fn warm_indexes(&self) {
        for (i, c) in self.columns.iter().enumerate() {
            if c.ty.is_timestamp() {
                self.sorted_index(i);
            }
        }
    }

    /// The row as a JSON object (data fields only).
    pub(crate) fn row_object(&self, row: u32) -> Row {
        let mut out = Row::new();
        for (i, c) in self.columns.iter().enumerate() {
            if let Some(v) = self.value(i, row) {
                out.insert(c.name.clone(), serde_json::Value::String(v.to_string()));
            }
        }
        out
    }

    /// Content hash of a stored row, equal to [`row_content_hash`] of the same row given as JSON.
    fn stored_content_hash(&self, row: u32, by_name: &[usize]) -> u64 {
        hash_fields(by_name.iter().filter_map(|&c| self.value(c, row).map(|v| (self.columns[c].name.as_str(), v))))
    }

    fn stored_equals(&self, row: u32, incoming: &Row) -> bool {
        let mut fields = 0;
        for (i, c) in self.columns.iter().enumerate() {
            if let Some(v) = self.value(i, row) {
                fields += 1;
                if incoming.get(&c.name).and_then(value_text).as_deref() != Some(v) {
                    return false;
                }
            }
        }
        fields == incoming.values().filter(|v| !v.is_null()).count()
    }

    /// Columns in name order (the order content hashes use).
    fn columns_by_name(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.columns.len()).collect();
        idx.sort_by(|a, b| self.columns[*a].name.cmp(&self.columns[*b].name));
        idx
    }

    /// For a new publication: the identity each incoming row keeps. A row identical to a stored one takes over
    /// that row's meta (each stored row at most once); other rows get `None`.
    pub(crate) fn match_identities(&self, incoming: &[Row]) -> Vec<Option<RowMeta>> {
        let by_name = self.columns_by_name();
        let mut pool: HashMap<u64, Vec<u32>, FixedState> = HashMap::default();
        for row in (0..self.len() as u32).rev() {
            pool.entry(self.stored_content_hash(row, &by_name)).or_default().push(row);
        }
        incoming
            .iter()
            .map(|r| {
                let candidates = pool.get_mut(&row_content_hash(r))?;
                let pos = candidates.iter().rposition(|&s| self.stored_equals(s, r))?;
                Some(self.metas[candidates.remove(pos) as usize])
            })
            .collect()
    }

    /// The same data with every row's `:updated_at` at `tick`.
    pub(crate) fn touched(&self, tick: u32) -> Dataset {
        let mut b = DatasetBuilder::default();
        for row in 0..self.len() as u32 {
            let meta = RowMeta { updated_tick: tick, ..self.meta(row) };
            b.push(&self.row_object(row), meta);
        }
        b.finish(tick)
    }

    /// The same rows with column `from` named `to` (identities unchanged). `None` when `from` is not a column.
    pub(crate) fn renamed(&self, from: &str, to: &str) -> Option<Dataset> {
        self.column_index(from)?;
        let mut b = DatasetBuilder::default();
        for row in 0..self.len() as u32 {
            b.push(&rename_fields(self.row_object(row), &[(from.to_string(), to.to_string())]), self.meta(row));
        }
        Some(b.finish(self.clock_tick))
    }
}

/// Applies column renames to one incoming row.
pub(crate) fn rename_fields(mut row: Row, renames: &[(String, String)]) -> Row {
    for (from, to) in renames {
        if let Some(v) = row.remove(from) {
            row.insert(to.clone(), v);
        }
    }
    row
}

struct BuildColumn {
    name: String,
    intern: HashMap<Box<str>, u32, FixedState>,
    codes: Vec<u32>,
}

/// Collects rows (streaming: rows are interned as they arrive, never held as JSON).
#[derive(Default)]
pub(crate) struct DatasetBuilder {
    columns: Vec<BuildColumn>,
    by_name: HashMap<String, usize>,
    metas: Vec<RowMeta>,
}

impl DatasetBuilder {
    pub(crate) fn push(&mut self, row: &Row, meta: RowMeta) {
        let n = self.metas.len();
        for (k, v) in row {
            let Some(text) = value_text(v) else { continue };
            let col = match self.by_name.get(k.as_str()) {
                Some(&c) => c,
                None => {
                    self.columns.push(BuildColumn {
                        name: k.clone(),
                        intern: HashMap::default(),
                        codes: vec![NULL; n],
                    });
                    self.by_name.insert(k.clone(), self.columns.len() - 1);
                    self.columns.len() - 1
                }
            };
            let c = &mut self.columns[col];
            let next = c.intern.len() as u32;
            let code = match c.intern.get(text.as_ref()) {
                Some(&code) => code,
                None => {
                    c.intern.insert(text.into_owned().into_boxed_str(), next);
                    next
                }
            };
            c.codes.push(code);
        }
        self.metas.push(meta);
        for c in &mut self.columns {
            if c.codes.len() == n {
                c.codes.push(NULL);
            }
        }
    }

    pub(crate) fn finish(self, clock_tick: u32) -> Dataset {
        let mut perm: Vec<u32> = (0..self.metas.len() as u32).collect();
        perm.sort_by_key(|&r| self.metas[r as usize].id_bits);
        let metas: Vec<RowMeta> = perm.iter().map(|&r| self.metas[r as usize]).collect();
        let rank = |name: &str| KNOWN_ORDER.iter().position(|k| *k == name).unwrap_or(KNOWN_ORDER.len());
        let mut build = self.columns;
        build.sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
        let columns: Vec<Column> = build
            .into_iter()
            .map(|c| {
                let mut dict: Vec<Box<str>> = vec![Box::from(""); c.intern.len()];
                for (k, code) in c.intern {
                    dict[code as usize] = k;
                }
                let mut remap = vec![NULL; dict.len()];
                let mut arena = String::new();
                let mut offsets = vec![0u32];
                let mut codes = Vec::with_capacity(perm.len());
                for &r in &perm {
                    let old = c.codes[r as usize];
                    if old == NULL {
                        codes.push(NULL);
                        continue;
                    }
                    if remap[old as usize] == NULL {
                        remap[old as usize] = (offsets.len() - 1) as u32;
                        arena.push_str(&dict[old as usize]);
                        offsets.push(u32::try_from(arena.len()).expect("test data set under 4 GB per column"));
                    }
                    codes.push(remap[old as usize]);
                }
                arena.shrink_to_fit();
                Column { ty: column_type(&c.name), name: c.name, codes, arena, offsets }
            })
            .collect();
        let by_name = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        let indexes = columns.iter().map(|_| OnceLock::new()).collect();
        Dataset {
            columns,
            by_name,
            metas,
            tick_labels: (0..=clock_tick).map(tick_label).collect(),
            clock_tick,
            indexes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_sort_like_their_bits_and_scramble_is_unique() {
        let mut seen = std::collections::HashSet::new();
        let mut ids: Vec<(u64, String)> =
            (0..5000u64).map(|s| (scramble_id(s), format_row_id(scramble_id(s)))).collect();
        for (bits, _) in &ids {
            assert!(seen.insert(*bits));
        }
        ids.sort_by_key(|(b, _)| *b);
        assert!(ids.windows(2).all(|w| w[0].1 < w[1].1));
        assert_eq!(format_row_id(0), "row-2222~2222_2222");
        assert_eq!(tick_label(0), "2026-11-01T10:00:00.123Z");
    }
}
