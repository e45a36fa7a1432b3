//! `/api/areas` from the index: the areas of one level ranked by their count in the range (inside a chosen area
//! when one is given), with the count of the same range a year earlier. `api_category_trend`'s area rows summed
//! per area of the level through `dim_area`, which is how `mart_area_counts` (the ranking's mart before) is made.

use super::{axis_no, keeps, level_no, month_bound, Dispersion, ServingIndex};
use crate::domain::category::AreaLevel;
use crate::web::filters::Filters;
use crate::web::geo;
use crate::web::queries::{yoy_pct, AreaRow, Range};
use crate::web::significance::{self, Comparison};

pub fn areas(ix: &ServingIndex, range: Range, f: &Filters, level: AreaLevel) -> Vec<AreaRow> {
    let axis = axis_no(f.axis);
    let l = level_no(level);
    let names = &ix.areas.names[l];
    let keys: Vec<(i32, u32)> = match &f.area {
        None => ix.areas.keys.iter().map(|(k, ids)| (*k, ids[l])).collect(),
        Some((within, name)) => {
            let keys = ix.areas.keys_of(*within, name);
            ix.areas.keys.iter().filter(|(k, _)| keys.contains(k)).map(|(k, ids)| (*k, ids[l])).collect()
        }
    };
    let (from, to) = (month_bound(range.from), month_bound(range.to));
    let (prior_from, prior_to) = (month_bound(range.from.year_earlier()), month_bound(range.to.year_earlier()));
    let filter = ix.category_filter(f.category);
    let mut current = vec![0i64; names.len()];
    let mut prior = vec![0i64; names.len()];
    // An area is ranked when it has a row in the range, as the query's inner grouping gave it.
    let mut ranked = vec![false; names.len()];
    for (key, id) in keys {
        let id = id as usize;
        for r in ix.trend.between(axis, Some(key), prior_from.min(from), to) {
            if !keeps(filter, r.category) {
                continue;
            }
            let m = i32::from(r.month);
            if (from..=to).contains(&m) {
                current[id] += i64::from(r.n);
                ranked[id] = true;
            }
            if (prior_from..=prior_to).contains(&m) {
                prior[id] += i64::from(r.n);
            }
        }
    }
    let level_name = level.as_str();
    let d = Dispersion::of(ix, f.axis, level_name, range);
    let phi = d.phi(f.category.mart_value().unwrap_or("ALL"));
    let comparable = !d.range_has_partial && d.comparable_from(range.from.year_earlier());
    let prior_known = range.prior_known();
    let mut order: Vec<usize> = (0..names.len()).filter(|i| ranked[*i]).collect();
    order.sort_by(|a, b| current[*b].cmp(&current[*a]).then_with(|| names[*a].cmp(&names[*b])));
    order
        .into_iter()
        .map(|i| {
            let (area, count) = (&names[i], current[i]);
            let prior = prior_known.then_some(prior[i]);
            let change = match (prior, phi, comparable) {
                (Some(p), Some(phi), true) => significance::compare(count, p, phi),
                _ => Comparison::NONE,
            };
            AreaRow {
                level: level_name,
                area: area.clone(),
                category: f.category.as_str(),
                count,
                prior_year_count: prior,
                yoy_pct: yoy_pct(count, prior),
                polygon: if level == AreaLevel::Neighborhood { geo::polygon_for(area) } else { None },
                ratio: change.ratio,
                ratio_low: change.ratio_low,
                ratio_high: change.ratio_high,
                significant: change.significant,
            }
        })
        .collect()
}
