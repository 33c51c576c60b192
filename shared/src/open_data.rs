//! WeChat's encrypted open data (开放数据校验与解密): base64 `encryptedData` and `iv`,
//! AES-128-CBC with the user's `session_key`, a JSON object whose `watermark` names the app and
//! the time it was made. One function opens and checks it for every caller (legacy phone
//! binding, legacy user info); the callers read their own fields from the payload.

use crate::crypto::{DecryptError, aes128_cbc_decrypt, b64_decode};
use serde_json::Value;

/// Data made longer ago than this is refused.
pub const WATERMARK_MAX_AGE_SECS: u64 = 600;
/// Data stamped further in the future than this (clock skew) is refused.
pub const WATERMARK_MAX_SKEW_SECS: u64 = 60;

/// Why open data was refused. Every variant but `SessionKeyCorrupt` is the client's data and
/// answers the same `DECRYPT_FAILED`; the variant is for logs and the stale-key check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenDataError {
    /// The stored session_key is not 16 bytes of base64: our data, fail closed.
    SessionKeyCorrupt,
    NotBase64,
    /// iv or ciphertext of the wrong length.
    BadShape,
    /// Padding or JSON wrong: bad data, or a session_key rotated by a newer `wx.login`.
    WrongKey,
    WatermarkAppid,
    WatermarkTime,
}

impl OpenDataError {
    pub fn reason(self) -> &'static str {
        match self {
            Self::SessionKeyCorrupt => "stored session_key does not decode to 16 bytes",
            Self::NotBase64 => "not base64",
            Self::BadShape => "iv or ciphertext length",
            Self::WrongKey => "padding or JSON",
            Self::WatermarkAppid => "watermark appid",
            Self::WatermarkTime => "watermark timestamp missing or out of range",
        }
    }
}

/// Decrypts `encrypted_data` with `session_key` (all base64, as WeChat hands them out) and
/// checks the watermark against `appid` and `now`.
pub fn open(
    session_key: &str,
    encrypted_data: &str,
    iv: &str,
    appid: &str,
    now: u64,
) -> Result<Value, OpenDataError> {
    let key = b64_decode(session_key)
        .filter(|k| k.len() == 16)
        .ok_or(OpenDataError::SessionKeyCorrupt)?;
    let (Some(ciphertext), Some(iv)) = (b64_decode(encrypted_data), b64_decode(iv)) else {
        return Err(OpenDataError::NotBase64);
    };
    let plaintext = aes128_cbc_decrypt(&key, &iv, &ciphertext).map_err(|e| match e {
        DecryptError::BadPadding => OpenDataError::WrongKey,
        DecryptError::BadKeyLength
        | DecryptError::BadIvLength
        | DecryptError::BadCiphertextLength => OpenDataError::BadShape,
    })?;
    let payload: Value = serde_json::from_slice(&plaintext).map_err(|_| OpenDataError::WrongKey)?;
    check_watermark(&payload, appid, now)?;
    Ok(payload)
}

/// The watermark rule: made for `appid`, at most `WATERMARK_MAX_AGE_SECS` old and at most
/// `WATERMARK_MAX_SKEW_SECS` ahead of `now`. Checked arithmetic: any `u64` timestamp is safe.
pub fn check_watermark(payload: &Value, appid: &str, now: u64) -> Result<(), OpenDataError> {
    if payload.pointer("/watermark/appid").and_then(Value::as_str) != Some(appid) {
        return Err(OpenDataError::WatermarkAppid);
    }
    let ts = payload
        .pointer("/watermark/timestamp")
        .and_then(Value::as_u64)
        .ok_or(OpenDataError::WatermarkTime)?;
    let fresh_enough = ts
        .checked_add(WATERMARK_MAX_AGE_SECS)
        .is_none_or(|oldest_ok| oldest_ok >= now);
    let not_ahead = now
        .checked_add(WATERMARK_MAX_SKEW_SECS)
        .is_none_or(|latest_ok| ts <= latest_ok);
    if fresh_enough && not_ahead {
        Ok(())
    } else {
        Err(OpenDataError::WatermarkTime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stamped(ts: Value) -> Value {
        json!({"watermark": {"appid": "wxapp", "timestamp": ts}})
    }

    #[test]
    fn the_watermark_window_is_inclusive_at_both_ends() {
        let now = 1_000_000;
        let ok = |ts: u64| check_watermark(&stamped(json!(ts)), "wxapp", now);
        assert_eq!(ok(now), Ok(()));
        assert_eq!(ok(now - WATERMARK_MAX_AGE_SECS), Ok(()));
        assert_eq!(ok(now + WATERMARK_MAX_SKEW_SECS), Ok(()));
        assert_eq!(
            ok(now - WATERMARK_MAX_AGE_SECS - 1),
            Err(OpenDataError::WatermarkTime)
        );
        assert_eq!(
            ok(now + WATERMARK_MAX_SKEW_SECS + 1),
            Err(OpenDataError::WatermarkTime)
        );
    }

    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        // Before the fix, `ts + 600` overflowed on u64::MAX (a panic in debug builds).
        for ts in [u64::MAX, u64::MAX - 599, u64::MAX - WATERMARK_MAX_AGE_SECS] {
            assert_eq!(
                check_watermark(&stamped(json!(ts)), "wxapp", 1_000_000),
                Err(OpenDataError::WatermarkTime)
            );
        }
        // A clock at the very end of time cannot overflow either.
        assert_eq!(
            check_watermark(&stamped(json!(u64::MAX)), "wxapp", u64::MAX),
            Ok(())
        );
        assert_eq!(
            check_watermark(&stamped(json!(0)), "wxapp", u64::MAX),
            Err(OpenDataError::WatermarkTime)
        );
    }

    #[test]
    fn another_app_or_a_missing_stamp_is_refused() {
        let now = 1_000_000;
        assert_eq!(
            check_watermark(&stamped(json!(now)), "wxother", now),
            Err(OpenDataError::WatermarkAppid)
        );
        assert_eq!(
            check_watermark(&stamped(json!("1000000")), "wxapp", now),
            Err(OpenDataError::WatermarkTime)
        );
        assert_eq!(
            check_watermark(&json!({"watermark": {"appid": "wxapp"}}), "wxapp", now),
            Err(OpenDataError::WatermarkTime)
        );
    }
}
#[cfg(test)]
#[path = "open_data_vectors_tests.rs"]
mod vectors_tests;
