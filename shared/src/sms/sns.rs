//! Amazon SNS `Publish` to a phone number, transactional, with the English free text
//! (SNS has no templates). SDK errors are reduced to their code and request id.

use super::{SendFuture, SmsSender, VerificationCode};
use crate::domain::PhoneNumber;

pub struct SnsSender {
    client: aws_sdk_sns::Client,
}

impl SnsSender {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_sns::Client::new(sdk),
        }
    }
}

impl SmsSender for SnsSender {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a> {
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
                .message(code.english_text())
                .message_attributes("AWS.SNS.SMS.SMSType", transactional)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::sdk_fault::sdk_fault!(aws_sdk_sns, "SNS", &e))
        })
    }
}
