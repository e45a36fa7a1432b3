//! SoQL query parameters, always written with the SOURCE's own field names (the old schema says
//! `report_datetime`, the new one `report_date_time`), so one client serves both generations.

use crate::domain::Month;
use crate::source::schema::SourceSchema;

/// What the per-month fingerprint aggregate asks for besides `count(*)`, which every server answers. A server
/// that refuses one of the two is asked for the other alone, so refusing the sum does not cost `:updated_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregates {
    /// `max(:updated_at)`: catches every edit, since an edited row gets the newest `:updated_at`.
    pub updated_at: bool,
    /// `sum(offense_id::number)`: catches rows replaced by others (new offense ids, same count).
    pub id_sum: bool,
}

impl Aggregates {
    /// Both optional aggregates: what ingest asks for first.
    pub const ALL: Aggregates = Aggregates { updated_at: true, id_sum: true };
    /// The count alone.
    pub const COUNT: Aggregates = Aggregates { updated_at: false, id_sum: false };

    /// Each optional aggregate on its own, for a server that refused them together.
    pub fn each_alone() -> [Aggregates; 2] {
        [Aggregates { updated_at: true, id_sum: false }, Aggregates { updated_at: false, id_sum: true }]
    }

    /// The aggregates besides the count that are in `self` but not in `other`.
    pub fn without(self, other: Aggregates) -> Aggregates {
        Aggregates { updated_at: self.updated_at && !other.updated_at, id_sum: self.id_sum && !other.id_sum }
    }

    pub fn union(self, other: Aggregates) -> Aggregates {
        Aggregates { updated_at: self.updated_at || other.updated_at, id_sum: self.id_sum || other.id_sum }
    }

    /// The summary's `detection`: the aggregates compared, `+`-joined (`count+updated_at+id_sum` ... `count`).
    pub fn name(self) -> &'static str {
        match (self.updated_at, self.id_sum) {
            (true, true) => "count+updated_at+id_sum",
            (true, false) => "count+updated_at",
            (false, true) => "count+id_sum",
            (false, false) => "count",
        }
    }

    /// The aggregates in words, for the summary's notes.
    pub fn describe(self) -> String {
        let mut parts = vec!["row count"];
        if self.updated_at {
            parts.push("max(:updated_at)");
        }
        if self.id_sum {
            parts.push("offense-id sum");
        }
        match parts.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => "row count only".to_string(),
        }
    }
}

