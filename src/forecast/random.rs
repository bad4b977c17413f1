//! Draws from the distributions the forecast needs, on top of the seeded
//! [`SimRng`] (so a seed means the same forecast everywhere).

use crate::sim::traffic::SimRng;

/// Uniform in (0, 1), never exactly 0 or 1.
pub fn unit(rng: &mut SimRng) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Standard normal (Box–Muller).
pub fn normal(rng: &mut SimRng) -> f64 {
    let (u1, u2) = (unit(rng), unit(rng));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Lognormal with log-mean `mu` and log-sd `sigma`.
pub fn lognormal(rng: &mut SimRng, mu: f64, sigma: f64) -> f64 {
    (mu + sigma * normal(rng)).exp()
}

/// True with probability `p`.
pub fn bernoulli(rng: &mut SimRng, p: f64) -> bool {
    unit(rng) < p
}

/// Poisson count with mean `lambda` (Knuth below 30, a rounded normal above).
pub fn poisson(rng: &mut SimRng, lambda: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0u32;
        let mut p = 1.0;
        loop {
            p *= unit(rng);
            if p <= limit || k >= 1_000 {
                return k;
            }
            k += 1;
        }
    }
    (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32
}

/// The `q`-quantile (0–1) of sorted samples, linearly interpolated.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] * (1.0 - frac) + sorted[hi] * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_median_and_poisson_mean_are_right() {
        let mut rng = SimRng::new(7);
        let mut xs: Vec<f64> = (0..20_000)
            .map(|_| lognormal(&mut rng, 2.0_f64.ln(), 0.5))
            .collect();
        xs.sort_by(f64::total_cmp);
        let median = quantile(&xs, 0.5);
        assert!((median - 2.0).abs() < 0.05, "median {median}");
        let n = 20_000;
        let mean = (0..n).map(|_| poisson(&mut rng, 3.5) as f64).sum::<f64>() / n as f64;
        assert!((mean - 3.5).abs() < 0.08, "mean {mean}");
        let big = (0..n).map(|_| poisson(&mut rng, 80.0) as f64).sum::<f64>() / n as f64;
        assert!((big - 80.0).abs() < 0.5, "mean {big}");
    }

    #[test]
    fn quantiles_interpolate() {
        let xs = [0.0, 10.0, 20.0, 30.0, 40.0];
        assert_eq!(quantile(&xs, 0.5), 20.0);
        assert_eq!(quantile(&xs, 0.1), 4.0);
        assert_eq!(quantile(&xs, 1.0), 40.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
