//! The languages the bot speaks: one type for the setting (`bot.language`) and the
//! catalogue that renders every sentence.

use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// A language the message catalogue has a file for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    En,
    /// Dutch (nl-NL).
    Nl,
}

impl Language {
    /// Every language, in the order the catalogue lists them.
    pub const ALL: [Language; 2] = [Language::En, Language::Nl];

    /// The word written in settings (`en`, `nl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Nl => "nl",
        }
    }
}

impl FromStr for Language {
    type Err = ParseError;

    /// Exactly one of the words, as settings write them: `"de" is not one of "en", "nl"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let words: Vec<String> = Language::ALL
                    .iter()
                    .map(|l| format!("{:?}", l.as_str()))
                    .collect();
                ParseError(format!("{s:?} is not one of {}", words.join(", ")))
            })
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

super::text_value!(Language);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_is_read_by_its_settings_word_only() {
        assert_eq!("nl".parse::<Language>().unwrap(), Language::Nl);
        assert_eq!(
            "NL".parse::<Language>().unwrap_err().to_string(),
            r#""NL" is not one of "en", "nl""#
        );
        for l in Language::ALL {
            assert_eq!(l.as_str().parse::<Language>().unwrap(), l);
        }
    }
}
