//! The message catalogue: every sentence the bot says to a person, keyed and parameterised,
//! in English and Dutch (`locales/*.ftl`, Project Fluent's format). The engine and the
//! transports never write a sentence inline; they name a key and its parameters, so a
//! language is added by adding a file, without touching code.
//!
//! A key is written with dots in the code (`request.created`) and with dashes in the files
//! (`request-created`: a Fluent id has no dots). A parameter is `{ $name }`. A sentence that
//! counts something chooses its form by the language's plural rules (CLDR), so English says
//! "1 seat" and "2 seats", Dutch "1 licentie" and "2 licenties":
//!
//! ```text
//! seats-to_buy = { $quantity ->
//!     [one] { $quantity } seat
//!    *[other] { $quantity } seats
//! }
//! ```
//!
//! A whole number of at most fifteen digits is handed to Fluent as a number (so it can choose
//! a plural form; it prints the same); anything else, as words.

pub mod dates;
mod quote;

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::{Arc, OnceLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;

pub use crate::domain::Language;
pub use quote::{one_line, quoted, MAX_QUOTED_CHARS};

/// The catalogue file's text for `language`.
fn source(language: Language) -> &'static str {
    language.catalogue()
}

/// A loaded catalogue (cheap to clone: the bundle is shared).
#[derive(Clone)]
pub struct Texts {
    inner: Arc<Catalogue>,
}

struct Catalogue {
    bundle: FluentBundle<FluentResource>,
    /// What each message uses, by its key as the code writes it (`request.created`).
    shapes: BTreeMap<String, Shape>,
}

/// The parameters a message uses and the plural forms it chooses between.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Every parameter named, sorted.
    pub parameters: Vec<String>,
    /// For each parameter a form is chosen by: the variant keys offered (`one`, `other`).
    pub forms: BTreeMap<String, Vec<String>>,
    /// For each parameter a sentence is chosen by its word (`{ $how -> [locked] … }`): the
    /// words offered, which every language offers alike.
    pub choices: BTreeMap<String, Vec<String>>,
}

/// CLDR's plural categories besides `other`: a choice offering one of them is a plural form.
const PLURAL_CATEGORIES: [&str; 5] = ["zero", "one", "two", "few", "many"];

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts")
            .field("locales", &self.inner.bundle.locales)
            .field("messages", &self.inner.shapes.len())
            .finish()
    }
}

/// Why a catalogue does not load.
#[derive(Debug, thiserror::Error)]
#[error("the message catalogue does not parse: {0}")]
pub struct CatalogueError(String);

impl Texts {
    /// The embedded catalogue of a language, parsed once per process (every later call
    /// shares it: the engine, and the slash commands' translations at each registration).
    pub fn load(lang: Language) -> Texts {
        static LOADED: OnceLock<Vec<Texts>> = OnceLock::new();
        let all = LOADED.get_or_init(|| {
            Language::ALL
                .iter()
                .map(|l| Texts::parse_embedded(*l))
                .collect()
        });
        let at = Language::ALL.iter().position(|l| *l == lang);
        match at.and_then(|i| all.get(i)) {
            Some(texts) => texts.clone(),
            None => Texts::parse_embedded(lang),
        }
    }

    fn parse_embedded(lang: Language) -> Texts {
        Texts::parse(lang, source(lang)).unwrap_or_else(|e| {
            // The catalogues are embedded and checked by tests; a broken one is a build defect.
            tracing::error!(error = %e, "message catalogue does not parse");
            Texts::empty()
        })
    }

    fn empty() -> Texts {
        Texts {
            inner: Arc::new(Catalogue {
                bundle: FluentBundle::new_concurrent(Vec::new()),
                shapes: BTreeMap::new(),
            }),
        }
    }

    /// Parses a catalogue in Fluent's syntax, for `lang`'s plural rules.
    pub fn parse(lang: Language, source: &str) -> Result<Texts, CatalogueError> {
        let resource = FluentResource::try_new(source.to_string())
            .map_err(|(_, errors)| CatalogueError(format!("{errors:?}")))?;
        let mut shapes = BTreeMap::new();
        for entry in resource.entries() {
            if let ast::Entry::Message(m) = entry {
                let mut shape = Shape::default();
                if let Some(p) = &m.value {
                    shape_of(p, &mut shape);
                }
                shape.parameters.sort();
                shape.parameters.dedup();
                shapes.insert(m.id.name.replace('-', "."), shape);
            }
        }
        let mut bundle = bundle_for(lang)?;
        bundle
            .add_resource(resource)
            .map_err(|errors| CatalogueError(format!("{errors:?}")))?;
        Ok(Texts {
            inner: Arc::new(Catalogue { bundle, shapes }),
        })
    }

