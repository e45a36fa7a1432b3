//! One `api_*` mart in memory: its rows grouped per (axis, area_key) and sorted by month inside each group, so
//! the rows of one area and a month range are a binary search and a contiguous slice.

use std::collections::HashMap;

/// A month as the index stores it: months since [`Months::FIRST`] (so a u16 reaches the year 7360).
pub type MonthNo = u16;

/// The month numbers the index can hold, as `year × 12 + month − 1`.
pub struct Months;

impl Months {
    /// January 1899: a request's range starts in 1900 at the earliest (`Month`), its year-earlier range a year
    /// before.
    pub const FIRST: i32 = 1899 * 12;

    /// The stored form of a `year × 12 + month − 1` month number; `None` outside what a request can reach
    /// (such a row can never be in a range, so leaving it out changes no answer).
    pub fn store(month: i32) -> Option<MonthNo> {
        MonthNo::try_from(month - Months::FIRST).ok()
    }

    /// A request's bound as a stored month number: clamped, so a bound outside the index still compares right.
    pub fn bound(month: i32) -> i32 {
        month - Months::FIRST
    }
}

/// A row that carries its month.
pub trait Monthly {
    fn month(&self) -> MonthNo;
}

/// The city's rows have no area key.
pub type AreaKey = Option<i32>;

/// 0 = occurred, 1 = reported: the `axis` column's two values.
pub type AxisNo = u8;

/// Rows grouped by (axis, area key), each group sorted by month.
pub struct Table<R> {
    rows: Vec<R>,
    groups: HashMap<(AxisNo, AreaKey), (usize, usize)>,
}

impl<R: Monthly> Table<R> {
    /// Groups `rows` (in any order) by (axis, area key) and sorts each group by month.
    pub fn build(mut rows: Vec<((AxisNo, AreaKey), R)>) -> Table<R> {
        rows.sort_unstable_by_key(|(group, r)| (*group, r.month()));
        let mut groups = HashMap::new();
        let mut start = 0;
        for i in 1..=rows.len() {
            if i == rows.len() || rows[i].0 != rows[start].0 {
                groups.insert(rows[start].0, (start, i));
                start = i;
            }
        }
        Table { rows: rows.into_iter().map(|(_, r)| r).collect(), groups }
    }

    /// The rows of one axis and area key with `from ≤ month ≤ to` (stored month numbers, see [`Months::bound`]).
    pub fn between(&self, axis: AxisNo, key: AreaKey, from: i32, to: i32) -> &[R] {
        let Some(&(start, end)) = self.groups.get(&(axis, key)) else { return &[] };
        let group = &self.rows[start..end];
        let lo = group.partition_point(|r| i32::from(r.month()) < from);
        let hi = group.partition_point(|r| i32::from(r.month()) <= to);
        group.get(lo..hi.max(lo)).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(MonthNo, u32);

    impl Monthly for Row {
        fn month(&self) -> MonthNo {
            self.0
        }
    }

    #[test]
    fn a_range_is_the_group_rows_of_those_months_whatever_the_input_order() {
        let rows = vec![
            ((0, Some(2)), Row(5, 1)),
            ((0, None), Row(7, 2)),
            ((0, Some(2)), Row(3, 3)),
            ((1, Some(2)), Row(4, 4)),
            ((0, Some(2)), Row(9, 5)),
            ((0, None), Row(1, 6)),
        ];
        let t = Table::build(rows);
        let ns = |s: &[Row]| s.iter().map(|r| r.1).collect::<Vec<_>>();
        assert_eq!(ns(t.between(0, Some(2), 0, 100)), [3, 1, 5]);
        assert_eq!(ns(t.between(0, Some(2), 4, 9)), [1, 5]);
        assert_eq!(ns(t.between(0, Some(2), 5, 5)), [1]);
        assert_eq!(ns(t.between(0, Some(2), 6, 8)), Vec::<u32>::new());
        assert_eq!(ns(t.between(0, Some(2), 9, 3)), Vec::<u32>::new(), "an empty range");
        assert_eq!(ns(t.between(0, None, -50, 1)), [6]);
        assert_eq!(ns(t.between(1, Some(2), 0, 100)), [4]);
        assert_eq!(ns(t.between(1, None, 0, 100)), Vec::<u32>::new(), "no such group");
        assert_eq!(t.len(), 6);
    }

    #[test]
    fn months_outside_what_a_request_reaches_are_not_stored() {
        assert_eq!(Months::store(1899 * 12), Some(0));
        assert_eq!(Months::store(2024 * 12 + 2), Some(((2024 - 1899) * 12 + 2) as MonthNo));
        assert_eq!(Months::store(1898 * 12 + 11), None);
        assert_eq!(Months::bound(1898 * 12), -12);
    }
}
