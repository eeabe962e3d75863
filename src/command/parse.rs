//! Placeholder: the parser is being written.
use super::*;
/// Parser settings.
pub struct ParserConfig;
/// Parses a message.
pub fn parse_message(_text: &str, _cfg: &ParserConfig) -> Parsed {
    Parsed::Ignore
}
/// Parses a reaction.
pub fn parse_reaction(_emoji: &str, _approve: &[String], _deny: &[String]) -> Option<Verdict> {
    None
}
