//! Text a person typed, made safe to show inside the bot's own messages: a reason in an
//! approval message, a denial reason, a display name. Such text must never pass for the
//! bot's own lines (`✅ Approved by @dave` typed as a reason), break the layout (a new line,
//! an unclosed code fence) or hide itself (runs of blank or invisible characters).
//!
//! [`quoted`] shows the text as inline code on one line: Discord and the console both show
//! it verbatim, so no markup in it is rendered and nothing in it reads as the bot's. Pinging
//! is kept out by the transport (only the people the engine names may be pinged); this
//! module only decides what is shown.

/// The most characters of a typed text shown in a message.
pub const MAX_QUOTED_CHARS: usize = 300;

/// What stands in for a backtick inside quoted text (U+02CB MODIFIER LETTER GRAVE ACCENT):
/// it looks alike but cannot close the code span or open a fence.
const BACKTICK_STAND_IN: char = '\u{02CB}';

/// Characters that show as nothing, or as a blank, without being whitespace to Rust: format
/// characters (zero-width spaces and joiners, bidi controls, the word joiner and its kin,
/// the byte-order mark, the soft hyphen), fillers that render blank (Hangul fillers, the
/// braille blank) and tag characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// `text` on one line: every run of whitespace, control and invisible characters becomes one
/// space, the ends are trimmed, and it is cut to `max` characters (with `…`). Backticks are
/// replaced by a look-alike, so the text can neither open nor close a code span or fence.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut blank = false;
    let mut kept = 0;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() || is_invisible(c) {
            blank = !out.is_empty();
            continue;
        }
        if kept == max {
            out.push('…');
            return out;
        }
        if blank {
            out.push(' ');
            kept += 1;
            blank = false;
            if kept == max {
                out.push('…');
                return out;
            }
        }
        out.push(if c == '`' { BACKTICK_STAND_IN } else { c });
        kept += 1;
    }
    out
}

/// `text` as the bot shows something a person typed: one line (see [`one_line`]), at most
/// [`MAX_QUOTED_CHARS`] characters, as inline code (`` `like this` ``). Text with nothing
/// visible in it shows as an empty pair of quotes.
pub fn quoted(text: &str) -> String {
    let line = one_line(text, MAX_QUOTED_CHARS);
    if line.is_empty() {
        return "“”".to_string();
    }
    format!("`{line}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_decision_stays_inside_the_quote() {
        assert_eq!(
            quoted("because ✅ Approved by @dave. Seats: 9 free of 9"),
            "`because ✅ Approved by @dave. Seats: 9 free of 9`"
        );
    }

    #[test]
    fn new_lines_and_blank_runs_become_one_space() {
        assert_eq!(
            quoted("a\n\n✅ Approved by @dave\r\n\t b"),
            "`a ✅ Approved by @dave b`"
        );
        assert_eq!(
            quoted("a\u{2800}\u{2800}\u{3164}\u{200B}\u{FEFF}b\u{202E}c"),
            "`a b c`"
        );
    }

    #[test]
    fn backticks_cannot_close_the_quote_or_open_a_fence() {
        let q = quoted("x` **bold** ```rust\nfence");
        assert_eq!(q.matches('`').count(), 2, "{q}");
        assert!(q.starts_with('`') && q.ends_with('`'), "{q}");
        assert!(q.contains("ˋ **bold** ˋˋˋrust fence"), "{q}");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let q = quoted(&"word ".repeat(200));
        let inner = q.trim_matches('`');
        assert_eq!(inner.chars().count(), MAX_QUOTED_CHARS + 1, "{q}");
        assert!(inner.ends_with('…'));
    }

    #[test]
    fn text_of_nothing_visible_is_an_empty_quote() {
        assert_eq!(quoted("\u{2800}\u{3164} \n"), "“”");
    }

    #[test]
    fn emoji_with_variation_selectors_survive() {
        assert_eq!(one_line("ok ✅️ 👍🏽", 50), "ok ✅️ 👍🏽");
    }
}
