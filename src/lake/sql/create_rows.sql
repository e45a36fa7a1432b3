-- The lake's columns, in file order (docs/CONTRACTS.md): a CSV import is appended here, then read out per month.
SET threads = 1;
CREATE TABLE rows (
    report_number VARCHAR,
    offense_id VARCHAR,
    report_date_time TIMESTAMP,
    offense_date TIMESTAMP,
    offense_end_date TIMESTAMP,
    nibrs_group_a_b VARCHAR,
    nibrs_crime_against_category VARCHAR,
    offense_sub_category VARCHAR,
    shooting_type_group VARCHAR,
    block_address VARCHAR,
    latitude DOUBLE,
    longitude DOUBLE,
    beat VARCHAR,
    precinct VARCHAR,
    sector VARCHAR,
    neighborhood VARCHAR,
    reporting_area VARCHAR,
    offense_category VARCHAR,
    nibrs_offense_code_description VARCHAR,
    nibrs_offense_code VARCHAR,
    extra_columns VARCHAR,
    source_row_id VARCHAR,
    source_updated_at TIMESTAMP,
    source_kind VARCHAR
);
