//! What one Argon2id verification costs with the production parameters (a password login pays
//! it once): `cargo run --release -p wxlogin --example password_bench`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Instant;
use wxlogin::password;

fn main() {
    let stored = password::hash("correct horse battery staple").unwrap();
    let mut samples = Vec::new();
    for _ in 0..15 {
        let started = Instant::now();
        assert!(password::verify(
            "correct horse battery staple",
            Some(&stored)
        ));
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "password       Argon2id verify (m={} KiB, t={}, p={}, release, one core): median {:.1} ms, min {:.1} ms (n={})",
        password::MEMORY_KIB,
        password::PASSES,
        password::LANES,
        samples[samples.len() / 2],
        samples[0],
        samples.len()
    );
}
