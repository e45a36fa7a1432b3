//! Compiling the project for one build: sources rendered to their locations, a first pass over the models for
//! their config (schema, materialization) and refs, the build order, then a second pass with the real relations.

use std::collections::{BTreeMap, BTreeSet};

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

/// A seed or a model, ready to run.
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
    /// Seeds and models in build order (each after everything it refs).
    pub nodes: Vec<CompiledNode<'p>>,
    /// The context the models were rendered with (relations, sources): data tests render with it too.
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
            nodes.push(compile_model(project, model, config, &ctx)?);
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

/// Node → the nodes it refs (seeds ref nothing).
fn dependencies(project: &Project, configured: &BTreeMap<String, Configured>) -> BTreeMap<String, BTreeSet<String>> {
    let seeds = project.seeds.iter().map(|s| (s.name.clone(), BTreeSet::new()));
    seeds.chain(configured.iter().map(|(name, c)| (name.clone(), c.refs.clone()))).collect()
}

/// Node → `"schema"."name"`.
fn stored_relations(project: &Project, configured: &BTreeMap<String, Configured>) -> BTreeMap<String, String> {
    let seeds = project.seeds.iter().map(|s| (s.name.clone(), relation(&s.schema, &s.name)));
    let models = configured.iter().map(|(name, c)| (name.clone(), relation(&c.schema, name)));
    seeds.chain(models).collect()
}

/// Pass 2 for one model, rendered with the real relations.
fn compile_model<'p>(
    project: &Project,
    model: &ModelFile,
    config: &Configured,
    ctx: &RenderContext,
) -> Result<CompiledNode<'p>, WarehouseError> {
    let stored = match config.materialized {
        Materialized::Table => Stored::Table,
        Materialized::View => Stored::View,
    };
    let rel = relation(&config.schema, &model.name);
    let r = render(ctx, &model.path, &project.macros, &model.sql, Some(&rel))?;
    Ok(CompiledNode {
        name: model.name.clone(),
        schema: config.schema.clone(),
        relation: rel,
        step: Step::Model { path: model.path.clone(), sql: r.sql, stored },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> Project {
        let mut all: BTreeMap<String, String> = files.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect();
        all.insert("dbt_project.yml".to_string(), "name: p\nmodels:\n  p:\n    +materialized: table\n".to_string());
        Project::from_files(all).unwrap()
    }

    fn ctx() -> RenderContext {
        RenderContext::new(BTreeMap::new(), BTreeMap::new(), chrono::Utc::now())
    }

    #[test]
    fn models_compile_in_ref_order_with_their_relations() {
        let p = project(&[
            ("models/c.sql", "-- c\nwith y as (select * from {{ ref('b') }}) select * from y"),
            ("models/b.sql", "select 1 as x"),
            ("models/d.sql", "{{ config(materialized='view') }}select * from {{ ref('c') }}"),
        ]);
        let compiled = compile(&p, ctx()).unwrap();
        let names: Vec<&str> = compiled.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["b", "c", "d"]);
        let Step::Model { sql, stored, .. } = &compiled.nodes[1].step else { panic!("c is a model") };
        assert_eq!(
            (sql.as_str(), *stored),
            ("-- c\nwith y as (select * from \"main\".\"b\") select * from y", Stored::Table)
        );
        let Step::Model { sql, stored, .. } = &compiled.nodes[2].step else { panic!("d is a model") };
        assert_eq!((sql.as_str(), *stored), ("select * from \"main\".\"c\"", Stored::View));
    }
}
