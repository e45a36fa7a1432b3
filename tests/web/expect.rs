//! Expected API answers computed in plain Rust from the fixture rows: an independent second implementation of
//! what each endpoint promises (docs/web.md), to compare the server's JSON against.

use std::collections::{BTreeMap, HashMap};

use crimewatch::domain::Month;
use serde_json::{json, Value};

use super::fixture::{on_axis, Offense};

/// One request's filters, as the test grid spells them.
#[derive(Debug, Clone)]
pub struct Query {
    pub axis: &'static str,
    pub category: &'static str,
    pub area: Option<(&'static str, String)>,
    pub from: Option<Month>,
    pub to: Option<Month>,
}

impl Query {
    pub fn to_query_string(&self) -> String {
        let mut q = vec![format!("axis={}", self.axis), format!("category={}", self.category)];
        if let Some((level, area)) = &self.area {
            q.push(format!("area_level={level}"));
            q.push(format!("area={}", encode(area)));
        }
        if let Some(f) = self.from {
            q.push(format!("from={f}"));
        }
        if let Some(t) = self.to {
            q.push(format!("to={t}"));
        }
        q.join("&")
    }
}

/// Percent-encodes a query value (names hold spaces, slashes and `&`).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn mart_category(c: &str) -> Option<&'static str> {
    match c {
        "violent" => Some("VIOLENT CRIME"),
        "property" => Some("PROPERTY CRIME"),
        "other" => Some("ALL OTHER"),
        _ => None,
    }
}

fn label(mart: &str) -> &'static str {
    match mart {
        "VIOLENT CRIME" => "violent",
        "PROPERTY CRIME" => "property",
        _ => "other",
    }
}

fn area_of<'a>(o: &'a Offense, level: &str) -> &'a str {
    match level {
        "precinct" => &o.precinct,
        "sector" => &o.sector,
        "beat" => &o.beat,
        _ => &o.neighborhood,
    }
}

/// Rows that pass the category and area filters (not the date range), with their axis month/hour/weekday.
fn selected<'a>(rows: &'a [Offense], q: &Query) -> Vec<(&'a Offense, Month, u32, u32)> {
    rows.iter()
        .filter(|o| mart_category(q.category).is_none_or(|c| o.category == c))
        .filter(|o| q.area.as_ref().is_none_or(|(level, a)| area_of(o, level) == a))
        .filter_map(|o| on_axis(o, q.axis).map(|(m, h, w)| (o, m, h, w)))
        .collect()
}

/// First and last month with data on the axis (over all rows, not the filtered ones).
fn axis_bounds(rows: &[Offense], axis: &str) -> Option<(Month, Month)> {
    let months: Vec<Month> = rows.iter().filter_map(|o| on_axis(o, axis).map(|x| x.0)).collect();
    Some((*months.iter().min()?, *months.iter().max()?))
}

fn range(rows: &[Offense], q: &Query) -> Option<(Month, Month, Month)> {
    let (first, last) = axis_bounds(rows, q.axis)?;
    let from = q.from.unwrap_or(first);
    let to = q.to.unwrap_or(last);
    (from <= to).then_some((from, to, first))
}

fn year_earlier(m: Month) -> Month {
    Month::new(m.year() - 1, m.month()).expect("valid month")
}

fn yoy(count: i64, prior: Option<i64>) -> Value {
    match prior {
        Some(p) if p > 0 => json!(((count - p) as f64 * 1000.0 / p as f64).round() / 10.0),
        _ => Value::Null,
    }
}

/// Completeness below which a month is provisional, and the reference offenses the delays must rest on (the
/// warehouse's `complete_share` default and the dbt project's `completeness_min_reference`).
const COMPLETE_SHARE: f64 = 0.95;
const MIN_REFERENCE: usize = 100;
/// The completeness window and reference months (the dbt project's `completeness_*_months`).
const WINDOW: usize = 12;

