//! What an ingest fetches and why: a pure function of the lake's manifest, the source's fingerprints and the
//! options, so every decision is unit-tested without a server or a disk.
//!
//! A month is fetched when it is new, when its fingerprint differs from the stored one (only the parts both
//! sides have are compared), when it came from a CSV import or the source's columns changed (the stored copy is
//! not the source's), when `--full` forces it, or — when the server cannot aggregate `:updated_at`, so an edit
//! that keeps the count and the offense-id sum would go unseen — when it is among the most recent months. A
//! month in range that the source no longer has is deleted. When every comparable month's `:updated_at` moved,
//! the publisher replaced the whole dataset (republished), which the summary says plainly.
//!
//! A month the lake cannot vouch for — its file failed verification, or its fingerprint was lost with a record
//! after a crash — has no stored fingerprint: it is fetched again whatever the range asked for ([`probe_range`]
//! widens the source's fingerprints to cover it), and deleted if the source no longer has it.

use crate::domain::{Fingerprint, Month, SourceKind};
use crate::lake::{Manifest, MonthEntry};
use crate::source::soql::Aggregates;
use crate::source::Fingerprints;

/// Why a month is downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Not in the lake.
    New,
    /// Its fingerprint differs, it came from a CSV import, or the source's columns changed.
    Changed,
    /// The server cannot aggregate `:updated_at`; a recent month is fetched again to be sure.
    Recheck,
    /// `--full`.
    Forced,
    /// The lake cannot vouch for its copy (the file failed verification, or its fingerprint was lost): fetched
    /// again whatever the range asked for.
    Unverified,
}

/// One month to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub month: Month,
    /// What the source says the month holds now (the download is checked against its count).
    pub fingerprint: Fingerprint,
    pub why: Why,
}

/// What a plan is made from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub manifest: &'a Manifest,
    /// The source's non-system fields, as probed now.
    pub source_fields: &'a [String],
    pub fingerprints: &'a Fingerprints,
    pub since: Month,
    pub until: Month,
    /// The month still filling (Seattle time).
    pub current: Month,
    /// `--full`: fetch every month in range.
    pub full: bool,
    /// Months fetched again every run when the server cannot aggregate `:updated_at`.
    pub recheck_recent_months: usize,
}

/// The decisions of one ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Months to download, in month order.
    pub fetch: Vec<Fetch>,
    /// Months in range that the source no longer has.
    pub delete: Vec<Month>,
    /// Months in range left as they are.
    pub unchanged: usize,
    /// Months kept as they are whose `partial` flag is wrong now (a month that stopped being the current one is
    /// complete, even if nothing in it changed).
    pub reflag: Vec<Month>,
    /// The month still filling, when in range.
    pub partial_month: Option<Month>,
    /// Every comparable month's `:updated_at` moved: the publisher replaced the whole dataset.
    pub dataset_replaced: bool,
    /// Months whose `:updated_at` could be compared with the stored one.
    pub comparable: usize,
    /// Plain-language notes for the summary (fallbacks taken, why everything is fetched again).
    pub notes: Vec<String>,
}

/// The report months whose fingerprints an ingest asks the source for: `since..=until`, widened to every month
/// the lake holds without a fingerprint, so that the run repairs those whatever range it was asked for.
pub fn probe_range(manifest: &Manifest, since: Month, until: Month) -> (Month, Month) {
    manifest
        .months
        .iter()
        .filter(|e| e.fingerprint.is_none())
        .fold((since, until), |(lo, hi), e| (lo.min(e.month), hi.max(e.month)))
}

