//! What is wrong with a command's arguments, as a type: the parser says which problem it
//! found, the catalogue says it in the bot's language ([`ArgProblem::render`]). Tokens the
//! person typed are quoted shortened to 64 characters; a code is never repeated.

use crate::domain::UpnProblem;
use crate::t;
use crate::texts::Texts;

/// One problem with a command's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgProblem {
    /// A word after the command's last argument.
    Unexpected { token: String },
    /// `revoke` named a second person.
    OneAtATime { token: String },
    /// A word that is neither a UPN nor a mention where a person was wanted.
    NotAPerson { token: String },
    /// A mention that is not valid.
    BadMention { token: String },
    /// A UPN that is not valid, and why.
    BadUpn { token: String, why: UpnProblem },
    /// No person named.
    NeedPerson,
    /// `link` without a UPN.
    NeedUpn,
    /// `link` given a mention where the person's own UPN was wanted.
    LinkNeedsUpn,
    /// No request number, or not one.
    NeedRequestNumber,
    /// Not a request number.
    NotARequestNumber { token: String },
    /// The reason is longer than allowed.
    ReasonTooLong { max: usize },
    /// More people than one assignment takes.
    TooManyPeople { max: usize },
    /// `verify` without a well-formed code.
    NeedCode { digits: usize },
    /// No seat count, or one out of range.
    NeedSeats { max: u32 },
    /// Not a billing cycle.
    NotACycle { token: String },
    /// `away` without on or off.
    SayOnOrOff,
    /// `help` about something that is no command.
    NotACommand { token: String },
    /// A term out of range (`0d`, `200m`).
    BadTerm { token: String, max: u32 },
    /// `extend for` without a term, or a word that is none.
    NeedTerm,
    /// Not a month written `YYYY-MM`.
    NotAMonth { token: String },
    /// `language` naming one the bot does not speak.
    NotALanguage { token: String },
}

impl ArgProblem {
    /// The problem in the catalogue's words (no final full stop: the usage line follows).
    pub fn render(&self, texts: &Texts) -> String {
        use ArgProblem::*;
        match self {
            Unexpected { token } => t!(texts, "parse.problem.unexpected", token = token),
            OneAtATime { token } => t!(texts, "parse.problem.one_at_a_time", token = token),
            NotAPerson { token } => t!(texts, "parse.problem.not_a_person", token = token),
            BadMention { token } => t!(texts, "parse.problem.bad_mention", token = token),
            BadUpn { token, why } => {
                let why = match why {
                    UpnProblem::NoAt => t!(texts, "parse.upn.no_at"),
                    UpnProblem::LocalLength => t!(texts, "parse.upn.local_length"),
                    UpnProblem::LocalCharacters => t!(texts, "parse.upn.local_characters"),
                    UpnProblem::LocalDots => t!(texts, "parse.upn.local_dots"),
                    UpnProblem::Domain => t!(texts, "parse.upn.domain"),
                };
                t!(texts, "parse.problem.bad_upn", token = token, why = why)
            }
            NeedPerson => t!(texts, "parse.problem.need_person"),
            NeedUpn => t!(texts, "parse.problem.need_upn"),
            LinkNeedsUpn => t!(texts, "parse.problem.link_needs_upn"),
            NeedRequestNumber => t!(texts, "parse.problem.need_request_number"),
            NotARequestNumber { token } => {
                t!(texts, "parse.problem.not_a_request_number", token = token)
            }
            ReasonTooLong { max } => t!(texts, "parse.problem.reason_too_long", max = max),
            TooManyPeople { max } => t!(texts, "parse.problem.too_many_people", max = max),
            NeedCode { digits } => t!(texts, "parse.problem.need_code", digits = digits),
            NeedSeats { max } => t!(texts, "parse.problem.need_seats", max = max),
            NotACycle { token } => t!(texts, "parse.problem.not_a_cycle", token = token),
            SayOnOrOff => t!(texts, "parse.problem.say_on_or_off"),
            NotACommand { token } => t!(texts, "parse.problem.not_a_command", token = token),
            BadTerm { token, max } => {
                t!(texts, "parse.problem.bad_term", token = token, max = max)
            }
            NeedTerm => t!(texts, "parse.problem.need_term"),
            NotAMonth { token } => t!(texts, "parse.problem.not_a_month", token = token),
            NotALanguage { token } => {
                let choices = crate::domain::Language::ALL
                    .iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                t!(
                    texts,
                    "parse.problem.not_a_language",
                    token = token,
                    choices = choices
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::Language;

    fn every_problem() -> Vec<ArgProblem> {
        use ArgProblem::*;
        let token = || "bob".to_string();
        let mut all = vec![
            Unexpected { token: token() },
            OneAtATime { token: token() },
            NotAPerson { token: token() },
            BadMention { token: token() },
            NeedPerson,
            NeedUpn,
            LinkNeedsUpn,
            NeedRequestNumber,
            NotARequestNumber { token: token() },
            ReasonTooLong { max: 500 },
            TooManyPeople { max: 100 },
            NeedCode { digits: 8 },
            NeedSeats { max: 1000 },
            NotACycle { token: token() },
            SayOnOrOff,
            NotACommand { token: token() },
            BadTerm {
                token: token(),
                max: 3650,
            },
            NeedTerm,
            NotAMonth { token: token() },
            NotALanguage { token: token() },
        ];
        for why in [
            UpnProblem::NoAt,
            UpnProblem::LocalLength,
            UpnProblem::LocalCharacters,
            UpnProblem::LocalDots,
            UpnProblem::Domain,
        ] {
            all.push(BadUpn {
                token: token(),
                why,
            });
        }
        all
    }

    #[test]
    fn every_problem_is_said_in_every_language_by_the_catalogue() {
        for &language in Language::ALL {
            let texts = Texts::load(language);
            for problem in every_problem() {
                let said = problem.render(&texts);
                assert!(
                    !said.contains("parse.problem.") && !said.contains("parse.upn."),
                    "{language:?} has no words for {problem:?}: {said}"
                );
            }
        }
    }

    #[test]
    fn a_dutch_bot_says_what_is_wrong_in_dutch() {
        let said = ArgProblem::NeedSeats { max: 1000 }.render(&Texts::load(Language::Nl));
        assert_eq!(said, "geef een aantal plaatsen van 1 tot en met 1000");
        let said = ArgProblem::BadUpn {
            token: "bob@".into(),
            why: UpnProblem::Domain,
        }
        .render(&Texts::load(Language::Nl));
        assert_eq!(
            said,
            "`bob@` is geen geldige UPN: het domein moet een DNS-naam zijn, zoals contoso.com"
        );
    }
}
