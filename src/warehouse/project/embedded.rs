//! The `transform/` project compiled into the binary, so `crimewatch build` works outside the repository.
//! Every file of the folder is listed here; a unit test fails when a file in `transform/` is missing.

/// `(path relative to transform/, contents)` for every file of the project.
pub(crate) const FILES: &[(&str, &str)] = &[
    ("dbt_project.yml", include_str!("../../../transform/dbt_project.yml")),
    ("macros/axis_events.sql", include_str!("../../../transform/macros/axis_events.sql")),
    ("macros/cleaning.sql", include_str!("../../../transform/macros/cleaning.sql")),
    ("macros/generate_schema_name.sql", include_str!("../../../transform/macros/generate_schema_name.sql")),
    ("macros/offense_category.sql", include_str!("../../../transform/macros/offense_category.sql")),
    ("macros/run_started_at.sql", include_str!("../../../transform/macros/run_started_at.sql")),
    ("macros/with_city_rollup.sql", include_str!("../../../transform/macros/with_city_rollup.sql")),
    (
        "models/intermediate/int_offenses_categorized.sql",
        include_str!("../../../transform/models/intermediate/int_offenses_categorized.sql"),
    ),
    (
        "models/intermediate/int_offenses_categorized.yml",
        include_str!("../../../transform/models/intermediate/int_offenses_categorized.yml"),
    ),
    (
        "models/intermediate/int_offenses_latest.sql",
        include_str!("../../../transform/models/intermediate/int_offenses_latest.sql"),
    ),
    (
        "models/intermediate/int_offenses_latest.yml",
        include_str!("../../../transform/models/intermediate/int_offenses_latest.yml"),
    ),
    ("models/marts/api_category_trend.sql", include_str!("../../../transform/models/marts/api_category_trend.sql")),
    ("models/marts/api_category_trend.yml", include_str!("../../../transform/models/marts/api_category_trend.yml")),
    ("models/marts/api_hour_weekday.sql", include_str!("../../../transform/models/marts/api_hour_weekday.sql")),
    ("models/marts/api_hour_weekday.yml", include_str!("../../../transform/models/marts/api_hour_weekday.yml")),
    (
        "models/marts/api_offense_breakdown.sql",
        include_str!("../../../transform/models/marts/api_offense_breakdown.sql"),
    ),
    (
        "models/marts/api_offense_breakdown.yml",
        include_str!("../../../transform/models/marts/api_offense_breakdown.yml"),
    ),
    ("models/marts/dim_area.sql", include_str!("../../../transform/models/marts/dim_area.sql")),
    ("models/marts/dim_area.yml", include_str!("../../../transform/models/marts/dim_area.yml")),
    ("models/marts/dim_month.sql", include_str!("../../../transform/models/marts/dim_month.sql")),
    ("models/marts/dim_month.yml", include_str!("../../../transform/models/marts/dim_month.yml")),
    ("models/marts/fct_offenses.sql", include_str!("../../../transform/models/marts/fct_offenses.sql")),
    ("models/marts/fct_offenses.yml", include_str!("../../../transform/models/marts/fct_offenses.yml")),
    ("models/marts/mart_area_counts.sql", include_str!("../../../transform/models/marts/mart_area_counts.sql")),
    ("models/marts/mart_area_counts.yml", include_str!("../../../transform/models/marts/mart_area_counts.yml")),
    ("models/marts/mart_category_trend.sql", include_str!("../../../transform/models/marts/mart_category_trend.sql")),
    ("models/marts/mart_category_trend.yml", include_str!("../../../transform/models/marts/mart_category_trend.yml")),
    ("models/marts/mart_completeness.sql", include_str!("../../../transform/models/marts/mart_completeness.sql")),
    ("models/marts/mart_completeness.yml", include_str!("../../../transform/models/marts/mart_completeness.yml")),
    ("models/marts/mart_dispersion.sql", include_str!("../../../transform/models/marts/mart_dispersion.sql")),
    ("models/marts/mart_dispersion.yml", include_str!("../../../transform/models/marts/mart_dispersion.yml")),
    ("models/marts/mart_expected_range.sql", include_str!("../../../transform/models/marts/mart_expected_range.sql")),
    ("models/marts/mart_expected_range.yml", include_str!("../../../transform/models/marts/mart_expected_range.yml")),
    ("models/marts/mart_hour_weekday.sql", include_str!("../../../transform/models/marts/mart_hour_weekday.sql")),
    ("models/marts/mart_hour_weekday.yml", include_str!("../../../transform/models/marts/mart_hour_weekday.yml")),
    ("models/marts/mart_month_revisions.sql", include_str!("../../../transform/models/marts/mart_month_revisions.sql")),
    ("models/marts/mart_month_revisions.yml", include_str!("../../../transform/models/marts/mart_month_revisions.yml")),
    (
        "models/marts/mart_offense_breakdown.sql",
        include_str!("../../../transform/models/marts/mart_offense_breakdown.sql"),
    ),
    (
        "models/marts/mart_offense_breakdown.yml",
        include_str!("../../../transform/models/marts/mart_offense_breakdown.yml"),
    ),
    ("models/marts/mart_reporting_delay.sql", include_str!("../../../transform/models/marts/mart_reporting_delay.sql")),
    ("models/marts/mart_reporting_delay.yml", include_str!("../../../transform/models/marts/mart_reporting_delay.yml")),
    ("models/marts/mart_revision_drift.sql", include_str!("../../../transform/models/marts/mart_revision_drift.sql")),
    ("models/marts/mart_revision_drift.yml", include_str!("../../../transform/models/marts/mart_revision_drift.yml")),
    ("models/marts/mart_revisions.sql", include_str!("../../../transform/models/marts/mart_revisions.sql")),
    ("models/marts/mart_revisions.yml", include_str!("../../../transform/models/marts/mart_revisions.yml")),
    ("models/marts/meta_build.sql", include_str!("../../../transform/models/marts/meta_build.sql")),
    ("models/marts/meta_build.yml", include_str!("../../../transform/models/marts/meta_build.yml")),
    ("models/staging/_sources.yml", include_str!("../../../transform/models/staging/_sources.yml")),
    ("models/staging/lake_manifest.sql", include_str!("../../../transform/models/staging/lake_manifest.sql")),
    ("models/staging/lake_manifest.yml", include_str!("../../../transform/models/staging/lake_manifest.yml")),
    (
        "models/staging/stg_lake__import_quarantine.sql",
        include_str!("../../../transform/models/staging/stg_lake__import_quarantine.sql"),
    ),
    (
        "models/staging/stg_lake__import_quarantine.yml",
        include_str!("../../../transform/models/staging/stg_lake__import_quarantine.yml"),
    ),
    (
        "models/staging/stg_lake__revisions.sql",
        include_str!("../../../transform/models/staging/stg_lake__revisions.sql"),
    ),
    (
        "models/staging/stg_lake__revisions.yml",
        include_str!("../../../transform/models/staging/stg_lake__revisions.yml"),
    ),
    (
        "models/staging/stg_lake__spd_crime.sql",
        include_str!("../../../transform/models/staging/stg_lake__spd_crime.sql"),
    ),
    (
        "models/staging/stg_lake__spd_crime.yml",
        include_str!("../../../transform/models/staging/stg_lake__spd_crime.yml"),
    ),
    ("models/staging/stg_offenses.sql", include_str!("../../../transform/models/staging/stg_offenses.sql")),
    ("models/staging/stg_offenses.yml", include_str!("../../../transform/models/staging/stg_offenses.yml")),
    ("profiles.yml", include_str!("../../../transform/profiles.yml")),
    ("seeds/_seeds.yml", include_str!("../../../transform/seeds/_seeds.yml")),
    ("seeds/nibrs_offense_codes.csv", include_str!("../../../transform/seeds/nibrs_offense_codes.csv")),
    ("seeds/precincts.csv", include_str!("../../../transform/seeds/precincts.csv")),
    (
        "tests/assert_dispersion_is_at_least_poisson.sql",
        include_str!("../../../transform/tests/assert_dispersion_is_at_least_poisson.sql"),
    ),
    (
        "tests/assert_expected_range_brackets_the_seasonal_mean.sql",
        include_str!("../../../transform/tests/assert_expected_range_brackets_the_seasonal_mean.sql"),
    ),
    (
        "tests/assert_fct_months_in_lake_manifest.sql",
        include_str!("../../../transform/tests/assert_fct_months_in_lake_manifest.sql"),
    ),
    (
        "tests/assert_fct_rows_equal_lake_rows_minus_exclusions.sql",
        include_str!("../../../transform/tests/assert_fct_rows_equal_lake_rows_minus_exclusions.sql"),
    ),
    (
        "tests/assert_lake_manifest_rows_match_month_files.sql",
        include_str!("../../../transform/tests/assert_lake_manifest_rows_match_month_files.sql"),
    ),
    (
        "tests/assert_marts_reconcile_with_fct.sql",
        include_str!("../../../transform/tests/assert_marts_reconcile_with_fct.sql"),
    ),
    (
        "tests/assert_nowcast_brackets_observed.sql",
        include_str!("../../../transform/tests/assert_nowcast_brackets_observed.sql"),
    ),
    (
        "tests/assert_revisions_live_versions_match_manifest.sql",
        include_str!("../../../transform/tests/assert_revisions_live_versions_match_manifest.sql"),
    ),
    (
        "tests/warn_offense_date_after_report_date_time.sql",
        include_str!("../../../transform/tests/warn_offense_date_after_report_date_time.sql"),
    ),
    (
        "tests/warn_spd_category_disagrees_with_nibrs.sql",
        include_str!("../../../transform/tests/warn_spd_category_disagrees_with_nibrs.sql"),
    ),
];
