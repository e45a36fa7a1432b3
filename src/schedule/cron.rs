//! Cron expressions read in an IANA time zone, and the next fire time after an instant.
//!
//! Written here rather than taken from the `cron` crate because that crate ANDs day-of-month with day-of-week
//! (classic cron ORs them when both are restricted), numbers weekdays from 1 = Sunday, and silently skips a
//! wall-clock time that a daylight-saving change removes. The rules here are Vixie cron's:
//! - 5 fields `minute hour day-of-month month day-of-week`, or 6 with `second` first (for short test schedules);
//!   `*`, `a`, `a-b`, `*/n`, `a-b/n`, `a/n`, lists with `,`, month and weekday names, weekday 0 or 7 = Sunday,
//!   and the macros `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`.
//! - When both day-of-month and day-of-week are restricted, a day matches if either does.
//! - Daylight saving: a wall-clock time that happens twice (clocks go back) fires once, at its first occurrence;
//!   a wall-clock time that does not exist (clocks go forward) fires at the same distance after the change, read
//!   with the offset in force before it (02:30 on the spring-forward night in Los Angeles fires at 03:30 PDT).

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::ScheduleError;

/// A parsed cron expression and the time zone it is read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    expression: String,
    tz: Tz,
    seconds: u64,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    dom_restricted: bool,
    dow_restricted: bool,
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names accepted for values, the first one standing for `names_from`.
    names: &'static [&'static str],
    names_from: u32,
}

const SECOND: FieldSpec = FieldSpec { name: "second", min: 0, max: 59, names: &[], names_from: 0 };
const MINUTE: FieldSpec = FieldSpec { name: "minute", min: 0, max: 59, names: &[], names_from: 0 };
const HOUR: FieldSpec = FieldSpec { name: "hour", min: 0, max: 23, names: &[], names_from: 0 };
const DAY_OF_MONTH: FieldSpec = FieldSpec { name: "day-of-month", min: 1, max: 31, names: &[], names_from: 1 };
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    names_from: 1,
};
/// 7 is accepted as Sunday and folded onto 0 after parsing.
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    names_from: 0,
};

/// How far ahead to look for a matching day: a schedule like `0 0 29 2 1` (29 February on a Monday) repeats
/// within 28 years; anything that finds nothing in that window never fires.
const SEARCH_DAYS: u32 = 366 * 29;

