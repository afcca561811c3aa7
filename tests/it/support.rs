//! Helpers the test areas share: servers to test against (moto, anvil, tmux), fixtures
//! built in moto, console config written from pieces, and the demo world rendered to
//! text. Test code only; `examples/moto_fixture.rs` includes the moto and fixture
//! modules with `#[path]`, so those keep to what an example can compile.

pub mod anvil;
pub mod config_toml;
pub mod driver;
pub mod ecs_fixture;
pub mod elb_fixture;
pub mod live_tail_stub;
pub mod moto;
pub mod release_fixture;
pub mod screen;
pub mod tmux;
