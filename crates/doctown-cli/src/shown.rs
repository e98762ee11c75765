//! Text from repositories and archives made safe to print: a file name can hold escape
//! sequences that clear a terminal, move its cursor or set its title.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character but the newline written as an escape (`\u{1b}`), so
/// printing it cannot drive the terminal; text without one is returned as it is.
pub(crate) fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut safe = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hazard(c) {
            // Writing to a String cannot fail.
            let _ = write!(safe, "{}", c.escape_unicode());
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

/// C0 and C1 controls and DEL, but the newline (which only starts a line).
fn is_hazard(c: char) -> bool {
    c.is_control() && c != '\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(shown("src/lib.rs"), Cow::Borrowed("src/lib.rs")));
        assert_eq!(shown("café/ñ.rs"), "café/ñ.rs");
        assert_eq!(
            shown("a\u{1b}]0;pwned\u{7}b\u{1b}[2J\r\u{9b}c"),
            "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2J\\u{d}\\u{9b}c"
        );
        assert_eq!(shown("two\nlines\tand\u{7f}"), "two\nlines\\u{9}and\\u{7f}");
    }
}
