//! The warehouse's own SQL (`src/warehouse/sql/`): the statements that create seeds, tables and views, and that
//! run data tests, as minijinja templates rendered with strict undefined values.

use super::WarehouseError;

/// One of the warehouse's own SQL files.
pub struct Template {
    file: &'static str,
    text: &'static str,
}

pub const SESSION: Template = Template { file: "session.sql", text: include_str!("sql/session.sql") };
pub const THREADS: Template = Template { file: "threads.sql", text: include_str!("sql/threads.sql") };
pub const CREATE_SEED: Template = Template { file: "create_seed.sql", text: include_str!("sql/create_seed.sql") };
pub const CREATE_TABLE: Template = Template { file: "create_table.sql", text: include_str!("sql/create_table.sql") };
pub const CREATE_VIEW: Template = Template { file: "create_view.sql", text: include_str!("sql/create_view.sql") };
pub const NOT_NULL: Template = Template { file: "not_null.sql", text: include_str!("sql/not_null.sql") };
pub const UNIQUE: Template = Template { file: "unique.sql", text: include_str!("sql/unique.sql") };
pub const ACCEPTED_VALUES: Template =
    Template { file: "accepted_values.sql", text: include_str!("sql/accepted_values.sql") };
pub const RELATIONSHIPS: Template = Template { file: "relationships.sql", text: include_str!("sql/relationships.sql") };
pub const TEST_COUNT: Template = Template { file: "test_count.sql", text: include_str!("sql/test_count.sql") };
pub const TEST_SAMPLE: Template = Template { file: "test_sample.sql", text: include_str!("sql/test_sample.sql") };

impl Template {
    pub fn render(&self, ctx: minijinja::Value) -> Result<String, WarehouseError> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.render_named_str(self.file, self.text, ctx).map_err(|e| WarehouseError::Render {
            file: format!("src/warehouse/sql/{}", self.file),
            message: e.to_string(),
        })
    }
}
