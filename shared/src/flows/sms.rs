//! SMS one-time codes: 6 digits, stored as a salted SHA-256 with a 5-minute TTL, at most 5
//! attempts each, compared in constant time, consumed on success. Before a (paid) send, the
//! abuse guard: the country allowlist (`SMS_COUNTRIES`), then the limits per source address
//! and network, per phone (a minute and a day), per block of 10,000 numbers, and the
//! deployment's daily budget, each an atomic counter; a full window is 429 with Retry-After.
//! The code never appears in a reply or (outside the local log sender) in a log.

use super::abuse_guard::{network_scope, number_block, source_scope};
use super::backend::Backend;
use crate::crypto::{b64url, b64url_decode, constant_time_eq, random_bytes, sha256};
use crate::domain::PhoneNumber;
use crate::error::Cause;
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Counter};
use crate::secrets::SecretSource;
use crate::sms::{SmsSender, VerificationCode};
use crate::store::{Counters, SmsCodes};

pub const CODE_TTL_SECS: u64 = 300;
pub const MAX_ATTEMPTS: u32 = 5;

/// A phone number as a client types it: E.164 (`+8613800138000`) or an 11-digit mainland
/// number (`13800138000`, taken as +86).
pub fn parse_phone(raw: &str) -> AppResult<PhoneNumber> {
    let raw = raw.trim();
    let parsed = if raw.starts_with('+') {
        PhoneNumber::parse_e164(raw)
    } else if raw.len() == 11 && raw.starts_with('1') {
        PhoneNumber::from_parts("86", raw)
    } else {
        return Err(AppError::InvalidRequest(
            "phone must be E.164 (+8613800138000) or 11 mainland digits",
        ));
    };
    parsed.map_err(|_| AppError::InvalidRequest("phone is not a valid number"))
}

fn six_digits() -> String {
    // Rejection sampling keeps the 10^6 codes equally likely.
    loop {
        let n = u32::from_be_bytes(random_bytes::<4>());
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

fn salted(salt: &[u8], code: &str) -> String {
    let mut input = salt.to_vec();
    input.extend_from_slice(code.as_bytes());
    b64url(&sha256(&input))
}

impl<S: SmsCodes + Counters, W, X: SecretSource> Backend<S, W, X> {
    /// Sends a fresh code to `phone` unless the guard says no.
    pub async fn send_sms_code(
        &self,
        sender: &dyn SmsSender,
        phone: &PhoneNumber,
        caller_ip: Option<&str>,
    ) -> AppResult<u64> {
        let limits = &self.limits;
        let digits = phone.e164().trim_start_matches('+');
        if !limits.sms_countries.admits_number(digits) {
            tracing::info!(phone = %phone, "SMS refused: country not in SMS_COUNTRIES");
            return Err(AppError::InvalidRequest(
                "SMS codes are not sent to this country",
            ));
        }
        self.admit(
            "sms-address",
            &source_scope(caller_ip),
            limits.sms_per_address,
        )
        .await?;
        self.admit(
            "sms-network",
            &network_scope(caller_ip),
            limits.sms_per_network,
        )
        .await?;
        for rate in limits.sms_per_phone {
            self.admit("sms-phone", phone.e164(), rate).await?;
        }
        self.admit("sms-block", number_block(phone), limits.sms_per_prefix)
            .await?;
        self.spend("SMS_BUDGET", "all", limits.sms_budget).await?;
        let now = self.clock.now();
        let code = six_digits();
        let salt = random_bytes::<16>();
        let stored = format!("{}:{}", b64url(&salt), salted(&salt, &code));
        self.store
            .put_sms_code(phone, &stored, now + CODE_TTL_SECS)
            .await?;
        // Each sender words the message (SNS) or fills its approved template (China).
        sender
            .send(phone, VerificationCode::new(&code, CODE_TTL_SECS))
            .await
            .map_err(|e| AppError::ServiceUnavailable(Cause::new(format!("SMS not sent: {e}"))))?;
        tracing::info!(phone = %phone, "SMS code sent");
        metrics::count(Counter::SmsSent);
        Ok(CODE_TTL_SECS)
    }

    /// Checks a code against the phone's live one, spending an attempt; consumes it on success.
    pub async fn verify_sms_code(&self, phone: &PhoneNumber, code: &str) -> AppResult<()> {
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::InvalidRequest("sms_code must be 6 digits"));
        }
        let now = self.clock.now();
        let Some(stored) = self
            .store
            .attempt_sms_code(phone, MAX_ATTEMPTS, now)
            .await?
        else {
            return Err(AppError::InvalidCode);
        };
        let (salt, expected) = stored
            .split_once(':')
            .ok_or_else(|| AppError::internal("stored SMS code is malformed"))?;
        let salt = b64url_decode(salt)
            .ok_or_else(|| AppError::internal("stored SMS salt is malformed"))?;
        if !constant_time_eq(salted(&salt, code).as_bytes(), expected.as_bytes()) {
            return Err(AppError::InvalidCode);
        }
        if !self.store.consume_sms_code(phone, &stored).await? {
            return Err(AppError::InvalidCode);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_parse_as_e164_or_mainland_digits() {
        assert_eq!(parse_phone("13800138000").unwrap().e164(), "+8613800138000");
        assert_eq!(parse_phone("+14155550123").unwrap().e164(), "+14155550123");
        assert!(parse_phone("0138").is_err());
        assert!(parse_phone("+86 138").is_err());
        assert!(parse_phone("23800138000").is_err());
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = six_digits();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|d| d.is_ascii_digit()));
        }
    }
}