/// Decides what to fetch, delete and re-flag. `fingerprints` covers [`probe_range`]; months outside
/// `since..=until` count only when the lake cannot vouch for them.
pub fn plan(input: PlanInput<'_>) -> Plan {
    let PlanInput { manifest, fingerprints: fps, since, until, current, .. } = input;
    let (probed_since, probed_until) = probe_range(manifest, since, until);
    let unverified = |e: &MonthEntry| e.fingerprint.is_none();
    let schema_changed = !manifest.source_fields.is_empty()
        && manifest.source_fields != input.source_fields
        && manifest.months.iter().any(|e| e.source_kind == SourceKind::Soda);
    let recent: Vec<Month> = if fps.aggregates.updated_at {
        Vec::new()
    } else {
        fps.months.keys().rev().take(input.recheck_recent_months).copied().collect()
    };
    let mut out = Plan {
        fetch: Vec::new(),
        delete: Vec::new(),
        unchanged: 0,
        reflag: Vec::new(),
        partial_month: (since..=until).contains(&current).then_some(current),
        dataset_replaced: false,
        comparable: 0,
        notes: Vec::new(),
    };
    let mut moved = 0usize;
    for (m, fp) in &fps.months {
        let stored = manifest.get(*m);
        if !(since..=until).contains(m) && !stored.is_some_and(unverified) {
            continue;
        }
        if let Some((a, b)) = stored
            .and_then(|e| e.fingerprint.as_ref())
            .and_then(|old| old.max_updated_at.as_ref().zip(fp.max_updated_at.as_ref()))
        {
            out.comparable += 1;
            moved += usize::from(a != b);
        }
        let why = match stored {
            None => Some(Why::New),
            Some(e) if unverified(e) => Some(Why::Unverified),
            Some(_) if input.full => Some(Why::Forced),
            Some(e) if e.source_kind == SourceKind::Csv || schema_changed => Some(Why::Changed),
            Some(e) if differs(e.fingerprint.as_ref(), fp) => Some(Why::Changed),
            Some(_) if recent.contains(m) => Some(Why::Recheck),
            Some(_) => None,
        };
        match why {
            Some(why) => out.fetch.push(Fetch { month: *m, fingerprint: fp.clone(), why }),
            None => out.unchanged += 1,
        }
    }
    out.dataset_replaced = out.comparable >= 2 && moved == out.comparable;
    let asked = |e: &MonthEntry| {
        (since..=until).contains(&e.month) || (unverified(e) && (probed_since..=probed_until).contains(&e.month))
    };
    out.delete =
        manifest.months.iter().filter(|e| asked(e) && !fps.months.contains_key(&e.month)).map(|e| e.month).collect();
    let fetched = |m: &Month| out.fetch.iter().any(|f| f.month == *m) || out.delete.contains(m);
    out.reflag = manifest
        .months
        .iter()
        .filter(|e| e.partial != (e.month == current) && !fetched(&e.month))
        .map(|e| e.month)
        .collect();
    if schema_changed {
        out.notes.push(format!(
            "the source's columns changed since the last run (now: {}); every month in range was fetched again",
            input.source_fields.join(", ")
        ));
    }
    if fps.aggregates != Aggregates::ALL {
        let refused = Aggregates::ALL.without(fps.aggregates);
        let names: Vec<&str> = [(refused.updated_at, ":updated_at"), (refused.id_sum, "the offense-id sum")]
            .into_iter()
            .filter_map(|(r, name)| r.then_some(name))
            .collect();
        let recheck = if fps.aggregates.updated_at {
            String::new()
        } else {
            format!(" and the last {} were fetched again", recent.len())
        };
        out.notes.push(format!(
            "the server refused to aggregate {}; months were compared by {}{recheck}",
            names.join(" and "),
            fps.aggregates.describe()
        ));
    }
    out
}

