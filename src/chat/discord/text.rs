//! Fitting text into Discord's limits: a message holds at most 2,000 characters.

/// The most characters Discord accepts in a message's content.
pub const MAX_CONTENT: usize = 2000;

/// What marks a cut.
const ELLIPSIS: char = '…';

/// Length as Discord may count it: UTF-16 code units, which is never less than the number
/// of characters, so text that fits by this measure fits Discord's.
fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `text` shortened to at most `max` units, cut at a character boundary and never inside a
/// mention or custom emoji (`<@123>`, `<:name:1>`), with `…` where it was cut.
fn cut(text: &str, max: usize) -> String {
    if units(text) <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(1);
    let mut end = 0;
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let w = c.len_utf16();
        if used + w > budget {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    let mut head = &text[..end];
    // An unclosed `<…` at the end would show as broken markup: drop it.
    if let Some(open) = head.rfind('<') {
        if !head[open..].contains('>') {
            head = &head[..open];
        }
    }
    let mut out = head.trim_end().to_string();
    out.push(ELLIPSIS);
    out
}

/// Fits a message into [`MAX_CONTENT`]. The last line (an approval message's status, a
/// reply's point) is kept whole when it is short, and the text before it is shortened.
pub fn fit(text: &str) -> String {
    fit_to(text, MAX_CONTENT)
}

/// [`fit`] with another limit.
pub fn fit_to(text: &str, max: usize) -> String {
    if units(text) <= max {
        return text.to_string();
    }
    if let Some((body, last)) = text.rsplit_once('\n') {
        let tail = units(last) + 1;
        if tail <= max / 4 {
            return format!("{}\n{last}", cut(body, max - tail));
        }
    }
    cut(text, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(fit("hello"), "hello");
    }

    #[test]
    fn long_text_keeps_its_status_line() {
        let body = "x".repeat(3000);
        let text = format!("{body}\nApproved by <@123>.");

        let out = fit(&text);

        assert!(units(&out) <= MAX_CONTENT);
        assert!(out.ends_with("…\nApproved by <@123>."), "{out}");
    }

    #[test]
    fn a_cut_never_splits_a_mention() {
        let text = format!("{}<@123456789012345678> more", "a".repeat(1990));

        let out = fit(&text);

        assert!(!out.contains("<@1"), "{out}");
        assert!(out.ends_with('…'));
    }

    #[test]
    fn wide_characters_count_as_discord_counts_them() {
        let text = "😀".repeat(1500);

        let out = fit(&text);

        assert!(units(&out) <= MAX_CONTENT);
        assert!(out.chars().count() <= MAX_CONTENT);
    }

    proptest! {
        #[test]
        fn anything_fits(text in "(\\PC|\n){0,3000}") {
            let out = fit(&text);
            prop_assert!(units(&out) <= MAX_CONTENT);
            if units(&text) <= MAX_CONTENT {
                prop_assert_eq!(out, text);
            }
        }
    }
}
