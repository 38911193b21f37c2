//! The risk map's levels (风险地图): how a place's requests and its overdue orders stand against
//! the rest of the city's places, so that a leader's eye goes to where problems gather or go
//! unresolved.
//!
//! The rule is written for people to check by hand ([`FORMULA`] is given beside every map): a
//! score of the requests a place received in the period plus three for each of its orders now
//! past its deadline, against the mean score of the places that have one. Integer arithmetic
//! throughout, so that the rule and a hand count agree exactly.

/// How many requests one overdue order weighs: a problem left unresolved is a risk that a new
/// request is not yet.
pub const OVERDUE_WEIGHT: i64 = 3;
/// A place is high-risk at this many times the mean score...
const HIGH_TIMES_MEAN: i64 = 2;
/// ...and at least this score, so that a quiet city's few requests do not colour a map red.
const HIGH_AT_LEAST: i64 = 5;
/// A place is medium-risk at the mean score or above, and at least this score.
const MEDIUM_AT_LEAST: i64 = 3;

/// The rule, as the map and the hot-spot list state it.
pub const FORMULA: &str = "风险分 = 统计期内受理诉求件数 + 3 × 当前超期未办结工单件数；\
    以风险分大于 0 的各地平均风险分为基准：不低于基准 2 倍且不少于 5 分为高风险，\
    不低于基准且不少于 3 分为中风险，其余为低风险。";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// The stable code clients branch on.
    pub fn code(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    /// As the map's legend says it.
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Low => "低风险",
            RiskLevel::Medium => "中风险",
            RiskLevel::High => "高风险",
        }
    }
}

/// A place's score: the requests it received in the period, and its orders now overdue.
pub fn score(received: i64, overdue: i64) -> i64 {
    received + OVERDUE_WEIGHT * overdue
}

/// Each score's level, against the mean of the scores above zero. Places with nothing do not
/// pull the mean down: a city's many quiet rural grids would otherwise make every busy one high.
pub fn levels(scores: &[i64]) -> Vec<RiskLevel> {
    let (count, sum) = scores
        .iter()
        .filter(|score| **score > 0)
        .fold((0i64, 0i64), |(count, sum), score| (count + 1, sum + score));
    scores
        .iter()
        .map(|&score| {
            // score ≥ k × (sum / count), without division: score × count ≥ k × sum.
            let at_least_mean = |times: i64| score * count >= times * sum;
            if score >= HIGH_AT_LEAST && at_least_mean(HIGH_TIMES_MEAN) {
                RiskLevel::High
            } else if score >= MEDIUM_AT_LEAST && at_least_mean(1) {
                RiskLevel::Medium
            } else {
                RiskLevel::Low
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_overdue_order_weighs_three_requests() {
        assert_eq!(score(4, 0), 4);
        assert_eq!(score(4, 2), 10);
    }

    #[test]
    fn places_rank_against_the_mean_of_the_busy_ones() {
        // Busy places' scores 20, 10, 6 and 4: mean 10. Quiet ones do not count.
        let levels = levels(&[20, 10, 6, 4, 0, 0, 0]);
        use RiskLevel::*;
        assert_eq!(levels, [High, Medium, Low, Low, Low, Low, Low]);
    }

    #[test]
    fn a_quiet_city_has_no_high_risk_place() {
        // One place with two requests is twice the mean of one, but below the floors.
        assert_eq!(
            levels(&[2, 1, 1, 0]),
            [
                RiskLevel::Low,
                RiskLevel::Low,
                RiskLevel::Low,
                RiskLevel::Low
            ]
        );
        assert_eq!(levels(&[]), []);
        assert_eq!(levels(&[0, 0]), [RiskLevel::Low, RiskLevel::Low]);
    }

    #[test]
    fn the_floors_hold_at_their_edges() {
        // Mean 2.5: 5 is exactly twice it and at the high floor.
        assert_eq!(
            levels(&[5, 0, 1, 1, 3]),
            [
                RiskLevel::High,
                RiskLevel::Low,
                RiskLevel::Low,
                RiskLevel::Low,
                RiskLevel::Medium
            ]
        );
    }

    proptest! {
        #[test]
        fn a_higher_score_never_has_a_lower_level(scores in proptest::collection::vec(0i64..1000, 0..50)) {
            let levels = levels(&scores);
            for (i, a) in scores.iter().enumerate() {
                for (j, b) in scores.iter().enumerate() {
                    if a >= b {
                        prop_assert!(levels[i] >= levels[j]);
                    }
                }
            }
        }

        #[test]
        fn never_is_every_busy_place_high(scores in proptest::collection::vec(1i64..1000, 2..50)) {
            let levels = levels(&scores);
            let all_high = levels.iter().all(|level| *level == RiskLevel::High);
            // Twice the mean for every place needs every score at least twice the mean: impossible.
            prop_assert!(!all_high);
        }
    }
}
