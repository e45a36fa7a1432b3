//! The first and last month with data on each axis, read once per published warehouse: they are the default
//! range of every chart request.

use duckdb::Connection;

use crate::domain::category::Axis;
use crate::domain::Month;

const BOUNDS_SQL: &str = include_str!("sql/bounds.sql");

/// First and last month with data on each axis.
#[derive(Debug, Clone, Default)]
pub struct Bounds {
    pub occurred: Option<(Month, Month)>,
    pub reported: Option<(Month, Month)>,
}

impl Bounds {
    pub fn of(&self, axis: Axis) -> Option<(Month, Month)> {
        match axis {
            Axis::Occurred => self.occurred,
            Axis::Reported => self.reported,
        }
    }

    /// Reads the bounds from the marts.
    pub fn read(c: &Connection) -> duckdb::Result<Bounds> {
        let mut stmt = c.prepare_cached(BOUNDS_SQL)?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
        let mut b = Bounds::default();
        for row in rows {
            let (axis, first, last) = row?;
            let range = Month::parse(&first).ok().zip(Month::parse(&last).ok());
            match axis.as_str() {
                "occurred" => b.occurred = range,
                "reported" => b.reported = range,
                _ => {}
            }
        }
        Ok(b)
    }
}
