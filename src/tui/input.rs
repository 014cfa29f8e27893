//! A one-line text input (the `/` filter and the `R` URL prompt): text, a cursor, and the
//! editing keys of a shell line. A pre-filled text can start selected, as in a browser's
//! address bar: the first character typed replaces it, a cursor key keeps it for editing.

use super::keymap::Action;

/// Text being typed, with the cursor as a character index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// What was typed.
    pub text: String,
    /// Cursor position, in characters (0 = before the first).
    pub cursor: usize,
    /// The whole text is selected: typing replaces it, deleting clears it.
    pub selected: bool,
}

impl Input {
    /// An input holding `text`, cursor at the end.
    pub fn with(text: &str) -> Input {
        Input {
            text: text.to_string(),
            cursor: text.chars().count(),
            selected: false,
        }
    }

    /// An input holding `text` selected (a suggestion): the first character typed replaces it.
    pub fn selected(text: &str) -> Input {
        Input {
            selected: !text.is_empty(),
            ..Input::with(text)
        }
    }

    /// Drops a selected text (before typing over it or deleting it).
    fn take_selection(&mut self) -> bool {
        if !std::mem::take(&mut self.selected) {
            return false;
        }
        *self = Input::default();
        true
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Types `c` at the cursor.
    pub fn insert(&mut self, c: char) {
        self.take_selection();
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Applies an editing action; returns whether the text changed.
    pub fn edit(&mut self, action: Action) -> bool {
        if self.selected {
            match action {
                Action::DeleteBack
                | Action::DeleteForward
                | Action::DeleteWord
                | Action::ClearInput => return self.take_selection(),
                // A cursor key keeps the text, to edit it.
                _ => self.selected = false,
            }
        }
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

    #[test]
    fn a_selected_suggestion_is_replaced_by_typing() {
        let mut i = Input::selected("http://127.0.0.1:43189");
        for c in "localhost:43117".chars() {
            i.insert(c);
        }
        assert_eq!((i.text.as_str(), i.cursor), ("localhost:43117", 15));
        assert!(!i.selected);
        // Backspace clears it whole.
        let mut i = Input::selected("http://a");
        assert!(i.edit(Action::DeleteBack));
        assert_eq!(i, Input::default());
        // A cursor key keeps it for editing.
        let mut i = Input::selected("http://a:1");
        i.edit(Action::CursorEnd);
        i.insert('2');
        assert_eq!(i.text, "http://a:12");
        let mut i = Input::selected("http://a");
        i.edit(Action::CursorHome);
        i.edit(Action::DeleteForward);
        assert_eq!(i.text, "ttp://a");
        // Nothing to select in an empty suggestion.
        assert!(!Input::selected("").selected);
    }
}