    /// Every key in the catalogue.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.inner.shapes.keys().map(String::as_str)
    }

    /// Whether the catalogue has a key.
    pub fn has(&self, key: &str) -> bool {
        self.inner.shapes.contains_key(key)
    }

    /// The parameters and plural forms of a key.
    pub fn shape(&self, key: &str) -> Option<&Shape> {
        self.inner.shapes.get(key)
    }

    /// Renders a key with its parameters. A missing key renders as the key itself (and is
    /// logged), never as a panic.
    pub fn get(&self, key: &str, args: &[(&str, &(dyn Display + Sync))]) -> String {
        let bundle = &self.inner.bundle;
        let Some(pattern) = bundle
            .get_message(&key.replace('.', "-"))
            .and_then(|m| m.value())
        else {
            tracing::error!(key, "message catalogue has no such key");
            return key.to_string();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value_of(value.to_string()));
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            tracing::error!(key, errors = ?errors, "a catalogue message did not render cleanly");
        }
        text.into_owned()
    }
}

/// A bundle for `lang` (its plural rules come from its language identifier), writing
/// parameters as they are (no Unicode isolation marks: chat shows them as stray characters).
fn bundle_for(lang: Language) -> Result<FluentBundle<FluentResource>, CatalogueError> {
    let id: unic_langid::LanguageIdentifier = lang
        .as_str()
        .parse()
        .map_err(|e| CatalogueError(format!("{lang} is no language identifier: {e}")))?;
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    bundle.set_use_isolating(false);
    Ok(bundle)
}

/// A parameter's value for Fluent: a whole number of at most fifteen digits (no leading
/// zero: a code such as `01234567` stays words) as a number, so plural forms can be chosen
/// by it; anything else as words.
fn value_of(words: String) -> FluentValue<'static> {
    let digits = words.strip_prefix('-').unwrap_or(&words);
    let whole = !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    match words.parse::<i64>() {
        Ok(n) if whole => FluentValue::from(n),
        _ => FluentValue::from(words),
    }
}

/// Collects the parameters a pattern names and the forms it chooses between.
fn shape_of(pattern: &ast::Pattern<&str>, shape: &mut Shape) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_shape(expression, shape);
        }
    }
}

fn expression_shape(expression: &ast::Expression<&str>, shape: &mut Shape) {
    match expression {
        ast::Expression::Inline(inline) => inline_shape(inline, shape),
        ast::Expression::Select { selector, variants } => {
            inline_shape(selector, shape);
            if let ast::InlineExpression::VariableReference { id } = selector {
                let mut keys: Vec<String> = variants
                    .iter()
                    .map(|v| match &v.key {
                        ast::VariantKey::Identifier { name } => name.to_string(),
                        ast::VariantKey::NumberLiteral { value } => value.to_string(),
                    })
                    .collect();
                keys.sort();
                // A plural form names a category (`one`, `few`, ...); a choice by exact
                // values (a month's number) has none, and a choice by word (`locked`) is
                // the same in every language.
                let name = id.name.to_string();
                if keys.iter().any(|k| PLURAL_CATEGORIES.contains(&k.as_str())) {
                    shape.forms.insert(name, keys);
                } else if keys
                    .iter()
                    .any(|k| k != "other" && k.parse::<f64>().is_err())
                {
                    shape.choices.insert(name, keys);
                }
            }
            for v in variants {
                shape_of(&v.value, shape);
            }
        }
    }
}

fn inline_shape(inline: &ast::InlineExpression<&str>, shape: &mut Shape) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            shape.parameters.push(id.name.to_string())
        }
        ast::InlineExpression::Placeable { expression } => expression_shape(expression, shape),
        _ => {}
    }
}

/// Renders a catalogue key: `t!(texts, "request.created", id = id, target = upn)`.
#[macro_export]
macro_rules! t {
    ($texts:expr, $key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $texts.get($key, &[$((stringify!($name), &$value as &(dyn ::std::fmt::Display + Sync))),*])
    };
}

/// A sentence from the catalogue kept to be said later, in the language of whoever reads it
/// then: its key and parameters, a parameter being words or another such sentence. What the
/// job worker found out (a licence assigned, seats bought) is one: it is stored in the bot's
/// language, posted in the approvals channel's and told in the requester's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said(Kept);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kept {
    /// A catalogue key with its parameters.
    Sentence {
        key: &'static str,
        args: Vec<(&'static str, Part)>,
    },
    /// Words no catalogue has (a backend's error message), the same in every language.
    Words(String),
}

/// One parameter of a [`Said`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Words said as they are (a UPN, a number, a backend's message).
    Words(String),
    /// A sentence of its own, said in the same language.
    Said(Said),
}

