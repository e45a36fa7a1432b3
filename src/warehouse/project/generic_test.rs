//! One entry of a `data_tests:` list: a name, or `{name: {arguments: {...}, config: {...}}}` (dbt ≥ 1.10), or the
//! older `{name: {values: [...]}}` with the arguments at the top level; and the name dbt gives the test.

use std::collections::BTreeMap;

use yaml_serde::Value as Yaml;

use super::{project_error, GenericKind, GenericTest, Severity, TestedColumn};
use crate::warehouse::error::WarehouseError;

/// The argument that names what a test looks at (dbt passes a column's name in it, and a model-level test sets it).
const COLUMN_NAME: &str = "column_name";

/// Parses a test declared on `model`, on `column` when it sits under `columns:`, else on the model itself (then
/// its `column_name` argument says what it tests).
pub(super) fn parse(
    spec: &Yaml,
    model: &str,
    column: Option<TestedColumn>,
    file: &str,
) -> Result<GenericTest, WarehouseError> {
    let at = match &column {
        Some(c) => format!("{model}.{c}"),
        None => model.to_string(),
    };
    let (kind_name, body) = split_spec(spec, &at, file)?;
    let (mut args, severity) = read_body(body, &at, file)?;
    let column = match column {
        Some(column) => column,
        None => {
            let expr = args.get(COLUMN_NAME).and_then(yaml_scalar).ok_or_else(|| {
                project_error(
                    file,
                    format!("{at}: a model-level test needs `arguments: {{column_name: ...}}` (what it tests)"),
                )
            })?;
            TestedColumn::Expression(expr)
        }
    };
    let kind = parse_kind(&kind_name, &args, &at, file)?;
    // dbt names a test from all its arguments, column_name included.
    args.insert(COLUMN_NAME.to_string(), Yaml::String(column.to_string()));
    Ok(GenericTest {
        name: dbt_test_name(&kind_name, model, &args),
        kind,
        model: model.to_string(),
        column,
        severity,
        file: file.to_string(),
    })
}

/// The test's name and its body (the mapping under the name, if any).
fn split_spec<'a>(spec: &'a Yaml, at: &str, file: &str) -> Result<(String, Option<&'a Yaml>), WarehouseError> {
    match spec {
        Yaml::String(s) => Ok((s.clone(), None)),
        Yaml::Mapping(m) if m.len() == 1 => match m.iter().next() {
            Some((Yaml::String(k), v)) => Ok((k.clone(), Some(v))),
            _ => Err(project_error(file, format!("{at}: a test name must be text"))),
        },
        _ => Err(project_error(file, format!("{at}: a test must be a name or a one-key mapping"))),
    }
}

/// The test's arguments and severity, from either spelling of the body.
fn read_body(body: Option<&Yaml>, at: &str, file: &str) -> Result<(BTreeMap<String, Yaml>, Severity), WarehouseError> {
    let mut args: BTreeMap<String, Yaml> = BTreeMap::new();
    let mut severity = Severity::Error;
    for (k, v) in body.and_then(Yaml::as_mapping).into_iter().flatten() {
        match k.as_str().unwrap_or_default() {
            "arguments" => {
                for (ak, av) in v.as_mapping().into_iter().flatten() {
                    args.insert(ak.as_str().unwrap_or_default().to_string(), av.clone());
                }
            }
            "config" => {
                for (ck, cv) in v.as_mapping().into_iter().flatten() {
                    match ck.as_str().unwrap_or_default() {
                        "severity" => severity = Severity::parse(cv.as_str().unwrap_or_default(), file)?,
                        other => {
                            return Err(project_error(
                                file,
                                format!("{at}: test config `{other}` is not supported by crimewatch's runner"),
                            ))
                        }
                    }
                }
            }
            "severity" => severity = Severity::parse(v.as_str().unwrap_or_default(), file)?,
            other => {
                args.insert(other.to_string(), v.clone());
            }
        }
    }
    Ok((args, severity))
}

