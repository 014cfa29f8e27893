//! What each key does, by mode: browsing, typing a filter, typing a replay URL, reading help.

use super::*;

impl App {
    pub(super) fn key(&mut self, press: Press) -> Option<Effect> {
        match self.mode {
            Mode::Help => {
                // Any key closes the help.
                self.mode = Mode::Browse;
                None
            }
            Mode::Filter => self.filter_key(press),
            Mode::Prompt => self.prompt_key(press),
            Mode::Browse => match press {
                Press::Action(a) => self.action(a),
                Press::Char(_) => None,
            },
        }
    }

    fn action(&mut self, action: Action) -> Option<Effect> {
        let list_rows = self.areas().list_rows().max(1) as isize;
        let detail_rows = self.areas().detail_rows().max(1) as isize;
        let on_list = self.focus == Focus::List;
        match action {
            Action::Down | Action::Up => {
                let step = if action == Action::Down { 1 } else { -1 };
                if on_list {
                    self.move_list(step)
                } else if self.tab == Tab::Deliveries {
                    self.pick_delivery(step);
                    None
                } else {
                    self.scroll_by(step);
                    None
                }
            }
            Action::PageDown | Action::PageUp => {
                let sign = if action == Action::PageDown { 1 } else { -1 };
                if on_list {
                    self.move_list(sign * list_rows)
                } else {
                    self.scroll_by(sign * detail_rows);
                    None
                }
            }
            Action::Top if on_list => {
                let prev = self.list.selected_id();
                let load = self.list.top(list_rows as usize);
                self.after_select(prev);
                load.map(|l| self.query(l))
            }
            Action::Bottom if on_list => {
                let prev = self.list.selected_id();
                let load = self.list.bottom(list_rows as usize);
                self.after_select(prev);
                load.map(|l| self.query(l))
            }
            Action::Top => {
                self.scroll = 0;
                None
            }
            Action::Bottom => {
                self.scroll = self.max_scroll();
                None
            }
            Action::SwitchPane => {
                self.focus = match self.focus {
                    Focus::List if self.list.selected_id().is_some() => Focus::Detail,
                    _ => Focus::List,
                };
                self.rebuild();
                None
            }
            Action::NextTab | Action::PrevTab => {
                let n = Tab::ALL.len();
                let step = if action == Action::NextTab { 1 } else { n - 1 };
                self.set_tab(Tab::ALL[(self.tab.index() + step) % n]);
                None
            }
            Action::ShowTab(i) => {
                self.set_tab(Tab::ALL[(i as usize).min(Tab::ALL.len() - 1)]);
                None
            }
            Action::Filter => {
                self.mode = Mode::Filter;
                self.filter_before = self.filter_text.clone();
                self.filter_input = Input::with(&self.filter_text);
                self.filter_error = None;
                None
            }
            Action::Replay | Action::ReplaySigned => {
                let id = self.selected_or_say()?;
                Some(self.replay(id, None, action == Action::ReplaySigned))
            }
            Action::ReplayTo | Action::ReplaySignedTo => {
                self.selected_or_say()?;
                // Offered only where this Store itself sent the Event: a Target an imported
                // file recorded (or one sent an edit of such an Event) is shown, never offered.
                let url = self
                    .detail
                    .as_ref()
                    .and_then(|d| crate::export::curl::last_target(&d.event, &d.deliveries))
                    .or_else(|| self.info.target.clone())
                    .unwrap_or_else(|| "http://localhost:3000".into());
                // Selected, so typing a URL replaces it instead of appending to it.
                self.prompt = Input::selected(&url);
                self.prompt_error = None;
                self.prompt_resign = action == Action::ReplaySignedTo;
                self.mode = Mode::Prompt;
                None
            }
            Action::Edit => {
                let id = self.selected_or_say()?;
                Some(Effect::Job(Job::EditText { id }))
            }
            Action::CopyCurl | Action::CopyBody => {
                let id = self.selected_or_say()?;
                let what = if action == Action::CopyCurl {
                    CopyWhat::Curl
                } else {
                    CopyWhat::Body
                };
                Some(Effect::Job(Job::Copy { id, what }))
            }
            Action::CopyUrl => match self.public_url() {
                Some(url) => Some(Effect::Clipboard(super::super::data::Clip {
                    label: "the public URL".into(),
                    bytes: url.into_bytes(),
                    file_name: "public-url.txt".into(),
                })),
                None => {
                    self.say(
                        "no public URL: start listen with --public cloudflared (docs/public-url.md)",
                        true,
                    );
                    None
                }
            },
            Action::Follow => {
                let prev = self.list.selected_id();
                self.focus = Focus::List;
                let load = self.list.follow(list_rows as usize);
                self.after_select(prev);
                load.map(|l| self.query(l))
            }
            Action::Diff => {
                self.toggle_diff();
                None
            }
            Action::Mark => {
                if self.tab == Tab::Deliveries {
                    self.mark = self.delivery_index();
                    if self.diff.is_some() {
                        self.diff = None;
                        self.toggle_diff();
                    } else if let (Some(i), Some(d)) = (self.mark, &self.detail) {
                        let id = d.deliveries[i].id;
                        self.say(
                            format!("Delivery #{id} marked: pick another with j/k, then d"),
                            false,
                        );
                    }
                    self.rebuild();
                }
                None
            }
            Action::Help => {
                self.mode = Mode::Help;
                None
            }
            Action::Back => {
                if self.focus == Focus::Detail {
                    self.focus = Focus::List;
                    self.rebuild();
                } else if self.diff.is_some() {
                    self.diff = None;
                    self.rebuild();
                } else {
                    self.message = None;
                }
                None
            }
            Action::Quit => {
                self.quit = true;
                Some(Effect::Quit)
            }
            Action::Submit
            | Action::Cancel
            | Action::DeleteBack
            | Action::DeleteForward
            | Action::CursorLeft
            | Action::CursorRight
            | Action::CursorHome
            | Action::CursorEnd
            | Action::ClearInput
            | Action::DeleteWord => None,
        }
    }

