//! The production choice of SMS sender by `SMS_SENDER` (the `account` function's wiring):
//! SNS over the function's SDK configuration, Alibaba or Tencent with their credentials from
//! Secrets Manager (loaded now: a missing secret fails the cold start), or the log sender
//! (`Config` already refused it inside Lambda).

use super::{LogSender, SmsSender, SnsSender};
use crate::clock::SystemClock;
use crate::config::{Config, SmsSenderKind};
use crate::secrets::aws::SecretsManagerSource;
use std::sync::Arc;

pub async fn production_sender(
    config: &Config,
    sdk: &aws_config::SdkConfig,
) -> Result<Box<dyn SmsSender>, super::china::BuildError> {
    match config.sms_sender {
        SmsSenderKind::Sns => Ok(Box::new(SnsSender::new(sdk))),
        SmsSenderKind::Log => Ok(Box::new(LogSender)),
        kind @ (SmsSenderKind::Aliyun | SmsSenderKind::Tencent) => {
            super::china::sender(
                kind,
                config.china_sms.as_ref(),
                Arc::new(SecretsManagerSource::new(sdk)),
                Arc::new(SystemClock),
            )
            .await
        }
    }
}
