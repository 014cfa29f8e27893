//! Fake `cloudflared`, `ngrok` and `ssh` on a PATH of the test's own: each checks nothing
//! itself but records its arguments and pid, prints exactly what the real tool prints (on the
//! stream the real one uses), and then waits (`exec sleep`, so the pid it wrote is the process
//! hooktap must end). The test then sends requests to the port the fake was given.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{Binary, hooktap};

/// A folder with the fakes, and what they record: `runs` (a count), `pid`, `args`.
pub struct Fakes {
    pub dir: tempfile::TempDir,
}

const PROLOGUE: &str = r#"#!/bin/sh
d="$(dirname "$0")"
n=$(cat "$d/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/runs"
printf '%s\n' "$@" > "$d/args"
echo $$ > "$d/pid.tmp" && mv "$d/pid.tmp" "$d/pid"
"#;

const CLOUDFLARED: &str = r#"
if [ "$FAKE_MODE" = silent ]; then
  echo "2026-12-07T02:00:00Z INF Requesting new quick Tunnel on trycloudflare.com..." >&2
  exec sleep 1000
fi
echo "2026-12-07T02:00:00Z INF Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out. However, be aware that these account-less Tunnels have no uptime guarantee. If you intend to use Tunnels in production you should use a pre-created named tunnel by following: https://developers.cloudflare.com/cloudflare-one/connections/connect-apps" >&2
echo "2026-12-07T02:00:00Z INF Requesting new quick Tunnel on trycloudflare.com..." >&2
echo "2026-12-07T02:00:00Z INF +--------------------------------------------------------------------------------------------+" >&2
echo "2026-12-07T02:00:00Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |" >&2
echo "2026-12-07T02:00:00Z INF |  https://quiet-forest-$n.trycloudflare.com                                               |" >&2
echo "2026-12-07T02:00:00Z INF +--------------------------------------------------------------------------------------------+" >&2
exec sleep 1000
"#;

const NGROK: &str = r#"
echo '{"addr":"","lvl":"info","msg":"no configuration paths supplied","obj":"config","t":"2026-12-07T02:00:00Z"}'
if [ "$FAKE_MODE" = refuse ]; then
  echo '{"err":"authentication failed: Usage of ngrok requires a verified account and authtoken.\n\nSign up for an account: https://dashboard.ngrok.com/signup\nInstall your authtoken: https://dashboard.ngrok.com/get-started/your-authtoken\r\n\r\nERR_NGROK_4018\r\n","lvl":"eror","msg":"session closing","obj":"tunnels.session","t":"2026-12-07T02:00:00Z"}'
  echo "ERROR:  authentication failed: Usage of ngrok requires a verified account and authtoken." >&2
  echo "ERROR:  ERR_NGROK_4018" >&2
  exit 1
fi
echo '{"lvl":"info","msg":"client session established","obj":"tunnels.session","t":"2026-12-07T02:00:00Z"}'
echo "{\"addr\":\"http://localhost:$2\",\"lvl\":\"info\",\"msg\":\"started tunnel\",\"name\":\"command_line\",\"obj\":\"tunnels\",\"t\":\"2026-12-07T02:00:00Z\",\"url\":\"https://abcd-$n.ngrok-free.dev\"}"
exec sleep 1000
"#;

const SSH: &str = r#"
for last; do :; done
case "$last" in
  nokey@localhost.run)
    echo "===============================================================================";
    echo "Welcome to localhost.run!"
    echo "Follow your favourite reverse tunnel at [https://twitter.com/localhost_run]."
    echo ""
    echo "3f2a1b$n.lhr.life tunneled with tls termination, https://3f2a1b$n.lhr.life";;
  a.pinggy.io)
    echo "You are not authenticated."
    echo "Your tunnel will expire in 60 minutes. Upgrade to Pinggy Pro to get unrestricted tunnels. https://dashboard.pinggy.io"
    echo "http://rnxyz$n-1-2-3-4.a.free.pinggy.link"
    echo "https://rnxyz$n-1-2-3-4.a.free.pinggy.link";;
  *) echo "ssh: unexpected destination $last" >&2; exit 255;;
esac
exec sleep 1000
"#;

impl Fakes {
    /// The fakes, written into a new temp folder.
    pub fn new() -> Fakes {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [("cloudflared", CLOUDFLARED), ("ngrok", NGROK), ("ssh", SSH)] {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("{PROLOGUE}{body}")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fakes { dir }
    }

    /// `PATH` with the fakes first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The arguments the last fake got, one per element.
    pub fn args(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.file("args")).unwrap_or_default();
        text.lines().map(String::from).collect()
    }

    /// How many times a fake was started.
    pub fn runs(&self) -> u32 {
        let text = std::fs::read_to_string(self.file("runs")).unwrap_or_default();
        text.trim().parse().unwrap_or(0)
    }

    /// The pid of the last fake started.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.file("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// `hooktap listen ... --public TOOL EXTRA` with the fakes first on PATH and `env` set.
pub fn command(
    fakes: &Fakes,
    db: &Path,
    target: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Command {
    let mut cmd = hooktap();
    cmd.args(crate::common::listen_args(target, db))
        .args(extra)
        .env("PATH", fakes.path())
        .env("HOOKTAP_PUBLIC_TIMEOUT", "20s")
        .env_remove("AYRSHARE_API_KEY")
        .env_remove("AYRSHARE_PROFILE_KEY")
        .env_remove("HOOKTAP_SECRET_AYRSHARE")
        .env("XDG_CONFIG_HOME", fakes.dir.path().join("config"))
        .env("XDG_DATA_HOME", fakes.dir.path().join("data"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Starts it and waits for its `public URL:` line; returns the URL.
pub fn start(cmd: Command) -> (Binary, String) {
    let bin = Binary::spawn(cmd);
    let url = wait_line(&bin, "public URL: ", Duration::from_secs(30));
    let url = url.split_whitespace().next().unwrap().to_string();
    (bin, url)
}

/// Waits for a stderr line containing `marker`; returns what follows it.
pub fn wait_line(bin: &Binary, marker: &str, limit: Duration) -> String {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let found = bin
            .stderr
            .lock()
            .unwrap()
            .iter()
            .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.to_string()));
        if let Some(rest) = found {
            return rest;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no line with {marker:?} in {:?}",
            bin.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` still exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Polls until process `pid` is gone, for at most `limit`.
pub fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The `--url`/port argument's port a fake was given.
pub fn forwarded_port(args: &[String]) -> u16 {
    let spec = args
        .iter()
        .find_map(|a| {
            a.strip_prefix("http://127.0.0.1:")
                .or_else(|| a.strip_prefix("80:127.0.0.1:"))
                .or_else(|| a.strip_prefix("-R0:127.0.0.1:"))
        })
        .map(str::to_string)
        .or_else(|| args.get(1).cloned())
        .unwrap();
    spec.parse().unwrap()
}
