//! Calibration by simulation of "is the change real?" (docs/reading-the-numbers.md): counts simulated directly
//! by the test kit (no pipeline needed, so it runs in well under a second), φ estimated by this test's own code
//! the way `mart_dispersion` documents it, intervals by the product's `significance::compare`. The whole
//! pipeline runs once in `web::significance`.

use crimewatch::web::significance::compare;
use soda_testkit::generate::counts::{final_counts, CountSpec, Planted};
use soda_testkit::Month;

/// 40 areas from 5 to 300 offenses a month, 48 months, constant rates, overdispersion φ.
fn spec(seed: u64, dispersion: f64, planted: Option<Planted>) -> CountSpec {
    CountSpec {
        seed,
        first: Month::parse("2021-01").unwrap(),
        months: 48,
        areas: (0..40).map(|i| (format!("area {i}"), 5.0 + 7.5 * i as f64)).collect(),
        dispersion,
        planted,
        delay: vec![1.0],
    }
}

/// φ: the mean of (a − b)²/(a + b) over every month and the same month a year earlier (a + b > 0), floored at 1.
fn dispersion(counts: &[Vec<u64>]) -> f64 {
    let (mut sum, mut pairs) = (0.0, 0);
    for series in counts {
        for m in 12..series.len() {
            let (a, b) = (series[m] as f64, series[m - 12] as f64);
            if a + b > 0.0 {
                sum += (a - b) * (a - b) / (a + b);
                pairs += 1;
            }
        }
    }
    (sum / pairs as f64).max(1.0)
}

/// (flagged, comparisons) of every month's year-over-year comparison of every area, under dispersion `phi`.
fn monthly_flags(counts: &[Vec<u64>], phi: f64) -> (usize, usize) {
    let mut flagged = 0;
    let mut total = 0;
    for series in counts {
        for m in 12..series.len() {
            total += 1;
            if compare(series[m] as i64, series[m - 12] as i64, phi).significant == Some(true) {
                flagged += 1;
            }
        }
    }
    (flagged, total)
}

#[test]
fn with_no_real_change_about_five_percent_of_year_over_year_comparisons_are_flagged() {
    let mut flagged = 0;
    let mut total = 0;
    let mut naive = 0;
    for seed in 1..=3 {
        let counts = final_counts(&spec(seed, 2.5, None));
        let phi = dispersion(&counts);
        assert!((phi - 2.5).abs() < 0.4, "estimated φ {phi}, simulated 2.5");
        let (f, t) = monthly_flags(&counts, phi);
        flagged += f;
        total += t;
        naive += monthly_flags(&counts, 1.0).0;
    }
    let rate = flagged as f64 / total as f64;
    let naive_rate = naive as f64 / total as f64;
    eprintln!(
        "CALIBRATION no change: {flagged} of {total} flagged ({:.1}%); Poisson-only: {:.1}%",
        rate * 100.0,
        naive_rate * 100.0
    );
    assert!(total >= 500, "{total} comparisons");
    // Tolerance: 2%–8% (the 95% interval's 5%, the Haldane correction and φ's floor erring slightly wide).
    assert!((0.02..=0.08).contains(&rate), "flag rate {rate} over {total} comparisons");
    // Without the dispersion the same data would cry wolf far more often: the estimate is what calibrates.
    assert!(naive_rate > 0.15, "Poisson-only flag rate {naive_rate}");
}

#[test]
fn a_planted_forty_percent_rise_in_one_area_over_a_year_is_flagged() {
    let planted = Planted { area: "area 3".into(), from: Month::parse("2024-01").unwrap(), factor: 1.4 };
    let s = spec(7, 2.5, Some(planted));
    let counts = final_counts(&s);
    let phi = dispersion(&counts);
    // The year with the change against the year before it, as the page's area ranking compares a range.
    let year = |series: &Vec<u64>, from: usize| series[from..from + 12].iter().sum::<u64>() as i64;
    let c = compare(year(&counts[3], 36), year(&counts[3], 24), phi);
    assert_eq!(c.significant, Some(true), "planted area (28 a month, +40%): {c:?}");
    assert!(c.ratio_low.unwrap() > 1.0 && c.ratio.unwrap() > 1.2, "{c:?}");
    let others = (0..40)
        .filter(|a| *a != 3)
        .filter(|a| compare(year(&counts[*a], 36), year(&counts[*a], 24), phi).significant == Some(true));
    assert!(others.count() <= 6, "areas without a change flagged");
}

