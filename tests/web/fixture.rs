//! Fixture rows for the web tests, a seeded generator for them, and a STAND-IN warehouse build
//! (`standin_marts.sql`) until the real `pipeline::build` is wired in. Expected API answers are computed in
//! Rust from these rows (see `expect.rs`), never by the SQL under test.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use crimewatch::domain::Month;

/// One offense as the marts see it (after staging): what the dashboard counts.
#[derive(Debug, Clone)]
pub struct Offense {
    pub offense_id: String,
    pub offense_date: Option<NaiveDateTime>,
    pub report_date_time: NaiveDateTime,
    /// The marts' value: `VIOLENT CRIME`, `PROPERTY CRIME` or `ALL OTHER`.
    pub category: &'static str,
    pub sub_category: &'static str,
    pub offense: &'static str,
    pub precinct: String,
    pub sector: String,
    pub beat: String,
    pub neighborhood: String,
}

/// (category, sub-category, offense, weight)
const OFFENSES: &[(&str, &str, &str, u32)] = &[
    ("VIOLENT CRIME", "AGGRAVATED ASSAULT", "Aggravated Assault", 8),
    ("VIOLENT CRIME", "ROBBERY", "Robbery", 5),
    ("VIOLENT CRIME", "RAPE", "Rape", 1),
    ("VIOLENT CRIME", "HOMICIDE", "Murder & Nonnegligent Manslaughter", 1),
    ("PROPERTY CRIME", "LARCENY-THEFT", "Theft From Motor Vehicle", 14),
    ("PROPERTY CRIME", "LARCENY-THEFT", "Shoplifting", 10),
    ("PROPERTY CRIME", "LARCENY-THEFT", "All Other Larceny", 12),
    ("PROPERTY CRIME", "BURGLARY", "Burglary/Breaking & Entering", 10),
    ("PROPERTY CRIME", "MOTOR VEHICLE THEFT", "Motor Vehicle Theft", 9),
    (
        "PROPERTY CRIME",
        "PROPERTY OFFENSES (INCLUDES STOLEN, DESTRUCTION)",
        "Destruction/Damage/Vandalism of Property",
        11,
    ),
    ("PROPERTY CRIME", "ARSON", "Arson", 1),
    ("ALL OTHER", "ASSAULT OFFENSES", "Simple Assault", 9),
    ("ALL OTHER", "ASSAULT OFFENSES", "Intimidation", 3),
    ("ALL OTHER", "NARCOTIC VIOLATIONS (INCLUDES DRUG EQUIP.)", "Drug/Narcotic Violations", 3),
    ("ALL OTHER", "TRESPASS", "Trespass of Real Property", 3),
    ("ALL OTHER", "EXTORTION/FRAUD/FORGERY/BRIBERY (INCLUDES BAD CHECKS)", "Identity Theft", 4),
    ("ALL OTHER", "DUI", "Driving Under the Influence", 2),
];

/// precinct → (sectors, neighborhood names as the data spells them). Includes the data names that differ from
/// the map (CHINATOWN/INTERNATIONAL DISTRICT, MADRONA/LESCHI) and placeholders that match no polygon.
const AREAS: &[(&str, &[&str], &[&str])] = &[
    (
        "North",
        &["B", "J", "L", "N", "U"],
        &[
            "FREMONT",
            "BALLARD SOUTH",
            "BALLARD NORTH",
            "WALLINGFORD",
            "UNIVERSITY",
            "NORTHGATE",
            "LAKECITY",
            "GREENWOOD",
            "ROOSEVELT/RAVENNA",
            "SANDPOINT",
            "PHINNEY RIDGE",
            "BITTERLAKE",
        ],
    ),
    (
        "East",
        &["C", "E", "G"],
        &[
            "CAPITOL HILL",
            "CENTRAL AREA/SQUIRE PARK",
            "FIRST HILL",
            "MADRONA/LESCHI",
            "MONTLAKE/PORTAGE BAY",
            "MADISON PARK",
            "JUDKINS PARK/NORTH BEACON HILL",
        ],
    ),
    (
        "West",
        &["D", "K", "M", "Q"],
        &[
            "DOWNTOWN COMMERCIAL",
            "BELLTOWN",
            "SLU/CASCADE",
            "QUEEN ANNE",
            "MAGNOLIA",
            "PIONEER SQUARE",
            "CHINATOWN/INTERNATIONAL DISTRICT",
            "EASTLAKE - WEST",
        ],
    ),
    (
        "South",
        &["O", "R", "S"],
        &[
            "SODO",
            "GEORGETOWN",
            "COLUMBIA CITY",
            "RAINIER BEACH",
            "MOUNT BAKER",
            "NEW HOLLY",
            "HILLMAN CITY",
            "MID BEACON HILL",
        ],
    ),
    (
        "Southwest",
        &["F", "W"],
        &[
            "ALASKA JUNCTION",
            "ALKI",
            "HIGH POINT",
            "MORGAN",
            "SOUTH PARK",
            "NORTH DELRIDGE",
            "ROXHILL/WESTWOOD/ARBOR HEIGHTS",
        ],
    ),
];