impl CronSchedule {
    /// Parses `expression` (5 or 6 fields, or a macro) read in the IANA zone `timezone`.
    pub fn parse(expression: &str, timezone: &str) -> Result<CronSchedule, ScheduleError> {
        let tz: Tz =
            timezone.trim().parse().map_err(|_| ScheduleError::UnknownTimeZone { name: timezone.to_string() })?;
        let invalid = |reason: String| ScheduleError::InvalidCron { expression: expression.to_string(), reason };
        let trimmed = expression.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            m if m.starts_with('@') => return Err(invalid(format!("unknown macro {m}"))),
            _ => trimmed,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let (second, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => return Err(invalid(format!("has {n} fields; expected 5 (or 6 with seconds first)"))),
        };
        let (seconds, _) = parse_field(second, &SECOND).map_err(&invalid)?;
        let (minutes, _) = parse_field(rest[0], &MINUTE).map_err(&invalid)?;
        let (hours, _) = parse_field(rest[1], &HOUR).map_err(&invalid)?;
        let (days_of_month, dom_restricted) = parse_field(rest[2], &DAY_OF_MONTH).map_err(&invalid)?;
        let (months, _) = parse_field(rest[3], &MONTH).map_err(&invalid)?;
        let (mut days_of_week, dow_restricted) = parse_field(rest[4], &DAY_OF_WEEK).map_err(&invalid)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week | 1) & !(1 << 7);
        }
        let schedule = CronSchedule {
            expression: trimmed.to_string(),
            tz,
            seconds,
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_restricted,
            dow_restricted,
        };
        // A schedule such as `0 0 31 2 *` parses but never fires; say so now rather than wait forever.
        let probe = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single().unwrap_or_else(Utc::now);
        if schedule.next_after(probe).is_none() {
            return Err(invalid("never fires (no date matches its day and month fields)".into()));
        }
        Ok(schedule)
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone the expression is read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first fire time strictly after `t`; `None` only for a schedule that never fires.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz).naive_local();
        // Start a day early: with clocks going back, an instant's local date can be "ahead" of a candidate's.
        let mut date = local.date().pred_opt()?;
        let mut best: Option<DateTime<Utc>> = None;
        for _ in 0..SEARCH_DAYS {
            if let Some(found) = best {
                // Candidates on later days are later instants; one day past the best one is enough to be sure.
                if date > found.with_timezone(&self.tz).date_naive() + Duration::days(1) {
                    break;
                }
            }
            if self.day_matches(date) {
                if let Some(c) = self.first_on_day_after(date, t, local) {
                    best = Some(best.map_or(c, |b| b.min(c)));
                }
            }
            date = date.succ_opt()?;
        }
        best
    }

    /// Fire times in `(after, until]`, oldest first, at most `limit` of them.
    pub fn fires_between(&self, after: DateTime<Utc>, until: DateTime<Utc>, limit: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = after;
        while out.len() < limit {
            match self.next_after(t) {
                Some(f) if f <= until => {
                    out.push(f);
                    t = f;
                }
                _ => break,
            }
        }
        out
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << date.day()) != 0;
        let dow = self.days_of_week & (1 << date.weekday().num_days_from_sunday()) != 0;
        if self.dom_restricted && self.dow_restricted {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The earliest instant on local `date` that matches and is after `t` (`t_local` is `t` on the local clock).
    fn first_on_day_after(&self, date: NaiveDate, t: DateTime<Utc>, t_local: NaiveDateTime) -> Option<DateTime<Utc>> {
        // Offsets move by at most a few hours, so a wall-clock time more than 3 h before `t_local` is before `t`;
        // and once a candidate is found, one 3 h past it cannot be earlier.
        let slack = Duration::hours(3);
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for hour in bits(self.hours) {
            let hour_end = date.and_hms_opt(hour, 59, 59)?;
            if hour_end + slack < t_local {
                continue;
            }
            for minute in bits(self.minutes) {
                for second in bits(self.seconds) {
                    let naive = date.and_hms_opt(hour, minute, second)?;
                    if let Some((_, found_naive)) = best {
                        if naive > found_naive + slack {
                            return best.map(|b| b.0);
                        }
                    }
                    if naive + slack < t_local {
                        continue;
                    }
                    let instant = self.resolve(naive);
                    if instant > t && best.is_none_or(|(b, _)| instant < b) {
                        best = Some((instant, naive));
                    }
                }
            }
        }
        best.map(|b| b.0)
    }

    /// The instant a local wall-clock time stands for (see the module notes for the two daylight-saving cases).
    fn resolve(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(x) => x.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                let before = self
                    .tz
                    .offset_from_local_datetime(&(naive - Duration::hours(3)))
                    .earliest()
                    .map(|o| o.fix().local_minus_utc())
                    .unwrap_or(0);
                Utc.from_utc_datetime(&(naive - Duration::seconds(i64::from(before))))
            }
        }
    }
}

/// The set bits of `mask`, lowest first.
fn bits(mask: u64) -> impl Iterator<Item = u32> {
    (0..64u32).filter(move |b| mask & (1u64 << b) != 0)
}

/// One field to a bit mask, and whether it restricts (does not start with `*`), as Vixie cron decides it.
fn parse_field(text: &str, spec: &FieldSpec) -> Result<(u64, bool), String> {
    let mut mask = 0u64;
    for item in text.split(',') {
        mask |= parse_item(item, spec).map_err(|e| format!("{} field {text:?}: {e}", spec.name))?;
    }
    let restricted = !(text.starts_with('*') || text == "?");
    Ok((mask, restricted))
}

