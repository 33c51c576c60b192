//! Legacy decryption: `open_data::open` on arbitrary key/data/iv text, appid and clock, the
//! same on arbitrary plaintext encrypted with a real key (so the JSON and watermark checks see
//! attacker-chosen payloads), and `crypto::aes128_cbc_decrypt` on raw bytes.
//!
//! Input: `key \n data \n iv \n appid \n now \n plaintext…` (text lines; missing lines are
//! empty, a `now` that is not a number is the sample's timestamp). The whole input is also
//! read as raw `key[16] iv[16] ciphertext…`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wxlogin::crypto::{
    DecryptError, aes128_cbc_decrypt, aes128_cbc_encrypt, b64_decode, b64_encode,
};
use wxlogin::open_data::{OpenDataError, WATERMARK_MAX_AGE_SECS, WATERMARK_MAX_SKEW_SECS, open};
use wxlogin_fuzz::{SAMPLE_IV, SAMPLE_SESSION_KEY, SAMPLE_TS};

/// The watermark rule, restated in i128 so that it cannot overflow.
fn in_window(ts: u64, now: u64) -> bool {
    let (ts, now) = (i128::from(ts), i128::from(now));
    ts + i128::from(WATERMARK_MAX_AGE_SECS) >= now
        && ts <= now + i128::from(WATERMARK_MAX_SKEW_SECS)
}

/// What `open` must have checked when it says yes.
fn check_accepted(payload: &Value, appid: &str, now: u64) {
    assert_eq!(
        payload.pointer("/watermark/appid").and_then(Value::as_str),
        Some(appid),
        "accepted a payload for another app"
    );
    let ts = payload
        .pointer("/watermark/timestamp")
        .and_then(Value::as_u64)
        .expect("accepted a payload without a u64 timestamp");
    assert!(in_window(ts, now), "accepted ts {ts} at now {now}");
}

/// `open` agrees with decrypting by hand and applying the rule by hand.
fn differential(key_b64: &str, data_b64: &str, iv_b64: &str, appid: &str, now: u64) {
    let result = open(key_b64, data_b64, iv_b64, appid, now);
    let key = b64_decode(key_b64).filter(|k| k.len() == 16);
    let Some(key) = key else {
        assert_eq!(result, Err(OpenDataError::SessionKeyCorrupt));
        return;
    };
    let (Some(ct), Some(iv)) = (b64_decode(data_b64), b64_decode(iv_b64)) else {
        assert_eq!(result, Err(OpenDataError::NotBase64));
        return;
    };
    let plain = match aes128_cbc_decrypt(&key, &iv, &ct) {
        Err(DecryptError::BadPadding) => {
            assert_eq!(result, Err(OpenDataError::WrongKey));
            return;
        }
        Err(_) => {
            assert_eq!(result, Err(OpenDataError::BadShape));
            return;
        }
        Ok(p) => p,
    };
    let Ok(value) = serde_json::from_slice::<Value>(&plain) else {
        assert_eq!(result, Err(OpenDataError::WrongKey));
        return;
    };
    let appid_ok = value.pointer("/watermark/appid").and_then(Value::as_str) == Some(appid);
    let ts = value
        .pointer("/watermark/timestamp")
        .and_then(Value::as_u64);
    match (appid_ok, ts) {
        (false, _) => assert_eq!(result, Err(OpenDataError::WatermarkAppid)),
        (true, Some(ts)) if in_window(ts, now) => {
            let payload = result.expect("a payload inside the window was refused");
            assert_eq!(payload, value);
            check_accepted(&payload, appid, now);
        }
        (true, _) => assert_eq!(result, Err(OpenDataError::WatermarkTime)),
    }
}

fn raw(data: &[u8]) {
    let (key, rest) = data.split_at(data.len().min(16));
    let (iv, ct) = rest.split_at(rest.len().min(16));
    match aes128_cbc_decrypt(key, iv, ct) {
        Ok(plain) => {
            assert!(!ct.is_empty() && ct.len().is_multiple_of(16));
            assert!(plain.len() < ct.len() && plain.len() + 16 >= ct.len());
            let key: &[u8; 16] = key.try_into().expect("16-byte key");
            let iv: &[u8; 16] = iv.try_into().expect("16-byte iv");
            assert_eq!(aes128_cbc_encrypt(key, iv, &plain), ct, "no round trip");
        }
        Err(DecryptError::BadKeyLength) => assert_ne!(key.len(), 16),
        Err(DecryptError::BadIvLength) => assert!(key.len() == 16 && iv.len() != 16),
        Err(DecryptError::BadCiphertextLength) => {
            assert!(ct.is_empty() || !ct.len().is_multiple_of(16))
        }
        Err(DecryptError::BadPadding) => {
            assert!(!ct.is_empty() && ct.len().is_multiple_of(16))
        }
    }
}

fuzz_target!(|data: &[u8]| {
    raw(data);

    let mut parts = data.splitn(6, |b| *b == b'\n');
    let mut line = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (key, ciphertext, iv, appid, now) = (line(), line(), line(), line(), line());
    let plaintext = parts.next().unwrap_or_default();
    let now = now.trim().parse::<u64>().unwrap_or(SAMPLE_TS);

    // 1. Arbitrary text as WeChat would hand it over.
    differential(&key, &ciphertext, &iv, &appid, now);

    // 2. Arbitrary plaintext under a real key and iv: JSON + watermark on chosen payloads.
    let key16: [u8; 16] = b64_decode(&key)
        .and_then(|k| k.try_into().ok())
        .or_else(|| b64_decode(SAMPLE_SESSION_KEY).and_then(|k| k.try_into().ok()))
        .expect("the sample key is 16 bytes");
    let iv16: [u8; 16] = b64_decode(&iv)
        .and_then(|v| v.try_into().ok())
        .or_else(|| b64_decode(SAMPLE_IV).and_then(|v| v.try_into().ok()))
        .expect("the sample iv is 16 bytes");
    let sealed = aes128_cbc_encrypt(&key16, &iv16, plaintext);
    let (key_b64, data_b64, iv_b64) = (b64_encode(&key16), b64_encode(&sealed), b64_encode(&iv16));
    differential(&key_b64, &data_b64, &iv_b64, &appid, now);
    if let Ok(payload) = open(&key_b64, &data_b64, &iv_b64, &appid, now) {
        assert_eq!(
            Some(payload),
            serde_json::from_slice::<Value>(plaintext).ok(),
            "opened something other than what was sealed"
        );
    }
});
