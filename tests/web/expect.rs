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

/// The current (partial) month: the last report month; the two before it are provisional.
fn flags(rows: &[Offense], m: Month) -> (bool, bool) {
    let current = rows.iter().map(|o| Month::of(o.report_date_time.date())).max().expect("rows");
    (m == current, m < current && m >= current.prev().prev())
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
    let mut out = Vec::new();
    for m in from.through(to) {
        for c in &cats {
            let count = counts.get(&(m, *c)).copied().unwrap_or(0);
            let prior = (year_earlier(m) >= first).then(|| counts.get(&(year_earlier(m), *c)).copied().unwrap_or(0));
            let (partial, provisional) = flags(rows, m);
            out.push(json!({
                "month": m.to_string(), "category": label(c), "count": count, "prior_year_count": prior,
                "yoy_pct": yoy(count, prior), "is_partial": partial, "is_provisional": provisional,
            }));
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
    Value::Array(
        list.into_iter()
            .map(|(area, count)| {
                let prior = prior_known.then(|| prev.get(area).copied().unwrap_or(0));
                json!({
                    "level": level, "area": area, "category": q.category, "count": count,
                    "prior_year_count": prior, "yoy_pct": yoy(count, prior),
                    "polygon": if level == "neighborhood" { polygon_of(area) } else { None },
                })
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
