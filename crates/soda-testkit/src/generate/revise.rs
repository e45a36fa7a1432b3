//! SPD's revisions of published months, applied to served rows: late reports (new offenses added to an old report
//! month), reclassifications (an offense's code and category changed), deletions (offenses removed). Serve the
//! rows, ingest, apply [`revise`], serve again: the lake keeps the replaced versions. Deterministic (own seed).

use serde_json::Value;

use super::Rng;
use crate::{Month, Row};

/// How much to revise each month of `months`, as shares of its rows.
#[derive(Debug, Clone)]
pub struct Revision {
    pub seed: u64,
    /// Report months to revise; other months are left byte-identical.
    pub months: Vec<Month>,
    /// New offenses added per revised month (copies of its rows with new ids, as late reports land).
    pub late: f64,
    /// Offenses whose code and category change (to Simple Assault, ALL OTHER / or from it to Shoplifting).
    pub reclassified: f64,
    /// Offenses removed.
    pub deleted: f64,
}

/// `rows` revised as `spec` says; rows of other months unchanged and in place.
pub fn revise(rows: &[Row], spec: &Revision) -> Vec<Row> {
    let mut rng = Rng::new(spec.seed);
    let mut out = Vec::with_capacity(rows.len());
    let mut added = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let in_scope = super::report_month(row).is_some_and(|m| spec.months.contains(&m));
        if !in_scope {
            out.push(row.clone());
            continue;
        }
        if rng.chance(spec.deleted) {
            continue;
        }
        let mut row = row.clone();
        if rng.chance(spec.reclassified) {
            reclassify(&mut row);
        }
        if rng.chance(spec.late) {
            let mut late = row.clone();
            late.insert("offense_id".into(), Value::String(format!("8{:09}{}", i, spec.seed % 10)));
            added.push(late);
        }
        out.push(row);
    }
    out.extend(added);
    out
}

/// Moves an offense between a property code and ALL OTHER, in both schemas' field names.
fn reclassify(row: &mut Row) {
    let code = ["nibrs_offense_code", "offense_code"].into_iter().find(|k| row.contains_key(*k));
    let was_other = row.get("offense_category").and_then(Value::as_str) == Some("ALL OTHER");
    let (new_code, description, category) =
        if was_other { ("23C", "Shoplifting", "PROPERTY CRIME") } else { ("13B", "Simple Assault", "ALL OTHER") };
    row.insert(code.unwrap_or("nibrs_offense_code").into(), Value::String(new_code.into()));
    for k in ["nibrs_offense_code_description", "offense"] {
        if row.contains_key(k) {
            row.insert(k.into(), Value::String(description.into()));
        }
    }
    if row.contains_key("offense_category") {
        row.insert("offense_category".into(), Value::String(category.into()));
    }
}