/// Hour weights (a night-life and afternoon peak), so the heatmap has a shape.
const HOUR_WEIGHTS: [u32; 24] = [6, 4, 3, 2, 2, 2, 3, 4, 5, 6, 6, 7, 9, 8, 8, 8, 9, 10, 10, 9, 8, 8, 8, 7];

/// A small deterministic generator (no `rand` dependency): SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn weighted(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u32 = weights.clone().sum();
        let mut pick = self.below(u64::from(total)) as u32;
        for (i, w) in weights.enumerate() {
            if pick < w {
                return i;
            }
            pick -= w;
        }
        0
    }
}

/// `n` offenses reported between the first day of `first` and the 20th of `last` (so `last` is a partial month).
pub fn generate(seed: u64, n: usize, first: Month, last: Month) -> Vec<Offense> {
    let mut rng = Rng::new(seed);
    let start = first.first_day().and_hms_opt(0, 0, 0).expect("midnight");
    let end =
        NaiveDate::from_ymd_opt(last.year(), last.month(), 20).expect("day 20").and_hms_opt(0, 0, 0).expect("midnight");
    let span_minutes = (end - start).num_minutes().max(1) as u64;
    (0..n)
        .map(|i| {
            let report = start + Duration::minutes(rng.below(span_minutes) as i64);
            let hour = rng.weighted(HOUR_WEIGHTS.iter().copied()) as i64;
            let lag_days = match rng.below(100) {
                0..=59 => 0,
                60..=89 => rng.below(14) as i64,
                90..=97 => rng.below(120) as i64,
                _ => rng.below(500) as i64,
            };
            let offense_date = if rng.below(40) == 0 {
                None
            } else {
                let day = (report - Duration::days(lag_days)).date();
                Some(day.and_hms_opt(hour as u32, rng.below(60) as u32, 0).expect("valid time"))
            };
            let (category, sub_category, offense, _) = OFFENSES[rng.weighted(OFFENSES.iter().map(|o| o.3))];
            let (precinct, sector, beat, neighborhood) = if rng.below(60) == 0 {
                let n = if rng.below(2) == 0 { "UNKNOWN" } else { "OOJ" };
                ("UNKNOWN".to_string(), "UNKNOWN".to_string(), "UNKNOWN".to_string(), n.to_string())
            } else {
                let (p, sectors, hoods) = AREAS[rng.weighted(AREAS.iter().map(|a| a.1.len() as u32))];
                let s = sectors[rng.below(sectors.len() as u64) as usize];
                let b = format!("{s}{}", 1 + rng.below(3));
                let h = hoods[rng.below(hoods.len() as u64) as usize];
                (p.to_string(), s.to_string(), b, h.to_string())
            };
            Offense {
                offense_id: format!("{seed}-{i}"),
                offense_date,
                report_date_time: report,
                category,
                sub_category,
                offense,
                precinct,
                sector,
                beat,
                neighborhood,
            }
        })
        .collect()
}

fn ts(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// STAND-IN for `pipeline::build`: writes the marts for `rows` to a candidate file next to `published` and
/// renames it over `published`, as the real publisher does.
pub fn publish_standin_warehouse(rows: &[Offense], published: &Path) {
    let candidate: PathBuf = published.with_extension(format!("candidate-{}.duckdb", std::process::id()));
    let _ = std::fs::remove_file(&candidate);
    {
        let conn = duckdb::Connection::open(&candidate).expect("open candidate");
        conn.execute_batch(
            "create table raw (offense_id varchar, offense_date varchar, report_date_time varchar, \
             offense_category varchar, offense_sub_category varchar, offense varchar, precinct varchar, \
             sector varchar, beat varchar, neighborhood varchar)",
        )
        .expect("create raw");
        {
            let mut app = conn.appender("raw").expect("appender");
            for r in rows {
                app.append_row(duckdb::params![
                    r.offense_id,
                    r.offense_date.as_ref().map(ts),
                    ts(&r.report_date_time),
                    r.category,
                    r.sub_category,
                    r.offense,
                    r.precinct,
                    r.sector,
                    r.beat,
                    r.neighborhood
                ])
                .expect("append");
            }
        }
        conn.execute_batch(include_str!("standin_marts.sql")).expect("stand-in marts");
        conn.execute_batch("checkpoint").expect("checkpoint");
    }
    std::fs::rename(&candidate, published).expect("publish by rename");
}

/// The month, hour and weekday (0 = Monday) of an offense on an axis; `None` when the axis has no timestamp.
pub fn on_axis(o: &Offense, axis: &str) -> Option<(Month, u32, u32)> {
    let t = if axis == "occurred" { o.offense_date? } else { o.report_date_time };
    Some((Month::of(t.date()), t.hour(), t.weekday().num_days_from_monday()))
}
