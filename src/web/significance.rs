//! "Is the change real?": the rate ratio of a count against the same period a year earlier, its 95% interval
//! and whether the interval excludes 1. Counts are overdispersed Poisson: the variance of a count `n` is `φ·n`,
//! with φ estimated from the data by the `mart_dispersion` model (the figure is traceable to it); this module
//! only applies the formula to the two counts a request compares, since a request's range is chosen at will.
//!
//! log(a/b) ± 1.96·√(φ·(1/a + 1/b)) — the delta-method interval of a log rate ratio, scaled by φ
//! (docs/reading-the-numbers.md). When one count is 0 both get 0.5 added (Haldane's correction), so the interval
//! stays finite and a handful of offenses against none is wide, not "infinitely up".

use serde::Serialize;

/// The 97.5% quantile of the standard normal distribution (a two-sided 95% interval).
const Z_95: f64 = 1.959_963_984_540_054;

/// A comparison's figures as the API serves them; all `None` when the two periods are not comparable.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Comparison {
    /// a / b, three decimals; null when b is 0 (no finite ratio) or not comparable.
    pub ratio: Option<f64>,
    pub ratio_low: Option<f64>,
    pub ratio_high: Option<f64>,
    /// True when the 95% interval lies wholly above or below 1; null when not comparable.
    pub significant: Option<bool>,
}

impl Comparison {
    /// Not comparable: the earlier period is unknown, lies before the lake, or the dispersion is unknown.
    pub const NONE: Comparison = Comparison { ratio: None, ratio_low: None, ratio_high: None, significant: None };
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Compares count `a` with the earlier count `b` under dispersion `phi` (values below 1 count as 1).
pub fn compare(a: i64, b: i64, phi: f64) -> Comparison {
    if a < 0 || b < 0 || !phi.is_finite() {
        return Comparison::NONE;
    }
    if a == 0 && b == 0 {
        // Nothing either year: no change to speak of, and no ratio.
        return Comparison { ratio: None, ratio_low: None, ratio_high: None, significant: Some(false) };
    }
    let (fa, fb) = if a == 0 || b == 0 { (a as f64 + 0.5, b as f64 + 0.5) } else { (a as f64, b as f64) };
    let log_ratio = (fa / fb).ln();
    let se = (phi.max(1.0) * (1.0 / fa + 1.0 / fb)).sqrt();
    let low = (log_ratio - Z_95 * se).exp();
    let high = (log_ratio + Z_95 * se).exp();
    Comparison {
        ratio: (b > 0).then(|| round3(a as f64 / b as f64)),
        ratio_low: Some(round3(low)),
        ratio_high: Some(round3(high)),
        significant: Some(low > 1.0 || high < 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_change_in_large_counts_is_significant_and_a_small_one_is_not() {
        let c = compare(1400, 1000, 1.0);
        assert_eq!(c.ratio, Some(1.4));
        assert!(c.ratio_low.unwrap() > 1.0 && c.significant == Some(true), "{c:?}");
        let c = compare(1030, 1000, 1.0);
        assert!(c.ratio_low.unwrap() < 1.0 && c.ratio_high.unwrap() > 1.0 && c.significant == Some(false), "{c:?}");
    }

    #[test]
    fn the_interval_follows_the_formula_and_widens_with_dispersion() {
        let (a, b, phi) = (120.0f64, 80.0f64, 2.5);
        let se = (phi * (1.0 / a + 1.0 / b)).sqrt();
        let c = compare(120, 80, phi);
        assert_eq!(c.ratio_low, Some(round3((1.5f64.ln() - Z_95 * se).exp())));
        assert_eq!(c.ratio_high, Some(round3((1.5f64.ln() + Z_95 * se).exp())));
        // Significant under Poisson, not under φ = 2.5.
        assert_eq!(compare(120, 80, 1.0).significant, Some(true));
        assert_eq!(c.significant, Some(false));
        // φ below 1 is treated as 1.
        assert_eq!(compare(120, 80, 0.2), compare(120, 80, 1.0));
    }

    #[test]
    fn zero_counts_give_finite_intervals_and_tiny_counts_are_not_flagged() {
        assert_eq!(compare(0, 0, 1.0), Comparison { significant: Some(false), ..Comparison::NONE });
        let c = compare(3, 0, 1.0);
        assert_eq!(c.ratio, None);
        assert!(c.ratio_high.unwrap().is_finite() && c.significant == Some(false), "{c:?}");
        let c = compare(0, 3, 1.0);
        assert_eq!(c.ratio, Some(0.0));
        assert!(c.ratio_low.unwrap() > 0.0 && c.significant == Some(false), "{c:?}");
        assert_eq!(compare(2, 1, 1.0).significant, Some(false));
        // Many against none is a real change.
        assert_eq!(compare(40, 0, 1.0).significant, Some(true));
    }

    #[test]
    fn unusable_inputs_are_not_comparable() {
        assert_eq!(compare(-1, 5, 1.0), Comparison::NONE);
        assert_eq!(compare(5, 5, f64::NAN), Comparison::NONE);
    }
}
