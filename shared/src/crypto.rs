//! Small cryptographic helpers: randomness, digests, HMAC, and the WeChat legacy AES-128-CBC
//! decryption. Length checks come before the cipher; nothing here panics on input.

use aes::Aes128;
use aws_lc_rs::{digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};

/// `n` random bytes from the system CSPRNG. The CSPRNG failing is not recoverable.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if rand::fill(&mut buf).is_err() {
        // aws-lc's RNG does not fail on supported platforms; refuse to continue with zeros.
        std::process::abort();
    }
    buf
}

/// A random id of `bytes` bytes as lowercase base32 (no padding), safe in keys and URLs.
pub fn random_id(bytes: usize) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let raw: [u8; 32] = random_bytes();
    let mut out = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for byte in raw.iter().take(bytes.min(32)) {
        acc = (acc << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let idx = ((acc >> bits) & 31) as usize;
            out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'a')));
        }
    }
    if bits > 0 {
        let idx = ((acc << (5 - bits)) & 31) as usize;
        out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'a')));
    }
    out
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&sha256(data))
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref())
}

pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    hex(&hmac_sha256(key, data))
}

/// HMAC-SHA256 as bytes (key derivation chains such as Tencent's TC3 need the raw form).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Constant-time equality for secrets of equal length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Standard base64 with padding, as WeChat uses for session keys and encrypted data.
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

pub fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Why a legacy decryption failed. The flows collapse these into one client answer; the
/// variant is for logs and tests only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    BadKeyLength,
    BadIvLength,
    BadCiphertextLength,
    BadPadding,
}

/// AES-128-CBC with PKCS#7 padding (WeChat's WXBizDataCrypt scheme).
pub fn aes128_cbc_decrypt(
    key: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let key: &[u8; 16] = key.try_into().map_err(|_| DecryptError::BadKeyLength)?;
    let iv: &[u8; 16] = iv.try_into().map_err(|_| DecryptError::BadIvLength)?;
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return Err(DecryptError::BadCiphertextLength);
    }
    cbc::Decryptor::<Aes128>::new(key.into(), iv.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| DecryptError::BadPadding)
}

/// The inverse, used by the fake WeChat to produce data exactly as WeChat does.
pub fn aes128_cbc_encrypt(key: &[u8; 16], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    use cbc::cipher::BlockModeEncrypt;
    cbc::Encryptor::<Aes128>::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbc_round_trips_and_checks_lengths() {
        let key = [7u8; 16];
        let iv = [9u8; 16];
        let ct = aes128_cbc_encrypt(&key, &iv, b"{\"a\":1}");
        assert_eq!(ct.len(), 16);
        assert_eq!(aes128_cbc_decrypt(&key, &iv, &ct).unwrap(), b"{\"a\":1}");
        assert_eq!(
            aes128_cbc_decrypt(&key[..15], &iv, &ct),
            Err(DecryptError::BadKeyLength)
        );
        assert_eq!(
            aes128_cbc_decrypt(&key, &iv[..8], &ct),
            Err(DecryptError::BadIvLength)
        );
        assert_eq!(
            aes128_cbc_decrypt(&key, &iv, &[]),
            Err(DecryptError::BadCiphertextLength)
        );
        assert_eq!(
            aes128_cbc_decrypt(&key, &iv, &ct[..15]),
            Err(DecryptError::BadCiphertextLength)
        );
    }

    #[test]
    fn wrong_key_usually_fails_padding() {
        let ct = aes128_cbc_encrypt(&[1u8; 16], &[2u8; 16], b"hello world, this is longer");
        let failures = (0u8..64)
            .filter(|k| aes128_cbc_decrypt(&[*k + 100; 16], &[2u8; 16], &ct).is_err())
            .count();
        assert!(failures > 50, "{failures}");
    }

    #[test]
    fn random_ids_have_the_expected_length_and_alphabet() {
        let id = random_id(16);
        assert_eq!(id.len(), 26);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
        assert_ne!(random_id(16), id);
    }

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
