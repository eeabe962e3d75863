//! How long a licence is given for: a whole number of days, written in chat and in the
//! settings as `30d`, `2w` or `3m` (a month counts 30 days, so a term never depends on the
//! calendar it starts in).

use std::fmt;

use super::ParseError;

/// A licence's term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Term {
    days: u32,
}

impl Term {
    /// The longest term: ten years.
    pub const MAX_DAYS: u32 = 3650;

    /// A term of `days` days, 1 to [`Term::MAX_DAYS`].
    pub fn of_days(days: u32) -> Result<Term, ParseError> {
        if (1..=Term::MAX_DAYS).contains(&days) {
            Ok(Term { days })
        } else {
            Err(ParseError(format!(
                "a term is 1 to {} days long",
                Term::MAX_DAYS
            )))
        }
    }

    /// Reads `30d`, `2w` or `3m` (case-insensitive). `None` when the word is no duration at
    /// all (digits, then one of d, w, m); an error when it is one out of range.
    pub fn parse(word: &str) -> Option<Result<Term, ParseError>> {
        let word = word.trim();
        let (at, unit) = word.char_indices().last()?;
        let unit = unit.to_ascii_lowercase();
        let digits = &word[..at];
        if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let per = match unit {
            'd' => 1,
            'w' => 7,
            'm' => 30,
            _ => return None,
        };
        let n: u32 = digits.parse().ok()?;
        Some(Term::of_days(n.saturating_mul(per)))
    }

    /// Its length in days.
    pub fn days(self) -> u32 {
        self.days
    }

    /// Its length.
    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.days))
    }
}

impl fmt::Display for Term {
    /// `30d`: the form it is typed in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d", self.days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_weeks_and_thirty_day_months_are_read() {
        let days = |w: &str| Term::parse(w).map(|t| t.map(Term::days));
        assert_eq!(days("30d"), Some(Ok(30)));
        assert_eq!(days("2W"), Some(Ok(14)));
        assert_eq!(days("3m"), Some(Ok(90)));
        assert_eq!(days("3650d"), Some(Ok(3650)));
        assert!(matches!(days("0d"), Some(Err(_))));
        assert!(matches!(days("122m"), Some(Err(_))));
        assert!(matches!(days("999999w"), Some(Err(_))));
        for no in [
            "d", "30", "30h", "thirty", "3.5d", "-3d", "@erin", "", "1234567d", "30é", "é",
        ] {
            assert_eq!(days(no), None, "{no}");
        }
    }
}
