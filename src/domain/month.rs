//! The calendar month and all month arithmetic: report months partition the lake and drive change detection,
//! and the API's ranges are months too.

use std::fmt;
use std::str::FromStr;

/// A calendar month, `YYYY-MM`. Report months partition the lake; they are the unit of change detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

/// A string that is not a `YYYY-MM` month.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{input}' is not a month: expected YYYY-MM, e.g. 2024-03")]
pub struct MonthParseError {
    pub input: String,
}

impl Month {
    /// Builds a month; `None` when `month` is not 1..=12 or the year is outside 1900..=9999.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Month { year, month })
    }

    pub fn parse(s: &str) -> Result<Month, MonthParseError> {
        let err = || MonthParseError { input: s.to_string() };
        let (y, m) = s.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        Month::new(y.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?).ok_or_else(err)
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The month containing `date`.
    pub fn of(date: chrono::NaiveDate) -> Month {
        use chrono::Datelike;
        Month { year: date.year(), month: date.month() }
    }

    /// The current month in Seattle (the source's floating timestamps are Seattle local time).
    pub fn current_in_seattle(now: chrono::DateTime<chrono::Utc>) -> Month {
        Month::of(now.with_timezone(&chrono_tz::America::Los_Angeles).date_naive())
    }

    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid by construction")
    }

    /// The month's first instant, floating (no zone), as the source's report timestamps are: a month is the
    /// half-open interval `[m.start(), m.next().start())`.
    pub fn start(self) -> chrono::NaiveDateTime {
        self.first_day().and_time(chrono::NaiveTime::MIN)
    }

    /// The same month a year earlier (itself for year 1900, the earliest month there is).
    pub fn year_earlier(self) -> Month {
        Month::new(self.year - 1, self.month).unwrap_or(self)
    }

    /// Months from `self` to `later` (negative when `later` is earlier): 2024-01 to 2024-03 is 2.
    pub fn months_until(self, later: Month) -> i64 {
        i64::from(later.year - self.year) * 12 + i64::from(later.month) - i64::from(self.month)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month { year: self.year - 1, month: 12 }
        } else {
            Month { year: self.year, month: self.month - 1 }
        }
    }

    /// Every month from `self` to `last`, both included; empty when `last < self`.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self), move |m| Some(m.next()).filter(|n| *n <= last))
            .take_while(move |m| *m <= last)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Month::parse(s)
    }
}

impl serde::Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_round_trips_and_rejects_garbage() {
        let m = Month::parse("2024-03").unwrap();
        assert_eq!(m.to_string(), "2024-03");
        assert_eq!(m.next().to_string(), "2024-04");
        assert_eq!(Month::parse("2024-12").unwrap().next().to_string(), "2025-01");
        assert_eq!(Month::parse("2025-01").unwrap().prev().to_string(), "2024-12");
        for bad in ["2024-13", "2024-00", "24-03", "2024-3", "2024/03", "", "abcd-ef", "2024-03-01"] {
            assert!(Month::parse(bad).is_err(), "{bad} should not parse");
        }
        let all: Vec<String> =
            Month::parse("2023-11").unwrap().through(Month::parse("2024-02").unwrap()).map(|m| m.to_string()).collect();
        assert_eq!(all, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(m.through(m.prev()).count(), 0);
    }

    #[test]
    fn month_arithmetic_crosses_year_ends() {
        let m = |s: &str| Month::parse(s).unwrap();
        assert_eq!(m("2024-03").start().to_string(), "2024-03-01 00:00:00");
        assert_eq!(m("2024-12").next().start().to_string(), "2025-01-01 00:00:00");
        assert_eq!(m("2024-03").year_earlier(), m("2023-03"));
        assert_eq!(m("1900-05").year_earlier(), m("1900-05"));
        assert_eq!(m("2023-11").months_until(m("2024-02")), 3);
        assert_eq!(m("2024-02").months_until(m("2023-11")), -3);
        assert_eq!(m("2024-02").months_until(m("2024-02")), 0);
    }
}