impl<T: Display> From<T> for Part {
    fn from(value: T) -> Part {
        Part::Words(value.to_string())
    }
}

impl From<&Said> for Part {
    fn from(said: &Said) -> Part {
        Part::Said(said.clone())
    }
}

impl Said {
    /// The sentence `key` with its parameters (see the [`said!`](crate::said) macro).
    pub fn new(key: &'static str, args: Vec<(&'static str, Part)>) -> Said {
        Said(Kept::Sentence { key, args })
    }

    /// Words said as they are in every language.
    pub fn words(words: impl Into<String>) -> Said {
        Said(Kept::Words(words.into()))
    }

    /// The sentence in the language of `texts`.
    pub fn render(&self, texts: &Texts) -> String {
        let (key, args) = match &self.0 {
            Kept::Words(w) => return w.clone(),
            Kept::Sentence { key, args } => (key, args),
        };
        let words: Vec<(&str, String)> = args
            .iter()
            .map(|(name, part)| match part {
                Part::Words(w) => (*name, w.clone()),
                Part::Said(s) => (*name, s.render(texts)),
            })
            .collect();
        let args: Vec<(&str, &(dyn Display + Sync))> = words
            .iter()
            .map(|(name, w)| (*name, w as &(dyn Display + Sync)))
            .collect();
        texts.get(key, &args)
    }
}

