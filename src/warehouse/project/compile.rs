//! Compiling the project for one build: sources rendered to their locations, a first pass over the models for
//! their config (schema, materialization) and refs, the build order, then a second pass with the real relations.
//! Ephemeral models come out of the second pass as CTEs of the models that use them; the runner never sees them.

use std::collections::{BTreeMap, BTreeSet};

use super::ephemeral::Ephemeral;
use super::render::{relation, render, RenderContext};
use super::{dag, Materialized, ModelFile, Project, SeedFile, DEFAULT_SCHEMA};
use crate::warehouse::error::WarehouseError;

/// How a model the runner builds is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Table,
    View,
}

/// What the runner does for one node.
#[derive(Debug, Clone)]
pub enum Step<'p> {
    Seed(&'p SeedFile),
    Model { path: String, sql: String, stored: Stored },
}

/// A seed or a stored model, ready to run.
#[derive(Debug, Clone)]
pub struct CompiledNode<'p> {
    pub name: String,
    pub schema: String,
    /// `"schema"."name"`.
    pub relation: String,
    pub step: Step<'p>,
}

/// The project compiled for one build.
#[derive(Debug, Clone)]
pub struct Compiled<'p> {
    /// Seeds and stored models in build order (each after everything it refs).
    pub nodes: Vec<CompiledNode<'p>>,
    /// The context the models were rendered with (relations, sources, ephemeral models): data tests render
    /// with it too.
    pub context: RenderContext,
}

/// What the first pass learns about a model.
struct Configured {
    schema: String,
    materialized: Materialized,
    refs: BTreeSet<String>,
}

/// Compiles `project` with `ctx`'s vars, environment and start time.
pub fn compile(project: &Project, mut ctx: RenderContext) -> Result<Compiled<'_>, WarehouseError> {
    render_sources(project, &mut ctx)?;
    let configured = configure_models(project, &ctx)?;
    check_tests_target_stored_nodes(project, &configured)?;
    let order = dag::order(&dependencies(project, &configured))?;
    ctx.relations = Some(stored_relations(project, &configured));

    let models: BTreeMap<&str, &ModelFile> = project.models.iter().map(|m| (m.name.as_str(), m)).collect();
    let seeds: BTreeMap<&str, &SeedFile> = project.seeds.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut nodes = Vec::with_capacity(order.len());
    for name in &order {
        if let Some(seed) = seeds.get(name.as_str()) {
            nodes.push(CompiledNode {
                name: name.clone(),
                schema: seed.schema.clone(),
                relation: relation(&seed.schema, name),
                step: Step::Seed(seed),
            });
        } else if let (Some(model), Some(config)) = (models.get(name.as_str()), configured.get(name)) {
            nodes.extend(compile_model(project, model, config, &mut ctx)?);
        }
    }
    Ok(Compiled { nodes, context: ctx })
}

/// `source()` renders to the source table's `external_location`, itself a template (it reads `env_var`).
fn render_sources(project: &Project, ctx: &mut RenderContext) -> Result<(), WarehouseError> {
    for s in &project.sources {
        let r = render(ctx, &s.file, "", &s.external_location, None)?;
        // dbt-duckdb formats external_location with the source's names (`{name}`, `{identifier}`, `{schema}`).
        let location =
            r.sql.replace("{name}", &s.table).replace("{identifier}", &s.table).replace("{schema}", &s.source);
        ctx.sources.insert((s.source.clone(), s.table.clone()), location);
    }
    Ok(())
}

/// Pass 1: each model's schema and materialization (its own `config()` over its folder's) and its refs, rendered
/// with placeholder relations.
fn configure_models(project: &Project, ctx: &RenderContext) -> Result<BTreeMap<String, Configured>, WarehouseError> {
    let mut out = BTreeMap::new();
    for m in &project.models {
        if out.contains_key(&m.name) || project.seeds.iter().any(|s| s.name == m.name) {
            return Err(WarehouseError::Graph { message: format!("two nodes are named {} ({})", m.name, m.path) });
        }
        let r = render(ctx, &m.path, &project.macros, &m.sql, None)?;
        let schema = r.schema.or_else(|| m.folder_config.schema.clone()).unwrap_or_else(|| DEFAULT_SCHEMA.to_string());
        let materialized =
            Materialized::resolve(r.materialized.as_deref(), m.folder_config.materialized.as_deref(), &m.path)?;
        out.insert(m.name.clone(), Configured { schema, materialized, refs: r.refs.into_iter().collect() });
    }
    Ok(out)
}

