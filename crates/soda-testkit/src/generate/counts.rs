//! Monthly counts with known statistics, for tests of "is the change real?" and of nowcasts: a constant rate per
//! area with a chosen overdispersion (negative binomial, variance = φ × mean), an optional planted change (one
//! area's rate × a factor from a month on), and a known reporting-delay distribution (whole months from the
//! occurrence month to the report month). [`final_counts`] simulates counts directly (fast calibration tests);
//! [`offenses`] expands them into single offenses with an occurrence and a report month, for the whole pipeline.

use crate::Month;

use super::Rng;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct CountSpec {
    pub seed: u64,
    /// First occurrence month.
    pub first: Month,
    /// Number of occurrence months.
    pub months: usize,
    /// (area name, mean offenses per month).
    pub areas: Vec<(String, f64)>,
    /// φ ≥ 1: a month's count has variance φ × mean (1 = Poisson).
    pub dispersion: f64,
    /// A real change to plant, if any.
    pub planted: Option<Planted>,
    /// Share of offenses reported d whole months after their occurrence month, for d = 0, 1, …; sums to 1.
    pub delay: Vec<f64>,
}

/// From `from` on, `area`'s rate is multiplied by `factor` (1.4 = +40%).
#[derive(Debug, Clone)]
pub struct Planted {
    pub area: String,
    pub from: Month,
    pub factor: f64,
}

/// One simulated offense: where, when it occurred, and when it was (or will be) reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOffense {
    pub area: String,
    pub occurred: Month,
    pub reported: Month,
}

impl CountSpec {
    /// The expected count of area `a` in month index `i` (the planted change included).
    pub fn mean(&self, a: usize, i: usize) -> f64 {
        let (name, base) = &self.areas[a];
        let month = self.month(i);
        match &self.planted {
            Some(p) if &p.area == name && month >= p.from => base * p.factor,
            _ => *base,
        }
    }

    /// The occurrence month of index `i`.
    pub fn month(&self, i: usize) -> Month {
        self.first.through(Month::new(9999, 12).expect("month")).nth(i).expect("month in range")
    }
}

/// The final count of every area (outer) in every month (inner).
pub fn final_counts(spec: &CountSpec) -> Vec<Vec<u64>> {
    let mut rng = Rng::new(spec.seed);
    (0..spec.areas.len())
        .map(|a| (0..spec.months).map(|i| negative_binomial(&mut rng, spec.mean(a, i), spec.dispersion)).collect())
        .collect()
}

/// Every offense of [`final_counts`] (same seed, same counts), each with a report month drawn from the delay
/// distribution. Offenses reported after some "today" are for the caller to drop (right-truncation).
pub fn offenses(spec: &CountSpec) -> Vec<SimOffense> {
    let counts = final_counts(spec);
    let mut rng = Rng::new(spec.seed ^ 0xDE1A_7000);
    let cumulative: Vec<f64> = spec
        .delay
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect();
    let mut out = Vec::new();
    for (a, per_month) in counts.iter().enumerate() {
        for (i, n) in per_month.iter().enumerate() {
            let occurred = spec.month(i);
            for _ in 0..*n {
                let delay = rng.pick(&cumulative);
                let reported = occurred.through(Month::new(9999, 12).expect("month")).nth(delay).expect("month");
                out.push(SimOffense { area: spec.areas[a].0.clone(), occurred, reported });
            }
        }
    }
    out
}

/// A negative binomial draw with mean `mean` and variance `dispersion × mean`: Poisson of a gamma-distributed
/// rate with shape mean / (φ − 1) and scale φ − 1 (plain Poisson when φ ≤ 1).
pub(super) fn negative_binomial(rng: &mut Rng, mean: f64, dispersion: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    let rate = if dispersion > 1.0 {
        let scale = dispersion - 1.0;
        gamma(rng, mean / scale) * scale
    } else {
        mean
    };
    poisson(rng, rate)
}

/// Poisson by Knuth's product method, in chunks of at most 30 (a sum of Poissons is Poisson), so exp(−λ)
/// never underflows.
fn poisson(rng: &mut Rng, mut lambda: f64) -> u64 {
    let mut n = 0;
    while lambda > 0.0 {
        let chunk = lambda.min(30.0);
        lambda -= chunk;
        let limit = (-chunk).exp();
        let mut p = rng.f64();
        while p > limit {
            n += 1;
            p *= rng.f64();
        }
    }
    n
}

/// Gamma(shape, 1) by Marsaglia and Tsang; shapes below 1 through Gamma(shape + 1) × U^(1/shape).
fn gamma(rng: &mut Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = rng.f64().max(f64::MIN_POSITIVE);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = rng.f64().max(f64::MIN_POSITIVE);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
