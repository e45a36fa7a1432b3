//! The marts' closed vocabularies (the warehouse → web contract, docs/CONTRACTS.md "Marts"): SPD's offense
//! category, the axis a month is counted on, and the area levels. Each value is spelled here once, in both the
//! marts' form and the API's.

/// SPD's own three-way split of offenses (`offense_category` in the marts; never NULL there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffenseCategory {
    Violent,
    Property,
    Other,
}

impl OffenseCategory {
    pub const ALL: [OffenseCategory; 3] = [OffenseCategory::Violent, OffenseCategory::Property, OffenseCategory::Other];

    /// The value in the marts' `offense_category` column.
    pub fn mart_value(self) -> &'static str {
        match self {
            OffenseCategory::Violent => "VIOLENT CRIME",
            OffenseCategory::Property => "PROPERTY CRIME",
            OffenseCategory::Other => "ALL OTHER",
        }
    }

    /// The API's name (`category=violent`).
    pub fn label(self) -> &'static str {
        match self {
            OffenseCategory::Violent => "violent",
            OffenseCategory::Property => "property",
            OffenseCategory::Other => "other",
        }
    }

    pub fn from_mart_value(value: &str) -> Option<OffenseCategory> {
        OffenseCategory::ALL.into_iter().find(|c| c.mart_value() == value)
    }

    pub fn from_label(label: &str) -> Option<OffenseCategory> {
        OffenseCategory::ALL.into_iter().find(|c| c.label() == label)
    }
}

/// Which timestamp places an offense in a month (the marts' `axis` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    /// `offense_date` (rows without one are left out).
    Occurred,
    /// `report_date_time`.
    Reported,
}

impl Axis {
    pub const ALLOWED: &'static str = "occurred, reported";

    pub fn as_str(self) -> &'static str {
        match self {
            Axis::Occurred => "occurred",
            Axis::Reported => "reported",
        }
    }

    pub fn parse(v: &str) -> Option<Axis> {
        [Axis::Occurred, Axis::Reported].into_iter().find(|a| a.as_str() == v)
    }
}

/// An area level (the marts' `area_level` values and area column names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AreaLevel {
    Precinct,
    Sector,
    Beat,
    Neighborhood,
}

impl AreaLevel {
    pub const ALLOWED: &'static str = "precinct, sector, beat, neighborhood";

    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::Precinct => "precinct",
            AreaLevel::Sector => "sector",
            AreaLevel::Beat => "beat",
            AreaLevel::Neighborhood => "neighborhood",
        }
    }

    pub fn parse(v: &str) -> Option<AreaLevel> {
        [AreaLevel::Precinct, AreaLevel::Sector, AreaLevel::Beat, AreaLevel::Neighborhood]
            .into_iter()
            .find(|l| l.as_str() == v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_round_trips_through_both_spellings() {
        for c in OffenseCategory::ALL {
            assert_eq!(OffenseCategory::from_mart_value(c.mart_value()), Some(c));
            assert_eq!(OffenseCategory::from_label(c.label()), Some(c));
        }
        assert_eq!(OffenseCategory::from_mart_value("violent"), None);
        assert_eq!(OffenseCategory::from_label("all"), None);
        assert_eq!(Axis::parse("reported"), Some(Axis::Reported));
        assert_eq!(Axis::parse("when"), None);
        assert_eq!(AreaLevel::parse("beat"), Some(AreaLevel::Beat));
        assert_eq!(AreaLevel::parse("city"), None);
    }
}
