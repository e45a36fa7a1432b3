//! The `[bigquery]` settings: the file section as written, and the one validated [`BigQueryConfig`] the stage
//! is built from. Publishing is on only when a project is set (flag, environment or file).

use serde::Deserialize;

use crate::domain::InvalidSetting;

/// Default dataset for the lake's rows (`spd_crime`), the original design's staging table.
pub const DEFAULT_STAGING_DATASET: &str = "crimewatch_staging";
/// Default dataset for the marts, the names users' BI tools read.
pub const DEFAULT_MARTS_DATASET: &str = "crimewatch_marts";
/// BigQuery's default multi-region.
pub const DEFAULT_LOCATION: &str = "US";
/// Google's BigQuery API.
pub const DEFAULT_ENDPOINT: &str = "https://bigquery.googleapis.com";

/// `[bigquery]` in crimewatch.toml, as written. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BigQuerySection {
    /// Google Cloud project that owns the datasets and runs the jobs; publishing is off without one.
    pub project: Option<String>,
    /// Where the datasets are created (`US`, `EU`, `us-central1`, ...); default `US`.
    pub location: Option<String>,
    /// Dataset of the lake's rows (`spd_crime`); default `crimewatch_staging`.
    pub staging_dataset: Option<String>,
    /// Dataset of the marts, under DuckDB's names; default `crimewatch_marts`.
    pub marts_dataset: Option<String>,
    /// Base URL of the BigQuery API, for a regional or Private Service Connect endpoint; Google credentials are
    /// sent to it, so it must be `https://` (plain `http://` only on loopback). Default Google's.
    pub endpoint: Option<String>,
}

/// Where the REST API is: Google's (or another URL of it), with Google credentials, or an emulator without auth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `url` without a trailing slash: [`DEFAULT_ENDPOINT`] unless `[bigquery] endpoint` says otherwise.
    Google { url: String },
    /// `BIGQUERY_EMULATOR_HOST=host:port` → `http://host:port/bigquery/v2`.
    Emulator { host: String },
}

impl Endpoint {
    /// The base URL the REST paths (`/bigquery/v2/...`, `/upload/bigquery/v2/...`) are appended to.
    pub fn base_url(&self) -> String {
        match self {
            Endpoint::Google { url } => url.clone(),
            Endpoint::Emulator { host } => format!("http://{host}"),
        }
    }
}

/// Validated BigQuery settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigQueryConfig {
    pub project: String,
    pub location: String,
    pub staging_dataset: String,
    pub marts_dataset: String,
    pub endpoint: Endpoint,
}

/// What the command line and the environment give, over the file's section.
#[derive(Debug, Clone, Default)]
pub struct BigQueryOverrides {
    /// `--bigquery-project` / `CRIMEWATCH_BIGQUERY_PROJECT`.
    pub project: Option<String>,
    /// `--bigquery-location` / `CRIMEWATCH_BIGQUERY_LOCATION` (what deploy/terraform passes the Cloud Run job).
    pub location: Option<String>,
    /// `BIGQUERY_EMULATOR_HOST` (`host:port`, as Google's client libraries read it): an emulator, no credentials.
    pub emulator_host: Option<String>,
}

impl BigQuerySection {
    /// The one validated config, or `None` when no project is set anywhere (publishing off). A value from the
    /// command line or the environment wins over the file, and an invalid one is named as the flag it came from.
    pub fn validate(self, over: BigQueryOverrides) -> Result<Option<BigQueryConfig>, InvalidSetting> {
        let given = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (project_flag, location_flag) = (given(over.project), given(over.location));
        let project_key = if project_flag.is_some() { "--bigquery-project" } else { "bigquery.project" };
        let location_key = if location_flag.is_some() { "--bigquery-location" } else { "bigquery.location" };
        let Some(project) = project_flag.or(given(self.project)) else {
            return Ok(None);
        };
        let config = BigQueryConfig {
            project,
            location: location_flag.or(self.location).unwrap_or_else(|| DEFAULT_LOCATION.to_string()),
            staging_dataset: self.staging_dataset.unwrap_or_else(|| DEFAULT_STAGING_DATASET.to_string()),
            marts_dataset: self.marts_dataset.unwrap_or_else(|| DEFAULT_MARTS_DATASET.to_string()),
            // The emulator wins, as in Google's client libraries.
            endpoint: match given(over.emulator_host) {
                Some(host) => Endpoint::Emulator { host: emulator_host_of(&host)? },
                None => Endpoint::Google { url: api_url_of(self.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))? },
            },
        };
        config.validate(project_key, location_key)?;
        Ok(Some(config))
    }
}

