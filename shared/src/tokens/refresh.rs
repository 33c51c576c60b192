//! Opaque refresh tokens: `<family id>.<secret>`, 256 random bits of secret, stored only as a
//! SHA-256 hash in the family item. Each use rotates the secret (DESIGN §4).

use crate::crypto::{b64url, random_bytes, random_id, sha256_hex};

/// A freshly minted refresh token and what the store keeps of it.
pub struct MintedRefresh {
    pub token: String,
    pub family_id: String,
    pub secret_hash: String,
}

/// A presented refresh token, split but not yet checked.
#[derive(Debug, PartialEq, Eq)]
pub struct PresentedRefresh {
    pub family_id: String,
    pub secret_hash: String,
}

pub fn new_family_id() -> String {
    format!("f_{}", random_id(16))
}

/// A token for `family_id` with a fresh secret.
pub fn mint(family_id: &str) -> MintedRefresh {
    let secret = b64url(&random_bytes::<32>());
    MintedRefresh {
        token: format!("{family_id}.{secret}"),
        family_id: family_id.to_owned(),
        secret_hash: sha256_hex(secret.as_bytes()),
    }
}

/// What a family keeps of a secret it rotated away from: the first 16 hex digits (64 bits) of
/// its hash, enough to tell a reused token from a guessed one in a few bytes per rotation.
pub fn retired_mark(secret_hash: &str) -> String {
    secret_hash.chars().take(16).collect()
}

/// Splits a presented token; `None` when it cannot be one of ours.
pub fn parse(token: &str) -> Option<PresentedRefresh> {
    let (family_id, secret) = token.split_once('.')?;
    let family_ok = family_id.starts_with("f_")
        && family_id.len() <= 40
        && family_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let secret_ok = secret.len() == 43
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !family_ok || !secret_ok {
        return None;
    }
    Some(PresentedRefresh {
        family_id: family_id.to_owned(),
        secret_hash: sha256_hex(secret.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_back_to_their_hash() {
        let fam = new_family_id();
        let minted = mint(&fam);
        let parsed = parse(&minted.token).unwrap();
        assert_eq!(parsed.family_id, fam);
        assert_eq!(parsed.secret_hash, minted.secret_hash);
        assert_ne!(mint(&fam).token, minted.token);
    }

    #[test]
    fn junk_is_not_a_refresh_token() {
        assert!(parse("").is_none());
        assert!(parse("f_abc").is_none());
        assert!(parse("f_abc.short").is_none());
        assert!(parse(&format!("x_abc.{}", "a".repeat(43))).is_none());
        assert!(parse(&format!("f_a/b.{}", "a".repeat(43))).is_none());
    }
}
