//! `/api/offenses` and `/api/heatmap` from the index: `api_offense_breakdown`'s and `api_hour_weekday`'s rows of
//! the range, category and area summed per offense and per hour × weekday cell.

use super::{axis_no, keeps, month_bound, ServingIndex};
use crate::web::filters::{Category, Filters};
use crate::web::queries::{HeatmapRow, OffenseRow, Range, WEEKDAYS};

pub fn offenses(ix: &ServingIndex, range: Range, f: &Filters) -> Vec<OffenseRow> {
    let axis = axis_no(f.axis);
    let (from, to) = (month_bound(range.from), month_bound(range.to));
    let filter = ix.category_filter(f.category);
    let mut sums = vec![0i64; ix.offense_names.len()];
    // An offense is listed when it has a row in the range, as the query's grouping gave it.
    let mut listed = vec![false; ix.offense_names.len()];
    for key in ix.keys(f.area.as_ref()) {
        for r in ix.offenses.between(axis, key, from, to) {
            let id = r.offense as usize;
            if keeps(filter, ix.offense_names[id].category) {
                sums[id] += i64::from(r.n);
                listed[id] = true;
            }
        }
    }
    // Ids are numbered in (sub-category, offense, category) order: the query's tie order.
    let mut order: Vec<usize> = (0..sums.len()).filter(|i| listed[*i]).collect();
    order.sort_by(|a, b| sums[*b].cmp(&sums[*a]).then(a.cmp(b)));
    order
        .into_iter()
        .map(|i| {
            let name = &ix.offense_names[i];
            OffenseRow {
                offense_sub_category: name.sub_category.clone(),
                offense: name.offense.clone(),
                category: Category::label_of(&ix.categories[name.category as usize]),
                count: sums[i],
            }
        })
        .collect()
}

pub fn heatmap(ix: &ServingIndex, range: Range, f: &Filters) -> Vec<HeatmapRow> {
    let axis = axis_no(f.axis);
    let (from, to) = (month_bound(range.from), month_bound(range.to));
    let filter = ix.category_filter(f.category);
    let mut cells = [0i64; 7 * 24];
    for key in ix.keys(f.area.as_ref()) {
        for r in ix.heat.between(axis, key, from, to) {
            if keeps(filter, r.category) {
                if let Some(c) = cells.get_mut(usize::from(r.cell)) {
                    *c += i64::from(r.n);
                }
            }
        }
    }
    (0..7 * 24)
        .map(|i| HeatmapRow {
            weekday: (i / 24) as i32,
            weekday_name: WEEKDAYS[i / 24],
            hour: (i % 24) as i32,
            category: f.category.as_str(),
            count: cells[i],
        })
        .collect()
}