impl BigQueryConfig {
    fn validate(&self, project_key: &'static str, location_key: &'static str) -> Result<(), InvalidSetting> {
        let project_ok = self.project.len() <= 63
            && self.project.starts_with(|c: char| c.is_ascii_lowercase())
            && self.project.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c));
        if !project_ok {
            return Err(InvalidSetting::new(
                project_key,
                &self.project,
                "a Google Cloud project id: lowercase letters, digits and hyphens, starting with a letter, e.g. my-project-123",
            ));
        }
        for (key, name) in
            [("bigquery.staging_dataset", &self.staging_dataset), ("bigquery.marts_dataset", &self.marts_dataset)]
        {
            if name.is_empty() || name.len() > 1024 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(InvalidSetting::new(key, name, "a dataset name: letters, digits and underscores only"));
            }
        }
        if self.staging_dataset == self.marts_dataset {
            return Err(InvalidSetting::new(
                "bigquery.marts_dataset",
                &self.marts_dataset,
                "must differ from bigquery.staging_dataset (both hold a table per name)",
            ));
        }
        if self.location.is_empty() || !self.location.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(InvalidSetting::new(
                location_key,
                &self.location,
                "a BigQuery location such as US, EU or us-central1",
            ));
        }
        Ok(())
    }
}

/// `[bigquery] endpoint`: an `https://` URL (credentials go there), or `http://` on loopback; no trailing slash.
fn api_url_of(value: &str) -> Result<String, InvalidSetting> {
    let url = value.trim().trim_end_matches('/');
    let host = |rest: &str| rest.split(['/', ':']).next().unwrap_or_default().to_string();
    let ok = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => !host(rest).is_empty(),
        (None, Some(rest)) => ["127.0.0.1", "localhost"].contains(&host(rest).as_str()),
        (None, None) => false,
    };
    if ok && !url.contains(char::is_whitespace) {
        Ok(url.to_string())
    } else {
        Err(InvalidSetting::new(
            "bigquery.endpoint",
            value,
            "an https:// URL such as https://bigquery.googleapis.com (http:// only for 127.0.0.1 or localhost: \
             Google credentials are sent to it)",
        ))
    }
}

