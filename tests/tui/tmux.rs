//! A tmux server of the tests' own: start the real binary in a window, read its screen with
//! `capture-pane` as a person would, send it keys.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(20);

/// A tmux server of its own (`-L`), so the tests never touch the user's sessions.
pub struct Tmux {
    socket: String,
    started: std::cell::Cell<bool>,
}

impl Tmux {
    pub fn available() -> bool {
        let found = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        // CI installs tmux (`.ci/run` sets HOOKTAP_REQUIRE_TMUX): there a missing tmux is a
        // failure, not a skip. Elsewhere the test says it was skipped.
        if !found && std::env::var_os("HOOKTAP_REQUIRE_TMUX").is_some() {
            panic!("tmux is required here (HOOKTAP_REQUIRE_TMUX is set) but not installed");
        }
        if !found {
            eprintln!(
                "SKIPPED: tmux is not installed, so the terminal UI was not tested end to end"
            );
        }
        found
    }

    pub fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("hooktap-{name}-{}", std::process::id()),
            started: std::cell::Cell::new(false),
        }
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `command` in a new window `name` of a 100x30 terminal. After it exits, the shell
    /// prints its exit code and whether the terminal is back in cooked mode.
    pub fn start(&self, name: &str, command: &str, data: &Path) {
        let script = format!(
            "export XDG_DATA_HOME='{0}' XDG_STATE_HOME='{0}' TERM=xterm-256color HOOKTAP_LOG=hooktap::tui=debug \
             EDITOR=\"sed -i s/Account/Edited/\"; unset HOOKTAP_DB VISUAL; {command}; \
             echo EXITED $?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo; sleep 600",
            data.display()
        );
        if !self.started.replace(true) {
            self.run(&[
                "new-session",
                "-d",
                "-s",
                "t",
                "-n",
                name,
                "-x",
                "100",
                "-y",
                "30",
                &script,
            ]);
        } else {
            self.run(&["new-window", "-d", "-t", "t", "-n", name, &script]);
        }
    }

    pub fn screen(&self, window: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", &format!("t:{window}")])
    }

    pub fn keys(&self, window: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t"];
        let target = format!("t:{window}");
        args.push(&target);
        args.extend(keys);
        self.run(&args);
    }

    /// Waits until the window's screen satisfies `check`; fails with the screen otherwise.
    pub fn wait_for<T>(&self, window: &str, what: &str, check: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen(window);
            if let Some(v) = check(&screen) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not on screen within {WAIT:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn alternate_screen(&self, window: &str) -> bool {
        self.run(&[
            "display",
            "-p",
            "-t",
            &format!("t:{window}"),
            "#{alternate_on}",
        ])
        .trim()
            == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
