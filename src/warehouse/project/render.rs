//! Renders the project's Jinja with minijinja, providing the dbt context the models use: `ref`, `source`,
//! `config`, `var`, `env_var`, `is_incremental` (always false: every build is a full rebuild), `this`,
//! `run_started_at` and `target`. Each render records the refs and sources it used (the dependency graph) and
//! the config it set. A `ref` to an ephemeral model renders as a CTE name, and the CTEs are put in front of the
//! rendered SQL, as dbt does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};

use super::ephemeral::{self, Ephemeral};
use super::DEFAULT_SCHEMA;
use crate::warehouse::error::WarehouseError;

/// What every render can see.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// The project's vars with crimewatch's overrides applied.
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Values `env_var()` returns before looking at the process environment (the lake path crimewatch uses).
    pub env_vars: BTreeMap<String, String>,
    /// Node name → quoted relation; `None` renders placeholders (the first pass, which only collects refs and
    /// config).
    pub relations: Option<BTreeMap<String, String>>,
    /// `(source, table)` → the SQL `source()` renders to.
    pub sources: BTreeMap<(String, String), String>,
    /// Ephemeral models rendered so far: a `ref` to one renders as its CTE.
    pub ephemerals: BTreeMap<String, Ephemeral>,
    pub run_started_at: chrono::DateTime<chrono::Utc>,
}

impl RenderContext {
    /// A context for the first pass (placeholder relations), before sources and ephemeral models are known.
    pub fn new(
        vars: BTreeMap<String, serde_json::Value>,
        env_vars: BTreeMap<String, String>,
        run_started_at: chrono::DateTime<chrono::Utc>,
    ) -> RenderContext {
        RenderContext {
            vars,
            env_vars,
            relations: None,
            sources: BTreeMap::new(),
            ephemerals: BTreeMap::new(),
            run_started_at,
        }
    }
}

/// What a render produced.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The SQL with the CTEs of the ephemeral models it uses in front.
    pub sql: String,
    /// The SQL as the template rendered it (what an ephemeral model contributes to the models that use it).
    pub body: String,
    pub refs: Vec<String>,
    pub sources: Vec<(String, String)>,
    /// `config(materialized=...)`.
    pub materialized: Option<String>,
    /// `config(schema=...)`.
    pub schema: Option<String>,
    /// `config(severity=...)` (tests).
    pub severity: Option<String>,
}

/// `"schema"."name"`, as both tools name a relation inside one database file (no catalog, so the file can be
/// renamed and attached under any name).
pub fn relation(schema: &str, name: &str) -> String {
    format!("\"{schema}\".\"{name}\"")
}

/// Renders `template` (a model, test or yml value) with the macros prepended. `this` is the node's own relation.
pub fn render(
    ctx: &RenderContext,
    file: &str,
    macros: &str,
    template: &str,
    this: Option<&str>,
) -> Result<Rendered, WarehouseError> {
    let recorded = Arc::new(Mutex::new(Rendered::default()));
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    add_graph_functions(&mut env, ctx, &recorded);
    add_context(&mut env, ctx, this);

    let source = format!("{macros}\n{template}");
    let sql = env
        .render_named_str(file, &source, ())
        .map_err(|e| WarehouseError::Render { file: file.to_string(), message: describe(&e) })?;
    drop(env);
    let mut out =
        lock(&recorded).map_err(|e| WarehouseError::Render { file: file.to_string(), message: describe(&e) })?.clone();
    out.body = sql.trim().to_string();
    out.sql = ephemeral::inject_ctes(&out.body, &ephemeral::ctes_for(&out.refs, &ctx.ephemerals));
    Ok(out)
}

/// `ref`, `source` and `config`: what a node reads and how it is stored, recorded into `recorded`.
fn add_graph_functions(env: &mut Environment<'_>, ctx: &RenderContext, recorded: &Arc<Mutex<Rendered>>) {
    let (rec, relations) = (recorded.clone(), ctx.relations.clone());
    let ephemerals: Vec<String> = ctx.ephemerals.keys().cloned().collect();
    env.add_function("ref", move |a: String, b: Option<String>| -> Result<String, Error> {
        // ref('model') or ref('package', 'model').
        let name = b.unwrap_or(a);
        lock(&rec)?.refs.push(name.clone());
        match &relations {
            None => Ok(relation(DEFAULT_SCHEMA, &name)),
            Some(_) if ephemerals.contains(&name) => Ok(ephemeral::cte_name(&name)),
            Some(known) => known.get(&name).cloned().ok_or_else(|| {
                Error::new(ErrorKind::InvalidOperation, format!("ref('{name}'): no such model or seed"))
            }),
        }
    });
    let (rec, sources) = (recorded.clone(), ctx.sources.clone());
    env.add_function("source", move |source: String, table: String| -> Result<String, Error> {
        lock(&rec)?.sources.push((source.clone(), table.clone()));
        sources.get(&(source.clone(), table.clone())).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("source('{source}', '{table}') is not declared in a .yml file"),
            )
        })
    });
    let rec = recorded.clone();
    env.add_function("config", move |kwargs: Kwargs| -> Result<String, Error> {
        let mut r = lock(&rec)?;
        for key in kwargs.args() {
            let value: String = kwargs.get(key)?;
            match key {
                "materialized" => r.materialized = Some(value),
                "schema" => r.schema = Some(value),
                "severity" => r.severity = Some(value),
                other => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("config({other}=...) is not supported by crimewatch's runner"),
                    ))
                }
            }
        }
        Ok(String::new())
    });
}

