//! The table itself: every binding of the UI, in the order the help screen lists them.

use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use super::{Action, Binding, Context, Key};

const fn key(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

const fn bind(
    keys: &'static [Key],
    context: Context,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        context,
        action,
        help,
    }
}

use Action as A;
use Context::{Browse, Input};

/// The keymap. Earlier rows win when a key appears twice in one context.
pub const KEYMAP: &[Binding] = &[
    bind(
        &[key('j'), code(KeyCode::Down)],
        Browse,
        A::Down,
        "next Event / line",
    ),
    bind(
        &[key('k'), code(KeyCode::Up)],
        Browse,
        A::Up,
        "previous Event / line",
    ),
    bind(
        &[key('g'), code(KeyCode::Home)],
        Browse,
        A::Top,
        "newest / top",
    ),
    bind(
        &[key('G'), code(KeyCode::End)],
        Browse,
        A::Bottom,
        "oldest / bottom",
    ),
    bind(
        &[code(KeyCode::PageUp), ctrl('b')],
        Browse,
        A::PageUp,
        "page up",
    ),
    bind(
        &[code(KeyCode::PageDown), ctrl('f')],
        Browse,
        A::PageDown,
        "page down",
    ),
    bind(
        &[code(KeyCode::Enter)],
        Browse,
        A::SwitchPane,
        "list ⇄ detail pane",
    ),
    bind(
        &[code(KeyCode::Tab), key('l'), code(KeyCode::Right)],
        Browse,
        A::NextTab,
        "next tab",
    ),
    bind(
        &[code(KeyCode::BackTab), key('h'), code(KeyCode::Left)],
        Browse,
        A::PrevTab,
        "previous tab",
    ),
    bind(&[key('1')], Browse, A::ShowTab(0), "tab by number"),
    // No help text: the keys join the row above in the help.
    bind(&[key('2')], Browse, A::ShowTab(1), ""),
    bind(&[key('3')], Browse, A::ShowTab(2), ""),
    bind(&[key('4')], Browse, A::ShowTab(3), ""),
    bind(&[key('/')], Browse, A::Filter, "filter"),
    bind(&[key('r')], Browse, A::Replay, "replay to its Target"),
    bind(&[key('R')], Browse, A::ReplayTo, "replay to a URL"),
    bind(&[key('s')], Browse, A::ReplaySigned, "replay re-signed"),
    bind(&[key('S')], Browse, A::ReplaySignedTo, "re-signed to a URL"),
    bind(&[key('e')], Browse, A::Edit, "edit in $EDITOR, send"),
    bind(&[key('c')], Browse, A::CopyCurl, "copy as curl"),
    bind(&[key('y')], Browse, A::CopyBody, "copy the body"),
    bind(&[key('u')], Browse, A::CopyUrl, "copy the public URL"),
    bind(&[key('f')], Browse, A::Follow, "follow the newest"),
    bind(&[key('d')], Browse, A::Diff, "diff two Deliveries"),
    bind(&[key(' ')], Browse, A::Mark, "mark a Delivery"),
    bind(&[key('?')], Browse, A::Help, "this help"),
    bind(&[code(KeyCode::Esc)], Browse, A::Back, "back, close"),
    bind(&[key('q'), ctrl('c')], Browse, A::Quit, "quit"),
    bind(&[code(KeyCode::Enter)], Input, A::Submit, "apply"),
    bind(&[code(KeyCode::Esc), ctrl('c')], Input, A::Cancel, "cancel"),
    bind(
        &[code(KeyCode::Backspace), ctrl('h')],
        Input,
        A::DeleteBack,
        "delete back",
    ),
    bind(
        &[code(KeyCode::Delete), ctrl('d')],
        Input,
        A::DeleteForward,
        "delete",
    ),
    bind(&[code(KeyCode::Left)], Input, A::CursorLeft, "cursor left"),
    bind(
        &[code(KeyCode::Right)],
        Input,
        A::CursorRight,
        "cursor right",
    ),
    bind(
        &[code(KeyCode::Home), ctrl('a')],
        Input,
        A::CursorHome,
        "start of line",
    ),
    bind(
        &[code(KeyCode::End), ctrl('e')],
        Input,
        A::CursorEnd,
        "end of line",
    ),
    bind(&[ctrl('u')], Input, A::ClearInput, "clear"),
    bind(&[ctrl('w')], Input, A::DeleteWord, "delete a word"),
];
