//! CSV export → lake: read an SPD CSV export into one DuckDB table (read), then replace each report month it
//! covers (commit). Each month replaces the lake's wholesale (`source_kind = csv`); a later `ingest` fetches
//! such months again from the source when they are in range.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use super::{IngestSummary, PipelineConfig, PipelineError, Progress};
use crate::domain::data_dir::QUARANTINE_FILE;
use crate::domain::{CanonicalRow, Fingerprint, Month, SourceKind};
use crate::lake::{encode_month, Committed, Lake, QuarantineLine, StagingTable};
use crate::source::csv_export::CsvExport;
use crate::source::SourceError;

/// Rows appended to the table at a time.
const BATCH_ROWS: usize = 10_000;

/// An export read into a table: the rows to quarantine by report month (`None`: no readable report date).
struct Read {
    table: StagingTable,
    quarantine: BTreeMap<Option<Month>, Vec<QuarantineLine>>,
    rows: u64,
}

/// Loads an SPD CSV export into the lake (a bucket lake through its copy). Blocking.
pub fn import(config: &PipelineConfig, file: &Path, progress: Progress) -> Result<IngestSummary, PipelineError> {
    match &config.lake.bucket {
        None => import_folder(config, file, progress),
        Some(b) => super::bucket::block_on(super::bucket::committed(config, b, || async {
            import_folder(config, file, progress)
        }))?,
    }
}

/// The import into the lake's folder.
fn import_folder(config: &PipelineConfig, file: &Path, progress: Progress) -> Result<IngestSummary, PipelineError> {
    let started = Instant::now();
    let current = Month::current_in_seattle(chrono::Utc::now());
    let mut export = CsvExport::open(file)?;
    let source = &config.source;
    let mut lake = Lake::open(&config.data_dir, &config.lake, &source.dataset, &source.socrata_url)?;
    let mut summary = IngestSummary { detection: "csv".into(), ..Default::default() };
    summary.notes.extend(lake.recovered.iter().cloned());
    summary.new_columns = export.extra_headers();
    summary.bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);

    let scratch = lake.stager().scratch_dir("import")?;
    let read = read(&mut export, &scratch, progress)?;
    summary.source_rows = read.rows;
    if read.rows == 0 {
        return Err(
            SourceError::CsvFormat { path: file.to_path_buf(), message: "the file has no data rows".into() }.into()
        );
    }
    commit(&mut lake, read, current, &mut summary)?;
    let _ = std::fs::remove_dir_all(&scratch);
    summary.lake_rows = lake.manifest().total_rows();
    summary.lake_months = lake.manifest().months.len();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Reads every row of the export into a table that spills to `scratch`, quarantining the rows it cannot use.
fn read(export: &mut CsvExport, scratch: &Path, progress: Progress) -> Result<Read, PipelineError> {
    let mut table = StagingTable::new()?;
    table.limit_memory(scratch, 192)?;
    let rows_bar = progress.bar(0, "rows");
    let mut quarantine: BTreeMap<Option<Month>, Vec<QuarantineLine>> = BTreeMap::new();
    let mut batch: Vec<CanonicalRow> = Vec::with_capacity(BATCH_ROWS);
    let mut rows = 0;
    while let Some(r) = export.next_row() {
        let r = r?;
        rows += 1;
        match r.row {
            Ok(row) => batch.push(row),
            Err(rej) => quarantine.entry(r.month).or_default().push(QuarantineLine {
                reason: rej.reason,
                line: Some(r.line),
                row: rej.row,
            }),
        }
        if batch.len() == BATCH_ROWS {
            table.append(&batch)?;
            batch.clear();
            rows_bar.set_position(rows);
        }
    }
    table.append(&batch)?;
    rows_bar.finish_and_clear();
    Ok(Read { table, quarantine, rows })
}

/// Replaces each report month the export covers, then keeps the rejected rows that belong to no such month.
fn commit(lake: &mut Lake, read: Read, current: Month, summary: &mut IngestSummary) -> Result<(), PipelineError> {
    let Read { table, mut quarantine, .. } = read;
    let months = table.months()?;
    summary.since = months.first().map(|(m, _)| *m);
    summary.until = months.last().map(|(m, _)| *m);
    let stager = lake.stager();
    for (m, n) in &months {
        let q = quarantine.remove(&Some(*m)).unwrap_or_default();
        let file = encode_month(&table.month_rows(*m)?)?;
        let staged = stager.stage(*m, &file, &q)?;
        let fp = Fingerprint { count: n + q.len() as u64, max_updated_at: None, content_sum: None };
        let qn = q.len() as u64;
        match lake.commit(staged, Some(fp), *m == current, SourceKind::Csv)? {
            Committed::Added => summary.months_added.push(*m),
            Committed::Replaced => summary.months_changed.push(*m),
            Committed::Same => summary.months_same_content.push(*m),
            Committed::Repaired => summary.months_repaired.push(*m),
        }
        summary.months_fetched += 1;
        summary.rows_written += n;
        summary.rows_quarantined += qn;
        if qn > 0 {
            summary.notes.push(format!("{m}: {qn} row(s) could not be used; see its {QUARANTINE_FILE}"));
        }
    }
    // Rejected rows whose month has no usable row, or whose report date is unreadable.
    let leftover: Vec<QuarantineLine> = quarantine.into_values().flatten().collect();
    if !leftover.is_empty() {
        let path = lake.write_import_quarantine(&leftover)?;
        summary.rows_quarantined += leftover.len() as u64;
        summary.notes.push(format!(
            "{} row(s) have no usable report date or offense id in a month without other rows; see {}",
            leftover.len(),
            path.display()
        ));
    }
    Ok(())
}
