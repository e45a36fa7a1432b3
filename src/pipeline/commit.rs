//! The commit step of an ingest, reached only when every planned month downloaded and verified: swap the staged
//! months into the lake in month order, drop the months the source no longer has, fix the `partial` flags, and
//! write the manifest once at the end.

use super::fetch::Staged;
use super::plan::Plan;
use super::PipelineError;
use crate::domain::data_dir::QUARANTINE_FILE;
use crate::domain::{Month, SourceKind};
use crate::lake::{Committed, Lake};
use crate::source::SourceConfig;

/// What the commit did to the lake.
#[derive(Debug, Default)]
pub struct CommitReport {
    pub added: Vec<Month>,
    pub changed: Vec<Month>,
    /// Fetched again, byte-identical: only the fingerprint moved.
    pub same_content: Vec<Month>,
    /// Their file in the lake had failed verification; replaced by the new download.
    pub repaired: Vec<Month>,
    pub deleted: Vec<Month>,
    pub rows_written: u64,
    pub rows_quarantined: u64,
    /// Quarantine files written, in words.
    pub notes: Vec<String>,
}

/// Commits the staged months and the plan's deletions and flag fixes; `fields` are the source's columns now.
pub fn commit(
    lake: &mut Lake,
    mut staged: Vec<Staged>,
    plan: &Plan,
    current: Month,
    source: &SourceConfig,
    fields: Vec<String>,
) -> Result<CommitReport, PipelineError> {
    staged.sort_by_key(|s| s.month.month);
    // A manifest rebuilt from the month folders does not know the source's columns yet: record them.
    let fields_changed = lake.manifest().source_fields != fields;
    lake.set_source(&source.dataset, &source.socrata_url, fields);
    let dirty = !staged.is_empty() || !plan.delete.is_empty() || !plan.reflag.is_empty() || fields_changed;
    let mut report = CommitReport::default();
    lake.defer_manifest(true);
    for s in staged {
        let (m, rows, q) = (s.month.month, s.month.rows, s.month.quarantined);
        let outcome = lake.commit(s.month, Some(s.fingerprint), m == current, SourceKind::Soda)?;
        if q > 0 {
            report.notes.push(format!("{m}: {q} row(s) could not be parsed; see its {QUARANTINE_FILE}"));
        }
        match outcome {
            Committed::Added => report.added.push(m),
            Committed::Replaced => report.changed.push(m),
            Committed::Same => report.same_content.push(m),
            Committed::Repaired => {
                report.repaired.push(m);
                report.notes.push(format!("{m}: its file had failed verification; fetched again and replaced"));
            }
        }
        if outcome != Committed::Same {
            report.rows_written += rows;
            report.rows_quarantined += q;
        }
        tracing::info!(stage = "lake", month = %m, rows, quarantined = q, why = ?s.why, outcome = ?outcome, "month committed");
    }
    for m in &plan.delete {
        lake.delete_month(*m)?;
        report.deleted.push(*m);
    }
    for m in &plan.reflag {
        if let Some(mut e) = lake.manifest().get(*m).cloned() {
            e.partial = e.month == current;
            lake.upsert_entry(e)?;
        }
    }
    if dirty {
        lake.save_manifest()?;
    }
    lake.defer_manifest(false);
    Ok(report)
}
