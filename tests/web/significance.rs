//! "Is the change real?" end to end, once: offenses from the test kit's count generator (constant rates,
//! overdispersion φ = 2, a planted +40% in one neighborhood over the last complete year, reporting delays of up
//! to two months) go through the real source → lake → warehouse → API path. The API's ratio, interval and flag
//! equal the test's own recomputation from the rows (`expect.rs`: φ and the interval in plain Rust), and the
//! planted neighborhood is flagged.

use chrono::NaiveDate;
use crimewatch::domain::Month;
use serde_json::Value;
use soda_testkit::generate::counts::{offenses, CountSpec, Planted};

use super::expect::{self, Query};
use super::fixture::{Offense, Rng};
use super::real::serve_through_pipeline;

/// (neighborhood, precinct, sector): six areas of 30 offenses a month each.
const AREAS: [(&str, &str, &str); 6] = [
    ("FREMONT", "North", "B"),
    ("BALLARD SOUTH", "North", "B"),
    ("CAPITOL HILL", "East", "E"),
    ("FIRST HILL", "East", "E"),
    ("BELLTOWN", "West", "M"),
    ("ALKI", "Southwest", "W"),
];

fn kit_month(m: Month) -> soda_testkit::Month {
    soda_testkit::Month::parse(&m.to_string()).unwrap()
}

fn at(m: soda_testkit::Month, day: u64, rng: &mut Rng) -> chrono::NaiveDateTime {
    let date = NaiveDate::from_ymd_opt(m.year(), m.month(), day as u32).unwrap();
    date.and_hms_opt(rng.below(24) as u32, rng.below(60) as u32, 0).unwrap()
}

/// The kit's offenses as fixture rows; those reported after `now` are not known yet and left out.
fn rows(spec: &CountSpec, now: Month) -> Vec<Offense> {
    let mut rng = Rng::new(5);
    offenses(spec)
        .into_iter()
        .filter(|o| o.reported <= kit_month(now))
        .enumerate()
        .map(|(i, o)| {
            let (hood, precinct, sector) = AREAS.iter().find(|a| a.0 == o.area).copied().unwrap();
            let occurred = at(o.occurred, 1 + rng.below(14), &mut rng);
            let reported = at(o.reported, 15 + rng.below(6), &mut rng);
            Offense {
                offense_id: format!("sim-{i}"),
                offense_date: Some(occurred),
                report_date_time: reported,
                category: "PROPERTY CRIME",
                sub_category: "LARCENY-THEFT",
                offense: "All Other Larceny",
                precinct: precinct.to_string(),
                sector: sector.to_string(),
                beat: format!("{sector}1"),
                neighborhood: hood.to_string(),
            }
        })
        .collect()
}

fn months_before(m: Month, n: usize) -> Month {
    (0..n).fold(m, |m, _| m.prev())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_flags_the_planted_change_and_its_intervals_equal_a_recomputation_from_the_rows() {
    let now = Month::current_in_seattle(chrono::Utc::now());
    let first = months_before(now, 35);
    // The last complete year on the occurred axis: before the provisional and partial months.
    let (from, to) = (months_before(now, 14), months_before(now, 3));
    let spec = CountSpec {
        seed: 21,
        first: kit_month(first),
        months: 36,
        areas: AREAS.iter().map(|a| (a.0.to_string(), 30.0)).collect(),
        dispersion: 2.0,
        planted: Some(Planted { area: "CAPITOL HILL".into(), from: kit_month(from), factor: 1.4 }),
        delay: vec![0.7, 0.2, 0.1],
    };
    let rows = rows(&spec, now);
    let (_dir, base) = serve_through_pipeline(&rows, first, now).await;
    let get = |p: String| {
        let base = base.clone();
        async move {
            let text = reqwest::get(format!("{base}{p}")).await.unwrap().text().await.unwrap();
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };

    let mut compared = 0;
    for axis in ["occurred", "reported"] {
        for category in ["all", "property"] {
            for area in [None, Some(("neighborhood", "CAPITOL HILL".to_string()))] {
                for (f, t) in [(None, None), (Some(from), Some(to))] {
                    let q = Query { axis, category, area: area.clone(), from: f, to: t };
                    let qs = q.to_query_string();
                    let got = get(format!("/api/trend?{qs}")).await;
                    assert_eq!(got, expect::trend(&rows, &q), "trend?{qs}");
                    let got = get(format!("/api/areas?level=neighborhood&{qs}")).await;
                    let polygon = |a: &str| crimewatch::web::polygon_for(a).map(String::from);
                    assert_eq!(got, expect::areas(&rows, &q, "neighborhood", &polygon), "areas?{qs}");
                    compared += 2;
                }
            }
        }
    }
    assert_eq!(compared, 32);

    // Completeness and nowcast: the marts' figures equal the test's own recomputation from the rows.
    let got = get("/api/completeness".into()).await;
    let want = expect::completeness(&rows);
    // 12 recent months × (all, property): the generator's offenses are all property crimes.
    assert_eq!(want.as_array().unwrap().len(), 24, "{want}");
    assert!(want.as_array().unwrap().iter().any(|r| r["completeness"].as_f64().unwrap() < 0.9), "{want}");
    assert!(expect::close(&got, &want), "completeness\ngot  {got}\nwant {want}");

    // Provisional is derived from completeness: with delays of at most two months (70% / 20% / 10%), the month
    // before the current one is about 90% complete and provisional; the one before that is complete, not the
    // fixed rule's second provisional month.
    let health = get("/api/health".into()).await;
    assert_eq!(health["provisional_rule"]["method"], "completeness", "{health}");
    assert_eq!(expect::provisional_months(&rows), vec![months_before(now, 1).to_string()]);
    assert_eq!(health["provisional_months"], serde_json::json!(expect::provisional_months(&rows)), "{health}");

    // The expected range from the same months of previous years, on both axes: the mart's figures equal the
    // test's own recomputation from the rows (two years of final months give every month of the last year one).
    for axis in ["occurred", "reported"] {
        let got = get(format!("/api/expected-range?axis={axis}")).await;
        let want = expect::expected_range(&rows, axis);
        assert!(want.as_array().unwrap().len() >= 24, "{axis}: {want}");
        assert!(expect::close(&got, &want), "expected range {axis}\ngot  {got}\nwant {want}");
    }

    let ranking = get(format!("/api/areas?level=neighborhood&axis=occurred&category=all&from={from}&to={to}")).await;
    let ranking = ranking.as_array().unwrap();
    let flagged: Vec<&str> =
        ranking.iter().filter(|r| r["significant"] == true).map(|r| r["area"].as_str().unwrap()).collect();
    eprintln!("E2E flagged neighborhoods {from}..{to}: {flagged:?} of {}", ranking.len());
    assert!(flagged.contains(&"CAPITOL HILL"), "{ranking:?}");
    assert!(ranking.iter().all(|r| r["ratio_low"].is_number() && r["significant"].is_boolean()), "{ranking:?}");
    // A range holding the partial month is not compared; neither is one whose year-earlier range precedes the lake.
    let partial = get(format!("/api/areas?level=neighborhood&axis=occurred&from={from}")).await;
    assert!(partial.as_array().unwrap().iter().all(|r| r["significant"].is_null() && r["ratio"].is_null()));
    let early =
        get(format!("/api/areas?level=neighborhood&axis=occurred&from={first}&to={}", months_before(now, 20))).await;
    assert!(early.as_array().unwrap().iter().all(|r| r["significant"].is_null()));
}