/// Whole months from an occurrence month to a report month (a report before its offense counts as 0).
pub(crate) fn delay_months(occurred: (i32, u32), reported: (i32, u32)) -> u32 {
    let d = (reported.0 - occurred.0) * 12 + reported.1 as i32 - occurred.1 as i32;
    d.max(0) as u32
}

/// The cumulative share reported within 0 … `window` months, from the delays of the reference months' offenses
/// (delays beyond the window left out): docs/reading-the-numbers.md. `None` without reference offenses.
pub(crate) fn delay_shares(delays: &[u32], window: u32) -> Option<(Vec<f64>, usize)> {
    let kept: Vec<u32> = delays.iter().copied().filter(|d| *d <= window).collect();
    if kept.is_empty() {
        return None;
    }
    let shares = (0..=window).map(|k| kept.iter().filter(|d| **d <= k).count() as f64 / kept.len() as f64).collect();
    Some((shares, kept.len()))
}

/// (nowcast, low, high) of a month with `observed` offenses reported so far, share `p` expected by now, delay
/// shares measured on `reference` offenses, dispersion `phi`; `None` when nothing is expected yet (p = 0).
pub(crate) fn nowcast(observed: f64, p: f64, reference: f64, phi: f64) -> Option<(f64, f64, f64)> {
    if p <= 0.0 {
        return None;
    }
    let n = observed;
    let estimate = n / p;
    let variance = phi * (n + 1.0) * (1.0 - p) / (p * p) + n * n * (p * (1.0 - p) / reference) / p.powi(4);
    let half = 1.959964 * variance.sqrt();
    Some((estimate, n + (estimate - n - half).max(0.0), estimate + half))
}

#[test]
fn nowcast_intervals_cover_the_final_count_of_at_least_ninety_percent_of_incomplete_months() {
    // Three categories, 36 occurrence months, φ = 2, delays of up to 9 months; "now" is the last month. Each
    // incomplete month of each seed is held out: its final count is known to the simulation, not to the nowcast.
    let delay = vec![0.40, 0.22, 0.12, 0.08, 0.06, 0.04, 0.03, 0.02, 0.02, 0.01];
    let (window, reference_months) = (12usize, 12usize);
    let (mut covered, mut held_out) = (0, 0);
    for seed in 1..=25 {
        let spec = CountSpec {
            seed,
            first: Month::parse("2022-01").unwrap(),
            months: 36,
            areas: vec![("violent".into(), 60.0), ("property".into(), 400.0), ("other".into(), 150.0)],
            dispersion: 2.0,
            planted: None,
            delay: delay.clone(),
        };
        let now = spec.month(35);
        let all = soda_testkit::generate::counts::offenses(&spec);
        let index = |m: Month| spec.first.through(m).count() - 1;
        for (a, (name, _)) in spec.areas.iter().enumerate() {
            let mine: Vec<_> = all.iter().filter(|o| &o.area == name).collect();
            let known: Vec<_> = mine.iter().filter(|o| o.reported <= now).collect();
            // Observed so far per occurrence month, as the warehouse sees it.
            let mut observed = vec![0u64; 36];
            for o in &known {
                observed[index(o.occurred)] += 1;
            }
            let delays: Vec<u32> = known
                .iter()
                .filter(|o| (36 - window - reference_months..=35 - window).contains(&index(o.occurred)))
                .map(|o| delay_months((o.occurred.year(), o.occurred.month()), (o.reported.year(), o.reported.month())))
                .collect();
            let (shares, reference) = delay_shares(&delays, window as u32).unwrap();
            // φ as mart_dispersion estimates it: year-apart pairs of the months before the three newest.
            let phi = dispersion(&[observed[..33].to_vec()]);
            let finals = &final_counts(&spec)[a];
            for (k, share) in shares.iter().copied().enumerate().take(window) {
                let m = 35 - k;
                if share >= 0.99 {
                    continue;
                }
                let (_, low, high) = nowcast(observed[m] as f64, share, reference as f64, phi).unwrap();
                held_out += 1;
                if (low..=high).contains(&(finals[m] as f64)) {
                    covered += 1;
                }
            }
        }
    }
    let coverage = covered as f64 / held_out as f64;
    eprintln!("CALIBRATION nowcast: {covered} of {held_out} incomplete months covered ({:.1}%)", coverage * 100.0);
    assert!(held_out >= 500, "{held_out} held-out months");
    assert!(coverage >= 0.90, "nowcast coverage {coverage}");
}
