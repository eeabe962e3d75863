//! The languages the bot speaks: one type for the setting (`bot.language`) and the
//! catalogue that renders every sentence. They are the files in `locales/` (`build.rs` writes
//! the enum from them), so adding a language is adding its catalogue file.

include!(concat!(env!("OUT_DIR"), "/languages.rs"));

impl Language {
    /// The language of a locale tag as chat clients and settings write it (`nl`, `nl-NL`,
    /// `en-US`, `EN_gb`): its primary subtag, any case. None for a language the catalogue has
    /// no file for (`de`, `pt-BR`) or a tag that is none.
    pub fn from_locale(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Language::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == primary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_is_read_by_its_primary_subtag() {
        for (tag, want) in [
            ("nl", Some(Language::Nl)),
            ("nl-NL", Some(Language::Nl)),
            ("NL", Some(Language::Nl)),
            ("en-US", Some(Language::En)),
            ("en-GB", Some(Language::En)),
            ("en_gb", Some(Language::En)),
            ("de", None),
            ("pt-BR", None),
            ("", None),
            ("-nl", None),
        ] {
            assert_eq!(Language::from_locale(tag), want, "{tag}");
        }
    }

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
