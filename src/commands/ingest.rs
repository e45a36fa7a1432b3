//! `crimewatch ingest`: bring the lake in step with the source, then print the summary.

use crimewatch::domain::run::RunStatus;
use crimewatch::domain::{Bytes, Month};
use crimewatch::pipeline::{IngestOptions, IngestSummary};
use crimewatch::runs::Work;

use super::{Context, IngestArgs, Outcome};

pub fn execute(ctx: &Context, args: &IngestArgs) -> Outcome {
    let opts = IngestOptions { since: args.since, until: args.until, full: args.full };
    let started = super::begin_run(&ctx.settings, Work::Ingest(opts), ctx.progress())?;
    let mut finished = super::finish_run(started)?;
    match finished.ingest.take() {
        Some(summary) if finished.summary.status == RunStatus::Succeeded => {
            print_summary(ctx, "ingest", &summary)?;
            Ok(())
        }
        _ => Err(super::failure(finished).context("ingest failed")),
    }
}

/// Prints an ingest/import summary: JSON on stdout with `--json`, else one screen of text.
pub fn print_summary(ctx: &Context, command: &str, s: &IngestSummary) -> anyhow::Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    let range = match (s.since, s.until) {
        (Some(a), Some(b)) => format!("report months {a}..{b}"),
        _ => "no report months".to_string(),
    };
    let origin = if command == "import" {
        "CSV export".to_string()
    } else {
        format!("{} from {}", ctx.settings.source.dataset, ctx.settings.source.socrata_url)
    };
    println!("crimewatch {command}: {origin}, {range}");
    println!("  {:<18}{:>10}  {}", "months added", s.months_added.len(), months_list(&s.months_added));
    println!("  {:<18}{:>10}  {}", "months changed", s.months_changed.len(), months_list(&s.months_changed));
    println!("  {:<18}{:>10}  {}", "months deleted", s.months_deleted.len(), months_list(&s.months_deleted));
    println!("  {:<18}{:>10}", "months unchanged", s.months_unchanged);
    println!(
        "  {:<18}{:>10}  (quarantined {})",
        "rows written",
        thousands(s.rows_written),
        thousands(s.rows_quarantined)
    );
    println!("  {:<18}{:>10}", "source rows", thousands(s.source_rows));
    println!("  {:<18}{:>10}  in {} months", "lake rows", thousands(s.lake_rows), s.lake_months);
    if let Some(p) = s.partial_month {
        println!("  {:<18}{:>10}  (still filling)", "partial month", p.to_string());
    }
    if !s.new_columns.is_empty() {
        println!(
            "  {:<18}{:>10}  kept as text in extra_columns: {}",
            "new columns",
            s.new_columns.len(),
            s.new_columns.join(", ")
        );
    }
    if s.dataset_replaced {
        println!("  DATASET REPLACED: the publisher replaced the whole dataset; every month was fetched again");
    }
    println!(
        "  {:<18}{:>10}  bytes {}  seconds {:.1}  (change detection: {})",
        "requests",
        s.requests,
        Bytes(s.bytes),
        s.seconds,
        s.detection
    );
    for n in &s.notes {
        println!("  note: {n}");
    }
    Ok(())
}

fn months_list(ms: &[Month]) -> String {
    let all: Vec<String> = ms.iter().map(Month::to_string).collect();
    if all.len() <= 8 {
        all.join(", ")
    } else {
        format!("{}, ... {}", all[..3].join(", "), all[all.len() - 2..].join(", "))
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
