//! The count generator has the statistics it promises: deterministic per seed, mean and variance/mean (φ) as
//! asked, the planted change where planted, and report delays in the asked shares.

use soda_testkit::generate::counts::{final_counts, offenses, CountSpec, Planted};
use soda_testkit::Month;

fn spec(dispersion: f64, planted: Option<Planted>) -> CountSpec {
    CountSpec {
        seed: 11,
        first: Month::parse("2020-01").unwrap(),
        months: 48,
        areas: (0..50).map(|i| (format!("A{i}"), 40.0)).collect(),
        dispersion,
        planted,
        delay: vec![0.6, 0.25, 0.1, 0.05],
    }
}

fn mean_and_phi(counts: &[Vec<u64>]) -> (f64, f64) {
    let all: Vec<f64> = counts.iter().flatten().map(|n| *n as f64).collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (all.len() - 1) as f64;
    (mean, var / mean)
}

#[test]
fn counts_are_deterministic_and_have_the_asked_mean_and_dispersion() {
    assert_eq!(final_counts(&spec(3.0, None)), final_counts(&spec(3.0, None)));
    for phi in [1.0, 3.0] {
        let (mean, got) = mean_and_phi(&final_counts(&spec(phi, None)));
        assert!((mean - 40.0).abs() < 1.0, "mean {mean}");
        assert!((got - phi).abs() < 0.25 * phi, "asked φ {phi}, got {got}");
    }
}

#[test]
fn a_planted_change_raises_only_its_area_from_its_month() {
    let planted = Planted { area: "A3".into(), from: Month::parse("2023-01").unwrap(), factor: 1.4 };
    let s = spec(1.0, Some(planted));
    let counts = final_counts(&s);
    let sum = |a: usize, r: std::ops::Range<usize>| counts[a][r].iter().sum::<u64>() as f64;
    let ratio = sum(3, 36..48) / sum(3, 24..36);
    assert!((ratio - 1.4).abs() < 0.15, "planted area ratio {ratio}");
    let other = sum(4, 36..48) / sum(4, 24..36);
    assert!((other - 1.0).abs() < 0.15, "other area ratio {other}");
    assert_eq!(s.mean(3, 35), 40.0);
    assert_eq!(s.mean(3, 36), 56.0);
}

#[test]
fn offenses_expand_the_counts_with_delays_in_the_asked_shares() {
    let s = spec(2.0, None);
    let counts = final_counts(&s);
    let all = offenses(&s);
    assert_eq!(all.len() as u64, counts.iter().flatten().sum::<u64>());
    let a0_m0 = all.iter().filter(|o| o.area == "A0" && o.occurred == s.first).count() as u64;
    assert_eq!(a0_m0, counts[0][0]);
    for (d, share) in s.delay.iter().enumerate() {
        let n = all.iter().filter(|o| o.occurred.through(o.reported).count() == d + 1).count();
        let got = n as f64 / all.len() as f64;
        assert!((got - share).abs() < 0.01, "delay {d}: share {got}, asked {share}");
    }
}
