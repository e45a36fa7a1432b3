//! The API's query parameters, parsed once at the edge into closed enums, so the SQL layer only ever sees
//! allow-listed identifiers and values that are bound as parameters.

use crate::domain::category::{AreaLevel, Axis, OffenseCategory};
use crate::domain::Month;

use super::WebError;

/// One of SPD's categories, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Only(OffenseCategory),
    All,
}

impl Category {
    pub const ALLOWED: &'static str = "violent, property, other, all";

    /// The value in the marts' `offense_category`; `None` for all.
    pub fn mart_value(self) -> Option<&'static str> {
        match self {
            Category::Only(c) => Some(c.mart_value()),
            Category::All => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Only(c) => c.label(),
            Category::All => "all",
        }
    }

    /// The API name of a mart `offense_category` value: `ALL` (the marts' sum of the three) is `all`; unknown
    /// values pass through lower-cased (never expected, since the warehouse tests accepted values, but never
    /// hidden either).
    pub fn label_of(mart_value: &str) -> String {
        match OffenseCategory::from_mart_value(mart_value) {
            Some(c) => c.label().to_string(),
            None if mart_value == "ALL" => "all".to_string(),
            None => mart_value.to_lowercase(),
        }
    }

    fn parse(v: &str) -> Option<Category> {
        match v {
            "all" => Some(Category::All),
            _ => OffenseCategory::from_label(v).map(Category::Only),
        }
    }
}

/// JSON (default) or CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Csv,
}

/// The parameters every chart endpoint shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filters {
    pub from: Option<Month>,
    pub to: Option<Month>,
    pub axis: Axis,
    pub category: Category,
    /// `area_level` + `area`, always together.
    pub area: Option<(AreaLevel, String)>,
    pub format: Format,
}

const COMMON: &[&str] = &["from", "to", "axis", "category", "area_level", "area", "format"];
/// Longest area name accepted; real ones are under 40 characters.
const MAX_AREA_CHARS: usize = 100;

impl Filters {
    /// Parses the common parameters from `pairs`; `extra` names endpoint-specific parameters the caller reads
    /// itself (anything else is an error, so a typo such as `catgory=` is not silently ignored).
    pub fn parse(pairs: &[(String, String)], extra: &[&str]) -> Result<Filters, WebError> {
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in pairs {
            if !COMMON.contains(&k.as_str()) && !extra.contains(&k.as_str()) {
                let mut allowed: Vec<&str> = COMMON.to_vec();
                allowed.extend_from_slice(extra);
                return Err(WebError::bad(k, format!("unknown parameter `{k}`; allowed: {}", allowed.join(", "))));
            }
            if seen.contains(&k.as_str()) {
                return Err(WebError::bad(k, format!("parameter `{k}` is given more than once; give it once")));
            }
            seen.push(k);
        }
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let month = |name: &'static str| -> Result<Option<Month>, WebError> {
            match get(name) {
                None | Some("") => Ok(None),
                Some(v) => Month::parse(v).map(Some).map_err(|_| {
                    WebError::bad(name, format!("parameter `{name}` must be a month YYYY-MM, e.g. 2024-03; got {v:?}"))
                }),
            }
        };
        let from = month("from")?;
        let to = month("to")?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(WebError::bad("from", format!("parameter `from` ({f}) is after `to` ({t}); swap them")));
            }
        }
        let axis = match get("axis") {
            None | Some("") => Axis::Occurred,
            Some(v) => Axis::parse(v).ok_or_else(|| {
                WebError::bad("axis", format!("parameter `axis` must be one of {}; got {v:?}", Axis::ALLOWED))
            })?,
        };
        let category = match get("category") {
            None | Some("") => Category::All,
            Some(v) => Category::parse(v).ok_or_else(|| {
                WebError::bad(
                    "category",
                    format!("parameter `category` must be one of {}; got {v:?}", Category::ALLOWED),
                )
            })?,
        };
        let area = parse_area(get("area_level"), get("area"))?;
        let format = match get("format") {
            None | Some("") | Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some(v) => {
                return Err(WebError::bad("format", format!("parameter `format` must be one of json, csv; got {v:?}")))
            }
        };
        Ok(Filters { from, to, axis, category, area, format })
    }
}

/// `area_level` + `area`: both or neither.
fn parse_area(level: Option<&str>, name: Option<&str>) -> Result<Option<(AreaLevel, String)>, WebError> {
    match (level.filter(|v| !v.is_empty()), name.filter(|v| !v.is_empty())) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(WebError::bad(
            "area",
            "parameter `area_level` needs `area` (the area's name, e.g. area_level=precinct&area=North)",
        )),
        (None, Some(_)) => Err(WebError::bad(
            "area_level",
            format!("parameter `area` needs `area_level`, one of {}", AreaLevel::ALLOWED),
        )),
        (Some(level), Some(name)) => {
            let level = parse_level("area_level", level)?;
            if name.chars().count() > MAX_AREA_CHARS {
                return Err(WebError::bad(
                    "area",
                    format!("parameter `area` is longer than {MAX_AREA_CHARS} characters"),
                ));
            }
            Ok(Some((level, name.to_string())))
        }
    }
}

/// Parses an area level parameter (`level` on /api/areas, `area_level` everywhere).
pub fn parse_level(name: &str, v: &str) -> Result<AreaLevel, WebError> {
    AreaLevel::parse(v).ok_or_else(|| {
        WebError::bad(name, format!("parameter `{name}` must be one of {}; got {v:?}", AreaLevel::ALLOWED))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_occurred_all_categories_no_area() {
        let f = Filters::parse(&[], &[]).unwrap();
        assert_eq!(
            (f.axis, f.category, f.area, f.from, f.format),
            (Axis::Occurred, Category::All, None, None, Format::Json)
        );
    }

    /// (query pairs, parameter named, text the message must contain)
    type Case = (&'static [(&'static str, &'static str)], &'static str, &'static str);

    #[test]
    fn bad_values_name_the_parameter_and_the_allowed_values() {
        let cases: &[Case] = &[
            (&[("axis", "when")], "axis", "occurred, reported"),
            (&[("category", "crime")], "category", "violent, property, other, all"),
            (&[("from", "2024-13")], "from", "YYYY-MM"),
            (&[("from", "2024-05"), ("to", "2024-03")], "from", "after"),
            (&[("area_level", "city"), ("area", "x")], "area_level", "precinct, sector, beat, neighborhood"),
            (&[("area", "North")], "area_level", "needs"),
            (&[("catgory", "violent")], "catgory", "allowed: from"),
            (&[("axis", "occurred"), ("axis", "reported")], "axis", "more than once"),
            (&[("format", "xml")], "format", "json, csv"),
        ];
        for (q, param, needle) in cases {
            match Filters::parse(&pairs(q), &[]) {
                Err(WebError::BadParameter { parameter, message }) => {
                    assert_eq!(&parameter, param, "{message}");
                    assert!(message.contains(needle), "{message} should contain {needle}");
                }
                other => panic!("{q:?} gave {other:?}"),
            }
        }
    }
}