/// Query parameters as (name, value) pairs, in a fixed order so URLs are stable.
pub type Params = Vec<(&'static str, String)>;

/// `$limit=1&$select=:*,*`: one row with the system fields; the response headers list every column.
pub fn probe() -> Params {
    vec![("$select", ":*,*".into()), ("$limit", "1".into())]
}

/// Checks that the named columns exist (a server without X-SODA2-Fields omits NULL fields from rows).
pub fn columns_exist(fields: &[&str]) -> Params {
    vec![("$select", fields.join(",")), ("$limit", "1".into())]
}

/// Floating timestamp literal for the first instant of `month`, as SoQL writes it.
fn month_start(month: Month) -> String {
    month.start().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// `report_date >= first day of since AND report_date < first day after until`.
pub fn range_where(report_date_field: &str, since: Month, until: Month) -> String {
    format!("{report_date_field} >= '{}' AND {report_date_field} < '{}'", month_start(since), month_start(until.next()))
}

/// One request for every report month's fingerprint in range.
pub fn fingerprints(
    report_date_field: &str,
    offense_id_field: &str,
    since: Month,
    until: Month,
    aggregates: Aggregates,
) -> Params {
    let mut select = format!("date_trunc_ym({report_date_field}) AS month, count(*) AS n");
    if aggregates.updated_at {
        select.push_str(", max(:updated_at) AS u");
    }
    if aggregates.id_sum {
        select.push_str(&format!(", sum({offense_id_field}::number) AS s"));
    }
    vec![
        ("$select", select),
        ("$where", range_where(report_date_field, since, until)),
        ("$group", "month".into()),
        ("$order", "month".into()),
        ("$limit", "50000".into()),
    ]
}

/// One page of one report month, in a stable order: the row id, `:updated_at` and every column the probe found.
/// Naming them rather than asking for `:*,*` leaves out what the lake never keeps — `:created_at`, `:version` and
/// Socrata's `:@computed_region_*` columns — about 6% of a page's bytes on the test server, more on a real host.
pub fn month_page(schema: &SourceSchema, month: Month, limit: u32, offset: u64) -> Params {
    let mut select = String::from(":id,:updated_at");
    for f in &schema.fields {
        select.push(',');
        if f.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            select.push_str(f);
        } else {
            select.push_str(&format!("`{f}`"));
        }
    }
    vec![
        ("$select", select),
        ("$where", range_where(&schema.report_date_field, month, month)),
        ("$order", ":id".into()),
        ("$limit", limit.to_string()),
        ("$offset", offset.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(p: &'a Params, k: &str) -> &'a str {
        &p.iter().find(|(n, _)| *n == k).unwrap().1
    }

    #[test]
    fn queries_use_the_sources_own_field_names() {
        let m = Month::parse("2024-12").unwrap();
        let mut fields = crate::source::fields::OLD_API_FIELDS.to_vec();
        fields.push("odd name");
        let schema = SourceSchema::from_fields(&fields).unwrap();
        let p = month_page(&schema, m, 500, 1000);
        assert_eq!(
            get(&p, "$where"),
            "report_datetime >= '2024-12-01T00:00:00' AND report_datetime < '2025-01-01T00:00:00'"
        );
        let select = get(&p, "$select");
        assert!(select.starts_with(":id,:updated_at,report_number,offense_id,"), "{select}");
        assert!(select.ends_with(",_100_block_address,longitude,latitude,`odd name`"), "{select}");
        assert_eq!(get(&p, "$order"), ":id");
        assert_eq!(get(&p, "$limit"), "500");
        assert_eq!(get(&p, "$offset"), "1000");

        let f = fingerprints("report_date_time", "offense_id", Month::parse("2022-01").unwrap(), m, Aggregates::ALL);
        assert_eq!(
            get(&f, "$select"),
            "date_trunc_ym(report_date_time) AS month, count(*) AS n, max(:updated_at) AS u, sum(offense_id::number) AS s"
        );
        assert_eq!(
            get(&f, "$where"),
            "report_date_time >= '2022-01-01T00:00:00' AND report_date_time < '2025-01-01T00:00:00'"
        );
        assert_eq!(get(&f, "$group"), "month");
        let [updated_at, id_sum] = Aggregates::each_alone();
        let u = fingerprints("report_date_time", "offense_id", m, m, updated_at);
        assert_eq!(
            get(&u, "$select"),
            "date_trunc_ym(report_date_time) AS month, count(*) AS n, max(:updated_at) AS u"
        );
        let s = fingerprints("report_date_time", "offense_id", m, m, id_sum);
        assert_eq!(
            get(&s, "$select"),
            "date_trunc_ym(report_date_time) AS month, count(*) AS n, sum(offense_id::number) AS s"
        );
        let n = fingerprints("report_date_time", "offense_id", m, m, Aggregates::COUNT);
        assert_eq!(get(&n, "$select"), "date_trunc_ym(report_date_time) AS month, count(*) AS n");
    }

    #[test]
    fn aggregates_are_named_and_described_by_what_they_compare() {
        let [updated_at, id_sum] = Aggregates::each_alone();
        assert_eq!(Aggregates::ALL.name(), "count+updated_at+id_sum");
        assert_eq!(updated_at.name(), "count+updated_at");
        assert_eq!(id_sum.name(), "count+id_sum");
        assert_eq!(Aggregates::COUNT.name(), "count");
        assert_eq!(Aggregates::ALL.describe(), "row count, max(:updated_at) and offense-id sum");
        assert_eq!(id_sum.describe(), "row count and offense-id sum");
        assert_eq!(Aggregates::COUNT.describe(), "row count only");
        assert_eq!(Aggregates::ALL.without(updated_at), id_sum);
        assert_eq!(updated_at.union(id_sum), Aggregates::ALL);
    }
}
