//! The languages the bot speaks: one type for the setting (`bot.language`) and the
//! catalogue that renders every sentence.

setting_enum!(
    /// A language the message catalogue has a file for, by the word settings write
    /// (`bot.language = "nl"`).
    Language {
        /// English.
        En => "en",
        /// Dutch (nl-NL).
        Nl => "nl",
    }
);

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
            assert_eq!(l.as_str().parse::<Language>().unwrap(), *l);
        }
    }
}
