use serde::Deserialize;

use crate::settings::SettingsError;

/// Lake options (`[lake]` in crimewatch.toml).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// How many replaced versions of each month to keep under `revisions/`; unset keeps all.
    pub revisions_kept_per_month: Option<u32>,
}

impl LakeConfig {
    pub fn validate(&self) -> Result<(), SettingsError> {
        Ok(())
    }
}
