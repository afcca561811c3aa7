//! End to end: the built binary on its demo world in a real terminal (tmux), driven by
//! keys, read back from the screen.

#[path = "support/tmux.rs"]
mod tmux;

use std::time::Duration;

use tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_ibet-console");
const WAIT: Duration = Duration::from_secs(10);

#[test]
fn demo_navigation_at_80x24() {
    let t = Tmux::start("nav", 80, 24, &format!("{BIN} --demo"));
    let s = t.wait_for("nginx-proxy", WAIT);
    for want in [
        "production",
        "staging",
        "node-api",
        "satoshi",
        "issuer",
        "bank",
        "PRODUCTION",
    ] {
        assert!(s.contains(want), "`{want}` missing:\n{s}");
    }
    // Stray keys do nothing harmful: the console is still there, on the same screen.
    t.send(&["x", "z", "!", "d", "D", "Delete"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(t.alive());
    t.wait_for("nginx-proxy", WAIT);
    // Staging, then the tasks of a service, then back.
    t.send(&["Tab"]);
    t.wait_for_all(&["ibet-stg-node-api", "nginx-proxy"], WAIT);
    t.send(&["Enter"]);
    let s = t.wait_for("Tasks", WAIT);
    assert!(s.contains("Containers"), "{s}");
    t.send(&["Escape"]);
    t.wait_for("Services", WAIT);
    // A lone Esc followed at once by another key reads as Alt+key: give it a moment.
    std::thread::sleep(Duration::from_millis(100));
    // Filter.
    t.send(&["/", "ngi", "Enter"]);
    let s = t.wait_for("/ngi", WAIT);
    assert!(!s.contains("notification"), "filtered out:\n{s}");
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
    let s = t.wait_for("--demo", WAIT);
    assert!(s.contains("nope.toml"), "{s}");
    t.send(&["q"]);
}
