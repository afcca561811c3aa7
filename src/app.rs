//! The event loop: terminal events, backend messages and the age tick, merged into one
//! stream of [`Msg`]s applied by [`update`]; a frame is drawn only when the state says
//! something visible changed.

pub mod msg;
pub mod state;
pub mod update;

pub use msg::{ClusterAddr, Effect, Msg};
pub use state::State;
pub use update::update;
