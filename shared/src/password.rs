//! Passwords: Argon2id hashing (PHC strings, so parameters can change without breaking old
//! hashes), the strength policy, and a dummy verification so that an unknown phone costs the
//! same time as a wrong password. Hashing is CPU-bound: callers run it off the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id with 19 MiB of memory, 2 passes, 1 lane (OWASP's first recommended setting):
/// fits a 128 MB Lambda with room to spare; tens of milliseconds per verify (README, bench).
pub const MEMORY_KIB: u32 = 19_456;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// Why a new password is refused; safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakPassword {
    TooShort,
    TooLong,
    Common,
    LooksLikeThePhone,
}

impl WeakPassword {
    pub fn message(self) -> &'static str {
        match self {
            Self::TooShort => "the password must have at least 8 characters",
            Self::TooLong => "the password must have at most 128 characters",
            Self::Common => "this password is one of the most common ones",
            Self::LooksLikeThePhone => "the password must not be the phone number",
        }
    }
}

fn hasher() -> Option<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).ok()?;
    Some(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks the policy: length, the common-password list, not the phone's digits.
pub fn check_strength(password: &str, phone_digits: &str) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_LEN {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(WeakPassword::Common);
    }
    if !phone_digits.is_empty()
        && (phone_digits.ends_with(password) || password.contains(phone_digits))
    {
        return Err(WeakPassword::LooksLikeThePhone);
    }
    Ok(())
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash(password: &str) -> Result<String, String> {
    let salt =
        SaltString::encode_b64(&crate::crypto::random_bytes::<16>()).map_err(|e| e.to_string())?;
    let argon = hasher().ok_or("bad Argon2 parameters")?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches `stored`; with no stored hash, a dummy hash is checked so that the
/// answer takes as long as a real one.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let Some(argon) = hasher() else { return false };
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (DUMMY_HASH, false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon.verify_password(password.as_bytes(), &parsed).is_ok() && real
}

/// The hash of a random password nobody knows, with the current parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0NWxgYnWvwNyXaqR4H/qfdJg0ki3mC5xRDMlWZp1fYg";

/// The most common passwords of 8+ characters (shorter ones fail the length check anyway).
const COMMON: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "password",
    "password1",
    "password123",
    "qwerty123",
    "qwertyuiop",
    "11111111",
    "88888888",
    "00000000",
    "66666666",
    "12341234",
    "87654321",
    "987654321",
    "11223344",
    "1q2w3e4r",
    "1qaz2wsx",
    "qazwsxedc",
    "zxcvbnm1",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "starwars",
    "trustno1",
    "whatever",
    "michelle",
    "jennifer",
    "computer",
    "welcome1",
    "abcd1234",
    "abc12345",
    "a1234567",
    "a12345678",
    "qwer1234",
    "asdf1234",
    "woaini1314",
    "woaini520",
    "5201314520",
    "1314520520",
    "aa123456",
    "a123456789",
    "qq123456",
    "wang1234",
    "admin123",
    "administrator",
    "letmein1",
    "passw0rd",
    "p@ssw0rd",
    "changeme",
    "12qwaszx",
    "asdfghjkl",
    "zxcvbnm123",
    "1234qwer",
    "123456abc",
    "abc123456",
    "123123123",
    "147258369",
    "159357456",
    "789456123",
    "999999999",
    "111111111",
    "123654789",
    "321654987",
    "q1w2e3r4",
    "1a2b3c4d",
    "q1w2e3r4t5",
    "123qweasd",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password_and_carries_argon2id_parameters() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterx", Some(&h)));
        assert_ne!(hash("correct horse battery").unwrap(), h, "salted");
    }

    #[test]
    fn an_unknown_account_does_the_same_work_as_a_wrong_password() {
        // Same algorithm and parameters as a real hash, so the dummy verification costs the same.
        let dummy = PasswordHash::new(DUMMY_HASH).expect("the dummy hash must parse");
        let real_text = hash("correct horse battery").unwrap();
        let real = PasswordHash::new(&real_text).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }

    #[test]
    fn no_stored_hash_never_verifies() {
        assert!(!verify("anything at all", None));
        assert!(!verify("", Some("not a phc string")));
    }

    #[test]
    fn the_policy_refuses_short_common_long_and_phone_passwords() {
        assert_eq!(check_strength("short", ""), Err(WeakPassword::TooShort));
        assert_eq!(check_strength("Password1", ""), Err(WeakPassword::Common));
        assert_eq!(
            check_strength(&"x".repeat(129), ""),
            Err(WeakPassword::TooLong)
        );
        assert_eq!(
            check_strength("13800138000", "8613800138000"),
            Err(WeakPassword::LooksLikeThePhone)
        );
        assert_eq!(
            check_strength("my-phone-8613800138000", "8613800138000"),
            Err(WeakPassword::LooksLikeThePhone)
        );
        assert!(check_strength("tea kettle sunrise", "8613800138000").is_ok());
        assert!(
            check_strength("密码很长很安全的一句话", "").is_ok(),
            "length is in characters"
        );
    }
}
