//! Snapshots of what the operator sees: the demo world at a fixed seed and clock,
//! rendered at 80x24 and 160x48. Review changes as screens (`cargo insta review`).

#[path = "support/screen.rs"]
mod screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ibet_console::app::{Msg, update};
use ibet_console::backend::sim::Fault;
use screen::{demo_session, polled_state, screen};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

#[test]
fn overview_production() {
    let (session, _clock) = demo_session(7, 120);
    let state = polled_state(&session);
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("overview_production_{w}x{h}"), screen(&state, w, h));
    }
}

#[test]
fn overview_staging_satoshi() {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Tab));
    update(&mut state, key(KeyCode::Char(']')));
    for (w, h) in SIZES {
        insta::assert_snapshot!(
            format!("overview_staging_satoshi_{w}x{h}"),
            screen(&state, w, h)
        );
    }
}

#[test]
fn tasks_of_api() {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Tab));
    let api = state
        .visible_services()
        .iter()
        .position(|s| s.name == "api")
        .expect("api service");
    for _ in 0..api {
        update(&mut state, key(KeyCode::Down));
    }
    update(&mut state, key(KeyCode::Enter));
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("tasks_api_{w}x{h}"), screen(&state, w, h));
    }
}

#[test]
fn help_overlay() {
    let (session, _clock) = demo_session(7, 120);
    let mut state = polled_state(&session);
    update(&mut state, key(KeyCode::Char('?')));
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen(&state, w, h));
    }
}

#[test]
fn same_seed_same_screen() {
    let a = polled_state(&demo_session(11, 300).0);
    let b = polled_state(&demo_session(11, 300).0);
    assert_eq!(screen(&a, 160, 48), screen(&b, 160, 48));
}

/// production/node-api with its API failing health checks: the path breaks at the
/// internal ALB's route to the API.
fn broken_api_state() -> ibet_console::app::State {
    let (session, clock) = demo_session(7, 120);
    let world = session.world.clone().expect("demo world");
    world
        .inject(
            "production",
            Fault::TasksUnhealthy {
                cluster: "node-api".into(),
                service: "api".into(),
                secs: 600,
            },
        )
        .expect("inject");
    clock.advance(5_000);
    polled_state(&session)
}

#[test]
fn overview_with_a_broken_path() {
    let state = broken_api_state();
    for (w, h) in SIZES {
        insta::assert_snapshot!(
            format!("overview_broken_path_{w}x{h}"),
            screen(&state, w, h)
        );
    }
}

#[test]
fn path_panel_focused_on_the_broken_hop() {
    let mut state = broken_api_state();
    update(&mut state, key(KeyCode::Char('p')));
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("path_focused_{w}x{h}"), screen(&state, w, h));
    }
    // Enter jumps to the tasks of the broken hop's service.
    update(&mut state, key(KeyCode::Enter));
    assert_eq!(
        state.screen,
        ibet_console::app::state::Screen::Tasks {
            service: "api".into()
        }
    );
}
