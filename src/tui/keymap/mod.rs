//! The keymap: one table from keys to [`Action`]s, per [`Context`]. The help screen (`?`) shows
//! this same table, so what it says is what the keys do.

mod table;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

pub use table::KEYMAP;

/// What a key asks for. The app's `update` gives each one its meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `k`, ↑: the previous Event, or line.
    Up,
    /// `j`, ↓: the next Event, or line.
    Down,
    /// `g`: the newest Event, or the top.
    Top,
    /// `G`: the oldest Event, or the bottom.
    Bottom,
    /// A screenful up.
    PageUp,
    /// A screenful down.
    PageDown,
    /// Enter: the list and the detail pane trade focus.
    SwitchPane,
    /// The next detail tab.
    NextTab,
    /// The previous detail tab.
    PrevTab,
    /// A tab by number (0-based).
    ShowTab(u8),
    /// `/`: type a filter.
    Filter,
    /// `r`: replay to the last Target.
    Replay,
    /// `R`: replay to a URL typed in.
    ReplayTo,
    /// `s`: re-sign with the provider's secret, then replay to the last Target.
    ReplaySigned,
    /// `S`: re-sign, then replay to a URL typed in.
    ReplaySignedTo,
    /// `e`: edit in $EDITOR, then send.
    Edit,
    /// `c`: copy as curl.
    CopyCurl,
    /// `y`: copy the body.
    CopyBody,
    /// `u`: copy the public URL (`listen --public`).
    CopyUrl,
    /// `f`: follow the newest Event.
    Follow,
    /// `d`: compare two Deliveries.
    Diff,
    /// Marks the selected Delivery as one side of the diff.
    Mark,
    /// `?`: the key table.
    Help,
    /// Esc: close what is open, or go back to the list.
    Back,
    /// `q`, Ctrl-C: leave.
    Quit,
    // Text input (filter and prompt).
    /// Enter: apply what was typed.
    Submit,
    /// Esc: drop what was typed.
    Cancel,
    /// Delete the character before the cursor.
    DeleteBack,
    /// Delete the character at the cursor.
    DeleteForward,
    /// Move the cursor left.
    CursorLeft,
    /// Move the cursor right.
    CursorRight,
    /// To the start of the line.
    CursorHome,
    /// To the end of the line.
    CursorEnd,
    /// Clear the line.
    ClearInput,
    /// Delete the word before the cursor.
    DeleteWord,
}

/// Which keys apply: browsing, or typing into the filter or a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// The list and the detail pane.
    Browse,
    /// A one-line text input (`/` filter, `R` URL).
    Input,
    /// The help screen: any key closes it.
    Help,
}

/// One key: a code and the modifiers it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl, Alt (Shift is part of the character).
    pub mods: KeyModifiers,
}

/// One row of the table: the keys, where they apply, what they do, and the help text.
pub struct Binding {
    /// Every key that does it.
    pub keys: &'static [Key],
    /// Where the keys apply.
    pub context: Context,
    /// What they do.
    pub action: Action,
    /// The help text (empty: the keys join the row above).
    pub help: &'static str,
}

/// What a key press means in `context`: an action from the table, a character typed into an
/// input, or nothing. Releases and repeats-as-release are ignored.
pub fn lookup(context: Context, event: KeyEvent) -> Option<Press> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if context == Context::Help {
        return Some(Press::Action(Action::Back));
    }
    // Shift is part of the character itself ('G', '?'), so it is not matched as a modifier.
    let mods = event.modifiers - KeyModifiers::SHIFT;
    let action = KEYMAP.iter().find(|b| {
        b.context == context
            && b.keys
                .iter()
                .any(|k| k.code == event.code && k.mods == mods)
    });
    if let Some(b) = action {
        return Some(Press::Action(b.action));
    }
    match (context, event.code) {
        (Context::Input, KeyCode::Char(c))
            if !mods.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(Press::Char(c))
        }
        _ => None,
    }
}

/// The meaning of one key press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Press {
    /// A key from the table.
    Action(Action),
    /// A character typed into an input.
    Char(char),
}

/// How a key is written in the help: `j`, `↓`, `PgUp`, `Ctrl-c`.
pub fn describe(k: &Key) -> String {
    let name = match k.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Delete => "Del".into(),
        other => format!("{other:?}"),
    };
    if k.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{name}")
    } else {
        name
    }
}

/// The help table's rows for `context`: keys written out, and what they do. A row without help
/// text lends its keys to the row above.
pub fn help_rows(context: Context) -> Vec<(String, &'static str)> {
    let mut rows: Vec<(String, &'static str)> = Vec::new();
    for b in KEYMAP.iter().filter(|b| b.context == context) {
        let keys: Vec<String> = b.keys.iter().map(describe).collect();
        match rows.last_mut() {
            Some((prev, _)) if b.help.is_empty() => {
                prev.push(' ');
                prev.push_str(&keys.join(" "));
            }
            _ => rows.push((keys.join(" "), b.help)),
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Context::{Browse, Input};

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn every_browse_key_finds_its_action() {
        for b in KEYMAP.iter().filter(|b| b.context == Browse) {
            for k in b.keys {
                let found = lookup(Browse, press(k.code, k.mods));
                // A key listed twice belongs to the first row; no such key may exist.
                assert_eq!(found, Some(Press::Action(b.action)), "{}", describe(k));
            }
        }
    }

    #[test]
    fn shifted_letters_and_ctrl_c() {
        assert_eq!(
            lookup(Browse, press(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Press::Action(A::Bottom))
        );
        assert_eq!(
            lookup(Browse, press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Press::Action(A::Quit))
        );
        assert_eq!(
            lookup(Browse, press(KeyCode::Char('c'), KeyModifiers::NONE)),
            Some(Press::Action(A::CopyCurl))
        );
        assert_eq!(
            lookup(Browse, press(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn inputs_take_characters_but_not_control_keys() {
        assert_eq!(
            lookup(Input, press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Press::Char('q'))
        );
        assert_eq!(
            lookup(Input, press(KeyCode::Char(':'), KeyModifiers::SHIFT)),
            Some(Press::Char(':'))
        );
        assert_eq!(
            lookup(Input, press(KeyCode::Char('u'), KeyModifiers::CONTROL)),
            Some(Press::Action(A::ClearInput))
        );
        assert_eq!(
            lookup(Input, press(KeyCode::Char('x'), KeyModifiers::CONTROL)),
            None
        );
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            ..press(KeyCode::Char('q'), KeyModifiers::NONE)
        };
        assert_eq!(lookup(Browse, release), None);
        assert_eq!(
            lookup(Context::Help, press(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Press::Action(A::Back))
        );
    }

    #[test]
    fn help_lists_every_browse_binding_once() {
        let rows = help_rows(Browse);
        let with_help = KEYMAP
            .iter()
            .filter(|b| b.context == Browse && !b.help.is_empty());
        assert_eq!(rows.len(), with_help.count());
        assert!(rows.contains(&("j ↓".to_string(), "next Event / line")));
        assert!(rows.contains(&("1 2 3 4".to_string(), "tab by number")));
        assert!(rows.contains(&("q Ctrl-c".to_string(), "quit")));
    }
}
