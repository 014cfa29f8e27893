//! The terminal: raw mode, the alternate screen and mouse reporting while the TUI is up, and
//! always restored (on quit, on error, and on panic). Key presses are read on their own thread,
//! which pauses while `$EDITOR` has the terminal.

use std::io::{Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use anyhow::Context;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use tokio::sync::mpsc;

/// How long the input thread waits for a key before checking whether to pause or stop.
const POLL: Duration = Duration::from_millis(30);

enum Control {
    /// Stop reading and say so on the channel given.
    Pause(std_mpsc::Sender<()>),
    Resume,
    Stop(std_mpsc::Sender<()>),
}

/// The terminal while the TUI owns it. Dropping it gives the terminal back.
pub struct Term {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    control: std_mpsc::Sender<Control>,
    active: bool,
}

/// Whether the terminal is in the UI's state now, so restoring twice (panic hook, then the
/// guard while unwinding) does not leave the main screen twice: that would move the cursor back
/// over the panic message.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was: cooked mode, main screen, no mouse reporting, cursor on.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
}

fn setup() -> std::io::Result<()> {
    ACTIVE.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
}

impl Term {
    /// Takes over the terminal and starts reading input; events arrive on the receiver.
    pub fn enter() -> anyhow::Result<(Term, mpsc::Receiver<Event>)> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            // A panic anywhere restores the terminal before the message is printed.
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        if let Err(e) = setup() {
            restore();
            return Err(e).context("cannot set up the terminal for the UI (try --no-tui)");
        }
        let terminal = match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e).context("cannot draw on this terminal (try --no-tui)");
            }
        };
        let (events, rx) = mpsc::channel(256);
        let (control, control_rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("hooktap-tui-input".into())
            .spawn(move || read_input(events, control_rx))
            .context("cannot start the input thread")?;
        Ok((
            Term {
                terminal,
                control,
                active: true,
            },
            rx,
        ))
    }

    /// The terminal's size in columns and rows.
    pub fn size(&self) -> (u16, u16) {
        self.terminal
            .size()
            .map(|s| (s.width, s.height))
            .unwrap_or((80, 24))
    }

    /// Draws one frame.
    pub fn draw(&mut self, app: &super::app::App) -> anyhow::Result<()> {
        self.terminal
            .draw(|frame| super::view::draw(frame, app))
            .context("cannot draw the UI")?;
        Ok(())
    }

    /// Writes an escape sequence straight to the terminal (OSC 52).
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let out = self.terminal.backend_mut();
        out.write_all(bytes)?;
        out.flush()
    }

    /// Gives the terminal to `f` (an editor) and takes it back afterwards.
    pub fn suspend<T>(&mut self, f: impl FnOnce() -> T) -> anyhow::Result<T> {
        let (ack, acked) = std_mpsc::channel();
        if self.control.send(Control::Pause(ack)).is_ok() {
            let _ = acked.recv_timeout(Duration::from_secs(1));
        }
        restore();
        let result = f();
        setup().context("cannot take the terminal back after the editor")?;
        let _ = self.control.send(Control::Resume);
        self.terminal.clear().context("cannot redraw the UI")?;
        Ok(result)
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if self.active {
            self.active = false;
            // Stop reading first, so no key meant for the shell is swallowed.
            let (ack, acked) = std_mpsc::channel();
            if self.control.send(Control::Stop(ack)).is_ok() {
                let _ = acked.recv_timeout(Duration::from_millis(200));
            }
            restore();
        }
    }
}

fn read_input(events: mpsc::Sender<Event>, control: std_mpsc::Receiver<Control>) {
    loop {
        match control.try_recv() {
            Ok(Control::Pause(ack)) => {
                let _ = ack.send(());
                loop {
                    match control.recv() {
                        Ok(Control::Resume) => break,
                        Ok(Control::Pause(ack)) => {
                            let _ = ack.send(());
                        }
                        Ok(Control::Stop(ack)) => {
                            let _ = ack.send(());
                            return;
                        }
                        Err(_) => return,
                    }
                }
            }
            Ok(Control::Stop(ack)) => {
                let _ = ack.send(());
                return;
            }
            Ok(Control::Resume) | Err(std_mpsc::TryRecvError::Empty) => {}
            Err(std_mpsc::TryRecvError::Disconnected) => return,
        }
        match event::poll(POLL) {
            Ok(true) => match event::read() {
                Ok(ev) => {
                    if events.blocking_send(ev).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            Ok(false) => {}
            Err(_) => return,
        }
    }
}