/// The cumulative delay shares (0 … WINDOW months) of one category (`None` = all) and the reference offenses they
/// rest on: occurrence months WINDOW … 2·WINDOW − 1 before the newest report month, none before the lake.
fn delay_shares_of(rows: &[Offense], category: Option<&str>) -> Option<(Vec<f64>, usize)> {
    use crate::numbers::{delay_months, delay_shares};
    let (newest, first) = (newest_month(rows), first_lake_month(rows));
    let back = |k: usize| (0..k).fold(newest, |m, _| m.prev());
    let (ref_from, ref_to) = (back(2 * WINDOW - 1), back(WINDOW));
    let ym = |m: Month| (m.year(), m.month());
    let delays: Vec<u32> = rows
        .iter()
        .filter(|o| category.is_none_or(|c| o.category == c))
        .filter_map(|o| Some((Month::of(o.offense_date?.date()), Month::of(o.report_date_time.date()))))
        .filter(|(occ, _)| *occ >= ref_from && *occ <= ref_to && *occ >= first)
        .map(|(occ, rep)| delay_months(ym(occ), ym(rep)))
        .collect();
    delay_shares(&delays, WINDOW as u32)
}

/// Each month's (is_partial, is_provisional). Partial: the current month, the last report month. Provisional:
/// an earlier month less than 95% complete — all offenses' share reported within its age (months before the
/// current one) — when the delays rest on at least 100 offenses; otherwise one of the two months before the
/// current one.
fn flagger(rows: &[Offense]) -> impl Fn(Month) -> (bool, bool) {
    let current = newest_month(rows);
    let measured = delay_shares_of(rows, None).filter(|(_, reference)| *reference >= MIN_REFERENCE);
    move |m: Month| {
        let provisional = m < current
            && match &measured {
                Some((shares, _)) => {
                    let age = m.months_until(current) as usize;
                    shares.get(age).is_some_and(|p| *p < COMPLETE_SHARE)
                }
                None => m >= current.prev().prev(),
            };
        (m == current, provisional)
    }
}

/// `/api/health`'s `provisional_months`, as [`flagger`] finds them (only the WINDOW months before the current
/// one can be).
pub fn provisional_months(rows: &[Offense]) -> Vec<String> {
    let current = newest_month(rows);
    let flags = flagger(rows);
    let first = (0..WINDOW).fold(current, |m, _| m.prev());
    first.through(current).filter(|m| flags(*m).1).map(|m| m.to_string()).collect()
}

/// Which rule [`flagger`] uses: `completeness` or the `fixed` fallback.
pub fn provisional_method(rows: &[Offense]) -> &'static str {
    match delay_shares_of(rows, None) {
        Some((_, reference)) if reference >= MIN_REFERENCE => "completeness",
        _ => "fixed",
    }
}

/// The lake's first report month: an earlier period before it is not comparable.
fn first_lake_month(rows: &[Offense]) -> Month {
    rows.iter().map(|o| Month::of(o.report_date_time.date())).min().expect("rows")
}

/// φ for one axis, category (`None` = all three summed) and area level (`None` = the city), recomputed from the
/// rows: the mean of (a − b)²/(a + b) over every area's pairs of a final month and the same month a year
/// earlier (the earlier not before the lake), pairs with a + b = 0 left out, floored at 1.
pub fn dispersion(rows: &[Offense], axis: &str, category: Option<&str>, level: Option<&str>) -> Option<f64> {
    let first = first_lake_month(rows);
    let newest = newest_month(rows);
    let flags = flagger(rows);
    let mut counts: HashMap<(&str, Month), i64> = HashMap::new();
    for o in rows.iter().filter(|o| category.is_none_or(|c| o.category == c)) {
        if let Some((m, _, _)) = on_axis(o, axis) {
            // As staging cleans area codes: SPD's "out of jurisdiction" is no area.
            let area = level.map_or("city", |l| match area_of(o, l) {
                "OOJ" => "UNKNOWN",
                a => a,
            });
            *counts.entry((area, m)).or_default() += 1;
        }
    }
    let mut keys: Vec<(&str, Month)> = counts.keys().copied().collect();
    keys.extend(counts.keys().map(|(a, m)| (*a, Month::new(m.year() + 1, m.month()).expect("month"))));
    keys.sort();
    keys.dedup();
    let (mut sum, mut pairs) = (0.0, 0usize);
    for (area, m) in keys {
        // Final months only: neither partial nor provisional (nor after the newest).
        let (partial, provisional) = flags(m);
        if m > newest || partial || provisional || year_earlier(m) < first {
            continue;
        }
        let a = counts.get(&(area, m)).copied().unwrap_or(0);
        let b = counts.get(&(area, year_earlier(m))).copied().unwrap_or(0);
        if a + b > 0 {
            sum += ((a - b) * (a - b)) as f64 / (a + b) as f64;
            pairs += 1;
        }
    }
    // Six decimals, as the mart stores it.
    (pairs > 0).then(|| ((sum / pairs as f64).max(1.0) * 1e6).round() / 1e6)
}

