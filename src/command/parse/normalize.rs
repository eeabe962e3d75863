//! Text clean-up ahead of parsing: drops invisible characters, folds smart quotes to ASCII
//! and turns every kind of space into one ASCII space between tokens.

/// Normalises at most `max_chars` characters of `text`.
///
/// Invisible formatting characters are removed (so `req\u{200B}uest` reads `request`),
/// typographic quotes become `'` or `"`, and each run of Unicode spaces, tabs and line
/// breaks becomes a single ASCII space; the result has no leading or trailing space.
/// Work and allocation are bounded by `max_chars`, whatever the length of `text`.
pub(super) fn normalize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars));
    let mut space_pending = false;
    for c in text.chars().take(max_chars) {
        if is_invisible(c) {
            continue;
        }
        if is_space(c) {
            space_pending = true;
            continue;
        }
        if space_pending && !out.is_empty() {
            out.push(' ');
        }
        space_pending = false;
        out.push(fold_quote(c));
    }
    out
}

/// True for characters that render as nothing but would split or disguise a word.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'              // soft hyphen
            | '\u{061C}'        // Arabic letter mark (a bidi control like U+200E)
            | '\u{180E}'        // Mongolian vowel separator
            | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}' // byte-order mark / zero-width no-break space
    )
}

/// True for characters that separate tokens: ASCII and Unicode white space.
fn is_space(c: char) -> bool {
    // `char::is_whitespace` already covers the no-break and typographic spaces; they are
    // listed so the intent survives any change in the Unicode tables.
    c.is_whitespace()
        || matches!(
            c,
            '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
        )
}

/// Folds typographic quotes, primes and guillemets to their ASCII counterparts.
fn fold_quote(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => '"',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_width_characters_inside_a_word_are_removed() {
        assert_eq!(normalize("req\u{200B}ue\u{FEFF}st", 100), "request");
        assert_eq!(
            normalize("a\u{00AD}b\u{202E}c\u{2066}d\u{180E}e", 100),
            "abcde"
        );
    }

    #[test]
    fn unicode_spaces_tabs_and_newlines_become_one_space() {
        let text = "\u{3000} a\u{00A0}\u{00A0}b\tc\r\nd\u{2009}e\u{202F}f\u{205F}g  ";
        assert_eq!(normalize(text, 100), "a b c d e f g");
    }

    #[test]
    fn zero_width_between_spaces_does_not_leave_a_double_space() {
        assert_eq!(normalize("a \u{200B} b", 100), "a b");
    }

    #[test]
    fn smart_quotes_become_ascii() {
        assert_eq!(
            normalize(
                "\u{201C}x\u{201D} \u{2018}y\u{2019} \u{00AB}z\u{00BB} \u{201E}w\u{201F}",
                100
            ),
            "\"x\" 'y' \"z\" \"w\""
        );
        assert_eq!(normalize("o\u{2019}brien", 100), "o'brien");
    }

    #[test]
    fn look_alike_characters_are_kept_as_they_are() {
        assert_eq!(
            normalize("\u{FF01}pro !pr\u{043E}", 100),
            "\u{FF01}pro !pr\u{043E}"
        );
    }

    #[test]
    fn only_the_first_max_chars_are_read() {
        assert_eq!(normalize("abcdef", 3), "abc");
        assert_eq!(normalize(&"x".repeat(1_000_000), 10).len(), 10);
    }

    #[test]
    fn blank_text_becomes_empty() {
        assert_eq!(normalize(" \u{200B}\t\u{3000} ", 100), "");
    }
}