fn parse_kind(
    kind_name: &str,
    args: &BTreeMap<String, Yaml>,
    at: &str,
    file: &str,
) -> Result<GenericKind, WarehouseError> {
    let arg_text = |key: &str| -> Result<String, WarehouseError> {
        args.get(key)
            .and_then(yaml_scalar)
            .ok_or_else(|| project_error(file, format!("{at}: {kind_name} needs `{key}`")))
    };
    match kind_name {
        "not_null" => Ok(GenericKind::NotNull),
        "unique" => Ok(GenericKind::Unique),
        "accepted_values" => {
            let values = args
                .get("values")
                .and_then(Yaml::as_sequence)
                .ok_or_else(|| project_error(file, format!("{at}: accepted_values needs `values`")))?
                .iter()
                .map(|v| yaml_scalar(v).ok_or_else(|| project_error(file, "accepted values must be scalars")))
                .collect::<Result<Vec<_>, _>>()?;
            let quote = args.get("quote").and_then(Yaml::as_bool).unwrap_or(true);
            Ok(GenericKind::AcceptedValues { values, quote })
        }
        "relationships" => {
            let to = arg_text("to")?;
            let to_model = to
                .trim()
                .strip_prefix("ref(")
                .and_then(|s| s.strip_suffix(')'))
                .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
                .ok_or_else(|| project_error(file, format!("{at}: relationships `to` must be ref('model')")))?;
            Ok(GenericKind::Relationships { to_model, field: arg_text("field")? })
        }
        other => Err(project_error(
            file,
            format!(
                "{at}: generic test `{other}` is not one crimewatch runs (not_null, unique, accepted_values, \
                 relationships)"
            ),
        )),
    }
}

fn yaml_scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// dbt's name for a generic test: `<test>_<model>_` then every argument's value in argument-name order (lists
/// flattened), joined by `__`, each with every run of characters other than letters, digits and `_` turned into
/// `_` (dbt's `synthesize_generic_test_names`; `column_name` sorts first among the arguments crimewatch knows).
fn dbt_test_name(kind: &str, model: &str, args: &BTreeMap<String, Yaml>) -> String {
    let mut parts = vec![];
    for v in args.values() {
        match v {
            Yaml::Sequence(items) => parts.extend(items.iter().filter_map(yaml_scalar)),
            other => parts.extend(yaml_scalar(other)),
        }
    }
    let clean = |s: &str| {
        let mut out = String::new();
        let mut in_run = false;
        for ch in s.chars() {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                out.push(ch);
                in_run = false;
            } else if !in_run {
                out.push('_');
                in_run = true;
            }
        }
        out
    };
    let cleaned: Vec<String> = parts.iter().map(|p| clean(p)).collect();
    format!("{kind}_{model}_{}", cleaned.join("__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Yaml {
        yaml_serde::from_str(text).unwrap()
    }

    #[test]
    fn names_follow_dbt_for_column_and_model_level_tests() {
        let col = || Some(TestedColumn::Name("month".to_string()));
        let t = parse(&yaml("relationships:\n  arguments: {to: \"ref('dim_month')\", field: month}"), "m", col(), "f")
            .unwrap();
        assert_eq!(t.name, "relationships_m_month__month__ref_dim_month_");
        let t = parse(&yaml("accepted_values:\n  values: [0, 1]\n  quote: false\n  severity: warn"), "m", col(), "f")
            .unwrap();
        assert_eq!(t.name, "accepted_values_m_month__False__0__1");
        assert_eq!(t.severity, Severity::Warn);
        let t = parse(&yaml("unique:\n  arguments: {column_name: 'row(kind, upper(code))'}"), "s", None, "f").unwrap();
        assert_eq!(t.name, "unique_s_row_kind_upper_code_");
        assert_eq!(t.column, TestedColumn::Expression("row(kind, upper(code))".to_string()));
    }

    #[test]
    fn unknown_config_is_named() {
        let err = parse(&yaml("unique:\n  config: {where: 'x > 1'}"), "m", None, "models/m.yml").unwrap_err();
        assert!(err.to_string().contains("where") && err.to_string().contains("models/m.yml"), "{err}");
    }
}
