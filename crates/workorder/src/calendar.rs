//! The business calendar and deadlines.
//!
//! A day is a working day when it is Monday to Friday, unless the calendar says it is a public
//! holiday; a weekend day the State Council makes a working day (调休) is one. Deadlines in
//! working days end at midnight (China time) after the Nth working day following the day the
//! clock started; deadlines in hours are clock hours, as the fast channel's are.

use crate::china_time;
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use std::collections::BTreeMap;

/// What the calendar says of a day that is not an ordinary weekday or weekend day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A public holiday, or a weekday given off around one.
    Holiday,
    /// A weekend day made a working day (调休).
    Workday,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    exceptions: BTreeMap<NaiveDate, DayKind>,
}

/// How long an agency has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    Hours(u32),
    WorkingDays(u32),
}

impl Calendar {
    pub fn new(exceptions: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Calendar {
        Calendar {
            exceptions: exceptions.into_iter().collect(),
        }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        match self.exceptions.get(&day) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The deadline for a clock started at `start`.
    pub fn deadline_for(&self, start: DateTime<Utc>, limit: TimeLimit) -> DateTime<Utc> {
        match limit {
            TimeLimit::Hours(hours) => start + chrono::Duration::hours(i64::from(hours)),
            TimeLimit::WorkingDays(days) => {
                let mut day = start.with_timezone(&china_time()).date_naive();
                let mut counted = 0;
                while counted < days {
                    day = day
                        .checked_add_days(Days::new(1))
                        .expect("dates stay in range");
                    if self.is_working_day(day) {
                        counted += 1;
                    }
                }
                let midnight_after = day
                    .checked_add_days(Days::new(1))
                    .expect("dates stay in range")
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight exists");
                china_time()
                    .from_local_datetime(&midnight_after)
                    .single()
                    .expect("a fixed offset has no gaps")
                    .with_timezone(&Utc)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    /// Part of the 2026 calendar: the Spring Festival (Feb 15–23 off, Sat Feb 14 and Sat Feb 28
    /// worked) and National Day (Oct 1–7 off, Sun Sep 20 and Sat Oct 10 worked).
    fn calendar() -> Calendar {
        let mut days = vec![
            (date("2026-02-14"), DayKind::Workday),
            (date("2026-02-28"), DayKind::Workday),
            (date("2026-09-20"), DayKind::Workday),
            (date("2026-10-10"), DayKind::Workday),
        ];
        for d in 15..=23 {
            days.push((
                NaiveDate::from_ymd_opt(2026, 2, d).expect("date"),
                DayKind::Holiday,
            ));
        }
        for d in 1..=7 {
            days.push((
                NaiveDate::from_ymd_opt(2026, 10, d).expect("date"),
                DayKind::Holiday,
            ));
        }
        Calendar::new(days)
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    #[test]
    fn working_days_skip_a_weekend() {
        // Thursday 10:00 China time + 3 working days: Fri, Mon, Tue → ends Tue midnight.
        let deadline =
            calendar().deadline_for(at("2026-11-26T02:00:00Z"), TimeLimit::WorkingDays(3));
        assert_eq!(deadline, at("2026-12-01T16:00:00Z"));
    }

    #[test]
    fn working_days_skip_a_public_holiday_and_count_a_worked_saturday() {
        // Friday Feb 13 + 2 working days: Sat Feb 14 (worked), then Feb 15–23 off, Tue Feb 24.
        let deadline =
            calendar().deadline_for(at("2026-02-13T01:00:00Z"), TimeLimit::WorkingDays(2));
        assert_eq!(deadline, at("2026-02-24T16:00:00Z"));
        assert!(
            calendar().is_working_day(date("2026-02-28")),
            "a 调休 Saturday is a working day"
        );
        assert!(
            !calendar().is_working_day(date("2026-10-05")),
            "a Monday in the National Day holiday is not"
        );
    }

    #[test]
    fn the_day_follows_china_time() {
        // 23:30 on Friday in Beijing is still Friday: the count starts on Monday.
        let deadline =
            calendar().deadline_for(at("2026-11-27T15:30:00Z"), TimeLimit::WorkingDays(1));
        assert_eq!(deadline, at("2026-11-30T16:00:00Z"));
    }

    #[test]
    fn hours_are_clock_hours() {
        let start = at("2026-10-03T08:00:00Z");
        assert_eq!(
            calendar().deadline_for(start, TimeLimit::Hours(6)),
            at("2026-10-03T14:00:00Z")
        );
    }
}
