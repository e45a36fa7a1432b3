use serde::Deserialize;

use crate::domain::InvalidSetting;

/// Warehouse options (`[warehouse]` in crimewatch.toml). Validated in place: the values as written are the typed
/// values (DuckDB itself reads `storage_version`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarehouseConfig {
    /// A month is provisional while it is less than this share complete (the dbt project's `complete_share`
    /// var): the share of its offenses already reported, measured from the reporting delays in the data
    /// (dim_month, docs/reading-the-numbers.md).
    pub complete_share: f64,
    /// The fallback when the delays cannot be measured yet (too little history): the months before the newest
    /// lake month flagged provisional (the dbt project's `provisional_months` var).
    pub provisional_months: u32,
    /// DuckDB's memory cap for a build, in MB; beyond it DuckDB spills to a folder next to the candidate file.
    pub memory_limit_mb: u32,
    /// DuckDB storage format the published file is written in. DuckDB 2.0 writes a format DuckDB 1.x cannot
    /// open; `v1.4.0` keeps the warehouse readable by DuckDB 1.4 (the LTS release) and newer — the CLI, Python
    /// and the BI tools' drivers users already have. `v1.0.0` reaches further back.
    pub storage_version: String,
}

impl Default for WarehouseConfig {
    fn default() -> Self {
        WarehouseConfig {
            complete_share: 0.95,
            provisional_months: 2,
            memory_limit_mb: 384,
            storage_version: "v1.4.0".into(),
        }
    }
}

impl WarehouseConfig {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        // Written so NaN fails too.
        if !(self.complete_share > 0.0 && self.complete_share <= 1.0) {
            return Err(InvalidSetting::new(
                "warehouse.complete_share",
                self.complete_share,
                "must be above 0 and at most 1 (a month is provisional while less than this share complete; 0.95 = 95%)",
            ));
        }
        if self.provisional_months > 36 {
            return Err(InvalidSetting::new(
                "warehouse.provisional_months",
                self.provisional_months,
                "must be 0..=36 (months before the newest lake month that SPD still revises)",
            ));
        }
        if self.memory_limit_mb < 64 {
            return Err(InvalidSetting::new(
                "warehouse.memory_limit_mb",
                self.memory_limit_mb,
                "must be at least 64 (DuckDB needs room for one month's rows)",
            ));
        }
        let numbers: Vec<&str> = self.storage_version.strip_prefix('v').unwrap_or("").split('.').collect();
        let version_like =
            numbers.len() == 3 && numbers.iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !version_like && self.storage_version != "latest" {
            return Err(InvalidSetting::new(
                "warehouse.storage_version",
                &self.storage_version,
                "must be a DuckDB version like v1.4.0 (the oldest DuckDB that should open the file) or latest",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_share_is_a_share_above_zero_and_at_most_one() {
        let with = |v: f64| WarehouseConfig { complete_share: v, ..WarehouseConfig::default() }.validate();
        for ok in [0.95, 1.0, 0.5, 0.001] {
            assert!(with(ok).is_ok(), "{ok}");
        }
        for bad in [0.0, -0.1, 1.01, 95.0, f64::NAN] {
            let err = with(bad).expect_err("refused").to_string();
            assert!(err.contains("warehouse.complete_share") && err.contains("0.95"), "{bad}: {err}");
        }
    }

    #[test]
    fn storage_version_is_a_duckdb_version_or_latest() {
        let with = |v: &str| WarehouseConfig { storage_version: v.into(), ..WarehouseConfig::default() }.validate();
        for ok in ["v1.4.0", "v1.0.0", "v2.0.0", "latest"] {
            assert!(with(ok).is_ok(), "{ok}");
        }
        for bad in ["1.4.0", "v1.4", "v1..0", "v1.4.x", "", "LATEST"] {
            let err = with(bad).expect_err(bad).to_string();
            assert!(err.contains("warehouse.storage_version") && err.contains("v1.4.0"), "{bad}: {err}");
        }
    }
}