    /// The public URL from the `public` status line, once the tunnel has printed one.
    fn public_url(&self) -> Option<String> {
        self.lines
            .iter()
            .find(|(label, text)| label == "public" && text.starts_with("https://"))
            .map(|(_, text)| text.clone())
    }

    fn selected_or_say(&mut self) -> Option<i64> {
        let id = self.list.selected_id();
        if id.is_none() {
            self.say("no Event selected", true);
        }
        id
    }

    /// Says what is about to happen and hands the replay of `id` (to `to`, or the last Target)
    /// to a worker.
    fn replay(&mut self, id: i64, to: Option<Target>, resign: bool) -> Effect {
        let how = if resign {
            "re-signing and replaying"
        } else {
            "replaying"
        };
        let whither = to.as_ref().map(|t| format!(" to {t}")).unwrap_or_default();
        self.say(format!("{how} #{id}{whither}…"), false);
        Effect::Job(Job::Replay { id, to, resign })
    }

    /// Moves the list selection (keys, wheel), loading pages as needed.
    pub(super) fn move_list(&mut self, delta: isize) -> Option<Effect> {
        let prev = self.list.selected_id();
        let load = self.list.move_by(delta, self.areas().list_rows());
        self.after_select(prev);
        load.map(|l| self.query(l))
    }

    fn filter_key(&mut self, press: Press) -> Option<Effect> {
        match press {
            Press::Char(c) => {
                self.filter_input.insert(c);
                self.filter_changed()
            }
            Press::Action(Action::Submit) => {
                if self.filter_error.is_none() {
                    self.mode = Mode::Browse;
                }
                None
            }
            Press::Action(Action::Cancel) => {
                self.mode = Mode::Browse;
                self.filter_input = Input::with(&self.filter_before);
                self.filter_error = None;
                self.filter_changed()
            }
            Press::Action(a) => {
                if self.filter_input.edit(a) {
                    self.filter_changed()
                } else {
                    None
                }
            }
        }
    }

    /// The filter text changed: apply it if it parses (the list follows as you type), or show
    /// why not.
    fn filter_changed(&mut self) -> Option<Effect> {
        let text = self.filter_input.text.clone();
        match filter::parse_at(&text, self.clock.now) {
            Err(e) => {
                self.filter_error = Some(e);
                None
            }
            Ok(parsed) => {
                self.filter_error = None;
                if parsed == self.filter {
                    self.filter_text = text;
                    return None;
                }
                self.filter = parsed;
                self.filter_text = text;
                self.filter_gen += 1;
                self.total = None;
                self.searching = None;
                self.list.follow = true;
                if self.filter.needs_body() {
                    // A body search can take a while: show progress, not the old rows.
                    let prev = self.list.selected_id();
                    self.list.rows.clear();
                    (self.list.selected, self.list.offset) = (0, 0);
                    self.after_select(prev);
                }
                let load = self.list.reset();
                Some(self.query(load))
            }
        }
    }

    fn prompt_key(&mut self, press: Press) -> Option<Effect> {
        match press {
            Press::Char(c) => {
                self.prompt.insert(c);
                self.prompt_error = None;
                None
            }
            Press::Action(Action::Submit) => match Target::parse(self.prompt.text.trim()) {
                Ok(to) => {
                    self.mode = Mode::Browse;
                    let id = self.selected_or_say()?;
                    Some(self.replay(id, Some(to), self.prompt_resign))
                }
                Err(e) => {
                    self.prompt_error = Some(e);
                    None
                }
            },
            Press::Action(Action::Cancel) => {
                self.mode = Mode::Browse;
                None
            }
            Press::Action(a) => {
                if self.prompt.edit(a) {
                    self.prompt_error = None;
                }
                None
            }
        }
    }
}