/// The newest report month (the partial one): later months do not exist in the marts.
fn newest_month(rows: &[Offense]) -> Month {
    rows.iter().map(|o| Month::of(o.report_date_time.date())).max().expect("rows")
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The comparison fields of a count `a` against `b`: log(a/b) ± 1.96·√(φ(1/a + 1/b)), 0.5 added to both when
/// either is 0; nothing against nothing is "no change" (docs/reading-the-numbers.md).
pub fn comparison(a: i64, b: i64, phi: Option<f64>) -> [(&'static str, Value); 4] {
    let none =
        [("ratio", Value::Null), ("ratio_low", Value::Null), ("ratio_high", Value::Null), ("significant", Value::Null)];
    let Some(phi) = phi else { return none };
    if a == 0 && b == 0 {
        return [
            ("ratio", Value::Null),
            ("ratio_low", Value::Null),
            ("ratio_high", Value::Null),
            ("significant", json!(false)),
        ];
    }
    let (fa, fb) = if a == 0 || b == 0 { (a as f64 + 0.5, b as f64 + 0.5) } else { (a as f64, b as f64) };
    let half = 1.959_963_984_540_054 * (phi * (1.0 / fa + 1.0 / fb)).sqrt();
    let (low, high) = (((fa / fb).ln() - half).exp(), ((fa / fb).ln() + half).exp());
    [
        ("ratio", if b > 0 { json!(round3(a as f64 / b as f64)) } else { Value::Null }),
        ("ratio_low", json!(round3(low))),
        ("ratio_high", json!(round3(high))),
        ("significant", json!(low > 1.0 || high < 1.0)),
    ]
}

fn with_comparison(mut row: Value, fields: [(&'static str, Value); 4]) -> Value {
    for (k, v) in fields {
        row[k] = v;
    }
    row
}

pub fn trend(rows: &[Offense], q: &Query) -> Value {
    let Some((from, to, first)) = range(rows, q) else { return json!([]) };
    let mut counts: HashMap<(Month, &str), i64> = HashMap::new();
    for (o, m, _, _) in selected(rows, q) {
        *counts.entry((m, o.category)).or_default() += 1;
    }
    let cats: Vec<&str> = ["VIOLENT CRIME", "PROPERTY CRIME", "ALL OTHER"]
        .into_iter()
        .filter(|c| mart_category(q.category).is_none_or(|x| x == *c))
        .collect();
    let first_lake = first_lake_month(rows);
    let level = q.area.as_ref().map(|(l, _)| *l);
    let phis: HashMap<&str, Option<f64>> =
        cats.iter().map(|c| (*c, dispersion(rows, q.axis, Some(c), level))).collect();
    let flags = flagger(rows);
    let mut out = Vec::new();
    for m in from.through(to) {
        for c in &cats {
            let count = counts.get(&(m, *c)).copied().unwrap_or(0);
            let prior = (year_earlier(m) >= first).then(|| counts.get(&(year_earlier(m), *c)).copied().unwrap_or(0));
            let (partial, provisional) = flags(m);
            let row = json!({
                "month": m.to_string(), "category": label(c), "count": count, "prior_year_count": prior,
                "yoy_pct": yoy(count, prior), "is_partial": partial, "is_provisional": provisional,
            });
            let comparable = !partial && year_earlier(m) >= first_lake;
            let fields = match (prior, comparable) {
                (Some(p), true) => comparison(count, p, phis[c]),
                _ => comparison(0, 0, None),
            };
            out.push(with_comparison(row, fields));
        }
    }
    Value::Array(out)
}

/// `polygon_of` maps a data neighborhood name to its polygon (the test's own table).
pub fn areas(rows: &[Offense], q: &Query, level: &'static str, polygon_of: &dyn Fn(&str) -> Option<String>) -> Value {
    let Some((from, to, first)) = range(rows, q) else { return json!([]) };
    let (pfrom, pto) = (year_earlier(from), year_earlier(to));
    let prior_known = pfrom >= first;
    let mut cur: BTreeMap<&str, i64> = BTreeMap::new();
    let mut prev: HashMap<&str, i64> = HashMap::new();
    for (o, m, _, _) in selected(rows, q) {
        if m >= from && m <= to {
            *cur.entry(area_of(o, level)).or_default() += 1;
        }
        if m >= pfrom && m <= pto {
            *prev.entry(area_of(o, level)).or_default() += 1;
        }
    }
    let mut list: Vec<(&str, i64)> = cur.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let comparable = pfrom >= first_lake_month(rows) && from.through(to).all(|m| !flagger(rows)(m).0);
    let phi = dispersion(rows, q.axis, mart_category(q.category), Some(level));
    Value::Array(
        list.into_iter()
            .map(|(area, count)| {
                let prior = prior_known.then(|| prev.get(area).copied().unwrap_or(0));
                let row = json!({
                    "level": level, "area": area, "category": q.category, "count": count,
                    "prior_year_count": prior, "yoy_pct": yoy(count, prior),
                    "polygon": if level == "neighborhood" { polygon_of(area) } else { None },
                });
                let fields = match (prior, comparable) {
                    (Some(p), true) => comparison(count, p, phi),
                    _ => comparison(0, 0, None),
                };
                with_comparison(row, fields)
            })
            .collect(),
    )
}

pub fn offenses(rows: &[Offense], q: &Query) -> Value {
    let Some((from, to, _)) = range(rows, q) else { return json!([]) };
    let mut counts: HashMap<(&str, &str, &str), i64> = HashMap::new();
    for (o, m, _, _) in selected(rows, q) {
        if m >= from && m <= to {
            *counts.entry((o.sub_category, o.offense, label(o.category))).or_default() += 1;
        }
    }
    let mut list: Vec<_> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0 .0.cmp(b.0 .0)).then(a.0 .1.cmp(b.0 .1)).then(a.0 .2.cmp(b.0 .2)));
    Value::Array(
        list.into_iter()
            .map(|((sub, offense, cat), count)| {
                json!({"offense_sub_category": sub, "offense": offense, "category": cat, "count": count})
            })
            .collect(),
    )
}

pub fn heatmap(rows: &[Offense], q: &Query) -> Value {
    let Some((from, to, _)) = range(rows, q) else { return json!([]) };
    let mut grid = [[0i64; 24]; 7];
    for (_, m, h, w) in selected(rows, q) {
        if m >= from && m <= to {
            grid[w as usize][h as usize] += 1;
        }
    }
    let names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let mut out = Vec::new();
    for (w, row) in grid.iter().enumerate() {
        for (h, count) in row.iter().enumerate() {
            out.push(
                json!({"weekday": w, "weekday_name": names[w], "hour": h, "category": q.category, "count": count}),
            );
        }
    }
    Value::Array(out)
}

/// `/api/completeness` recomputed from the rows (tests/numbers.rs holds the formulas): window and reference of
/// 12 months before the newest report month, φ from [`dispersion`] (occurred axis, the city).
pub fn completeness(rows: &[Offense]) -> Value {
    use crate::numbers::nowcast;
    let newest = newest_month(rows);
    let back = |k: usize| (0..k).fold(newest, |m, _| m.prev());
    let mut out = Vec::new();
    // In the mart's order: month, then the category's mart value ('ALL' first).
    for k in (0..WINDOW).rev() {
        let month = back(k);
        for (mart, label) in [
            (None, "all"),
            (Some("ALL OTHER"), "other"),
            (Some("PROPERTY CRIME"), "property"),
            (Some("VIOLENT CRIME"), "violent"),
        ] {
            let mine: Vec<&Offense> = rows.iter().filter(|o| mart.is_none_or(|c| o.category == c)).collect();
            let Some((shares, reference)) = delay_shares_of(rows, mart) else { continue };
            let observed = mine.iter().filter(|o| o.offense_date.is_some_and(|d| Month::of(d.date()) == month)).count();
            let phi = dispersion(rows, "occurred", mart, None).unwrap_or(1.0);
            let p = shares[k];
            let r = |x: f64, d: f64| (x * d).round() / d;
            let (now, low, high) = match nowcast(observed as f64, p, reference as f64, phi) {
                Some((n, l, h)) => (json!(r(n, 10.0)), json!(r(l, 10.0)), json!(r(h, 10.0))),
                None => (Value::Null, Value::Null, Value::Null),
            };
            out.push(json!({
                "month": month.to_string(), "offense_category": label, "observed": observed,
                "completeness": r(p, 1e4), "nowcast": now, "nowcast_low": low, "nowcast_high": high,
            }));
        }
    }
    Value::Array(out)
}

/// `/api/expected-range?axis=` recomputed from the rows: for each month (of either axis, up to the current one)
/// and category, the mean μ of the same month 1…3 years earlier over those that are final (neither partial nor
/// provisional, see [`flagger`]) and not before the lake, when at least 2; the range μ ∓ 1.96·√(φ·μ·(1 + 1/Y)),
/// φ from [`dispersion`] (the axis, the city), low end floored at 0.
pub fn expected_range(rows: &[Offense], axis: &str) -> Value {
    let flags = flagger(rows);
    let (first, newest) = (first_lake_month(rows), newest_month(rows));
    let mut counts: HashMap<(Month, Option<&str>), i64> = HashMap::new();
    let mut months: Vec<Month> = Vec::new();
    for o in rows {
        for a in ["occurred", "reported"] {
            if let Some((m, _, _)) = on_axis(o, a) {
                months.push(m);
                if a == axis {
                    *counts.entry((m, Some(o.category))).or_default() += 1;
                    *counts.entry((m, None)).or_default() += 1;
                }
            }
        }
    }
    months.sort();
    months.dedup();
    // Categories with offenses on either axis; earlier months only where the marts have the month (dim_month).
    let categories: Vec<&str> = {
        let mut c: Vec<&str> = rows.iter().map(|o| o.category).collect();
        c.sort();
        c.dedup();
        c
    };
    let known: std::collections::HashSet<Month> = months.iter().copied().collect();
    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    let mut out = Vec::new();
    for m in months.into_iter().filter(|m| *m <= newest) {
        for (mart, label) in [
            (None, "all"),
            (Some("ALL OTHER"), "other"),
            (Some("PROPERTY CRIME"), "property"),
            (Some("VIOLENT CRIME"), "violent"),
        ] {
            if mart.is_some_and(|c| !categories.contains(&c)) {
                continue;
            }
            let earlier: Vec<i64> = (1..=3)
                .map(|k| Month::new(m.year() - k, m.month()).expect("month"))
                .filter(|p| {
                    *p >= first && known.contains(p) && {
                        let (partial, provisional) = flags(*p);
                        !partial && !provisional
                    }
                })
                .map(|p| counts.get(&(p, mart)).copied().unwrap_or(0))
                .collect();
            if earlier.len() < 2 {
                continue;
            }
            let years = earlier.len() as f64;
            let mu = earlier.iter().sum::<i64>() as f64 / years;
            let phi = dispersion(rows, axis, mart, None).unwrap_or(1.0);
            let half = 1.959964 * (phi * mu * (1.0 + 1.0 / years)).sqrt();
            out.push(json!({
                "month": m.to_string(), "offense_category": label, "years": earlier.len(),
                "expected": r1(mu), "expected_low": r1((mu - half).max(0.0)), "expected_high": r1(mu + half),
            }));
        }
    }
    Value::Array(out)
}

/// Whether two JSON tables are equal, numbers within one unit of their last decimal (rounding may differ
/// there): `completeness` has four decimals, the counts one.
pub fn close(got: &Value, want: &Value) -> bool {
    fn within(got: &Value, want: &Value, tolerance: f64) -> bool {
        match (got, want) {
            (Value::Number(a), Value::Number(b)) => (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= tolerance,
            _ => got == want,
        }
    }
    match (got, want) {
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, x)| {
                    b.get(k).is_some_and(|y| within(x, y, if k == "completeness" { 1.01e-4 } else { 0.101 }))
                })
        }
        _ => got == want,
    }
}