fn parse_item(item: &str, spec: &FieldSpec) -> Result<u64, String> {
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => {
            let step: u32 = s.parse().map_err(|_| format!("step {s:?} is not a number"))?;
            if step == 0 {
                return Err("step must be at least 1".into());
            }
            (r, Some(step))
        }
        None => (item, None),
    };
    let (lo, hi) = if range == "*" || range == "?" {
        (spec.min, spec.max)
    } else if let Some((a, b)) = range.split_once('-') {
        (value(a, spec)?, value(b, spec)?)
    } else {
        let v = value(range, spec)?;
        // `a/n` means from a to the end in steps of n.
        (v, if step.is_some() { spec.max } else { v })
    };
    if lo > hi {
        return Err(format!("range {range:?} runs backwards"));
    }
    let step = step.unwrap_or(1);
    Ok((lo..=hi).step_by(step as usize).fold(0u64, |m, v| m | (1u64 << v)))
}

fn value(text: &str, spec: &FieldSpec) -> Result<u32, String> {
    if text.is_empty() {
        return Err("empty value".into());
    }
    let upper = text.to_ascii_uppercase();
    let v = match spec.names.iter().position(|n| *n == upper) {
        Some(i) => i as u32 + spec.names_from,
        None => text.parse::<u32>().map_err(|_| {
            let names =
                if spec.names.is_empty() { String::new() } else { format!(" or a name ({})", spec.names.join(", ")) };
            format!("{text:?} is not a number{names}")
        })?,
    };
    if v < spec.min || v > spec.max {
        return Err(format!("{v} is outside {}..={}", spec.min, spec.max));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, tz: &str, after: &str) -> String {
        let s = CronSchedule::parse(expr, tz).unwrap();
        s.next_after(utc(after)).unwrap().to_rfc3339()
    }

    #[test]
    fn default_schedule_fires_on_the_first_across_month_and_year_ends() {
        assert_eq!(next("0 15 1 * *", "UTC", "2026-01-31T23:59:59Z"), "2026-02-01T15:00:00+00:00");
        assert_eq!(next("0 15 1 * *", "UTC", "2026-12-15T00:00:00Z"), "2027-01-01T15:00:00+00:00");
        // Exactly at a fire time: the next one, not the same one.
        assert_eq!(next("0 15 1 * *", "UTC", "2026-03-01T15:00:00Z"), "2026-04-01T15:00:00+00:00");
        assert_eq!(next("0 15 1 * *", "UTC", "2026-03-01T14:59:59Z"), "2026-03-01T15:00:00+00:00");
    }

    #[test]
    fn day_31_skips_short_months_and_leap_day_waits_for_a_leap_year() {
        assert_eq!(next("0 0 31 * *", "UTC", "2026-01-31T00:00:00Z"), "2026-03-31T00:00:00+00:00");
        assert_eq!(next("0 0 31 * *", "UTC", "2026-03-31T00:00:00Z"), "2026-05-31T00:00:00+00:00");
        assert_eq!(next("0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00+00:00");
    }

    #[test]
    fn local_time_schedule_follows_the_offset_in_los_angeles() {
        // 15:00 Pacific is 23:00Z in winter (PST) and 22:00Z in summer (PDT).
        assert_eq!(next("0 15 1 * *", "America/Los_Angeles", "2026-02-15T00:00:00Z"), "2026-03-01T23:00:00+00:00");
        assert_eq!(next("0 15 1 * *", "America/Los_Angeles", "2026-03-15T00:00:00Z"), "2026-04-01T22:00:00+00:00");
        // Late on 31 January local time is already 1 February in UTC: the local date decides.
        assert_eq!(next("0 15 1 * *", "America/Los_Angeles", "2026-02-01T07:30:00Z"), "2026-02-01T23:00:00+00:00");
    }

    #[test]
    fn spring_forward_gap_fires_once_after_the_change() {
        // 2026-03-08 02:00 PST clocks jump to 03:00 PDT in Los Angeles; 02:30 does not exist that night.
        assert_eq!(next("30 2 * * *", "America/Los_Angeles", "2026-03-07T12:00:00Z"), "2026-03-08T10:30:00+00:00");
        // 10:30Z is 03:30 PDT; the day after is back to 02:30 PDT = 09:30Z.
        assert_eq!(next("30 2 * * *", "America/Los_Angeles", "2026-03-08T10:30:00Z"), "2026-03-09T09:30:00+00:00");
        // A job at 03:00 is untouched: 03:00 PDT = 10:00Z.
        assert_eq!(next("0 3 * * *", "America/Los_Angeles", "2026-03-08T00:00:00Z"), "2026-03-08T10:00:00+00:00");
    }

    #[test]
    fn fall_back_repeated_hour_fires_once() {
        // 2026-11-01 02:00 PDT clocks go back to 01:00 PST: 01:30 happens at 08:30Z and again at 09:30Z.
        let s = CronSchedule::parse("30 1 * * *", "America/Los_Angeles").unwrap();
        let first = s.next_after(utc("2026-11-01T00:00:00Z")).unwrap();
        assert_eq!(first.to_rfc3339(), "2026-11-01T08:30:00+00:00");
        let second = s.next_after(first).unwrap();
        assert_eq!(second.to_rfc3339(), "2026-11-02T09:30:00+00:00", "the repeated 01:30 must not fire twice");
        // Asked from inside the repeated hour (after the first 01:30), the next is the following day.
        assert_eq!(s.next_after(utc("2026-11-01T09:00:00Z")).unwrap(), second);
    }

    #[test]
    fn hourly_schedule_keeps_going_through_both_dst_changes() {
        let s = CronSchedule::parse("0 * * * *", "America/Los_Angeles").unwrap();
        let fires = s.fires_between(utc("2026-03-08T08:30:00Z"), utc("2026-03-08T12:30:00Z"), 100);
        let got: Vec<String> = fires.iter().map(|f| f.format("%H:%M").to_string()).collect();
        // 01:00 PST = 09:00Z, (02:00 does not exist → 10:00Z = 03:00 PDT), 04:00 PDT = 11:00Z, 05:00 PDT = 12:00Z.
        assert_eq!(got, ["09:00", "10:00", "11:00", "12:00"]);
    }

    #[test]
    fn six_fields_with_seconds_and_steps() {
        assert_eq!(next("*/5 * * * * *", "UTC", "2026-05-05T10:00:03Z"), "2026-05-05T10:00:05+00:00");
        assert_eq!(next("*/5 * * * * *", "UTC", "2026-05-05T10:59:58Z"), "2026-05-05T11:00:00+00:00");
        assert_eq!(next("0 */15 9-17 * * MON-FRI", "UTC", "2026-05-08T17:45:00Z"), "2026-05-11T09:00:00+00:00");
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_restricted() {
        // The 13th, or any Friday: 2026-02-06 is a Friday before the 13th.
        assert_eq!(next("0 0 13 * 5", "UTC", "2026-02-01T00:00:00Z"), "2026-02-06T00:00:00+00:00");
        // Sunday as 0 and as 7 and as a name.
        for dow in ["0", "7", "sun"] {
            assert_eq!(next(&format!("0 12 * * {dow}"), "UTC", "2026-05-04T00:00:00Z"), "2026-05-10T12:00:00+00:00");
        }
        assert_eq!(next("@monthly", "UTC", "2026-05-04T00:00:00Z"), "2026-06-01T00:00:00+00:00");
    }

    #[test]
    fn bad_expressions_and_zones_are_named() {
        for (expr, needle) in [
            ("0 15 1 *", "4 fields"),
            ("61 * * * *", "minute"),
            ("0 24 * * *", "hour"),
            ("0 0 0 * *", "day-of-month"),
            ("0 0 * 13 *", "month"),
            ("0 0 * * 8", "day-of-week"),
            ("*/0 * * * *", "step"),
            ("0 0 10-5 * *", "backwards"),
            ("0 0 31 2 *", "never fires"),
            ("@fortnightly", "macro"),
        ] {
            let err = CronSchedule::parse(expr, "UTC").unwrap_err().to_string();
            assert!(err.contains(needle), "{expr}: {err}");
        }
        let err = CronSchedule::parse("0 15 1 * *", "Mars/Olympus").unwrap_err().to_string();
        assert!(err.contains("Mars/Olympus") && err.contains("IANA"), "{err}");
    }
}
