//! Interval estimates for judged outcomes: the Wilson score interval of a proportion and
//! Newcombe's hybrid score interval of a difference of two proportions (both 95%).

/// The normal quantile of a two-sided 95% interval.
const Z: f64 = 1.959_963_984_540_054;

/// The Wilson score 95% interval of `wins` out of `n`: `(rate, low, high)`; `None` when `n` is 0.
pub fn wilson(wins: u64, n: u64) -> Option<(f64, f64, f64)> {
    if n == 0 {
        return None;
    }
    let n_f = n as f64;
    let p = wins.min(n) as f64 / n_f;
    let z2 = Z * Z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = Z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    Some((p, (center - half).max(0.0), (center + half).min(1.0)))
}

/// Newcombe's hybrid score 95% interval (his method 10) of the difference `p1 - p2` of two
/// independent proportions, from each side's Wilson interval: `(difference, low, high)`.
pub fn newcombe(w1: u64, n1: u64, w2: u64, n2: u64) -> Option<(f64, f64, f64)> {
    let (p1, l1, u1) = wilson(w1, n1)?;
    let (p2, l2, u2) = wilson(w2, n2)?;
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((d, low.max(-1.0), high.min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    /// Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I,
    /// method 3 (score, no continuity correction).
    #[test]
    fn wilson_matches_newcombes_published_intervals() {
        for (w, n, low, high) in
            [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)]
        {
            let (_, l, h) = wilson(w, n).unwrap();
            assert!(close(l, low) && close(h, high), "{w}/{n}: {l:.4} to {h:.4}, want {low} to {high}");
        }
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(5, 5).unwrap().2, 1.0);
    }

    /// Newcombe (1998), "Interval estimation for the difference between independent
    /// proportions", table II, method 10.
    #[test]
    fn newcombe_matches_the_published_hybrid_score_intervals() {
        for (w1, n1, w2, n2, low, high) in [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (6, 7, 2, 7, 0.0582, 0.8062),
            (5, 56, 0, 29, -0.0381, 0.1926),
        ] {
            let (_, l, h) = newcombe(w1, n1, w2, n2).unwrap();
            assert!(close(l, low) && close(h, high), "{w1}/{n1} - {w2}/{n2}: {l:.4} to {h:.4}, want {low} to {high}");
        }
        assert_eq!(newcombe(1, 2, 0, 0), None);
    }
}
