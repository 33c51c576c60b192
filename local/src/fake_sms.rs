//! `LOCAL_SMS=aliyun|tencent`: the local server sends SMS codes through the production Alibaba
//! Cloud or Tencent Cloud client, signed, to the built-in fake gateway (which verifies the
//! signature as the provider documents it), then prints the code the fake received. Without
//! it the log sender prints the code. Never a real provider: the keys are made up here.

use std::sync::Arc;
use wxlogin::clock::SystemClock;
use wxlogin::config::{ChinaSmsSettings, SmsSenderKind, TemplateParams, TencentSmsSettings};
use wxlogin::domain::PhoneNumber;
use wxlogin::fake::{FakeAliyunSms, FakeTencentSms, HttpServer, Outbox};
use wxlogin::secrets::InMemorySecrets;
use wxlogin::sms::{SendFuture, SmsSender, VerificationCode};

const SECRET_ID: &str = "local/sms";

/// A China SMS client and the fake it talks to; prints each code the fake accepted.
pub struct LocalChinaSms {
    inner: Box<dyn SmsSender>,
    outbox: Outbox,
    provider: &'static str,
    _server: HttpServer,
}

impl LocalChinaSms {
    /// `None` unless `LOCAL_SMS` names a provider.
    pub async fn from_env() -> Result<Option<Self>, Box<dyn std::error::Error>> {
        let secrets = InMemorySecrets::new();
        let (kind, provider, outbox, server, tencent) =
            match std::env::var("LOCAL_SMS").ok().as_deref() {
                None | Some("") | Some("log") => return Ok(None),
                Some("aliyun") => {
                    let fake = FakeAliyunSms::new();
                    fake.add_key("LTAIlocal", "local-aliyun-secret");
                    secrets.set(
                    SECRET_ID,
                    r#"{"access_key_id":"LTAIlocal","access_key_secret":"local-aliyun-secret"}"#,
                );
                    let server = fake.start(0).await?;
                    (
                        SmsSenderKind::Aliyun,
                        "Alibaba Cloud",
                        fake.outbox().clone(),
                        server,
                        None,
                    )
                }
                Some("tencent") => {
                    let fake = FakeTencentSms::new();
                    fake.add_key("AKIDlocal", "local-tencent-key")
                        .add_app("1400000000");
                    secrets.set(
                        SECRET_ID,
                        r#"{"secret_id":"AKIDlocal","secret_key":"local-tencent-key"}"#,
                    );
                    let server = fake.start(0).await?;
                    let tencent = TencentSmsSettings {
                        app_id: "1400000000".to_owned(),
                        region: "ap-guangzhou".to_owned(),
                    };
                    (
                        SmsSenderKind::Tencent,
                        "Tencent Cloud",
                        fake.outbox().clone(),
                        server,
                        Some(tencent),
                    )
                }
                Some(other) => {
                    return Err(format!(
                        "LOCAL_SMS must be \"aliyun\", \"tencent\" or \"log\", got {other:?}"
                    )
                    .into());
                }
            };
        let settings = ChinaSmsSettings {
            credentials_secret_id: SECRET_ID.to_owned(),
            sign_name: "wxlogin本地".to_owned(),
            template_id: if tencent.is_some() {
                "100000"
            } else {
                "SMS_100000"
            }
            .to_owned(),
            template_params: TemplateParams::CodeAndMinutes,
            endpoint_url: Some(server.url()),
            tencent,
        };
        let inner = wxlogin::sms::china::sender(
            kind,
            Some(&settings),
            Arc::new(secrets),
            Arc::new(SystemClock),
        )
        .await?;
        Ok(Some(Self {
            inner,
            outbox,
            provider,
            _server: server,
        }))
    }

    pub fn provider(&self) -> &'static str {
        self.provider
    }
}

impl SmsSender for LocalChinaSms {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            self.inner.send(phone, code).await?;
            if let Some(sms) = self.outbox.sent().last() {
                tracing::warn!(phone = %phone, code = sms.code().unwrap_or_default(), template = %sms.template_id,
                    "LOCAL_SMS: the fake {} gateway accepted this signed SMS", self.provider);
            }
            Ok(())
        })
    }
}