/// `host:port` as Google's client libraries read `BIGQUERY_EMULATOR_HOST` (no scheme).
fn emulator_host_of(value: &str) -> Result<String, InvalidSetting> {
    let ok = value.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok && !value.contains('/') {
        Ok(value.to_string())
    } else {
        Err(InvalidSetting::new("BIGQUERY_EMULATOR_HOST", value, "host:port without a scheme, e.g. 127.0.0.1:9050"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn over(project: Option<&str>, location: Option<&str>, host: Option<&str>) -> BigQueryOverrides {
        BigQueryOverrides {
            project: project.map(String::from),
            location: location.map(String::from),
            emulator_host: host.map(String::from),
        }
    }

    #[test]
    fn no_project_means_publishing_is_off_and_defaults_fill_the_rest() {
        assert_eq!(BigQuerySection::default().validate(over(None, Some("EU"), None)).unwrap(), None);
        assert_eq!(BigQuerySection::default().validate(over(Some("  "), None, None)).unwrap(), None);
        let c = BigQuerySection::default().validate(over(Some("my-proj"), None, None)).unwrap().unwrap();
        assert_eq!(c.location, "US");
        assert_eq!((c.staging_dataset.as_str(), c.marts_dataset.as_str()), ("crimewatch_staging", "crimewatch_marts"));
        assert_eq!(c.endpoint, Endpoint::Google { url: DEFAULT_ENDPOINT.into() });
        assert_eq!(c.endpoint.base_url(), "https://bigquery.googleapis.com");
    }

    #[test]
    fn flag_and_environment_win_over_file_and_emulator_host_maps_to_plain_http() {
        let section =
            BigQuerySection { project: Some("from-file".into()), location: Some("EU".into()), ..Default::default() };
        let c = section.clone().validate(over(Some("from-flag"), None, Some("127.0.0.1:9050"))).unwrap().unwrap();
        assert_eq!((c.project.as_str(), c.location.as_str()), ("from-flag", "EU"));
        assert_eq!(c.endpoint.base_url(), "http://127.0.0.1:9050");
        let c = section.validate(over(None, Some("us-central1"), None)).unwrap().unwrap();
        assert_eq!((c.project.as_str(), c.location.as_str()), ("from-file", "us-central1"));
    }

    #[test]
    fn another_endpoint_keeps_google_credentials_and_the_emulator_wins_over_it() {
        let section = |url: &str| BigQuerySection { endpoint: Some(url.into()), ..Default::default() };
        let c = section("https://bigquery.europe-west1.rep.googleapis.com/").validate(over(Some("p"), None, None));
        let url = "https://bigquery.europe-west1.rep.googleapis.com".to_string();
        assert_eq!(c.unwrap().unwrap().endpoint, Endpoint::Google { url });
        let c = section("http://127.0.0.1:9050").validate(over(Some("p"), None, None)).unwrap().unwrap();
        assert_eq!(c.endpoint, Endpoint::Google { url: "http://127.0.0.1:9050".into() });
        let c = section("https://x.example").validate(over(Some("p"), None, Some("127.0.0.1:1"))).unwrap().unwrap();
        assert_eq!(c.endpoint, Endpoint::Emulator { host: "127.0.0.1:1".into() });
    }

    #[test]
    fn bad_values_name_the_key_or_the_flag_they_came_from() {
        let bad = |section: BigQuerySection, over: BigQueryOverrides| section.validate(over).unwrap_err().to_string();
        let p = Some("p-1");
        let e =
            bad(BigQuerySection { marts_dataset: Some("marts-x".into()), ..Default::default() }, over(p, None, None));
        assert!(e.contains("bigquery.marts_dataset"), "{e}");
        let e = bad(BigQuerySection { location: Some("".into()), ..Default::default() }, over(p, None, None));
        assert!(e.contains("bigquery.location"), "{e}");
        let e = bad(BigQuerySection::default(), over(p, Some("us central"), None));
        assert!(e.contains("--bigquery-location") && e.contains("us-central1"), "{e}");
        let e = bad(BigQuerySection::default(), over(p, None, Some("http://localhost:9050")));
        assert!(e.contains("BIGQUERY_EMULATOR_HOST") && e.contains("host:port"), "{e}");
        for url in ["http://bigquery.example.com", "ftp://x", "https://", "bigquery.googleapis.com"] {
            let e = bad(BigQuerySection { endpoint: Some(url.into()), ..Default::default() }, over(p, None, None));
            assert!(e.contains("bigquery.endpoint") && e.contains("https://"), "{url}: {e}");
        }
        let e = bad(BigQuerySection::default(), over(Some("My_Project"), None, None));
        assert!(e.contains("--bigquery-project"), "{e}");
        let e =
            bad(BigQuerySection { project: Some("My_Project".into()), ..Default::default() }, over(None, None, None));
        assert!(e.contains("bigquery.project"), "{e}");
    }
}
