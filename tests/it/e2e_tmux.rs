//! End to end: the built binary on its demo world in a real terminal (tmux), driven by
//! keys, read back from the screen.

use crate::support::tmux;

use std::time::Duration;

use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_ibet-console");
/// Generous: CI machines are small and shared; a wait ends as soon as the screen is ready.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn demo_navigation_at_80x24() {
    let t = Tmux::start("nav", 80, 24, &format!("{BIN} --demo"));
    t.wait_for_all(
        &[
            "nginx-proxy",
            "production",
            "staging",
            "node-api",
            "satoshi",
            "issuer",
            "bank",
            "PRODUCTION",
        ],
        WAIT,
    );
    // Stray keys do nothing harmful: the console is still there, on the same screen.
    t.send(&["x", "z", "!", "d", "D", "Delete"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(t.alive());
    t.wait_for("nginx-proxy", WAIT);
    // Staging, then the tasks of a service, then back.
    t.send(&["Tab"]);
    t.wait_for_all(&["ibet-stg-node-api", "nginx-proxy"], WAIT);
    t.send(&["Enter"]);
    t.wait_for_all(&["Tasks ·", "Containers"], WAIT);
    t.send(&["Escape"]);
    t.wait_for("Services", WAIT);
    // A lone Esc followed at once by another key reads as Alt+key: give it a moment.
    std::thread::sleep(Duration::from_millis(100));
    // Filter.
    t.send(&["/", "ngi", "Enter"]);
    t.wait_until("the filter /ngi hiding notification", WAIT, |s| {
        s.contains("/ngi") && !s.contains("notification")
    });
    t.send(&["Escape"]);
    t.wait_for("notification", WAIT);
    // Help, then quit.
    t.send(&["?"]);
    t.wait_for("Keys", WAIT);
    t.send(&["q"]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(t.alive(), "q closes the help, not the console");
    t.send(&["q"]);
    let start = std::time::Instant::now();
    while t.alive() && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!t.alive(), "q quits");
}

#[test]
fn no_config_explains_how_to_start() {
    let dir = std::env::temp_dir().join(format!("ibet-e2e-{}", std::process::id()));
    let missing = dir.join("nope.toml");
    let t = Tmux::start(
        "noconf",
        100,
        30,
        &format!("{BIN} --config {}", missing.display()),
    );
    t.wait_for_all(&["--demo", "nope.toml"], WAIT);
    t.send(&["q"]);
}

/// Something else writes to the console's terminal (as `wall` would): text over the
/// panes, a narrowed scroll region. Ctrl-l clears the terminal and draws the whole
/// frame again.
#[test]
fn ctrl_l_repaints_after_something_else_wrote_to_the_terminal() {
    let t = Tmux::start("repaint", 80, 24, &format!("{BIN} --demo"));
    let before = t.wait_for_all(&["nginx-proxy", "╭ Clusters", "q quit"], WAIT);
    let whole = |s: &str| {
        let rows: Vec<&str> = s.lines().collect();
        let panes = rows.iter().position(|r| r.starts_with("╭ Clusters"));
        !s.contains("GARBAGE")
            && rows.first().is_some_and(|r| r.starts_with(" ibet-console"))
            && rows.get(23).is_some_and(|r| r.contains("q quit"))
            && panes.is_some_and(|top| {
                rows[top + 1..23]
                    .iter()
                    .all(|r| r.starts_with('│') || r.starts_with('╰'))
            })
    };
    assert!(whole(&before), "{before}");
    t.write_to_terminal(
        b"\x1b[12;2HGARBAGE GARBAGE\x1b[8;3HGARBAGE\x1b[2K\r\n\x1b[5;20r\x1b[31m\r\n\n\n",
    );
    t.wait_for("GARBAGE", WAIT);
    t.send(&["C-l"]);
    t.wait_until("the whole screen again", WAIT, whole);
    assert!(t.alive());
    t.send(&["q"]);
}

/// The number before " lines ·" in the log view's status line.
fn line_count(screen: &str) -> Option<u64> {
    let at = screen.find(" lines ·")?;
    let digits: String = screen[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

#[test]
fn demo_logs_of_api_live_search_and_back_at_80x24() {
    let t = Tmux::start("logs", 80, 24, &format!("{BIN} --demo"));
    t.wait_for("nginx-proxy", WAIT);
    // `api` is the first service of node-api: `l` opens its logs.
    t.send(&["l"]);
    t.wait_for_all(
        &["Logs · production/node-api/api", "following", "Esc back"],
        WAIT,
    );
    // Lines appear, tagged with their source, and keep arriving.
    let s = t.wait_until("log lines tagged api/…", WAIT, |s| {
        line_count(s).is_some_and(|n| n > 0) && s.contains("api/")
    });
    let first = line_count(&s).unwrap_or_default();
    t.wait_until(&format!("more than {first} lines"), WAIT, |s| {
        line_count(s).is_some_and(|n| n > first)
    });
    // Following scrolls the box (the terminal moves the rows): after a few seconds of
    // that, the rows on screen are still in time order, each a whole line.
    std::thread::sleep(Duration::from_secs(3));
    let s = t.wait_until("log rows in time order", WAIT, |s| {
        let times: Vec<&str> = s
            .lines()
            .filter_map(|l| l.strip_prefix('│'))
            .filter(|l| l.len() > 12 && l.as_bytes()[2] == b':' && l.as_bytes()[8] == b'.')
            .map(|l| &l[..12])
            .collect();
        times.len() >= 10 && times.windows(2).all(|w| w[0] <= w[1])
    });
    assert!(s.contains("api/"), "{s}");
    // Search: the view pauses on a match (or says there is none).
    t.send(&["/", "INFO", "Enter"]);
    t.wait_for_all(&["paused (G to follow)", "/INFO line "], WAIT);
    t.send(&["G"]);
    t.wait_for("following", WAIT);
    // Esc goes back to the overview; the console is still running.
    std::thread::sleep(Duration::from_millis(100));
    t.send(&["Escape"]);
    t.wait_until("the overview instead of the logs", WAIT, |s| {
        s.contains("Services") && !s.contains("Logs ·")
    });
    assert!(t.alive());
    t.send(&["q"]);
}

/// A release from the TUI: picker, confirmation, rollout; audited in the log named by
/// `--audit-log`, before and after, exactly once.
#[test]
fn demo_release_is_audited_where_asked_at_80x24() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    let t = Tmux::start(
        "release",
        80,
        24,
        &format!("{BIN} --demo --env staging --audit-log {}", audit.display()),
    );
    t.wait_for("nginx-proxy", WAIT);
    t.send(&["u"]);
    t.wait_for("Release ·", WAIT);
    t.send(&["Enter"]);
    t.wait_for("y confirm", WAIT);
    t.send(&["y"]);
    t.wait_for("COMPLETED", Duration::from_secs(60));
    let lines = std::fs::read_to_string(&audit).expect("the audit log is written");
    let phases: Vec<&str> = lines
        .lines()
        .map(|l| {
            assert!(l.contains(r#""kind":"release""#), "{l}");
            if l.contains(r#""phase":"before""#) {
                "before"
            } else {
                "after"
            }
        })
        .collect();
    assert_eq!(phases, ["before", "after"], "{lines}");
    t.send(&["Escape", "q"]);
}

/// A release whose check fails (the demo's batch names a parameter nobody created): the
/// plan says it is refused, `y` does nothing, `O` asks again and `y` runs it, audited as
/// an override.
#[test]
fn demo_a_refused_release_runs_only_as_an_override_at_80x24() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    let t = Tmux::start(
        "override",
        80,
        24,
        &format!("{BIN} --demo --env staging --audit-log {}", audit.display()),
    );
    t.wait_for("nginx-proxy", WAIT);
    t.send(&["Down", "u"]);
    t.wait_for("Release · staging/node-api/batch", WAIT);
    t.send(&["Enter"]);
    let plan = t.wait_for("A check failed: the release is refused.", WAIT);
    assert!(plan.contains("missing: batch SLACK_WEBHOOK_URL"), "{plan}");
    t.send(&["y"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!audit.exists(), "nothing ran, nothing audited");
    t.send(&["O"]);
    t.wait_for("Override the failed checks?", WAIT);
    t.send(&["y"]);
    t.wait_for("Rollout ·", WAIT);
    let lines = std::fs::read_to_string(&audit).expect("the audit log is written");
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(
        lines.lines().all(|l| l.contains(r#""override_gate":true"#)),
        "{lines}"
    );
    t.send(&["Escape", "q"]);
}

/// The frame writer's block moves on a real terminal: a log box that scrolled by two
/// lines, and a body pushed down by a growing strip, played through tmux, read back
/// row by row.
#[test]
fn frames_that_move_rows_show_right_on_a_real_terminal() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    let area = Rect::new(0, 0, 40, 12);
    let lines = |first: usize, top: u16| {
        let mut b = Buffer::empty(area);
        for (i, n) in (first..first + 8).enumerate() {
            let y = top + u16::try_from(i).expect("small");
            let style = Style::default().fg(if n % 2 == 0 {
                Color::Yellow
            } else {
                Color::Reset
            });
            b.set_string(0, y, format!("│ line {n:02} ● ok"), style);
        }
        b.set_string(
            0,
            11,
            " footer · q quit",
            Style::default().fg(Color::DarkGray),
        );
        b
    };
    let mut frames = vec![lines(0, 1), lines(3, 1)];
    let mut grown = lines(3, 3);
    grown.set_string(
        0,
        0,
        " ✖ 1s first problem",
        Style::default().fg(Color::LightRed),
    );
    grown.set_string(
        0,
        1,
        " ✖ 1s second problem",
        Style::default().fg(Color::LightRed),
    );
    frames.push(grown);
    let mut bytes = Vec::new();
    let mut shown = Buffer::empty(area);
    for frame in &frames {
        ibet_console::tui::frame::write_frame(&mut bytes, &mut shown, frame);
    }
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(
        text.contains("M\x1b[r") && text.contains("L\x1b[r"),
        "{text:?}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("frames");
    std::fs::write(&file, &text).expect("write");
    let t = Tmux::start(
        "frames",
        area.width,
        area.height,
        &format!("cat {}; sleep 60", file.display()),
    );
    let last = frames.last().expect("frames");
    let want: Vec<String> = (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| last[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect();
    t.wait_until("the last frame, row by row", WAIT, |s| {
        let got: Vec<&str> = s.lines().map(str::trim_end).collect();
        got.len() >= want.len() && got[..want.len()] == want[..]
    });
}