/// A sentence to say later: `said!("outcome.assigned", upn = upn)` (see [`Said`]).
#[macro_export]
macro_rules! said {
    ($key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::texts::Said::new(
            $key,
            vec![$((stringify!($name), $crate::texts::Part::from(&$value))),*],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftl(lang: Language, source: &str) -> Texts {
        Texts::parse(lang, source).expect("parses")
    }

    #[test]
    fn parameters_are_substituted() {
        let t = ftl(Language::En, "a-b = Request { $id } for { $upn }; { $id }");
        assert_eq!(
            t!(t, "a.b", id = 12, upn = "x@y.z"),
            "Request 12 for x@y.z; 12"
        );
    }

    #[test]
    fn a_plural_form_is_chosen_by_each_languages_rules() {
        let en = ftl(
            Language::En,
            "n = { $n ->\n    [one] { $n } seat\n   *[other] { $n } seats\n}",
        );
        let nl = ftl(
            Language::Nl,
            "n = { $n ->\n    [one] { $n } licentie\n   *[other] { $n } licenties\n}",
        );
        assert_eq!(t!(en, "n", n = 1), "1 seat");
        assert_eq!(t!(en, "n", n = 2), "2 seats");
        assert_eq!(t!(en, "n", n = 0), "0 seats");
        assert_eq!(t!(nl, "n", n = 1), "1 licentie");
        assert_eq!(t!(nl, "n", n = 3), "3 licenties");
    }

    #[test]
    fn numbers_and_codes_are_written_as_given() {
        let t = ftl(Language::En, "c = { $code } { $big } { $neg } { $id }");
        assert_eq!(
            t!(
                t,
                "c",
                code = "01234567",
                big = "700000000000000001",
                neg = -3,
                id = "#12"
            ),
            "01234567 700000000000000001 -3 #12"
        );
    }

    #[test]
    fn a_sentence_kept_for_later_is_said_in_each_language_with_its_parts() {
        let en = ftl(
            Language::En,
            "a-b = { $x } and { $y }\na-c = done for { $upn }",
        );
        let nl = ftl(
            Language::Nl,
            "a-b = { $x } en { $y }\na-c = klaar voor { $upn }",
        );
        let said = crate::said!("a.b", x = 3, y = crate::said!("a.c", upn = "a@b.c"));
        assert_eq!(said.render(&en), "3 and done for a@b.c");
        assert_eq!(said.render(&nl), "3 en klaar voor a@b.c");
    }

    #[test]
    fn a_choice_by_word_is_no_plural_form_and_is_said_by_its_word() {
        let t = ftl(
            Language::En,
            "l = { $how ->\n    [locked] locked\n   *[other] not yet\n}\n\
             n = { $n ->\n    [one] one\n   *[other] many\n}",
        );
        let word = t.shape("l").expect("l");
        assert!(word.forms.is_empty(), "{word:?}");
        assert_eq!(word.choices["how"], ["locked", "other"]);
        let plural = t.shape("n").expect("n");
        assert!(plural.choices.is_empty(), "{plural:?}");
        assert_eq!(plural.forms["n"], ["one", "other"]);
        assert_eq!(t!(t, "l", how = "locked"), "locked");
        assert_eq!(t!(t, "l", how = "code"), "not yet");
    }

    #[test]
    fn a_missing_key_renders_as_the_key() {
        let t = ftl(Language::En, "");
        assert_eq!(t!(t, "no.such"), "no.such");
    }

    #[test]
    fn leading_spaces_and_lines_survive() {
        let t = ftl(
            Language::En,
            "a = {\"  \"}indented\nb =\n    one\n\n    two",
        );
        assert_eq!(t!(t, "a"), "  indented");
        assert_eq!(t!(t, "b"), "one\n\ntwo");
    }

    #[test]
    fn every_command_has_an_example_and_a_name_on_discord_in_every_language() {
        for language in Language::ALL {
            let texts = Texts::load(*language);
            for c in crate::command::CommandName::ALL {
                for table in ["help", "help_example", "discord_name"] {
                    let key = format!("{table}.{}", c.word());
                    assert!(texts.has(&key), "{language}: {key}");
                }
            }
        }
    }

    #[test]
    fn every_catalogue_names_its_own_language_and_the_discord_locales_that_show_it() {
        for language in Language::ALL {
            let texts = Texts::load(*language);
            let key = format!("language.{}", language.as_str());
            assert!(texts.has(&key), "{language}: {key}");
            let locales = texts.get("discord.locales", &[]);
            let primary = |l: &str| Language::from_locale(l) == Some(*language);
            assert!(
                !locales.is_empty() && locales.split_whitespace().all(primary),
                "{language}: discord-locales = {locales}"
            );
        }
    }

    /// The plural categories a whole number takes in a language (CLDR's cardinal rules, as
    /// Fluent applies them): a form chosen by a count must offer each of them.
    fn plural_categories(lang: Language) -> std::collections::BTreeSet<&'static str> {
        use intl_pluralrules::{PluralCategory, PluralRuleType, PluralRules};
        let id: unic_langid::LanguageIdentifier = lang.as_str().parse().expect("a language id");
        let rules = PluralRules::create(id, PluralRuleType::CARDINAL)
            .unwrap_or_else(|e| panic!("CLDR has no plural rules for {lang}: {e}"));
        (0..=1000u32)
            .map(|n| match rules.select(n).expect("a category") {
                PluralCategory::ZERO => "zero",
                PluralCategory::ONE => "one",
                PluralCategory::TWO => "two",
                PluralCategory::FEW => "few",
                PluralCategory::MANY => "many",
                PluralCategory::OTHER => "other",
            })
            .collect()
    }

    #[test]
    fn english_and_dutch_count_one_and_other() {
        for lang in [Language::En, Language::Nl] {
            let got: Vec<&str> = plural_categories(lang).into_iter().collect();
            assert_eq!(got, ["one", "other"], "{lang}");
        }
    }

    /// A key that names a language (`language-nl`): a catalogue names the languages it
    /// knows of, so one added later is named by its own catalogue alone.
    fn names_a_language(key: &str) -> bool {
        key.strip_prefix("language.")
            .is_some_and(|code| Language::ALL.iter().any(|l| l.as_str() == code))
    }

    /// Every key in every language, with the same parameters (the names of languages aside:
    /// see [`names_a_language`]); every form chosen by a count offers each of its language's
    /// plural categories (a language may count where another does not: Dutch says "moeten
    /// er 3 worden gekocht" with no noun to inflect).
    #[test]
    fn every_language_has_the_same_keys_parameters_and_its_plural_forms() {
        let en = Texts::parse(Language::En, source(Language::En)).expect("en parses");
        assert!(en.keys().count() > 400, "the catalogue is read whole");
        let mut counted = 0;
        for &lang in Language::ALL {
            let other = Texts::parse(lang, source(lang)).expect("catalogue parses");
            for key in en.keys().filter(|k| !names_a_language(k)) {
                let ours = en.shape(key).expect("en");
                let theirs = other
                    .shape(key)
                    .unwrap_or_else(|| panic!("{lang:?} lacks {key}"));
                assert_eq!(ours.parameters, theirs.parameters, "{lang:?} {key}");
                assert_eq!(ours.choices, theirs.choices, "{lang:?} {key}");
            }
            let categories = plural_categories(lang);
            for key in other.keys() {
                assert!(
                    en.has(key) || names_a_language(key),
                    "{lang:?} has {key}, which English has not"
                );
                for (by, forms) in &other.shape(key).expect("shape").forms {
                    counted += 1;
                    for needed in &categories {
                        assert!(
                            forms.iter().any(|f| f == needed),
                            "{lang:?} {key}: no [{needed}] form for {by}"
                        );
                    }
                }
            }
        }
        assert!(counted > 20, "only {counted} counted forms found");
    }
}