/// `var`, `env_var`, `is_incremental`, `run_started_at`, `target` and `this`.
fn add_context(env: &mut Environment<'_>, ctx: &RenderContext, this: Option<&str>) {
    let vars = ctx.vars.clone();
    env.add_function("var", move |name: String, default: Option<Value>| -> Result<Value, Error> {
        match (vars.get(&name), default) {
            (Some(v), _) => Ok(Value::from_serialize(v)),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("var('{name}') is not set in dbt_project.yml and has no default"),
            )),
        }
    });
    let env_vars = ctx.env_vars.clone();
    env.add_function("env_var", move |name: String, default: Option<String>| -> Result<String, Error> {
        env_vars.get(&name).cloned().or_else(|| std::env::var(&name).ok()).or(default).ok_or_else(|| {
            Error::new(ErrorKind::InvalidOperation, format!("env_var('{name}') is not set and has no default"))
        })
    });
    env.add_function("is_incremental", || false);
    env.add_global("run_started_at", Value::from_object(RunStartedAt(ctx.run_started_at)));
    env.add_global(
        "target",
        Value::from_serialize(serde_json::json!({"name": "dev", "type": "duckdb", "schema": DEFAULT_SCHEMA})),
    );
    if let Some(this) = this {
        env.add_global("this", this.to_string());
    }
}

fn lock(rec: &Arc<Mutex<Rendered>>) -> Result<std::sync::MutexGuard<'_, Rendered>, Error> {
    rec.lock().map_err(|_| Error::new(ErrorKind::InvalidOperation, "render state poisoned"))
}

/// The error with its causes (minijinja puts the useful part, such as a failing `ref`, in the source chain).
fn describe(e: &Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// dbt's `run_started_at` (a Python datetime in UTC): supports `strftime` and `isoformat`.
#[derive(Debug)]
struct RunStartedAt(chrono::DateTime<chrono::Utc>);

impl Object for RunStartedAt {
    fn call_method(self: &Arc<Self>, _state: &State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let format = args
                    .first()
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::new(ErrorKind::MissingArgument, "strftime needs a format"))?;
                let items: Vec<_> = chrono::format::StrftimeItems::new(format).collect();
                if items.contains(&chrono::format::Item::Error) {
                    return Err(Error::new(ErrorKind::InvalidOperation, format!("bad strftime format {format:?}")));
                }
                Ok(Value::from(self.0.format_with_items(items.into_iter()).to_string()))
            }
            "isoformat" => Ok(Value::from(self.0.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S%.6f+00:00"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RenderContext {
        let mut relations = BTreeMap::new();
        relations.insert("a".to_string(), relation("staging", "a"));
        RenderContext {
            vars: [("n".to_string(), serde_json::json!(2))].into_iter().collect(),
            env_vars: [("LAKE".to_string(), "/lake".to_string())].into_iter().collect(),
            relations: Some(relations),
            sources: [(("lake".to_string(), "t".to_string()), "read_parquet('/lake/x')".to_string())]
                .into_iter()
                .collect(),
            ephemerals: BTreeMap::new(),
            run_started_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn dbt_functions_render_and_record_refs_sources_and_config() {
        let tpl =
            "{{ config(materialized='table') }}select {{ var('n') }}, {{ var('m', 5) }}, '{{ env_var('LAKE') }}', \
                   '{{ run_started_at.strftime('%Y-%m-%d') }}' from {{ ref('a') }} join {{ source('lake', 't') }} \
                   {% if is_incremental() %}x{% endif %}-- {{ this }}";
        let r = render(&ctx(), "m.sql", "", tpl, Some("\"marts\".\"m\"")).unwrap();
        assert_eq!(
            r.sql,
            "select 2, 5, '/lake', '2023-11-14' from \"staging\".\"a\" join read_parquet('/lake/x') -- \"marts\".\"m\""
        );
        assert_eq!(r.refs, ["a"]);
        assert_eq!(r.sources, [("lake".to_string(), "t".to_string())]);
        assert_eq!(r.materialized.as_deref(), Some("table"));
    }

    #[test]
    fn unknown_ref_var_and_config_key_are_named() {
        let err = render(&ctx(), "m.sql", "", "{{ ref('nope') }}", None).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("m.sql"), "{err}");
        let err = render(&ctx(), "m.sql", "", "{{ var('missing') }}", None).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        let err = render(&ctx(), "m.sql", "", "{{ config(unique_key='x') }}", None).unwrap_err().to_string();
        assert!(err.contains("unique_key"), "{err}");
    }
}
