//! The embedded demo world: a simulated ibet infrastructure.
