//! The chart endpoints, answered from the in-memory serving index (src/web/serving/), against the SQL queries
//! they answered with before (`serving/*.sql`, kept here as the reference, with the Rust that shaped their
//! rows): a real build of a generated lake (several years, every area level), then several hundred random
//! (endpoint, axis, range, category, area, level, format) combinations asked of the served API and of the
//! reference over the same published marts. The bodies must be equal byte for byte: fields, values, order,
//! JSON and CSV.

use crimewatch::domain::Month;
use crimewatch::pipeline::{self, Progress};
use crimewatch::settings::Settings;
use crimewatch::web::{csv_body, polygon_for, significance, Application};
use duckdb::Connection;
use serde::Serialize;
use soda_testkit::generate::{self, GenSpec, Schema};

use crate::fixture_lake;
use crate::tempdir::TempDir;
use crate::warehouse::open_read_only;

const BOUNDS: &str = include_str!("../../src/web/sql/bounds.sql");
const TREND: &str = include_str!("serving/trend.sql");
const AREAS: &str = include_str!("serving/areas.sql");
const AREAS_WITHIN: &str = include_str!("serving/areas_within.sql");
const AREA_KEYS: &str = include_str!("serving/area_keys.sql");
const OFFENSES: &str = include_str!("serving/offenses.sql");
const HEATMAP: &str = include_str!("serving/heatmap.sql");
const DISPERSION: &str = include_str!("serving/dispersion.sql");

const LEVELS: [&str; 4] = ["precinct", "sector", "beat", "neighborhood"];
const CATEGORIES: [&str; 4] = ["all", "violent", "property", "other"];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// A small deterministic generator (xorshift64), so a failing combination can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

fn shift(m: Month, months: i64) -> Month {
    let mut m = m;
    for _ in 0..months.abs() {
        m = if months > 0 { m.next() } else { m.prev() };
    }
    m
}

fn mart_category(label: &str) -> Option<&'static str> {
    match label {
        "violent" => Some("VIOLENT CRIME"),
        "property" => Some("PROPERTY CRIME"),
        "other" => Some("ALL OTHER"),
        _ => None,
    }
}

fn label_of(mart: &str) -> String {
    match mart {
        "VIOLENT CRIME" => "violent".into(),
        "PROPERTY CRIME" => "property".into(),
        "ALL OTHER" => "other".into(),
        "ALL" => "all".into(),
        other => other.to_lowercase(),
    }
}

fn yoy_pct(count: i64, prior: Option<i64>) -> Option<f64> {
    match prior {
        Some(p) if p > 0 => Some(((count - p) as f64 * 1000.0 / p as f64).round() / 10.0),
        _ => None,
    }
}

// The API's rows, field for field (the server's own structs are private to it).
#[derive(Serialize)]
struct TrendRow {
    month: String,
    category: String,
    count: i64,
    prior_year_count: Option<i64>,
    yoy_pct: Option<f64>,
    is_partial: bool,
    is_provisional: bool,
    ratio: Option<f64>,
    ratio_low: Option<f64>,
    ratio_high: Option<f64>,
    significant: Option<bool>,
}

#[derive(Serialize)]
struct AreaRow {
    level: String,
    area: String,
    category: String,
    count: i64,
    prior_year_count: Option<i64>,
    yoy_pct: Option<f64>,
    polygon: Option<&'static str>,
    ratio: Option<f64>,
    ratio_low: Option<f64>,
    ratio_high: Option<f64>,
    significant: Option<bool>,
}

#[derive(Serialize)]
struct OffenseRow {
    offense_sub_category: String,
    offense: String,
    category: String,
    count: i64,
}

#[derive(Serialize)]
struct HeatmapRow {
    weekday: i32,
    weekday_name: &'static str,
    hour: i32,
    category: String,
    count: i64,
}

/// One request: what the API is asked, and the same in the reference's terms.
#[derive(Debug, Clone)]
struct Ask {
    endpoint: &'static str,
    axis: &'static str,
    from: Option<Month>,
    to: Option<Month>,
    category: &'static str,
    area: Option<(&'static str, String)>,
    level: &'static str,
    csv: bool,
}

impl Ask {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("axis", self.axis.to_string()), ("category", self.category.to_string())];
        if let Some(m) = self.from {
            q.push(("from", m.to_string()));
        }
        if let Some(m) = self.to {
            q.push(("to", m.to_string()));
        }
        if let Some((level, name)) = &self.area {
            q.push(("area_level", level.to_string()));
            q.push(("area", name.clone()));
        }
        if self.endpoint == "areas" {
            q.push(("level", self.level.to_string()));
        }
        if self.csv {
            q.push(("format", "csv".into()));
        }
        q
    }
}

