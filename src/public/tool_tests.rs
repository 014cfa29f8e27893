//! The tunnels' real output formats, and the commands hooktap runs.

use super::*;

#[test]
fn cloudflared_banner_gives_the_quick_tunnel_url_and_nothing_else() {
    let t = Tool::Cloudflared;
    let banner = [
        "2026-12-07T02:00:00Z INF Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out. However, be aware that these account-less Tunnels have no uptime guarantee. If you intend to use Tunnels in production you should use a pre-created named tunnel by following: https://developers.cloudflare.com/cloudflare-one/connections/connect-apps",
        "2026-12-07T02:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...",
        "2026-12-07T02:00:00Z INF +--------------------------------------------------------------------------------------------+",
        "2026-12-07T02:00:00Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |",
        "2026-12-07T02:00:00Z INF |  https://quiet-forest-1234.trycloudflare.com                                               |",
    ];
    let found: Vec<_> = banner.iter().filter_map(|l| t.url_in(l)).collect();
    assert_eq!(found, ["https://quiet-forest-1234.trycloudflare.com"]);
    assert_eq!(t.stream(), Stream::Stderr);
    assert_eq!(t.url_in("see https://trycloudflare.com/x"), None);
}

#[test]
fn ngrok_takes_the_started_tunnel_record_whatever_the_domain() {
    let t = Tool::Ngrok;
    let line = r#"{"addr":"http://localhost:8787","lvl":"info","msg":"started tunnel","name":"command_line","obj":"tunnels","t":"2026-12-07T02:00:00Z","url":"https://abcd-1-2-3-4.ngrok-free.dev"}"#;
    assert_eq!(
        t.url_in(line).as_deref(),
        Some("https://abcd-1-2-3-4.ngrok-free.dev")
    );
    let other = r#"{"lvl":"info","msg":"client session established","obj":"tunnels.session","url":"https://x.example"}"#;
    assert_eq!(t.url_in(other), None);
    assert_eq!(t.url_in("not json https://a.ngrok-free.app"), None);
    let refused = r#"{"err":"authentication failed: Usage of ngrok requires a verified account and authtoken.\n\nERR_NGROK_4018\r\n","lvl":"eror","msg":"session closing","obj":"tunnels.session"}"#;
    assert!(
        t.diagnose(&[refused.to_string()])
            .unwrap()
            .contains("authtoken")
    );
}

#[test]
fn ssh_tunnels_skip_the_banner_links() {
    let lr = Tool::LocalhostRun;
    assert_eq!(
        lr.url_in("Welcome to localhost.run! see https://localhost.run/docs/"),
        None
    );
    assert_eq!(
        lr.url_in("3f2a1b.lhr.life tunneled with tls termination, https://3f2a1b.lhr.life")
            .as_deref(),
        Some("https://3f2a1b.lhr.life")
    );
    let p = Tool::Pinggy;
    assert_eq!(
        p.url_in("Upgrade to Pinggy Pro: https://dashboard.pinggy.io"),
        None
    );
    assert_eq!(
        p.url_in("https://rnxyz-1-2-3-4.a.free.pinggy.link")
            .as_deref(),
        Some("https://rnxyz-1-2-3-4.a.free.pinggy.link")
    );
}

#[test]
fn exec_takes_the_first_https_url_on_either_stream() {
    let t = Tool::parse("exec:mytunnel --port {port}").unwrap();
    assert_eq!(t.stream(), Stream::Either);
    assert_eq!(
        t.url_in("http://plain https://a.example/x, more")
            .as_deref(),
        Some("https://a.example/x")
    );
    assert_eq!(t.command(4000, ""), ["sh", "-c", "mytunnel --port 4000"]);
}

#[test]
fn commands_are_the_documented_ones() {
    assert_eq!(
        Tool::Cloudflared.command(9000, "/tmp/empty.yml").join(" "),
        "cloudflared tunnel --no-autoupdate --config /tmp/empty.yml --url http://127.0.0.1:9000"
    );
    assert_eq!(
        Tool::Ngrok.command(9000, "").join(" "),
        "ngrok http 9000 --log stdout --log-format json"
    );
    let lr = Tool::LocalhostRun.command(9000, "").join(" ");
    assert!(lr.starts_with("ssh -T -n -o BatchMode=yes"), "{lr}");
    assert!(
        lr.ends_with("-R 80:127.0.0.1:9000 nokey@localhost.run"),
        "{lr}"
    );
    let p = Tool::Pinggy.command(9000, "").join(" ");
    assert!(p.starts_with("ssh -p 443 -T -n"), "{p}");
    assert!(p.ends_with("-R0:127.0.0.1:9000 a.pinggy.io"), "{p}");
}

#[test]
fn parse_names_what_is_wrong() {
    assert!(Tool::parse("relay").unwrap_err().0.contains("--relay URL"));
    assert!(
        Tool::parse("exec:")
            .unwrap_err()
            .0
            .contains("needs a command")
    );
    assert!(
        Tool::parse("tailscale")
            .unwrap_err()
            .0
            .contains("cloudflared, ngrok")
    );
    assert_eq!(Tool::parse("localhost.run").unwrap(), Tool::LocalhostRun);
    assert!(
        Tool::Cloudflared
            .install_hint()
            .contains("brew install cloudflared")
    );
}
