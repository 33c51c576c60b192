//! What a fake SMS provider received: every message it accepted (phone as sent, sign name,
//! template id, template values), and the error codes it answered, so tests can count the
//! messages, read the code off the last one, and see why one was refused.

use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};

/// One accepted message.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSms {
    /// The phone as the request named it (Alibaba: national digits; Tencent: E.164).
    pub phone: String,
    pub sign_name: String,
    pub template_id: String,
    /// Alibaba: the TemplateParam object; Tencent: the TemplateParamSet array.
    pub template_params: Value,
}

impl FakeSms {
    /// The verification code: Alibaba's `code` value, Tencent's first template value.
    pub fn code(&self) -> Option<&str> {
        match &self.template_params {
            Value::Object(map) => map.get("code").and_then(Value::as_str),
            Value::Array(values) => values.first().and_then(Value::as_str),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Log {
    sent: Vec<FakeSms>,
    refusals: Vec<String>,
    calls: usize,
}

/// Shared between a fake's handle and its server.
#[derive(Clone, Default)]
pub struct Outbox {
    log: Arc<Mutex<Log>>,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    pub(crate) fn called(&self) {
        self.lock().calls += 1;
    }
    pub(crate) fn record(&self, sms: FakeSms) {
        self.lock().sent.push(sms);
    }
    pub(crate) fn refused(&self, code: &str) {
        self.lock().refusals.push(code.to_owned());
    }
    /// Every accepted message, oldest first.
    pub fn sent(&self) -> Vec<FakeSms> {
        self.lock().sent.clone()
    }
    /// The error codes answered, oldest first (signature, parameter and business refusals).
    pub fn refusals(&self) -> Vec<String> {
        self.lock().refusals.clone()
    }
    /// Requests received, whatever became of them.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }
    /// The code in the last message accepted for `phone` (as the request named it).
    pub fn last_code_to(&self, phone: &str) -> Option<String> {
        self.lock()
            .sent
            .iter()
            .rev()
            .find(|sms| sms.phone == phone)
            .and_then(FakeSms::code)
            .map(str::to_owned)
    }
}