/// Whether the stored fingerprint says the month may differ from the source. Only the parts both sides have
/// are compared, so a server that stops (or starts) aggregating `:updated_at` does not force a full re-fetch.
fn differs(stored: Option<&Fingerprint>, now: &Fingerprint) -> bool {
    let Some(s) = stored else { return true };
    let part = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x != y);
    s.count != now.count || part(&s.max_updated_at, &now.max_updated_at) || part(&s.content_sum, &now.content_sum)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    fn fp(count: u64, updated: Option<&str>, sum: Option<&str>) -> Fingerprint {
        Fingerprint { count, max_updated_at: updated.map(str::to_string), content_sum: sum.map(str::to_string) }
    }

    /// A full fingerprint whose `:updated_at` is `u`.
    fn full(count: u64, u: &str) -> Fingerprint {
        fp(count, Some(u), Some("100"))
    }

    fn entry(month: &str, fingerprint: Fingerprint, kind: SourceKind, partial: bool) -> MonthEntry {
        MonthEntry {
            month: m(month),
            rows: fingerprint.count,
            quarantined: 0,
            file: "part-0.parquet".into(),
            sha256: None,
            bytes: None,
            fingerprint: Some(fingerprint),
            fetched_at: "2026-11-01T00:00:00Z".into(),
            partial,
            source_kind: kind,
        }
    }

    fn fields() -> Vec<String> {
        vec!["report_number".into(), "offense_id".into()]
    }

    fn manifest(months: Vec<MonthEntry>) -> Manifest {
        Manifest { source_fields: fields(), months, ..Manifest::empty("tazs-3rd5", "https://data.seattle.gov") }
    }

    fn source(aggregates: Aggregates, months: &[(&str, Fingerprint)]) -> Fingerprints {
        Fingerprints { months: months.iter().map(|(k, v)| (m(k), v.clone())).collect::<BTreeMap<_, _>>(), aggregates }
    }

    /// Plans 2024-01..2024-04 with 2026-11 as the current month, no `--full`, recheck of 2.
    fn plan_of(manifest: &Manifest, fps: &Fingerprints) -> Plan {
        plan(input(manifest, fps))
    }

    fn input<'a>(manifest: &'a Manifest, fps: &'a Fingerprints) -> PlanInput<'a> {
        PlanInput {
            manifest,
            source_fields: FIELDS.get_or_init(fields),
            fingerprints: fps,
            since: m("2024-01"),
            until: m("2024-04"),
            current: m("2026-11"),
            full: false,
            recheck_recent_months: 2,
        }
    }

    static FIELDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

    fn fetched(p: &Plan) -> Vec<(String, Why)> {
        p.fetch.iter().map(|f| (f.month.to_string(), f.why)).collect()
    }

    #[test]
    fn a_month_missing_from_the_lake_is_new_and_an_unchanged_one_is_left() {
        let lake = manifest(vec![entry("2024-01", full(5, "t1"), SourceKind::Soda, false)]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t1")), ("2024-02", full(7, "t1"))]);
        let p = plan_of(&lake, &src);
        assert_eq!(fetched(&p), [("2024-02".to_string(), Why::New)]);
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.fetch[0].fingerprint, full(7, "t1"), "the download is checked against the source's count");
        assert!(p.delete.is_empty() && p.notes.is_empty() && !p.dataset_replaced);
    }

    #[test]
    fn a_changed_count_updated_at_or_sum_is_fetched_again() {
        let lake = manifest(vec![
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-03", fp(5, Some("t1"), Some("100")), SourceKind::Soda, false),
            entry("2024-04", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let src = source(
            Aggregates::ALL,
            &[
                ("2024-01", full(6, "t1")),
                ("2024-02", full(5, "t2")),
                ("2024-03", fp(5, Some("t1"), Some("101"))),
                ("2024-04", full(5, "t1")),
            ],
        );
        let p = plan_of(&lake, &src);
        let changed = |s: &str| (s.to_string(), Why::Changed);
        assert_eq!(fetched(&p), [changed("2024-01"), changed("2024-02"), changed("2024-03")]);
        assert_eq!((p.unchanged, p.comparable), (1, 4));
        assert!(!p.dataset_replaced, "one of four moved: an edit, not a republication");
    }

    #[test]
    fn without_updated_at_the_recent_months_are_rechecked_and_parts_one_side_lacks_are_not_compared() {
        let lake = manifest(vec![
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-03", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let content = |n| fp(n, None, Some("100"));
        let src = source(
            Aggregates::each_alone()[1],
            &[("2024-01", content(5)), ("2024-02", content(5)), ("2024-03", content(5))],
        );
        let p = plan_of(&lake, &src);
        let recheck = |s: &str| (s.to_string(), Why::Recheck);
        assert_eq!(fetched(&p), [recheck("2024-02"), recheck("2024-03")], "the last 2 months, oldest first");
        assert_eq!(p.unchanged, 1, "a stored :updated_at the server no longer sends is not a change");
        assert_eq!(p.notes.len(), 1);
        assert!(p.notes[0].contains("row count and offense-id sum") && p.notes[0].contains("last 2"), "{:?}", p.notes);
        let count_only = source(Aggregates::COUNT, &[("2024-01", fp(5, None, None))]);
        assert!(plan_of(&lake, &count_only).notes[0].contains("row count only"));
    }

    #[test]
    fn without_the_sum_updated_at_still_finds_an_edit_in_an_old_month_and_nothing_is_rechecked() {
        let lake = manifest(vec![
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-03", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let updated = |u| fp(5, Some(u), None);
        let src = source(
            Aggregates::each_alone()[0],
            &[("2024-01", updated("t2")), ("2024-02", updated("t1")), ("2024-03", updated("t1"))],
        );
        let p = plan_of(&lake, &src);
        assert_eq!(fetched(&p), [("2024-01".to_string(), Why::Changed)], "the oldest month's edit is seen");
        assert_eq!(p.unchanged, 2, "no recent month is fetched again: :updated_at catches edits");
        assert_eq!(p.notes.len(), 1);
        assert!(
            p.notes[0].contains("refused to aggregate the offense-id sum")
                && p.notes[0].contains("row count and max(:updated_at)")
                && !p.notes[0].contains("fetched again"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn full_forces_every_stored_month_and_new_ones_stay_new() {
        let lake = manifest(vec![entry("2024-01", full(5, "t1"), SourceKind::Soda, false)]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t1")), ("2024-02", full(1, "t1"))]);
        let p = plan(PlanInput { full: true, ..input(&lake, &src) });
        assert_eq!(fetched(&p), [("2024-01".to_string(), Why::Forced), ("2024-02".to_string(), Why::New)]);
        assert_eq!(p.unchanged, 0);
    }

    #[test]
    fn a_month_in_range_the_source_no_longer_has_is_deleted_and_one_out_of_range_is_kept() {
        let lake = manifest(vec![
            entry("2023-12", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t1"))]);
        let p = plan_of(&lake, &src);
        assert_eq!(p.delete, [m("2024-02")]);
        assert!(p.fetch.is_empty());
        assert_eq!(p.unchanged, 1);
    }

    #[test]
    fn every_updated_at_moving_is_a_republished_dataset() {
        let lake = manifest(vec![
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t9")), ("2024-02", full(5, "t9"))]);
        let p = plan_of(&lake, &src);
        assert!(p.dataset_replaced);
        assert_eq!((p.comparable, p.fetch.len()), (2, 2));
        // One comparable month moving is not enough to say so.
        let lake = manifest(vec![entry("2024-01", full(5, "t1"), SourceKind::Soda, false)]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t9")), ("2024-02", full(5, "t9"))]);
        assert!(!plan_of(&lake, &src).dataset_replaced);
    }

    #[test]
    fn changed_source_columns_fetch_every_month_in_range_again_and_say_why() {
        let lake = manifest(vec![
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t1")), ("2024-02", full(5, "t1"))]);
        let now = vec!["report_number".to_string(), "offense_id".to_string(), "census_block".to_string()];
        let p = plan(PlanInput { source_fields: &now, ..input(&lake, &src) });
        assert_eq!(p.fetch.len(), 2);
        assert!(p.fetch.iter().all(|f| f.why == Why::Changed));
        assert!(p.notes[0].contains("columns changed") && p.notes[0].contains("census_block"), "{:?}", p.notes);
        // A lake that holds only imports has no source columns to compare with.
        let imported = manifest(vec![entry("2024-01", full(5, "t1"), SourceKind::Csv, false)]);
        let p = plan(PlanInput { source_fields: &now, ..input(&imported, &src) });
        assert!(p.notes.is_empty(), "{:?}", p.notes);
    }

    #[test]
    fn a_csv_imported_month_in_range_is_fetched_from_the_source() {
        let lake = manifest(vec![
            entry("2024-01", fp(5, None, None), SourceKind::Csv, false),
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t1")), ("2024-02", full(5, "t1"))]);
        let p = plan_of(&lake, &src);
        assert_eq!(fetched(&p), [("2024-01".to_string(), Why::Changed)], "same count, but not the source's copy");
    }

    #[test]
    fn the_current_month_is_partial_and_a_month_that_stopped_being_current_is_reflagged() {
        let current = m("2024-04");
        let lake = manifest(vec![
            entry("2024-02", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-03", full(5, "t1"), SourceKind::Soda, true),
            entry("2024-04", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let src = source(
            Aggregates::ALL,
            &[("2024-02", full(5, "t1")), ("2024-03", full(5, "t1")), ("2024-04", full(6, "t2"))],
        );
        let p = plan(PlanInput { current, ..input(&lake, &src) });
        assert_eq!(p.partial_month, Some(current));
        assert_eq!(p.reflag, [m("2024-03")], "2024-04 is fetched, and its commit sets its flag");
        let p = plan(PlanInput { current: m("2024-05"), until: m("2024-04"), ..input(&lake, &src) });
        assert_eq!(p.partial_month, None, "the current month is out of range");
        assert_eq!(p.reflag, [m("2024-03")]);
    }

    /// A month without a fingerprint (its file failed verification, or a crash lost its record).
    fn unvouched(month: &str) -> MonthEntry {
        MonthEntry { fingerprint: None, ..entry(month, full(5, "t1"), SourceKind::Soda, false) }
    }

    #[test]
    fn a_month_the_lake_cannot_vouch_for_is_fetched_even_outside_the_range() {
        let lake = manifest(vec![
            unvouched("2015-06"),
            entry("2015-07", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
            unvouched("2024-02"),
        ]);
        assert_eq!(probe_range(&lake, m("2024-01"), m("2024-04")), (m("2015-06"), m("2024-04")));
        // The source's fingerprints cover the widened range; 2015-07 is vouched for and outside the range.
        let src = source(
            Aggregates::ALL,
            &[
                ("2015-06", full(5, "t1")),
                ("2015-07", full(9, "t9")),
                ("2024-01", full(5, "t1")),
                ("2024-02", full(5, "t1")),
            ],
        );
        let p = plan_of(&lake, &src);
        let unverified = |s: &str| (s.to_string(), Why::Unverified);
        assert_eq!(fetched(&p), [unverified("2015-06"), unverified("2024-02")]);
        assert_eq!(p.unchanged, 1, "months outside the range are neither counted nor compared");
        assert_eq!(p.comparable, 1);
        assert!(p.delete.is_empty());
        // Without one, the range is the one asked for.
        let vouched = manifest(vec![entry("2015-07", full(5, "t1"), SourceKind::Soda, false)]);
        assert_eq!(probe_range(&vouched, m("2024-01"), m("2024-04")), (m("2024-01"), m("2024-04")));
    }

    #[test]
    fn a_month_the_lake_cannot_vouch_for_that_the_source_no_longer_has_is_deleted() {
        let lake = manifest(vec![
            unvouched("2015-06"),
            entry("2015-07", full(5, "t1"), SourceKind::Soda, false),
            entry("2024-01", full(5, "t1"), SourceKind::Soda, false),
        ]);
        let src = source(Aggregates::ALL, &[("2024-01", full(5, "t1"))]);
        let p = plan_of(&lake, &src);
        assert_eq!(p.delete, [m("2015-06")], "2015-07 is outside the range asked for and vouched for: kept");
        assert!(p.fetch.is_empty());
    }
}