/// The area predicate and level column fragments, as src/web/queries.rs put them into the SQL.
fn with_area(sql: &str, area: Option<&str>) -> String {
    let predicate = match area {
        None => {
            "area_key is null and $area::varchar is null and $lo::integer is null and $hi::integer is null".to_string()
        }
        Some(col) => format!(
            "area_key between $lo and $hi and area_key in (select area_key from marts.dim_area where {col} = $area)"
        ),
    };
    sql.replace("{area_predicate}", &predicate)
}

/// The reference: the chart queries as the server ran them, over one connection to the published file.
struct Reference {
    c: Connection,
    bounds: Vec<(String, Month, Month)>,
}

impl Reference {
    fn body(&self, ask: &Ask) -> Vec<u8> {
        let (first, last) = self.bounds.iter().find(|b| b.0 == ask.axis).map(|b| (b.1, b.2)).unwrap();
        let (from, to) = (ask.from.unwrap_or(first), ask.to.unwrap_or(last));
        let render = |json: Vec<u8>, csv: Vec<u8>| if ask.csv { csv } else { json };
        macro_rules! out {
            ($rows:expr) => {{
                let rows = $rows;
                render(serde_json::to_vec(&rows).unwrap(), csv_body::render(&rows).unwrap())
            }};
        }
        if from > to {
            return out!(Vec::<OffenseRow>::new());
        }
        match ask.endpoint {
            "trend" => out!(self.trend(ask, from, to, first)),
            "areas" => out!(self.areas(ask, from, to, first)),
            "offenses" => out!(self.offenses(ask, from, to)),
            _ => out!(self.heatmap(ask, from, to)),
        }
    }

    /// The named parameters every chart query bound: the range, axis, category, the area and its key range.
    fn params(&self, ask: &Ask, from: Month, to: Month) -> Vec<(&'static str, Box<dyn duckdb::ToSql>)> {
        let (lo, hi): (Option<i32>, Option<i32>) = match &ask.area {
            None => (None, None),
            Some((level, name)) => {
                let sql = AREA_KEYS.replace("{level_column}", level);
                self.c.query_row(&sql, duckdb::named_params! { "area": name }, |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
            }
        };
        vec![
            ("from", Box::new(from.first_day().to_string())),
            ("to", Box::new(to.first_day().to_string())),
            ("axis", Box::new(ask.axis.to_string())),
            ("category", Box::new(mart_category(ask.category).map(str::to_string))),
            ("area", Box::new(ask.area.as_ref().map(|(_, n)| n.clone()))),
            ("lo", Box::new(lo)),
            ("hi", Box::new(hi)),
        ]
    }

    fn query<T>(
        &self,
        sql: &str,
        params: &[(&'static str, Box<dyn duckdb::ToSql>)],
        map: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
    ) -> Vec<T> {
        let mut stmt = self.c.prepare(sql).unwrap();
        // Bind only the parameters this query names.
        let p: Vec<(&str, &dyn duckdb::ToSql)> =
            params.iter().filter(|(k, _)| sql.contains(&format!("${k}"))).map(|(k, v)| (*k, v.as_ref())).collect();
        stmt.query_map(p.as_slice(), map).unwrap().collect::<duckdb::Result<_>>().unwrap()
    }

    /// (φ per mart category, the lake's first month, whether the range holds a partial month).
    fn dispersion(&self, ask: &Ask, level: &str, from: Month, to: Month) -> (Vec<(String, f64)>, Option<Month>, bool) {
        let mut p = self.params(ask, from, to);
        p.push(("level", Box::new(level.to_string())));
        let rows = self.query(DISPERSION, &p, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, String>(2)?, r.get::<_, bool>(3)?))
        });
        let first = rows.last().and_then(|r| Month::parse(&r.2).ok());
        let partial = rows.last().is_some_and(|r| r.3);
        (rows.into_iter().map(|r| (r.0, r.1)).collect(), first, partial)
    }

