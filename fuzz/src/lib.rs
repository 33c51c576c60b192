//! Shared pieces of the fuzz targets: WeChat's published sample, a fixed signing-key secret,
//! an offline WeChat stub and an SMS sender that keeps the last text, so that route handlers
//! run end to end on the in-memory store without any network.
//!
//! Harness code: a setup failure panics on purpose (it is a broken harness, not a finding).

use std::sync::{Arc, Mutex, OnceLock};
use wxlogin::domain::{AppId, LoginCode, OpenId, PhoneNumber, SessionKey, UnionId};
use wxlogin::secrets::AppSecret;
use wxlogin::sms::{SendFuture, SmsSender, VerificationCode};
use wxlogin::wechat::{WeChatApi, WeChatError, WxAccessToken, WxPhone, WxSession};

/// WeChat's published WXBizDataCrypt sample (开放数据校验与解密).
pub const SAMPLE_APPID: &str = "wx4f4bc4dec97d474b";
pub const SAMPLE_SESSION_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
pub const SAMPLE_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
pub const SAMPLE_TS: u64 = 1_477_314_187;

/// The signing-key secret every target uses: fixed seeds, so that tokens signed once (the
/// seed corpus) verify in every run. `previous` gives the set a second key.
pub const SIGNING_SECRET_JSON: &str = r#"{"current":"fuzz-current-seed-0123456789abcdefghijklmnop","previous":"fuzz-previous-seed-0123456789abcdefghijklmno"}"#;
pub const CURRENT_SEED: &str = "fuzz-current-seed-0123456789abcdefghijklmnop";
pub const PREVIOUS_SEED: &str = "fuzz-previous-seed-0123456789abcdefghijklmno";
pub const WECHAT_SECRET_ID: &str = "fuzz/wechat";
pub const SIGNING_SECRET_ID: &str = "fuzz/signing";
pub const APP_SECRET: &str = "fuzz-app-secret";

/// One current-thread runtime for the whole process.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

/// The project's default token settings (issuer `wxlogin`, audience `wxlogin-api`, 7200 s).
pub fn token_settings() -> wxlogin::config::TokenSettings {
    let mut settings = wxlogin::config::Config::from_lookup(|_| None)
        .expect("the default configuration")
        .tokens;
    // The corpus tokens are signed with Ed25519 seeds.
    settings.algorithm = wxlogin::tokens::SigningAlgorithm::EdDsa;
    settings
}

/// An Ed25519 `EncodingKey` for a seed, derived the way `tokens::keys` derives it (SHA-256 of
/// the domain-tagged seed, wrapped in PKCS#8). Used only to sign fixed seed-corpus tokens; the
/// targets check at start that the verifier accepts them, so a drift here fails loudly.
pub fn encoding_key_for_seed(seed_text: &str) -> jsonwebtoken::EncodingKey {
    const PKCS8_ED25519_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut input = b"wxlogin-ed25519-v1:".to_vec();
    input.extend_from_slice(seed_text.as_bytes());
    let seed = wxlogin::crypto::sha256(&input);
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    jsonwebtoken::EncodingKey::from_ed_der(&der)
}

/// Signs `claims` with the key of `seed_text` under `header` (with `kid` set to `kid`).
pub fn sign_with_seed(
    seed_text: &str,
    header: &jsonwebtoken::Header,
    kid: &str,
    claims: &serde_json::Value,
) -> String {
    let mut header = header.clone();
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding_key_for_seed(seed_text)).expect("signing")
}

/// The header and the claims of a JWT, unchecked.
pub fn jwt_parts(token: &str) -> (jsonwebtoken::Header, serde_json::Value) {
    let header = jsonwebtoken::decode_header(token).expect("a JWT header");
    let payload = token.split('.').nth(1).expect("a JWT payload");
    let claims = wxlogin::crypto::b64url_decode(payload).expect("base64url claims");
    (
        header,
        serde_json::from_slice(&claims).expect("JSON claims"),
    )
}

