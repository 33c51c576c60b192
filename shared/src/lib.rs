//! wxlogin shared crate.
