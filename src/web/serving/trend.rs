//! `/api/trend` from the index: per month of the range and category, the count, the count a year earlier, the
//! month's flags, and the rate ratio against the year-earlier month (as the trend and dispersion
//! queries answered it before: tests/web/serving/ keeps them as the reference).

use super::{axis_no, keeps, month_bound, Dispersion, ServingIndex};
use crate::domain::category::OffenseCategory;
use crate::domain::Month;
use crate::web::filters::{Category, Filters};
use crate::web::queries::{yoy_pct, Range, TrendRow};
use crate::web::significance;

pub fn trend(ix: &ServingIndex, range: Range, f: &Filters) -> Vec<TrendRow> {
    let axis = axis_no(f.axis);
    let (lo, hi) = (month_bound(range.from.year_earlier()), month_bound(range.to));
    let width = usize::try_from(hi - lo + 1).unwrap_or(0);
    let filter = ix.category_filter(f.category);
    // sums[month − lo][category id]
    let mut sums = vec![vec![0i64; ix.categories.len()]; width];
    for key in ix.keys(f.area.as_ref()) {
        for r in ix.trend.between(axis, key, lo, hi) {
            if keeps(filter, r.category) {
                sums[(i32::from(r.month) - lo) as usize][r.category as usize] += i64::from(r.n);
            }
        }
    }
    let categories: Vec<OffenseCategory> = match f.category {
        Category::All => OffenseCategory::ALL.to_vec(),
        Category::Only(c) => vec![c],
    };
    // Every month asked for lies in lo..=hi: the range and its year-earlier months.
    let count_of = |m: Month, c: OffenseCategory| -> i64 {
        let at = (month_bound(m) - lo) as usize;
        ix.category_id(c.mart_value()).map_or(0, |id| sums[at][id as usize])
    };
    let level = f.area.as_ref().map_or("city", |(l, _)| l.as_str());
    let d = Dispersion::of(ix, f.axis, level, range);
    let mut rows = Vec::with_capacity(width * categories.len());
    for m in range.from.through(range.to) {
        let (is_partial, is_provisional) = ix.flags(m);
        for &c in &categories {
            let count = count_of(m, c);
            // A year-earlier month before the first data is unknown, not zero.
            let prior = (m.year_earlier() >= range.data_from).then(|| count_of(m.year_earlier(), c));
            let mut row = TrendRow {
                month: m.to_string(),
                category: c.label().to_string(),
                count,
                prior_year_count: prior,
                yoy_pct: yoy_pct(count, prior),
                is_partial,
                is_provisional,
                ratio: None,
                ratio_low: None,
                ratio_high: None,
                significant: None,
            };
            if let (Some(prior), Some(phi), false) = (prior, d.phi(c.mart_value()), is_partial) {
                if d.comparable_from(m.year_earlier()) {
                    let s = significance::compare(count, prior, phi);
                    (row.ratio, row.ratio_low, row.ratio_high, row.significant) =
                        (s.ratio, s.ratio_low, s.ratio_high, s.significant);
                }
            }
            rows.push(row);
        }
    }
    rows
}
