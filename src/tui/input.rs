//! A one-line text input (the `/` filter and the `R` URL prompt): text, a cursor, and the
//! editing keys of a shell line.

use super::keymap::Action;

/// Text being typed, with the cursor as a character index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// What was typed.
    pub text: String,
    /// Cursor position, in characters (0 = before the first).
    pub cursor: usize,
}

impl Input {
    /// An input holding `text`, cursor at the end.
    pub fn with(text: &str) -> Input {
        Input {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Types `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Applies an editing action; returns whether the text changed.
    pub fn edit(&mut self, action: Action) -> bool {
        let len = self.text.chars().count();
        match action {
            Action::DeleteBack if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                true
            }
            Action::DeleteForward if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                true
            }
            Action::CursorLeft => {
                self.cursor = self.cursor.saturating_sub(1);
                false
            }
            Action::CursorRight => {
                self.cursor = (self.cursor + 1).min(len);
                false
            }
            Action::CursorHome => {
                self.cursor = 0;
                false
            }
            Action::CursorEnd => {
                self.cursor = len;
                false
            }
            Action::ClearInput => {
                let changed = !self.text.is_empty();
                *self = Input::default();
                changed
            }
            Action::DeleteWord => {
                // Back over spaces, then over the word before them (like a shell's Ctrl-W).
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                if start == self.cursor {
                    return false;
                }
                let (from, to) = (self.byte_at(start), self.byte_at(self.cursor));
                self.text.replace_range(from..to, "");
                self.cursor = start;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_like_a_shell_line() {
        let mut i = Input::default();
        for c in "status:5xx".chars() {
            i.insert(c);
        }
        assert!(i.edit(Action::DeleteBack));
        assert_eq!(i.text, "status:5x");
        i.edit(Action::CursorHome);
        i.insert('-');
        assert_eq!((i.text.as_str(), i.cursor), ("-status:5x", 1));
        assert!(i.edit(Action::DeleteForward));
        assert_eq!(i.text, "-tatus:5x");
        i.edit(Action::CursorEnd);
        i.insert(' ');
        for c in "påth".chars() {
            i.insert(c);
        }
        assert!(i.edit(Action::DeleteWord));
        assert_eq!(i.text, "-tatus:5x ");
        assert!(i.edit(Action::DeleteWord));
        assert_eq!((i.text.as_str(), i.cursor), ("", 0));
        assert!(!i.edit(Action::DeleteBack));
        let mut i = Input::with("abc");
        assert_eq!(i.cursor, 3);
        i.edit(Action::CursorLeft);
        i.edit(Action::CursorLeft);
        i.edit(Action::CursorRight);
        assert_eq!(i.cursor, 2);
        assert!(i.edit(Action::ClearInput));
        assert_eq!(i, Input::default());
    }
}