    fn trend(&self, ask: &Ask, from: Month, to: Month, first: Month) -> Vec<TrendRow> {
        let sql = with_area(TREND, ask.area.as_ref().map(|(l, _)| *l));
        let mut p = self.params(ask, from, to);
        p.push(("data_from", Box::new(first.first_day().to_string())));
        let mut rows = self.query(&sql, &p, |r| {
            let (count, prior): (i64, Option<i64>) = (r.get(2)?, r.get(3)?);
            Ok(TrendRow {
                month: r.get(0)?,
                category: label_of(&r.get::<_, String>(1)?),
                count,
                prior_year_count: prior,
                yoy_pct: yoy_pct(count, prior),
                is_partial: r.get(4)?,
                is_provisional: r.get(5)?,
                ratio: None,
                ratio_low: None,
                ratio_high: None,
                significant: None,
            })
        });
        let level = ask.area.as_ref().map_or("city", |(l, _)| *l);
        let (phi, first_lake, _) = self.dispersion(ask, level, from, to);
        for row in &mut rows {
            let m = Month::parse(&row.month).unwrap();
            let phi = mart_category(&row.category).and_then(|c| phi.iter().find(|p| p.0 == c)).map(|p| p.1);
            if let (Some(prior), Some(phi), false) = (row.prior_year_count, phi, row.is_partial) {
                if first_lake.is_some_and(|f| m.year_earlier() >= f) {
                    let s = significance::compare(row.count, prior, phi);
                    (row.ratio, row.ratio_low, row.ratio_high, row.significant) =
                        (s.ratio, s.ratio_low, s.ratio_high, s.significant);
                }
            }
        }
        rows
    }

    fn areas(&self, ask: &Ask, from: Month, to: Month, first: Month) -> Vec<AreaRow> {
        let mut p = self.params(ask, from, to);
        p.push(("level", Box::new(ask.level.to_string())));
        p.push(("prior_known", Box::new(from.year_earlier() >= first)));
        let sql = match &ask.area {
            None => AREAS.to_string(),
            Some((l, _)) => with_area(AREAS_WITHIN, Some(l)).replace("{level_column}", ask.level),
        };
        let (phi, first_lake, partial) = self.dispersion(ask, ask.level, from, to);
        let want = mart_category(ask.category).unwrap_or("ALL");
        let phi = phi.iter().find(|p| p.0 == want).map(|p| p.1);
        let comparable = !partial && first_lake.is_some_and(|f| from.year_earlier() >= f);
        self.query(&sql, &p, |r| {
            let (area, count, prior): (String, i64, Option<i64>) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let change = match (prior, phi, comparable) {
                (Some(b), Some(phi), true) => significance::compare(count, b, phi),
                _ => significance::Comparison::NONE,
            };
            Ok(AreaRow {
                level: ask.level.to_string(),
                polygon: if ask.level == "neighborhood" { polygon_for(&area) } else { None },
                area,
                category: ask.category.to_string(),
                count,
                prior_year_count: prior,
                yoy_pct: yoy_pct(count, prior),
                ratio: change.ratio,
                ratio_low: change.ratio_low,
                ratio_high: change.ratio_high,
                significant: change.significant,
            })
        })
    }

    fn offenses(&self, ask: &Ask, from: Month, to: Month) -> Vec<OffenseRow> {
        let sql = with_area(OFFENSES, ask.area.as_ref().map(|(l, _)| *l));
        self.query(&sql, &self.params(ask, from, to), |r| {
            Ok(OffenseRow {
                offense_sub_category: r.get(0)?,
                offense: r.get(1)?,
                category: label_of(&r.get::<_, String>(2)?),
                count: r.get(3)?,
            })
        })
    }

    fn heatmap(&self, ask: &Ask, from: Month, to: Month) -> Vec<HeatmapRow> {
        let sql = with_area(HEATMAP, ask.area.as_ref().map(|(l, _)| *l));
        self.query(&sql, &self.params(ask, from, to), |r| {
            let weekday: i32 = r.get(0)?;
            Ok(HeatmapRow {
                weekday,
                weekday_name: WEEKDAYS[weekday as usize],
                hour: r.get(1)?,
                category: ask.category.to_string(),
                count: r.get(2)?,
            })
        })
    }
}

