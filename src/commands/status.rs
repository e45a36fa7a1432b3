//! `crimewatch status`: per report month rows, source fingerprint, fetched-at, partial or complete; totals, with
//! the rows quarantined (the months' counts and the last import's rows without a month). Reads the lake without
//! changing it (no repairs, no network): the manifest, the import's quarantine file, and the months on disk that
//! the manifest does not list — a killed first backfill leaves tens of months and no manifest yet, and they are
//! shown as they are.

use std::process::ExitCode;

use anyhow::Context as _;
use crimewatch::lake::{ManifestState, Survey, SurveyedMonth};
use crimewatch::pipeline;

use super::ingest::thousands;
use super::Context;

pub fn execute(ctx: &Context) -> anyhow::Result<ExitCode> {
    let Some(s) = pipeline::survey(&ctx.settings.pipeline()).context("cannot read the lake")? else {
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
    if ctx.json {
        print_json(ctx, &s)?;
    } else {
        print_table(ctx, &s);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(ctx: &Context, s: &Survey) -> anyhow::Result<()> {
    let import_q = import_quarantined(&ctx.settings.data_dir.lake_import_quarantine());
    let months: Vec<serde_json::Value> = s
        .months
        .iter()
        .map(|m| {
            let mut v = serde_json::to_value(&m.entry).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("in_manifest".into(), m.listed.into());
                obj.insert("file_present".into(), m.on_disk.into());
            }
            v
        })
        .collect();
    let (state, error) = match &s.manifest {
        ManifestState::Present => ("present", None),
        ManifestState::Missing => ("missing", None),
        ManifestState::Damaged(message) => ("damaged", Some(message.clone())),
    };
    let v = serde_json::json!({
        "lake": ctx.settings.pipeline().lake_name(),
        "manifest": state,
        "manifest_error": error,
        "dataset": s.dataset,
        "source": s.source,
        "updated_at": s.updated_at,
        "months": months,
        "total_rows": s.total_rows(),
        "total_quarantined": s.months.iter().map(|m| m.entry.quarantined).sum::<u64>() + import_q,
        "import_quarantined": import_q,
        "total_months": s.months.len(),
        "months_not_in_manifest": s.unlisted(),
    });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

fn print_table(ctx: &Context, s: &Survey) {
    let lake = ctx.settings.pipeline().lake_name();
    let unlisted = s.unlisted();
    match &s.manifest {
        ManifestState::Present => println!(
            "lake {} — dataset {} from {}, manifest updated {}",
            lake,
            s.dataset.as_deref().unwrap_or("?"),
            s.source.as_deref().unwrap_or("?"),
            s.updated_at.as_deref().unwrap_or("?")
        ),
        ManifestState::Missing => {
            println!("lake {} — no manifest yet: {unlisted} month(s) on disk from an interrupted first ingest", lake)
        }
        ManifestState::Damaged(message) => {
            println!("lake {} — the manifest cannot be read ({message}); {unlisted} month(s) on disk", lake)
        }
    }
    if unlisted > 0 {
        println!(
            "note: {unlisted} month(s) on disk are not in the manifest (marked `unlisted`); the next `crimewatch ingest` adopts those whose records verify and fetches the rest again"
        );
    }
    println!(
        "{:<8} {:>9} {:>5} {:<8} {:<6} {:<20} {:>9} {:<24} src offense-id sum",
        "month", "rows", "quar", "state", "from", "fetched_at", "src count", "src max(:updated_at)",
    );
    for m in &s.months {
        println!("{}", month_line(m));
    }
    let import_q = import_quarantined(&ctx.settings.data_dir.lake_import_quarantine());
    let total_q: u64 = s.months.iter().map(|m| m.entry.quarantined).sum::<u64>() + import_q;
    let import_note =
        if import_q > 0 { format!(", {import_q} of them from an import with no month") } else { String::new() };
    println!(
        "total: {} rows in {} months ({} quarantined{import_note})",
        thousands(s.total_rows()),
        s.months.len(),
        thousands(total_q)
    );
}

fn month_line(m: &SurveyedMonth) -> String {
    let e = &m.entry;
    let (count, u, sum) = match &e.fingerprint {
        Some(f) => (
            f.count.to_string(),
            f.max_updated_at.clone().unwrap_or_else(|| "-".into()),
            f.content_sum.clone().unwrap_or_else(|| "-".into()),
        ),
        None => ("?".into(), "(refetch pending)".into(), "-".into()),
    };
    let state = match (m.listed, m.on_disk, e.partial) {
        (false, _, _) => "unlisted",
        (true, false, _) => "missing",
        (true, true, true) => "partial",
        (true, true, false) => "complete",
    };
    format!(
        "{:<8} {:>9} {:>5} {:<8} {:<6} {:<20} {:>9} {:<24} {}",
        e.month.to_string(),
        thousands(e.rows),
        e.quarantined,
        state,
        e.source_kind.as_str(),
        e.fetched_at,
        count,
        u,
        sum
    )
}

/// Rows in `lake/_quarantine_import.jsonl` (non-blank lines, as `stg_lake__import_quarantine` counts them); 0
/// when there is none.
fn import_quarantined(path: &std::path::Path) -> u64 {
    std::fs::read(path)
        .map(|b| b.split(|c| *c == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count() as u64)
        .unwrap_or(0)
}