/// A generic test on an ephemeral model would have no relation to query (dbt would inline the model into the
/// test); crimewatch asks for the test on the model that stores the rows instead.
fn check_tests_target_stored_nodes(
    project: &Project,
    configured: &BTreeMap<String, Configured>,
) -> Result<(), WarehouseError> {
    let ephemeral = |model: &str| configured.get(model).is_some_and(|c| c.materialized == Materialized::Ephemeral);
    for t in &project.generic_tests {
        let target = match &t.kind {
            super::GenericKind::Relationships { to_model, .. } if ephemeral(to_model) => to_model,
            _ if ephemeral(&t.model) => &t.model,
            _ => continue,
        };
        return Err(WarehouseError::Project {
            file: t.file.clone(),
            message: format!(
                "{}: {target} is ephemeral (never stored), and crimewatch runs generic tests on stored models \
                 only; declare the test on the model that stores its rows",
                t.name
            ),
        });
    }
    Ok(())
}

/// Node → the nodes it refs (seeds ref nothing).
fn dependencies(project: &Project, configured: &BTreeMap<String, Configured>) -> BTreeMap<String, BTreeSet<String>> {
    let seeds = project.seeds.iter().map(|s| (s.name.clone(), BTreeSet::new()));
    seeds.chain(configured.iter().map(|(name, c)| (name.clone(), c.refs.clone()))).collect()
}

/// Node → `"schema"."name"` for seeds and every model that is stored.
fn stored_relations(project: &Project, configured: &BTreeMap<String, Configured>) -> BTreeMap<String, String> {
    let seeds = project.seeds.iter().map(|s| (s.name.clone(), relation(&s.schema, &s.name)));
    let models = configured
        .iter()
        .filter(|(_, c)| c.materialized != Materialized::Ephemeral)
        .map(|(name, c)| (name.clone(), relation(&c.schema, name)));
    seeds.chain(models).collect()
}

/// Pass 2 for one model, rendered with the real relations: a node to run, or (ephemeral) a CTE for the models
/// after it.
fn compile_model<'p>(
    project: &Project,
    model: &ModelFile,
    config: &Configured,
    ctx: &mut RenderContext,
) -> Result<Option<CompiledNode<'p>>, WarehouseError> {
    let stored = match config.materialized {
        Materialized::Table => Stored::Table,
        Materialized::View => Stored::View,
        Materialized::Ephemeral => {
            let r = render(ctx, &model.path, &project.macros, &model.sql, None)?;
            ctx.ephemerals.insert(model.name.clone(), Ephemeral { sql: r.body, refs: r.refs });
            return Ok(None);
        }
    };
    let rel = relation(&config.schema, &model.name);
    let r = render(ctx, &model.path, &project.macros, &model.sql, Some(&rel))?;
    Ok(Some(CompiledNode {
        name: model.name.clone(),
        schema: config.schema.clone(),
        relation: rel,
        step: Step::Model { path: model.path.clone(), sql: r.sql, stored },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> Project {
        let mut all: BTreeMap<String, String> = files.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect();
        all.insert(
            "dbt_project.yml".to_string(),
            "name: p\nmodels:\n  p:\n    +materialized: table\n    int:\n      +materialized: ephemeral\n".to_string(),
        );
        Project::from_files(all).unwrap()
    }

    fn ctx() -> RenderContext {
        RenderContext::new(BTreeMap::new(), BTreeMap::new(), chrono::Utc::now())
    }

    #[test]
    fn ephemeral_models_are_inlined_into_the_stored_models_that_use_them() {
        let p = project(&[
            ("models/int/a.sql", "select 1 as x"),
            ("models/int/b.sql", "select x from {{ ref('a') }}"),
            ("models/c.sql", "-- c\nwith y as (select * from {{ ref('b') }}) select * from y"),
            ("models/d.sql", "{{ config(materialized='view') }}select * from {{ ref('c') }}"),
        ]);
        let compiled = compile(&p, ctx()).unwrap();
        let names: Vec<&str> = compiled.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["c", "d"], "ephemeral models are not nodes of their own");
        let Step::Model { sql, stored, .. } = &compiled.nodes[0].step else { panic!("c is a model") };
        assert_eq!(*stored, Stored::Table);
        assert_eq!(
            sql,
            "-- c\nwith __dbt__cte__a as not materialized (\nselect 1 as x\n),\n__dbt__cte__b as not materialized \
             (\nselect x from __dbt__cte__a\n), y as (select * from __dbt__cte__b) select * from y"
        );
        let Step::Model { sql, stored, .. } = &compiled.nodes[1].step else { panic!("d is a model") };
        assert_eq!((sql.as_str(), *stored), ("select * from \"main\".\"c\"", Stored::View));
        let relations = compiled.context.relations.unwrap();
        assert!(!relations.contains_key("a") && relations.contains_key("c"), "{relations:?}");
    }

    #[test]
    fn a_generic_test_on_an_ephemeral_model_is_refused() {
        let p = project(&[
            ("models/int/a.sql", "select 1 as x"),
            ("models/int/a.yml", "models:\n  - name: a\n    columns:\n      - name: x\n        data_tests: [unique]\n"),
        ]);
        let err = compile(&p, ctx()).unwrap_err().to_string();
        assert!(err.contains("unique_a_x") && err.contains("ephemeral") && err.contains("models/int/a.yml"), "{err}");
    }
}
