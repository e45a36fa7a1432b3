//! SoQL query parameters, always written with the SOURCE's own field names (the old schema says
//! `report_datetime`, the new one `report_date_time`), so one client serves both generations.

use crate::domain::Month;
use crate::source::schema::SourceSchema;

/// What the per-month fingerprint aggregate asks for. Servers that refuse an aggregate get a smaller one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateLevel {
    /// count, max(:updated_at) and sum(offense_id::number).
    Full,
    /// count and sum(offense_id::number): the server refused to aggregate `:updated_at`.
    Content,
    /// count only: the server refused the sum as well.
    CountOnly,
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
    level: AggregateLevel,
) -> Params {
    let mut select = format!("date_trunc_ym({report_date_field}) AS month, count(*) AS n");
    if level == AggregateLevel::Full {
        select.push_str(", max(:updated_at) AS u");
    }
    if level != AggregateLevel::CountOnly {
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

        let f =
            fingerprints("report_date_time", "offense_id", Month::parse("2022-01").unwrap(), m, AggregateLevel::Full);
        assert_eq!(
            get(&f, "$select"),
            "date_trunc_ym(report_date_time) AS month, count(*) AS n, max(:updated_at) AS u, sum(offense_id::number) AS s"
        );
        assert_eq!(
            get(&f, "$where"),
            "report_date_time >= '2022-01-01T00:00:00' AND report_date_time < '2025-01-01T00:00:00'"
        );
        assert_eq!(get(&f, "$group"), "month");
        let c = fingerprints("report_date_time", "offense_id", m, m, AggregateLevel::Content);
        assert!(!get(&c, "$select").contains(":updated_at"));
        assert!(get(&c, "$select").contains("sum(offense_id::number)"));
        let n = fingerprints("report_date_time", "offense_id", m, m, AggregateLevel::CountOnly);
        assert_eq!(get(&n, "$select"), "date_trunc_ym(report_date_time) AS month, count(*) AS n");
    }
}
