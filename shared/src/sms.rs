//! Sending SMS codes: a pluggable sender chosen by `SMS_SENDER` — Amazon SNS in production,
//! or the log (local server: the code is printed, never put in a reply).

use crate::domain::PhoneNumber;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

pub trait SmsSender: Send + Sync {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, text: &'a str) -> SendFuture<'a>;
}

pub type SharedSender = Arc<dyn SmsSender>;

/// Writes the message to the log: for the local server only.
pub struct LogSender;

impl SmsSender for LogSender {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, text: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            tracing::warn!(phone = %phone, sms = text, "SMS_SENDER=log: the SMS is printed here instead of sent");
            Ok(())
        })
    }
}

/// Amazon SNS `Publish` to a phone number, transactional.
#[cfg(feature = "sns")]
pub struct SnsSender {
    client: aws_sdk_sns::Client,
}

#[cfg(feature = "sns")]
impl SnsSender {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_sns::Client::new(sdk),
        }
    }
}

#[cfg(feature = "sns")]
impl SmsSender for SnsSender {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, text: &'a str) -> SendFuture<'a> {
        use aws_sdk_sns::types::MessageAttributeValue;
        Box::pin(async move {
            let transactional = MessageAttributeValue::builder()
                .data_type("String")
                .string_value("Transactional")
                .build()
                .map_err(|e| e.to_string())?;
            self.client
                .publish()
                .phone_number(phone.e164())
                .message(text)
                .message_attributes("AWS.SNS.SMS.SMSType", transactional)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::sdk_fault::sdk_fault!(aws_sdk_sns, "SNS", &e))
        })
    }
}
