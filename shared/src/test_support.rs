//! A flow harness for unit tests: in-memory store and secrets, a manual clock, and the real
//! WeChat client talking HTTP to the fake WeChat.

use crate::clock::{ManualClock, SystemClock};
use crate::config::TokenSettings;
use crate::domain::{LoginCode, PhoneNumber, SignupMode};
use crate::error::AppError;
use crate::fake::{FakeWeChat, HttpServer};
use crate::flows::{Backend, LoginOutcome, LoginRequest, SessionTokens};
use crate::secrets::InMemorySecrets;
use crate::sms::{SendFuture, SmsSender, VerificationCode};
use crate::store::InMemoryStore;
use crate::tokens::{Keyring, TokenIssuer, TokenVerifier};
use crate::wechat::client::WeChatClient;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const APP: &str = "wxapp0000000001";
pub const SECRET: &str = "secret-one";
pub const APP2: &str = "wxapp0000000002";
pub const SECRET2: &str = "secret-two";
pub const WECHAT_SECRET_ID: &str = "wechat";
pub const SIGNING_SECRET_ID: &str = "signing";

pub type TestBackend = Backend<InMemoryStore, WeChatClient, InMemorySecrets>;

pub struct Harness {
    pub backend: Arc<TestBackend>,
    pub wechat: FakeWeChat,
    pub secrets: InMemorySecrets,
    pub store: InMemoryStore,
    pub clock: ManualClock,
    _server: HttpServer,
}

pub fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "iss".into(),
        audience: "aud".into(),
        access_ttl_secs: 7200,
        refresh_ttl_secs: 30 * 86400,
        refresh_max_lifetime_secs: 90 * 86400,
        bind_ttl_secs: 600,
        // The harness's keyring is an Ed25519 seed (fast to make); RS256 has its own tests.
        algorithm: crate::tokens::SigningAlgorithm::EdDsa,
    }
}

impl Harness {
    /// The session service over the harness's store and clock.
    pub async fn sessions(&self) -> crate::flows::SessionService<InMemoryStore> {
        crate::flows::SessionService::new(
            self.store.clone(),
            &settings(),
            std::sync::Arc::new(self.clock.clone()),
        )
        .await
        .unwrap()
    }

    pub async fn new(mode: SignupMode) -> Self {
        Self::with_wechat_timeout(mode, Duration::from_millis(400)).await
    }

    /// With the production client's own timeout per WeChat call (`new` uses a short one).
    pub async fn with_wechat_timeout(mode: SignupMode, wechat_timeout: Duration) -> Self {
        let wechat = FakeWeChat::new();
        wechat.add_app(APP, SECRET).add_app(APP2, SECRET2);
        let server = wechat.start(0).await.unwrap();
        let secrets = InMemorySecrets::new();
        secrets.set(
            WECHAT_SECRET_ID,
            &serde_json::json!({"apps": {APP: SECRET, APP2: SECRET2}}).to_string(),
        );
        secrets.set(SIGNING_SECRET_ID, &Keyring::generate_secret_json(None));
        let store = InMemoryStore::new();
        let clock = ManualClock::at(SystemClock.now_for_tests());
        let backend = Backend::new(
            store.clone(),
            WeChatClient::with_timeout(&server.url(), wechat_timeout).unwrap(),
            Arc::new(secrets.clone()),
            WECHAT_SECRET_ID,
            SIGNING_SECRET_ID,
            TokenIssuer::new(settings()),
            mode,
            Arc::new(clock.clone()),
        );
        backend.load_secrets().await.unwrap();
        Self {
            backend: Arc::new(backend),
            wechat,
            secrets,
            store,
            clock,
            _server: server,
        }
    }

    pub async fn login_as(&self, appid: &str, user: &str) -> Result<LoginOutcome, AppError> {
        let code = self.wechat.issue_code(appid, user);
        self.login_code(appid, &code).await
    }

    pub async fn login_code(&self, appid: &str, code: &str) -> Result<LoginOutcome, AppError> {
        self.backend
            .login(LoginRequest {
                code: LoginCode::parse(code).unwrap(),
                appid: Some(appid.to_owned()),
                source_ip: None,
            })
            .await
    }

    pub async fn session(&self, appid: &str, user: &str) -> SessionTokens {
        match self.login_as(appid, user).await.unwrap() {
            LoginOutcome::Session(s) => s,
            LoginOutcome::PhoneRequired(_) => panic!("expected a session"),
        }
    }

    /// The principal an access token of this harness proves.
    pub async fn principal(&self, access_token: &str) -> crate::principal::SessionPrincipal {
        crate::principal::access(&self.verifier().await, access_token).unwrap()
    }

    pub async fn verifier(&self) -> TokenVerifier {
        let keys = self.backend.keys.get().await.unwrap();
        TokenVerifier::new(
            keys.public.clone(),
            "iss",
            "aud",
            Arc::new(self.clock.clone()),
        )
    }
}

/// An SMS sender that keeps every message (phone in E.164, text) instead of sending it.
#[derive(Clone, Default)]
pub struct CapturedSms(Arc<Mutex<Vec<(String, String)>>>);

impl CapturedSms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message so far, oldest first.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }

    /// The text of the last message to `phone` (E.164).
    pub fn last_text(&self, phone: &str) -> Option<String> {
        self.sent()
            .into_iter()
            .rev()
            .find(|(p, _)| p == phone)
            .map(|(_, text)| text)
    }

    /// The code in the last message to `phone`: its only run of exactly 6 digits.
    pub fn last_code(&self, phone: &str) -> Option<String> {
        let text = self.last_text(phone)?;
        let mut runs = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|run| run.len() == 6);
        let code = runs.next()?;
        runs.next().is_none().then(|| code.to_owned())
    }
}

impl SmsSender for CapturedSms {
    fn send<'a>(&'a self, phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            self.0
                .lock()
                .map_err(|e| e.to_string())?
                .push((phone.e164().to_owned(), code.english_text()));
            Ok(())
        })
    }
}

trait NowForTests {
    fn now_for_tests(&self) -> u64;
}
impl NowForTests for SystemClock {
    fn now_for_tests(&self) -> u64 {
        crate::clock::Clock::now(self)
    }
}

/// The caller a session's tokens prove, read from the answer itself (the refresh token names
/// the family).
pub fn session_of(
    s: &SessionTokens,
    appid: &str,
    user: &str,
) -> crate::principal::SessionPrincipal {
    crate::principal::SessionPrincipal {
        user_id: crate::domain::UserId::parse(&s.user.id).unwrap(),
        appid: crate::domain::AppId::parse(appid).unwrap(),
        openid: crate::domain::OpenId::parse(&FakeWeChat::openid(appid, user)).unwrap(),
        session: s.refresh_token.split('.').next().unwrap().to_owned(),
        phone_bound: s.user.phone_bound,
    }
}
