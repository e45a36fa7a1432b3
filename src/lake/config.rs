use serde::Deserialize;

/// Lake options (`[lake]` in crimewatch.toml). Nothing to validate: the values as written are the typed values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// How many replaced versions of each month to keep under `revisions/`; unset keeps all.
    pub revisions_kept_per_month: Option<u32>,
}
