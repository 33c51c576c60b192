//! The floor under `verify_bench`: one raw Ed25519 signature check in aws-lc, nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use std::time::Instant;

fn main() {
    let pair = Ed25519KeyPair::from_seed_unchecked(&[7u8; 32]).unwrap();
    let msg = vec![b'x'; 300];
    let sig = pair.sign(&msg);
    let key = UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref().to_vec());
    let n = 20_000;
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(key.verify(std::hint::black_box(&msg), sig.as_ref()).is_ok());
    }
    println!(
        "raw Ed25519 verify (aws-lc): {:.1} us",
        started.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