/// Whether a JSON body has `"key":` followed by one of `digits`.
fn has_number(body: &[u8], key: &str, digits: &[u8]) -> bool {
    let key = format!("\"{key}\":");
    body.windows(key.len() + 1).any(|w| w.starts_with(key.as_bytes()) && digits.contains(&w[key.len()]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_chart_answer_from_memory_equals_the_sql_reference_byte_for_byte() {
    let dir = TempDir::new("serving");
    let rows = generate::rows(&GenSpec {
        seed: 16,
        first: soda_testkit::Month::parse("2019-01").unwrap(),
        last: soda_testkit::Month::parse("2023-06").unwrap(),
        rows: 12_000,
        schema: Schema::Nibrs,
    });
    fixture_lake::write(&dir.join("lake"), &rows, &["2023-06"]);
    let mut settings = Settings::for_data_dir(dir.path(), "http://127.0.0.1:9");
    let summary = pipeline::build(&settings.pipeline(), Progress::Hidden);
    assert!(summary.unwrap().published);

    let c = open_read_only(&dir.join("warehouse.duckdb"));
    let bounds: Vec<(String, Month, Month)> = {
        let mut stmt = c.prepare(BOUNDS).unwrap();
        let rows = stmt.query_map([], |r| {
            let (first, last): (String, String) = (r.get(1)?, r.get(2)?);
            Ok((r.get(0)?, Month::parse(&first).unwrap(), Month::parse(&last).unwrap()))
        });
        rows.unwrap().collect::<duckdb::Result<_>>().unwrap()
    };
    assert_eq!(bounds.len(), 2, "both axes have data");
    let names = |level: &str| -> Vec<String> {
        let mut stmt = c.prepare(&format!("select distinct {level} from marts.dim_area order by 1")).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<duckdb::Result<_>>().unwrap()
    };
    let areas: Vec<(&'static str, Vec<String>)> = LEVELS.iter().map(|l| (*l, names(l))).collect();
    assert!(areas.iter().all(|(_, a)| a.len() > 1), "every level has several areas: {areas:?}");
    let partial: bool = c.query_row("select bool_or(is_partial) from marts.dim_month", [], |r| r.get(0)).unwrap();
    assert!(partial, "a partial month, so the flags and the not-comparable path are exercised");
    let reference = Reference { c, bounds: bounds.clone() };

    // Cache off: every request is answered afresh from the index.
    settings.web.addr = "127.0.0.1:0".parse().unwrap();
    settings.web.cache_max_entries = 0;
    let app = Application::build(&settings.web, &settings.data_dir, None).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let mut dice = Dice(0x5eed_0016_0004);
    let (mut nonempty, mut within, mut compared) = (0, 0, 0);
    for i in 0..360 {
        let (axis, first, last) = bounds[dice.below(2)].clone();
        let axis: &'static str = if axis == "occurred" { "occurred" } else { "reported" };
        let span = first.months_until(last);
        // Ranges starting before the data, inside it and after it: one month, short, long, past either end;
        // now and then an end left to its default.
        let from = shift(first, dice.below(span as usize + 40) as i64 - 24);
        let to = shift(from, [0, dice.below(4), dice.below(30), dice.below(120)][dice.below(4)] as i64);
        let (from, to) = match dice.below(8) {
            0 => (None, None),
            1 => (Some(from), None),
            2 => (None, Some(to)),
            _ => (Some(from), Some(to)),
        };
        let area = match dice.below(3) {
            0 => None,
            _ => {
                let (level, names) = &areas[dice.below(4)];
                let name = if dice.below(20) == 0 { "NOWHERE".to_string() } else { dice.pick(names) };
                Some((*level, name))
            }
        };
        let ask = Ask {
            endpoint: ["trend", "areas", "areas", "offenses", "heatmap"][i % 5],
            axis,
            from,
            to,
            category: dice.pick(&CATEGORIES),
            area,
            level: dice.pick(&LEVELS),
            csv: dice.below(3) == 0,
        };
        let want = reference.body(&ask);
        let resp = client.get(format!("{base}/api/{}", ask.endpoint)).query(&ask.query()).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{ask:?}");
        let got = resp.bytes().await.unwrap();
        assert!(
            got[..] == want[..],
            "{ask:?}\nserved:    {}\nreference: {}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
        nonempty += usize::from(has_number(&want, "count", b"123456789"));
        within += usize::from(ask.endpoint == "areas" && ask.area.is_some() && want.len() > 2);
        compared += usize::from(has_number(&want, "ratio", b"0123456789"));
    }
    let _ = stop.send(());
    // The random draws reached real data, rankings inside an area, and the significance figures.
    assert!(nonempty > 150, "answers with rows: {nonempty}");
    assert!(within > 20, "rankings inside an area: {within}");
    assert!(compared > 10, "answers with a rate ratio: {compared}");
}
