//! Sending SMS codes: the `SmsSender` port (one verification code and its lifetime; each
//! sender words or templates the message itself) and the senders chosen by `SMS_SENDER`:
//! Amazon SNS, Alibaba Cloud SMS and Tencent Cloud SMS in production, or the log (local
//! server: the code is printed, never put in a reply). No sender logs a code or a full phone.

#[cfg(feature = "china-sms")]
pub mod aliyun;
#[cfg(feature = "china-sms")]
pub mod aliyun_sign;
#[cfg(feature = "china-sms")]
pub mod china;
#[cfg(feature = "china-sms")]
pub mod credentials;
#[cfg(all(feature = "china-sms", feature = "sns", feature = "secrets-manager"))]
pub mod select;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "china-sms")]
pub mod tencent;
#[cfg(feature = "china-sms")]
pub mod tencent_sign;
#[cfg(feature = "china-sms")]
pub mod transport;

#[cfg(feature = "sns")]
pub use sns::SnsSender;

use crate::domain::PhoneNumber;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a sender reports when a message did not leave: a short reason of our own words and
/// the provider's error code at most (never the phone, the code or a credential).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One verification code to send, and how long it stays valid. Its Debug form hides the code.
#[derive(Clone, Copy)]
pub struct VerificationCode<'a> {
    code: &'a str,
    lifetime_secs: u64,
}

impl<'a> VerificationCode<'a> {
    pub fn new(code: &'a str, lifetime_secs: u64) -> Self {
        Self {
            code,
            lifetime_secs,
        }
    }
    pub fn code(&self) -> &'a str {
        self.code
    }
    pub fn lifetime_secs(&self) -> u64 {
        self.lifetime_secs
    }
    /// The lifetime in whole minutes, rounded up (300 s → 5).
    pub fn lifetime_minutes(&self) -> u64 {
        self.lifetime_secs.div_ceil(60)
    }
    /// The free-text message of the senders without templates (SNS, the log).
    pub fn english_text(&self) -> String {
        format!(
            "Your verification code is {}. It expires in {} minutes. Do not share it.",
            self.code,
            self.lifetime_minutes()
        )
    }
}

impl fmt::Debug for VerificationCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerificationCode(.., {} s)", self.lifetime_secs)
    }
}

pub trait SmsSender: Send + Sync {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a>;
}

pub type SharedSender = Arc<dyn SmsSender>;

/// Writes the message to the log: for the local server only.
pub struct LogSender;

impl SmsSender for LogSender {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            let text = code.english_text();
            tracing::warn!(phone = %phone, sms = text, "SMS_SENDER=log: the SMS is printed here instead of sent");
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_text_names_the_code_and_the_minutes_and_debug_hides_the_code() {
        let code = VerificationCode::new("123456", 300);
        assert_eq!(
            code.english_text(),
            "Your verification code is 123456. It expires in 5 minutes. Do not share it."
        );
        assert_eq!(VerificationCode::new("1", 61).lifetime_minutes(), 2);
        assert!(!format!("{code:?}").contains("123456"));
    }
}
