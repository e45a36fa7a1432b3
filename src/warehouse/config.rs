use serde::Deserialize;

use crate::settings::SettingsError;

/// Warehouse options (`[warehouse]` in crimewatch.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarehouseConfig {
    /// Months before the current one that SPD is still revising; flagged provisional in the marts.
    pub provisional_months: u32,
}

impl Default for WarehouseConfig {
    fn default() -> Self {
        WarehouseConfig { provisional_months: 2 }
    }
}

impl WarehouseConfig {
    pub fn validate(&self) -> Result<(), SettingsError> {
        Ok(())
    }
}