/// An offline WeChat: answers from the code alone, deterministically.
///
/// - `jscode2session`: `blocked…`, `busy…`, `limited…`, `bad…` codes fail as WeChat would;
///   any other code logs in the openid derived from it, with the sample session_key, and a
///   unionid when the code starts with `u`.
/// - `getuserphonenumber`: a code of 11 digits starting with 1 is that Chinese number; else
///   40029.
/// - `checksession`: true for the sample session_key.
#[derive(Clone, Default)]
pub struct StubWeChat;

fn derived_id(prefix: &str, code: &str) -> String {
    let hex = wxlogin::crypto::sha256_hex(code.as_bytes());
    format!("{prefix}{}", hex.get(..26).unwrap_or(&hex))
}

impl WeChatApi for StubWeChat {
    async fn stable_access_token(
        &self,
        _appid: &AppId,
        _secret: &AppSecret,
    ) -> Result<WxAccessToken, WeChatError> {
        Ok(WxAccessToken::new("stub-access-token", 7200))
    }

    async fn get_user_phone_number(
        &self,
        _access_token: &WxAccessToken,
        code: &str,
        _openid: &OpenId,
    ) -> Result<WxPhone, WeChatError> {
        let digits_ok =
            code.len() == 11 && code.starts_with('1') && code.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok {
            return Err(WeChatError::InvalidCode(40029));
        }
        let phone =
            PhoneNumber::from_parts("86", code).map_err(|_| WeChatError::InvalidCode(40029))?;
        Ok(WxPhone {
            phone,
            watermark_appid: Some(SAMPLE_APPID.to_owned()),
        })
    }

    async fn check_session(
        &self,
        _access_token: &WxAccessToken,
        _openid: &OpenId,
        session_key: &SessionKey,
    ) -> Result<bool, WeChatError> {
        Ok(session_key.expose() == SAMPLE_SESSION_KEY)
    }

    async fn code_to_session(
        &self,
        _appid: &AppId,
        _secret: &AppSecret,
        code: &LoginCode,
    ) -> Result<WxSession, WeChatError> {
        let code = code.expose();
        if code.starts_with("blocked") {
            return Err(WeChatError::Blocked);
        }
        if code.starts_with("busy") {
            return Err(WeChatError::Busy);
        }
        if code.starts_with("limited") {
            return Err(WeChatError::RateLimited);
        }
        if code.starts_with("bad") {
            return Err(WeChatError::InvalidCode(40029));
        }
        let openid = OpenId::parse(&derived_id("o", code))
            .map_err(|_| WeChatError::BadReply("openid".into()))?;
        let unionid = if code.starts_with('u') {
            Some(
                UnionId::parse(&derived_id("u", code))
                    .map_err(|_| WeChatError::BadReply("unionid".into()))?,
            )
        } else {
            None
        };
        Ok(WxSession {
            openid,
            session_key: SessionKey::new(SAMPLE_SESSION_KEY),
            unionid,
        })
    }
}

/// Keeps the last SMS text, so that a later request can quote its code.
#[derive(Clone, Default)]
pub struct KeptSms(pub Arc<Mutex<Option<String>>>);

impl KeptSms {
    /// The first run of 4 to 8 digits in the last text.
    pub fn last_code(&self) -> Option<String> {
        let text = self.0.lock().ok()?.clone()?;
        text.split(|c: char| !c.is_ascii_digit())
            .find(|run| (4..=8).contains(&run.len()))
            .map(str::to_owned)
    }
}

impl SmsSender for KeptSms {
    fn send<'a>(&'a self, _phone: &'a PhoneNumber, code: VerificationCode<'a>) -> SendFuture<'a> {
        Box::pin(async move {
            if let Ok(mut last) = self.0.lock() {
                *last = Some(code.code().to_owned());
            }
            Ok(())
        })
    }
}

/// Replaces every `from` in `haystack` by `to`.
pub fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack.get(i..i + from.len()) == Some(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.extend_from_slice(haystack.get(i..=i).unwrap_or_default());
            i += 1;
        }
    }
    out
}
