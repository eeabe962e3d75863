//! Dates, times, months and money as sentences of the catalogue, so each language writes them
//! its own way (`date-day`, `date-minute`, `date-month`, `date-short`, `money`): English keeps
//! ISO 8601 (`2026-12-05`), which US and UK readers read alike; Dutch writes `05-12-2026`
//! and a decimal comma. A new language sets its formats in its own file.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::said;
use crate::texts::Said;

/// Two digits, with a leading zero (passed as words, so the catalogue keeps the zero).
fn two(n: u32) -> String {
    format!("{n:02}")
}

/// A day: `2026-12-05` in English, `05-12-2026` in Dutch.
pub fn day(date: NaiveDate) -> Said {
    said!(
        "date.day",
        year = date.year(),
        mm = two(date.month()),
        dd = two(date.day())
    )
}

/// A moment to the minute, in UTC: `2026-12-05 14:30 UTC`.
pub fn minute(at: DateTime<Utc>) -> Said {
    said!(
        "date.minute",
        date = day(at.date_naive()),
        hh = two(at.hour()),
        min = two(at.minute())
    )
}

/// A day without its year, by the month's name (a chart's axis): `Dec 5`, `5 dec`.
pub fn short(date: NaiveDate) -> Said {
    said!("date.short", month = date.month(), day = date.day())
}

/// A month by its name and year (a chart's bar): `Dec 2026`, `dec 2026`.
pub fn month(year: i32, month: u32) -> Said {
    said!("date.month", month = month, year = year)
}

/// An amount of money with two decimals and its currency: `14.00 USD`, `14,00 USD`.
pub fn money(amount: f64, currency: &str) -> Said {
    let digits = format!("{amount:.2}");
    let (whole, cents) = digits.split_once('.').unwrap_or((&digits, "00"));
    said!(
        "money",
        whole = whole.to_string(),
        cents = cents.to_string(),
        currency = currency.to_string()
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::texts::{Language, Texts};

    #[test]
    fn each_language_writes_dates_and_money_its_own_way() {
        let (en, nl) = (Texts::load(Language::En), Texts::load(Language::Nl));
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 9, 7, 0).unwrap();
        let day = at.date_naive();
        assert_eq!(super::day(day).render(&en), "2026-12-05");
        assert_eq!(super::day(day).render(&nl), "05-12-2026");
        assert_eq!(minute(at).render(&en), "2026-12-05 09:07 UTC");
        assert_eq!(minute(at).render(&nl), "05-12-2026 09:07 UTC");
        assert_eq!(short(day).render(&en), "Dec 5");
        assert_eq!(short(day).render(&nl), "5 dec");
        let march = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(short(march).render(&nl), "1 mrt");
        assert_eq!(month(2027, 5).render(&en), "May 2027");
        assert_eq!(month(2027, 5).render(&nl), "mei 2027");
        assert_eq!(money(1234.5, "EUR").render(&en), "1234.50 EUR");
        assert_eq!(money(1234.5, "EUR").render(&nl), "1234,50 EUR");
        assert_eq!(money(-3.0, "USD").render(&nl), "-3,00 USD");
    }
}
