//! The `ibet-console` binary.

fn main() {}
