//! `crimewatch status`: per report month rows, source fingerprint, fetched-at, partial or complete; totals, with
//! the rows quarantined (the months' counts and the last import's rows without a month). Reads the manifest and
//! the import's quarantine file only (no repairs, no network).

use std::process::ExitCode;

use anyhow::Context as _;
use crimewatch::lake::Lake;

use super::ingest::thousands;
use super::Context;

pub fn execute(ctx: &Context) -> anyhow::Result<ExitCode> {
    let manifest = Lake::read_manifest(&ctx.settings.data_dir).context("cannot read the lake")?;
    let Some(m) = manifest else {
        if ctx.json {
            println!("{}", serde_json::json!({ "lake": null, "months": [], "total_rows": 0 }));
        } else {
            println!(
                "no lake yet in {}: run `crimewatch ingest` (or `crimewatch import FILE`) first",
                ctx.settings.data_dir.root().display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let total_rows = m.total_rows();
    let import_q = import_quarantined(&ctx.settings.data_dir.lake_import_quarantine());
    let total_q: u64 = m.months.iter().map(|e| e.quarantined).sum::<u64>() + import_q;
    let total_months = m.months.len();
    if ctx.json {
        let v = serde_json::json!({
            "lake": ctx.settings.data_dir.lake(),
            "dataset": m.dataset,
            "source": m.source,
            "updated_at": m.updated_at,
            "months": m.months,
            "total_rows": total_rows,
            "total_quarantined": total_q,
            "import_quarantined": import_q,
            "total_months": total_months,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "lake {} — dataset {} from {}, manifest updated {}",
        ctx.settings.data_dir.lake().display(),
        m.dataset,
        m.source,
        m.updated_at
    );
    println!(
        "{:<8} {:>9} {:>5} {:<8} {:<6} {:<20} {:>9} {:<24} src offense-id sum",
        "month", "rows", "quar", "state", "from", "fetched_at", "src count", "src max(:updated_at)",
    );
    for e in &m.months {
        let (count, u, s) = match &e.fingerprint {
            Some(f) => (
                f.count.to_string(),
                f.max_updated_at.clone().unwrap_or_else(|| "-".into()),
                f.content_sum.clone().unwrap_or_else(|| "-".into()),
            ),
            None => ("?".into(), "(refetch pending)".into(), "-".into()),
        };
        println!(
            "{:<8} {:>9} {:>5} {:<8} {:<6} {:<20} {:>9} {:<24} {}",
            e.month.to_string(),
            thousands(e.rows),
            e.quarantined,
            if e.partial { "partial" } else { "complete" },
            e.source_kind.as_str(),
            e.fetched_at,
            count,
            u,
            s
        );
    }
    let import_note =
        if import_q > 0 { format!(", {import_q} of them from an import with no month") } else { String::new() };
    println!(
        "total: {} rows in {} months ({} quarantined{import_note})",
        thousands(total_rows),
        m.months.len(),
        thousands(total_q)
    );
    Ok(ExitCode::SUCCESS)
}

/// Rows in `lake/_quarantine_import.jsonl` (non-blank lines, as `stg_lake__import_quarantine` counts them); 0
/// when there is none.
fn import_quarantined(path: &std::path::Path) -> u64 {
    std::fs::read(path)
        .map(|b| b.split(|c| *c == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count() as u64)
        .unwrap_or(0)
}
