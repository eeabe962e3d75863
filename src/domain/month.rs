//! A calendar month, as spend is counted (UTC).

use std::fmt;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// Reads `2026-12` (years 2000 to 9999); None for anything else.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let (year, month) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
        ((2000..=9999).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    /// The month a moment falls in (UTC).
    pub fn of(at: chrono::DateTime<chrono::Utc>) -> Month {
        use chrono::Datelike;
        Month {
            year: at.year(),
            month: at.month(),
        }
    }
}

impl Month {
    /// Its year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Its number, 1 to 12.
    pub fn number(self) -> u32 {
        self.month
    }

    /// The month before it.
    pub fn previous(self) -> Month {
        match self.month {
            1 => Month {
                year: self.year - 1,
                month: 12,
            },
            m => Month {
                year: self.year,
                month: m - 1,
            },
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::Month;

    #[test]
    fn the_month_before_crosses_the_year() {
        let jan = Month::parse("2027-01").unwrap();
        assert_eq!(jan.previous().to_string(), "2026-12");
        assert_eq!(jan.previous().previous().to_string(), "2026-11");
        assert_eq!((jan.year(), jan.number()), (2027, 1));
    }

    #[test]
    fn months_are_read_and_written_alike() {
        assert_eq!(
            Month::parse("2026-12").map(|m| m.to_string()),
            Some("2026-12".into())
        );
        for bad in [
            "2026-13",
            "2026-00",
            "26-12",
            "2026-1",
            "2026/12",
            "",
            "２０２６-12",
            "1999-12",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }
}
