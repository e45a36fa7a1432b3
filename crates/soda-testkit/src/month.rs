//! The test kit's own calendar month. Deliberately not the product's `domain::Month`: the kit is the oracle
//! the product's tests compare against, so it shares no code with what it checks (a bug in the product's
//! month arithmetic must not be copied into the expected answers). Tests that hand months across convert
//! explicitly, through [`Month::new`] with the year and month number.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

/// A calendar month, stored as a count of months since January of year 0 (so `next` is `+ 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

/// Text that is not a `YYYY-MM` month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMonth(pub String);

impl fmt::Display for BadMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a month: expected YYYY-MM, e.g. 2024-03", self.0)
    }
}

impl std::error::Error for BadMonth {}

impl Month {
    /// `None` unless `month` is 1..=12 and `year` is 1..=9999.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=9999).contains(&year) && (1..=12).contains(&month)).then(|| Month(year * 12 + month as i32 - 1))
    }

    /// `YYYY-MM`, exactly four and two digits.
    pub fn parse(text: &str) -> Result<Month, BadMonth> {
        let bad = || BadMonth(text.to_string());
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        match text.split_once('-') {
            Some((y, m)) if digits(y, 4) && digits(m, 2) => {
                Month::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }

    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// 1..=12.
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    /// The month holding `date`.
    pub fn of(date: NaiveDate) -> Month {
        Month(date.year() * 12 + date.month0() as i32)
    }

    /// The month it is now in Seattle (SPD's timestamps are Seattle wall-clock time).
    pub fn current_in_seattle(now: chrono::DateTime<chrono::Utc>) -> Month {
        Month::of(now.with_timezone(&chrono_tz::America::Los_Angeles).date_naive())
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }

    /// Days in the month.
    pub fn days(self) -> i64 {
        self.next().first_day().signed_duration_since(self.first_day()).num_days()
    }

    /// `self` up to and including `last`; nothing when `last` comes first.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        (self.0..=last.0).map(Month)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl FromStr for Month {
    type Err = BadMonth;
    fn from_str(s: &str) -> Result<Month, BadMonth> {
        Month::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_step_across_years() {
        let m = Month::parse("2024-12").unwrap();
        assert_eq!((m.year(), m.month()), (2024, 12));
        assert_eq!(m.next().to_string(), "2025-01");
        assert_eq!(m.first_day(), NaiveDate::from_ymd_opt(2024, 12, 1).unwrap());
        assert_eq!(Month::parse("2024-02").unwrap().days(), 29);
        assert_eq!(Month::parse("2023-02").unwrap().days(), 28);
        assert_eq!(Month::of(NaiveDate::from_ymd_opt(2008, 1, 31).unwrap()).to_string(), "2008-01");
        let span: Vec<String> =
            Month::parse("2023-11").unwrap().through("2024-02".parse().unwrap()).map(|m| m.to_string()).collect();
        assert_eq!(span, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(m.through(Month::parse("2024-11").unwrap()).count(), 0);
        for bad in ["2024-13", "2024-00", "24-03", "2024-3", "2024/03", "", "2024-03-01", "+024-03"] {
            assert!(Month::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn current_month_is_seattles() {
        let utc = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
        // 03:00 UTC on 1 March is still February in Seattle (UTC-8).
        assert_eq!(Month::current_in_seattle(utc("2024-03-01T03:00:00Z")).to_string(), "2024-02");
        assert_eq!(Month::current_in_seattle(utc("2024-03-01T09:00:00Z")).to_string(), "2024-03");
    }
}
