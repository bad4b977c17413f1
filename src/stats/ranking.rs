//! 红旗窗口 and 服务明星: rankings by a score that cannot be raised by
//! choosing whom to ask for a rating (see [`super::figures::Rankings`]).

use super::figures::{Figures, Group, Ranked};

/// z for a two-sided 95% interval.
const Z: f64 = 1.96;

/// The 95% Wilson lower bound of `positive / n` (0 when n = 0).
pub fn wilson_lower(positive: u64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n_f = n as f64;
    let p = positive.min(n) as f64 / n_f;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n_f);
    let spread = Z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    ((centre - spread) / (1.0 + z2 / n_f)).max(0.0)
}

/// The score of one member: every finished visit is in the denominator.
pub fn score(f: &Figures) -> f64 {
    wilson_lower(f.ratings.positive, f.served.max(f.ratings.rated))
}

/// Ranks the groups with at least `min_rated` rated visits, best first.
pub fn rank(groups: &[Group], min_rated: u32) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = groups
        .iter()
        .filter(|g| g.figures.ratings.rated >= u64::from(min_rated))
        .map(|g| {
            let r = &g.figures.ratings;
            Ranked {
                rank: 0,
                id: g.id.clone(),
                name: g.name.clone(),
                served: g.figures.served,
                rated: r.rated,
                positive: r.positive,
                negative: r.negative,
                satisfaction_rate: r.satisfaction_rate,
                score: score(&g.figures),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.positive.cmp(&a.positive))
            .then(a.negative.cmp(&b.negative))
            .then(a.id.cmp(&b.id))
    });
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_lower_bound_matches_hand_values() {
        // 10 of 10: (1 + 0.19208 − 1.96·√(3.8416/400)) / 1.38416 = 1 / 1.38416 = 0.7225.
        assert!((wilson_lower(10, 10) - 0.7225).abs() < 1e-4);
        // 100 of 100: 1 / 1.038416 = 0.9630.
        assert!((wilson_lower(100, 100) - 0.9630).abs() < 1e-4);
        assert_eq!(wilson_lower(0, 0), 0.0);
        // More volume at the same share ranks higher.
        assert!(wilson_lower(90, 100) > wilson_lower(9, 10));
    }

    #[test]
    fn unrated_visits_count_against_the_score() {
        let g = |id: &str, served: u64, positive: u64| {
            let mut f = Figures {
                served,
                ..Figures::default()
            };
            for _ in 0..positive {
                f.ratings.count(Some(crate::queue::Rating::Satisfied));
            }
            Group {
                id: id.into(),
                name: id.into(),
                name_en: String::new(),
                extra: String::new(),
                department: String::new(),
                figures: f,
            }
        };
        // "picky" asked only 20 of its 100 citizens (all satisfied); "open" asked all 100, 90 satisfied.
        let ranked = rank(
            &[g("picky", 100, 20), g("open", 100, 90), g("tiny", 5, 5)],
            20,
        );
        let ids: Vec<&str> = ranked.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["open", "picky"], "tiny has 5 < 20 rated visits");
        assert_eq!(ranked[0].rank, 1);
    }
}
