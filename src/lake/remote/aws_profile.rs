//! AWS shared profiles (`~/.aws/credentials`, `~/.aws/config`, `AWS_PROFILE`) for an `s3://` lake.
//!
//! `object_store` reads the `AWS_*` variables and the instance/task role, but not the shared files that the AWS
//! CLI and SDKs read, so a laptop set up with `aws configure` would fail with "no credentials". This reads the
//! static keys of one profile, in the SDKs' order: variables first (when `AWS_ACCESS_KEY_ID` is set, the files
//! are not read), then the profile `AWS_PROFILE` names (else `default`) in `AWS_SHARED_CREDENTIALS_FILE`
//! (else `~/.aws/credentials`) and `AWS_CONFIG_FILE` (else `~/.aws/config`, where a section is
//! `[profile NAME]`). A profile that gets its keys another way (SSO, `role_arn`, `credential_process`) is refused
//! with the command that exports its keys, rather than silently falling through to the instance role.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The static keys (and region) of one profile. `Debug` never prints the secret.
#[derive(Clone, PartialEq)]
pub struct ProfileKeys {
    pub profile: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub region: Option<String>,
}

impl std::fmt::Debug for ProfileKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileKeys")
            .field("profile", &self.profile)
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Where the shared files are and which profile to read, from the environment (one place, so tests can pass
/// their own).
#[derive(Debug, Clone)]
pub struct ProfileSource {
    /// `AWS_PROFILE` when set: then a missing profile is an error, not a quiet fall-through.
    pub named: Option<String>,
    pub credentials_file: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
}

impl ProfileSource {
    pub fn from_env() -> ProfileSource {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let home = var("HOME").map(PathBuf::from);
        ProfileSource {
            named: var("AWS_PROFILE"),
            credentials_file: var("AWS_SHARED_CREDENTIALS_FILE")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials"))),
            config_file: var("AWS_CONFIG_FILE")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws/config"))),
        }
    }
}

/// Reads the profile's keys: `Ok(None)` when no profile was named and the files hold no `default` keys (then the
/// instance/task role applies), `Err` with what to do when the named profile has no static keys.
pub fn profile_keys(src: &ProfileSource) -> Result<Option<ProfileKeys>, String> {
    // A missing or unreadable file has no sections.
    let read = |p: &Option<PathBuf>| p.as_deref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let files = [&src.credentials_file, &src.config_file]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    keys_of(src.named.as_deref(), &read(&src.credentials_file), &read(&src.config_file), &files)
}

/// [`profile_keys`] over the two files' texts; `files` names them in messages.
fn keys_of(named: Option<&str>, credentials: &str, config: &str, files: &str) -> Result<Option<ProfileKeys>, String> {
    let name = named.unwrap_or("default").to_string();
    let (credentials, config) = (parse_ini(credentials), parse_ini(config));
    let config_section = if name == "default" { "default".to_string() } else { format!("profile {name}") };
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    // The SDKs let the credentials file win over the config file, key by key.
    for section in [config.get(&config_section), credentials.get(&name)].into_iter().flatten() {
        keys.extend(section.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let get = |k: &str| keys.get(k).filter(|v| !v.is_empty()).cloned();
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Some(ProfileKeys {
            profile: name,
            access_key_id,
            secret_access_key,
            session_token: get("aws_session_token"),
            region: get("region"),
        })),
        _ if named.is_none() && keys.is_empty() => Ok(None),
        _ => {
            let how = ["sso_start_url", "sso_session", "role_arn", "credential_process", "web_identity_token_file"]
                .into_iter()
                .find(|k| keys.contains_key(*k));
            Err(match how {
                Some(k) => format!(
                    "AWS profile {name} gets its keys through `{k}`, which crimewatch does not run: export them first, \
                     e.g. `eval \"$(aws configure export-credentials --profile {name} --format env)\"`"
                ),
                None if keys.is_empty() => format!(
                    "AWS profile {name} is not in {files}: set AWS_PROFILE to a profile there, or set \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ),
                None => format!(
                    "AWS profile {name} in {files} has no aws_access_key_id and aws_secret_access_key: add them, \
                     or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                ),
            })
        }
    }
}

/// The sections of an INI file as the AWS files write them (`[section]`, `key = value`, `#`/`;` comments).
/// Nested blocks (`s3 =` followed by indented lines) are skipped.
fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        if raw.starts_with([' ', '\t']) {
            continue;
        }
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            out.entry(section.clone()).or_default().insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str =
        "# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s3cr3t\n\n\
        [ci]\naws_access_key_id=AKIACI\naws_secret_access_key=ci-secret\naws_session_token = tok\n";
    const CONFIG: &str =
        "[default]\nregion = eu-west-1\n[profile ci]\nregion = us-west-2\ns3 =\n  max_concurrent_requests = 20\n\
        [profile sso]\nsso_start_url = https://example.awsapps.com/start\nregion = us-east-2\n";
    const FILES: &str = "credentials and config";

    #[test]
    fn the_default_profile_and_its_region_are_read_when_no_profile_is_named() {
        let k = keys_of(None, CREDENTIALS, CONFIG, FILES).unwrap().unwrap();
        assert_eq!((k.profile.as_str(), k.access_key_id.as_str()), ("default", "AKIADEFAULT"));
        assert_eq!(
            (k.secret_access_key.as_str(), k.session_token, k.region.as_deref()),
            ("s3cr3t", None, Some("eu-west-1"))
        );
    }

    #[test]
    fn a_named_profile_takes_its_keys_token_and_region_from_both_files() {
        let k = keys_of(Some("ci"), CREDENTIALS, CONFIG, FILES).unwrap().unwrap();
        assert_eq!((k.access_key_id.as_str(), k.secret_access_key.as_str()), ("AKIACI", "ci-secret"));
        assert_eq!((k.session_token.as_deref(), k.region.as_deref()), (Some("tok"), Some("us-west-2")));
        assert!(!format!("{k:?}").contains("ci-secret"), "Debug prints the secret: {k:?}");
    }

    #[test]
    fn no_files_and_no_named_profile_leave_the_instance_role_to_apply() {
        let src = ProfileSource { named: None, credentials_file: None, config_file: None };
        assert_eq!(profile_keys(&src).unwrap(), None);
    }

    #[test]
    fn a_named_profile_that_is_missing_or_keyless_is_an_error_saying_what_to_do() {
        let e = keys_of(Some("nope"), CREDENTIALS, CONFIG, FILES).unwrap_err();
        assert!(
            e.contains("AWS profile nope is not in credentials and config") && e.contains("AWS_ACCESS_KEY_ID"),
            "{e}"
        );
        let e = keys_of(Some("sso"), CREDENTIALS, CONFIG, FILES).unwrap_err();
        assert!(e.contains("sso_start_url") && e.contains("aws configure export-credentials --profile sso"), "{e}");
    }
}
