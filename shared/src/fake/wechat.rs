//! A fake WeChat server. It speaks `wechat-api.md`'s wire format (errcode in HTTP 200, success
//! without errcode) over real HTTP for the four APIs wxlogin calls:
//!
//! - `GET /sns/jscode2session`: single-use 5-minute codes from [`FakeWeChat::issue_code`]; each
//!   login rotates the user's session_key ([`FakeWeChat::session_key`]).
//! - `POST /cgi-bin/stable_token`: normal mode hands out the app's current access_token while
//!   it is valid, `force_refresh: true` replaces it (counted by
//!   [`FakeWeChat::force_refreshes`]). Tokens only lapse when a test says so:
//!   [`FakeWeChat::expire_access_tokens`] (42001) or [`FakeWeChat::invalidate_access_tokens`]
//!   (40001); `expires_in` is always 7200.
//! - `POST /wxa/business/getuserphonenumber`: single-use 5-minute phone codes from
//!   [`FakeWeChat::issue_phone_code`], bound to an app and a user (40013 for another app's
//!   token, 40029 for another user's openid); `countryCode` as a string or a number.
//! - `GET /wxa/checksession`: HMAC-SHA256 of the empty string keyed with the base64 text of the
//!   user's current session_key, else 87009.
//!
//! Legacy encrypted data is produced as WeChat does ([`FakeWeChat::encrypt_for`],
//! [`FakeWeChat::phone_payload`]); [`FakeWeChat::rotate_session_key`] stands for a newer
//! `wx.login`. Every path can be told to misbehave for its next calls ([`Misbehaviour`]: errcodes,
//! HTML, truncated JSON, slowness, missing fields, HTTP 500), keyed by the exact path, and
//! [`FakeWeChat::calls`] counts requests per path.
//!
//! Tests hold the handle; the local server runs it leniently: any well-formed code logs in
//! ("alice-1" and "alice-2" are the same user "alice"), and any well-formed unknown phone code
//! yields a number once, for whoever asks (the code's leading 11 digits, as in
//! "13800138000-1", otherwise 138 followed by 8 digits derived from the code).

use super::server::{Handler, HttpServer, decode_query, serve};
use crate::crypto::{
    aes128_cbc_encrypt, b64_decode, b64_encode, b64url, constant_time_eq, hmac_sha256_hex,
    random_bytes, sha256, sha256_hex,
};
use crate::http::{HttpRequest, HttpResponse};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the next call to a path should go wrong.
#[derive(Debug, Clone)]
pub enum Misbehaviour {
    Errcode(i64),
    Html,
    Truncated,
    /// Answer correctly, but only after this long.
    Slow(Duration),
    /// A success body without `session_key` (jscode2session; other paths answer normally).
    MissingSessionKey,
    /// A success body without `openid` (jscode2session; other paths answer normally).
    MissingOpenId,
    /// A success body with neither `openid` nor `session_key` (jscode2session; other paths
    /// answer normally).
    MissingOpenIdAndSessionKey,
    /// HTTP 500 with an empty body.
    ServerError,
}

pub const JSCODE2SESSION_PATH: &str = "/sns/jscode2session";
pub const STABLE_TOKEN_PATH: &str = "/cgi-bin/stable_token";
pub const PHONE_NUMBER_PATH: &str = "/wxa/business/getuserphonenumber";
pub const CHECK_SESSION_PATH: &str = "/wxa/checksession";

/// Login codes and phone codes both live this long.
const CODE_LIFETIME_SECS: u64 = 300;
/// What `stable_token` reports as `expires_in`.
const ACCESS_TOKEN_LIFETIME_SECS: u64 = 7200;
/// Codes longer than this are not well-formed (lenient mode only).
const MAX_LENIENT_CODE_LEN: usize = 128;

struct IssuedCode {
    appid: String,
    user: String,
    issued_at: u64,
    used: bool,
    /// The session_key its exchange makes current (what the mini program encrypts with once
    /// this `wx.login` returned).
    session_key: String,
}

struct PhoneCode {
    appid: String,
    /// `None`: a lenient code, good for whoever asks.
    user: Option<String>,
    country_code: String,
    pure_phone: String,
    country_code_as_number: bool,
    issued_at: u64,
    used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenStatus {
    Valid,
    /// Calls get 42001.
    Expired,
    /// Replaced by `force_refresh` or invalidated: calls get 40001.
    Invalid,
}

struct AccessToken {
    appid: String,
    status: TokenStatus,
}

#[derive(Default)]
struct State {
    apps: HashMap<String, String>,
    /// Apps bound to an Open Platform account: their users get a unionid.
    unionid_apps: HashSet<String>,
    lenient: bool,
    codes: HashMap<String, IssuedCode>,
    phone_codes: HashMap<String, PhoneCode>,
    session_keys: HashMap<(String, String), String>,
    /// Every access_token ever issued, by token text.
    access_tokens: HashMap<String, AccessToken>,
    /// The token `stable_token` currently hands out, per appid.
    current_tokens: HashMap<String, String>,
    force_refreshes: usize,
    access_token_fetches: usize,
    misbehave: HashMap<String, VecDeque<Misbehaviour>>,
    calls: HashMap<String, usize>,
    secrets_seen: Vec<String>,
}

impl State {
    /// The appid an access_token belongs to, or the errcode WeChat gives for it.
    fn token_app(&self, token: Option<&str>) -> Result<String, i64> {
        let Some(found) = token.and_then(|t| self.access_tokens.get(t)) else {
            return Err(40001);
        };
        match found.status {
            TokenStatus::Valid => Ok(found.appid.clone()),
            TokenStatus::Expired => Err(42001),
            TokenStatus::Invalid => Err(40001),
        }
    }

    fn set_token_status(&mut self, from: TokenStatus, to: TokenStatus) {
        for token in self.access_tokens.values_mut() {
            if token.status == from {
                token.status = to;
            }
        }
    }
}

/// The handle tests and the local server hold. Cloning shares the state.
#[derive(Clone, Default)]
pub struct FakeWeChat {
    state: Arc<Mutex<State>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// WeChat's `phoneNumber`: the bare number in mainland China, `+<cc><number>` elsewhere.
fn phone_number(country_code: &str, pure_phone: &str) -> String {
    if country_code == "86" {
        pure_phone.to_owned()
    } else {
        format!("+{country_code}{pure_phone}")
    }
}

/// What a lenient unknown phone code stands for: its leading 11 digits, or 138 followed by 8
/// digits derived from the code.
fn lenient_phone(code: &str) -> String {
    let lead: String = code.chars().take(11).collect();
    if lead.len() == 11 && lead.chars().all(|c| c.is_ascii_digit()) {
        return lead;
    }
    let n = sha256(code.as_bytes())
        .iter()
        .take(8)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    format!("138{:08}", n % 100_000_000)
}

/// Codes the lenient mode accepts: what WeChat's codes are made of, and not absurdly long.
fn well_formed_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_LENIENT_CODE_LEN
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn errmsg(errcode: i64) -> &'static str {
    match errcode {
        0 => "ok",
        87009 => "invalid signature",
        _ => "fake error",
    }
}

impl FakeWeChat {
    /// Strict: only codes from `issue_code` / `issue_phone_code` are valid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lenient: any well-formed unknown code is accepted once, for user = the part before '-';
    /// any well-formed unknown phone code is accepted once, for whoever asks.
    pub fn lenient() -> Self {
        let fake = Self::default();
        fake.lock().lenient = true;
        fake
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add_app(&self, appid: &str, secret: &str) -> &Self {
        self.lock().apps.insert(appid.to_owned(), secret.to_owned());
        self
    }

    /// Users of this app get a unionid (the same person's unionid is the same in every such app).
    pub fn enable_unionid(&self, appid: &str) -> &Self {
        self.lock().unionid_apps.insert(appid.to_owned());
        self
    }

    /// A fresh `wx.login` code for `user` in `appid`.
    pub fn issue_code(&self, appid: &str, user: &str) -> String {
        let code = crate::crypto::random_id(20);
        self.lock().codes.insert(
            code.clone(),
            IssuedCode {
                appid: appid.to_owned(),
                user: user.to_owned(),
                issued_at: now(),
                used: false,
                session_key: b64_encode(&random_bytes::<16>()),
            },
        );
        code
    }

    /// Legacy encrypted data under the session_key the login `code` brings (a mini program
    /// that calls `wx.login`, then `getPhoneNumber`, and sends both at once), as
    /// [`FakeWeChat::encrypt_for`] does for the current one. `None` for an unknown code.
    pub fn encrypt_for_code(&self, code: &str, plaintext: &[u8]) -> Option<(String, String)> {
        let key_b64 = self.lock().codes.get(code)?.session_key.clone();
        encrypt_under(&key_b64, plaintext)
    }

    /// Ages every issued login code by `secs` (to test expiry without sleeping).
    pub fn age_codes(&self, secs: u64) {
        for code in self.lock().codes.values_mut() {
            code.issued_at = code.issued_at.saturating_sub(secs);
        }
    }

    /// A fresh getPhoneNumber code (`e.detail.code`) for `user` in `appid`, standing for the
    /// number `country_code` + `pure_phone` (digits, e.g. "86" and "13800138000"). WeChat will
    /// answer `countryCode` as a JSON number when `country_code_as_number`, else as a string.
    pub fn issue_phone_code(
        &self,
        appid: &str,
        user: &str,
        country_code: &str,
        pure_phone: &str,
        country_code_as_number: bool,
    ) -> String {
        let code = crate::crypto::hex(&random_bytes::<32>());
        self.lock().phone_codes.insert(
            code.clone(),
            PhoneCode {
                appid: appid.to_owned(),
                user: Some(user.to_owned()),
                country_code: country_code.to_owned(),
                pure_phone: pure_phone.to_owned(),
                country_code_as_number,
                issued_at: now(),
                used: false,
            },
        );
        code
    }

    /// Ages every issued phone code by `secs` (to test expiry without sleeping).
    pub fn age_phone_codes(&self, secs: u64) {
        for code in self.lock().phone_codes.values_mut() {
            code.issued_at = code.issued_at.saturating_sub(secs);
        }
    }

    /// Queues a misbehaviour for the next call to `path` (exactly as requested, without the
    /// query string: see the `*_PATH` constants).
    pub fn misbehave(&self, path: &str, how: Misbehaviour) {
        self.lock()
            .misbehave
            .entry(path.to_owned())
            .or_default()
            .push_back(how);
    }

    /// How many calls `path` received (misbehaving ones included).
    pub fn calls(&self, path: &str) -> usize {
        self.lock().calls.get(path).copied().unwrap_or(0)
    }

    /// How many `stable_token` calls arrived (every one, whatever its answer).
    pub fn access_token_fetches(&self) -> usize {
        self.lock().access_token_fetches
    }

    /// How many `stable_token` calls with `force_refresh: true` issued a new token.
    pub fn force_refreshes(&self) -> usize {
        self.lock().force_refreshes
    }

    /// Every valid access_token expires: calls with it get 42001, and the next normal
    /// `stable_token` call issues a new one.
    pub fn expire_access_tokens(&self) {
        self.lock()
            .set_token_status(TokenStatus::Valid, TokenStatus::Expired);
    }

    /// Every valid access_token becomes invalid: calls with it get 40001, and the next normal
    /// `stable_token` call issues a new one.
    pub fn invalidate_access_tokens(&self) {
        self.lock()
            .set_token_status(TokenStatus::Valid, TokenStatus::Invalid);
    }

    pub fn openid(appid: &str, user: &str) -> String {
        format!(
            "o{}",
            sha256_hex(format!("{appid}/{user}").as_bytes())
                .chars()
                .take(27)
                .collect::<String>()
        )
    }

    pub fn unionid(user: &str) -> String {
        format!(
            "u{}",
            sha256_hex(format!("union/{user}").as_bytes())
                .chars()
                .take(27)
                .collect::<String>()
        )
    }

    /// The user's current session_key (base64), as WeChat holds it.
    pub fn session_key(&self, appid: &str, user: &str) -> Option<String> {
        self.lock()
            .session_keys
            .get(&(appid.to_owned(), user.to_owned()))
            .cloned()
    }

    /// A newer `wx.login` for the user: a new random session_key replaces the current one (or
    /// becomes the first).
    pub fn rotate_session_key(&self, appid: &str, user: &str) {
        self.lock().session_keys.insert(
            (appid.to_owned(), user.to_owned()),
            b64_encode(&random_bytes::<16>()),
        );
    }

    /// Legacy encrypted data as the mini program receives it: (`encryptedData`, `iv`), both
    /// base64, AES-128-CBC/PKCS#7 under the user's current session_key and a random iv.
    /// `None` when the user has no session_key.
    pub fn encrypt_for(
        &self,
        appid: &str,
        user: &str,
        plaintext: &[u8],
    ) -> Option<(String, String)> {
        let key_b64 = self.session_key(appid, user)?;
        encrypt_under(&key_b64, plaintext)
    }

    /// The plaintext of a legacy phone number payload, as WeChat builds it.
    pub fn phone_payload(
        appid: &str,
        country_code: &str,
        pure_phone: &str,
        timestamp: u64,
    ) -> Value {
        json!({
            "phoneNumber": phone_number(country_code, pure_phone),
            "purePhoneNumber": pure_phone,
            "countryCode": country_code,
            "watermark": {"appid": appid, "timestamp": timestamp},
        })
    }

    /// Whether any request carried this exact secret (tests check what the client sends).
    pub fn secret_was_sent(&self, secret: &str) -> bool {
        self.lock().secrets_seen.iter().any(|s| s == secret)
    }

    /// Starts the HTTP server on 127.0.0.1 (port 0: any free one).
    pub async fn start(&self, port: u16) -> std::io::Result<HttpServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let fake = self.clone();
        let handler: Handler = Arc::new(move |req| {
            let fake = fake.clone();
            Box::pin(async move { fake.handle(req).await })
        });
        serve(listener, handler)
    }

    async fn handle(&self, req: HttpRequest) -> HttpResponse {
        let query = decode_query(&req.query);
        let path = req.path.clone();
        let misbehaviour = {
            let mut state = self.lock();
            *state.calls.entry(path.clone()).or_default() += 1;
            if path == STABLE_TOKEN_PATH {
                state.access_token_fetches += 1;
            }
            state.misbehave.get_mut(&path).and_then(VecDeque::pop_front)
        };
        match misbehaviour {
            Some(Misbehaviour::Errcode(code)) => {
                return wx_json(json!({"errcode": code, "errmsg": "fake error"}));
            }
            Some(Misbehaviour::Html) => {
                return HttpResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "text/html".into())],
                    body: "<html>502 Bad Gateway</html>".into(),
                };
            }
            Some(Misbehaviour::Truncated) => {
                return HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: "{\"openid\":\"o12".into(),
                };
            }
            Some(Misbehaviour::ServerError) => {
                return HttpResponse {
                    status: 500,
                    headers: vec![],
                    body: String::new(),
                };
            }
            Some(Misbehaviour::Slow(d)) => tokio::time::sleep(d).await,
            Some(
                Misbehaviour::MissingSessionKey
                | Misbehaviour::MissingOpenId
                | Misbehaviour::MissingOpenIdAndSessionKey,
            )
            | None => {}
        }
        let dropped: &[&str] = match misbehaviour {
            Some(Misbehaviour::MissingSessionKey) => &["session_key"],
            Some(Misbehaviour::MissingOpenId) => &["openid"],
            Some(Misbehaviour::MissingOpenIdAndSessionKey) => &["openid", "session_key"],
            _ => &[],
        };
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let reply = match (req.method.as_str(), path.as_str()) {
            ("GET", JSCODE2SESSION_PATH) => self
                .jscode2session(
                    get("appid"),
                    get("secret"),
                    get("js_code"),
                    get("grant_type"),
                )
                .map(|mut v| {
                    if let Some(o) = v.as_object_mut() {
                        for field in dropped {
                            o.remove(*field);
                        }
                    }
                    v
                }),
            ("POST", STABLE_TOKEN_PATH) => self.stable_token(&req.body),
            ("POST", PHONE_NUMBER_PATH) => {
                self.get_user_phone_number(get("access_token").as_deref(), &req.body)
            }
            ("GET", CHECK_SESSION_PATH) => self.check_session(
                get("access_token").as_deref(),
                get("openid").as_deref(),
                get("signature").as_deref(),
                get("sig_method").as_deref(),
            ),
            _ => {
                return HttpResponse {
                    status: 404,
                    headers: vec![],
                    body: "not found".into(),
                };
            }
        };
        match reply {
            Ok(v) => wx_json(v),
            Err(code) => wx_json(json!({"errcode": code, "errmsg": errmsg(code)})),
        }
    }

    fn jscode2session(
        &self,
        appid: Option<String>,
        secret: Option<String>,
        code: Option<String>,
        grant_type: Option<String>,
    ) -> Result<Value, i64> {
        let mut state = self.lock();
        let (Some(appid), Some(secret), Some(code)) = (appid, secret, code) else {
            return Err(41002);
        };
        state.secrets_seen.push(secret.clone());
        if grant_type.as_deref() != Some("authorization_code") {
            return Err(40002);
        }
        match state.apps.get(&appid) {
            None => return Err(40013),
            Some(s) if *s != secret => return Err(40125),
            Some(_) => {}
        }
        if state.lenient && !state.codes.contains_key(&code) {
            let user = code.split('-').next().unwrap_or(&code).to_owned();
            state.codes.insert(
                code.clone(),
                IssuedCode {
                    appid: appid.clone(),
                    user,
                    issued_at: now(),
                    used: false,
                    session_key: b64_encode(&random_bytes::<16>()),
                },
            );
        }
        let Some(issued) = state.codes.get_mut(&code) else {
            return Err(40029);
        };
        if issued.appid != appid || now().saturating_sub(issued.issued_at) > CODE_LIFETIME_SECS {
            return Err(40029);
        }
        if issued.used {
            return Err(40163);
        }
        issued.used = true;
        let user = issued.user.clone();
        let session_key = issued.session_key.clone();
        state
            .session_keys
            .insert((appid.clone(), user.clone()), session_key.clone());
        let mut reply = json!({"openid": Self::openid(&appid, &user), "session_key": session_key});
        if state.unionid_apps.contains(&appid)
            && let Some(o) = reply.as_object_mut()
        {
            o.insert("unionid".into(), Value::String(Self::unionid(&user)));
        }
        Ok(reply)
    }

    fn stable_token(&self, body: &[u8]) -> Result<Value, i64> {
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            return Err(47001);
        };
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let force_refresh = match body.get("force_refresh") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(47001),
        };
        let mut state = self.lock();
        if let Some(secret) = text("secret") {
            state.secrets_seen.push(secret);
        }
        if text("grant_type").as_deref() != Some("client_credential") {
            return Err(40002);
        }
        let Some(appid) = text("appid") else {
            return Err(41002);
        };
        let Some(secret) = text("secret") else {
            return Err(41004);
        };
        match state.apps.get(&appid) {
            None => return Err(40013),
            Some(s) if *s != secret => return Err(40125),
            Some(_) => {}
        }
        let current = state.current_tokens.get(&appid).cloned();
        if force_refresh {
            state.force_refreshes += 1;
            if let Some(old) = current
                .as_ref()
                .and_then(|t| state.access_tokens.get_mut(t))
                && old.status == TokenStatus::Valid
            {
                old.status = TokenStatus::Invalid;
            }
        } else if let Some(token) = current
            && state.token_app(Some(&token)).is_ok()
        {
            return Ok(json!({"access_token": token, "expires_in": ACCESS_TOKEN_LIFETIME_SECS}));
        }
        // Shaped like WeChat's ("86_" and then well over 100 URL-safe characters).
        let token = format!("86_{}", b64url(&random_bytes::<96>()));
        state.access_tokens.insert(
            token.clone(),
            AccessToken {
                appid: appid.clone(),
                status: TokenStatus::Valid,
            },
        );
        state.current_tokens.insert(appid, token.clone());
        Ok(json!({"access_token": token, "expires_in": ACCESS_TOKEN_LIFETIME_SECS}))
    }

    fn get_user_phone_number(&self, access_token: Option<&str>, body: &[u8]) -> Result<Value, i64> {
        let mut state = self.lock();
        let token_appid = state.token_app(access_token)?;
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
            return Err(47001);
        };
        let code = match body.get("code") {
            Some(Value::String(code)) if !code.is_empty() => code.clone(),
            Some(Value::String(_)) | None => return Err(40029),
            Some(_) => return Err(47001),
        };
        let openid = match body.get("openid") {
            None | Some(Value::Null) => None,
            Some(Value::String(openid)) => Some(openid.clone()),
            Some(_) => return Err(47001),
        };
        if state.lenient && !state.phone_codes.contains_key(&code) && well_formed_code(&code) {
            state.phone_codes.insert(
                code.clone(),
                PhoneCode {
                    appid: token_appid.clone(),
                    user: None,
                    country_code: "86".into(),
                    pure_phone: lenient_phone(&code),
                    country_code_as_number: false,
                    issued_at: now(),
                    used: false,
                },
            );
        }
        let Some(issued) = state.phone_codes.get_mut(&code) else {
            return Err(40029);
        };
        if issued.appid != token_appid {
            return Err(40013);
        }
        if issued.used || now().saturating_sub(issued.issued_at) > CODE_LIFETIME_SECS {
            return Err(40029);
        }
        if let (Some(openid), Some(user)) = (&openid, &issued.user)
            && *openid != Self::openid(&issued.appid, user)
        {
            return Err(40029);
        }
        issued.used = true;
        let country_code = if issued.country_code_as_number {
            issued
                .country_code
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(issued.country_code.clone()))
        } else {
            Value::String(issued.country_code.clone())
        };
        Ok(json!({
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": phone_number(&issued.country_code, &issued.pure_phone),
                "purePhoneNumber": issued.pure_phone,
                "countryCode": country_code,
                "watermark": {"timestamp": now(), "appid": issued.appid},
            },
        }))
    }

    fn check_session(
        &self,
        access_token: Option<&str>,
        openid: Option<&str>,
        signature: Option<&str>,
        sig_method: Option<&str>,
    ) -> Result<Value, i64> {
        let state = self.lock();
        let appid = state.token_app(access_token)?;
        if sig_method != Some("hmac_sha256") {
            // WeChat's "invalid args": not a verdict on the key.
            return Err(40097);
        }
        let (Some(openid), Some(signature)) = (openid, signature) else {
            return Err(87009);
        };
        let key = state
            .session_keys
            .iter()
            .find(|((app, user), _)| *app == appid && Self::openid(app, user) == openid)
            .map(|(_, key)| key);
        match key {
            Some(key)
                if constant_time_eq(
                    hmac_sha256_hex(key.as_bytes(), b"").as_bytes(),
                    signature.as_bytes(),
                ) =>
            {
                Ok(json!({"errcode": 0, "errmsg": "ok"}))
            }
            _ => Err(87009),
        }
    }
}

fn wx_json(v: Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: v.to_string(),
    }
}

/// AES-128-CBC/PKCS#7 under a base64 session_key and a random iv: (data, iv), both base64.
fn encrypt_under(key_b64: &str, plaintext: &[u8]) -> Option<(String, String)> {
    let key: [u8; 16] = b64_decode(key_b64)?.try_into().ok()?;
    let iv = random_bytes::<16>();
    let ciphertext = aes128_cbc_encrypt(&key, &iv, plaintext);
    Some((b64_encode(&ciphertext), b64_encode(&iv)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aes128_cbc_decrypt;

    const APP: &str = "wxfake000000001";
    const SECRET: &str = "fake-secret-1";
    const APP2: &str = "wxfake000000002";
    const SECRET2: &str = "fake-secret-2";

    async fn start(fake: &FakeWeChat) -> HttpServer {
        fake.add_app(APP, SECRET).add_app(APP2, SECRET2);
        fake.start(0).await.unwrap()
    }

    async fn read(response: reqwest::Response) -> Value {
        assert_eq!(response.status().as_u16(), 200);
        serde_json::from_str(&response.text().await.unwrap()).unwrap()
    }

    async fn post(server: &HttpServer, path: &str, query: &[(&str, &str)], body: &Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", server.url()))
            .query(query)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        read(response).await
    }

    async fn get(server: &HttpServer, path: &str, query: &[(&str, &str)]) -> Value {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", server.url()))
            .query(query)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    async fn stable_token(server: &HttpServer, appid: &str, secret: &str, force: bool) -> Value {
        let body = json!({"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force});
        post(server, STABLE_TOKEN_PATH, &[], &body).await
    }

    async fn fetch_token(server: &HttpServer, appid: &str, secret: &str) -> String {
        let reply = stable_token(server, appid, secret, false).await;
        reply["access_token"].as_str().unwrap().to_owned()
    }

    async fn phone(server: &HttpServer, token: &str, code: &str, openid: Option<&str>) -> Value {
        let mut body = json!({"code": code});
        if let Some(openid) = openid {
            body["openid"] = json!(openid);
        }
        post(server, PHONE_NUMBER_PATH, &[("access_token", token)], &body).await
    }

    async fn login(server: &HttpServer, fake: &FakeWeChat, user: &str) -> String {
        let code = fake.issue_code(APP, user);
        let query = [
            ("appid", APP),
            ("secret", SECRET),
            ("js_code", code.as_str()),
            ("grant_type", "authorization_code"),
        ];
        let reply = get(server, JSCODE2SESSION_PATH, &query).await;
        reply["session_key"].as_str().unwrap().to_owned()
    }

    async fn check(server: &HttpServer, token: &str, openid: &str, signature: &str) -> Value {
        let query = [
            ("access_token", token),
            ("openid", openid),
            ("signature", signature),
            ("sig_method", "hmac_sha256"),
        ];
        get(server, CHECK_SESSION_PATH, &query).await
    }

    fn sign(session_key_b64: &str) -> String {
        hmac_sha256_hex(session_key_b64.as_bytes(), b"")
    }

    #[tokio::test]
    async fn stable_token_hands_out_the_same_long_token_while_it_is_valid() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let first = stable_token(&server, APP, SECRET, false).await;
        let second = stable_token(&server, APP, SECRET, false).await;
        assert_eq!(first["expires_in"], 7200);
        assert!(first.get("errcode").is_none());
        let token = first["access_token"].as_str().unwrap();
        assert!(token.len() >= 100, "{token}");
        assert_eq!(second["access_token"], first["access_token"]);
        let other_app = fetch_token(&server, APP2, SECRET2).await;
        assert_ne!(other_app, token);
        assert_eq!(fake.access_token_fetches(), 3);
        assert_eq!(fake.calls(STABLE_TOKEN_PATH), 3);
        assert_eq!(fake.force_refreshes(), 0);
        assert!(fake.secret_was_sent(SECRET));
    }

    #[tokio::test]
    async fn stable_token_refuses_a_wrong_grant_type_an_unknown_app_and_a_wrong_secret() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let wrong_grant =
            json!({"grant_type": "authorization_code", "appid": APP, "secret": SECRET});
        let reply = post(&server, STABLE_TOKEN_PATH, &[], &wrong_grant).await;
        assert_eq!(reply["errcode"], 40002);
        assert_eq!(
            stable_token(&server, "wxunknown", SECRET, false).await["errcode"],
            40013
        );
        assert_eq!(
            stable_token(&server, APP, "wrong", false).await["errcode"],
            40125
        );
        assert!(fake.secret_was_sent("wrong"));
        let not_json = reqwest::Client::new()
            .post(format!("{}{STABLE_TOKEN_PATH}", server.url()))
            .body("grant_type=client_credential")
            .send()
            .await
            .unwrap();
        assert_eq!(read(not_json).await["errcode"], 47001);
        assert_eq!(fake.access_token_fetches(), 4);
    }

    #[tokio::test]
    async fn force_refresh_issues_a_new_token_invalidates_the_old_one_and_is_counted() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let old = fetch_token(&server, APP, SECRET).await;
        let refreshed = stable_token(&server, APP, SECRET, true).await;
        let new = refreshed["access_token"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert_eq!(fake.force_refreshes(), 1);
        assert_eq!(fetch_token(&server, APP, SECRET).await, new);
        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        assert_eq!(phone(&server, &old, &code, None).await["errcode"], 40001);
        assert_eq!(phone(&server, &new, &code, None).await["errcode"], 0);
        assert_eq!(fake.access_token_fetches(), 3);
    }

    #[tokio::test]
    async fn expired_tokens_get_42001_and_the_next_normal_call_issues_a_new_token() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let old = fetch_token(&server, APP, SECRET).await;
        fake.expire_access_tokens();
        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        assert_eq!(phone(&server, &old, &code, None).await["errcode"], 42001);
        let session_key = login(&server, &fake, "alice").await;
        let openid = FakeWeChat::openid(APP, "alice");
        assert_eq!(
            check(&server, &old, &openid, &sign(&session_key)).await["errcode"],
            42001
        );
        let new = fetch_token(&server, APP, SECRET).await;
        assert_ne!(new, old);
        assert_eq!(phone(&server, &new, &code, None).await["errcode"], 0);
        assert_eq!(phone(&server, &old, &code, None).await["errcode"], 42001);
        assert_eq!(fake.force_refreshes(), 0);
    }

    #[tokio::test]
    async fn invalidated_tokens_get_40001_and_the_next_normal_call_issues_a_new_token() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let old = fetch_token(&server, APP, SECRET).await;
        fake.invalidate_access_tokens();
        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        assert_eq!(phone(&server, &old, &code, None).await["errcode"], 40001);
        let new = fetch_token(&server, APP, SECRET).await;
        assert_ne!(new, old);
        assert_eq!(phone(&server, &new, &code, None).await["errcode"], 0);
    }

    #[tokio::test]
    async fn phone_calls_without_a_token_or_with_an_unknown_one_get_40001() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        let reply = post(&server, PHONE_NUMBER_PATH, &[], &json!({"code": code})).await;
        assert_eq!(reply["errcode"], 40001);
        assert_eq!(
            phone(&server, "86_forged", &code, None).await["errcode"],
            40001
        );
        let token = fetch_token(&server, APP, SECRET).await;
        assert_eq!(phone(&server, &token, &code, None).await["errcode"], 0);
    }

    #[tokio::test]
    async fn a_phone_code_works_once() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        let openid = FakeWeChat::openid(APP, "alice");
        let first = phone(&server, &token, &code, Some(&openid)).await;
        assert_eq!(first["errcode"], 0);
        assert_eq!(first["errmsg"], "ok");
        assert_eq!(first["phone_info"]["purePhoneNumber"], "13800138000");
        let second = phone(&server, &token, &code, Some(&openid)).await;
        assert_eq!(second["errcode"], 40029);
        assert!(second.get("phone_info").is_none());
        assert_eq!(fake.calls(PHONE_NUMBER_PATH), 2);
    }

    #[tokio::test]
    async fn a_phone_code_expires_after_five_minutes() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let stale = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        fake.age_phone_codes(301);
        let fresh = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        fake.age_phone_codes(290);
        assert_eq!(phone(&server, &token, &stale, None).await["errcode"], 40029);
        assert_eq!(phone(&server, &token, &fresh, None).await["errcode"], 0);
    }

    #[tokio::test]
    async fn a_phone_code_asked_for_with_another_users_openid_gets_40029_and_stays_usable() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        let bob = FakeWeChat::openid(APP, "bob");
        assert_eq!(
            phone(&server, &token, &code, Some(&bob)).await["errcode"],
            40029
        );
        let alice_elsewhere = FakeWeChat::openid(APP2, "alice");
        assert_eq!(
            phone(&server, &token, &code, Some(&alice_elsewhere)).await["errcode"],
            40029
        );
        let alice = FakeWeChat::openid(APP, "alice");
        assert_eq!(
            phone(&server, &token, &code, Some(&alice)).await["errcode"],
            0
        );
    }

    #[tokio::test]
    async fn a_phone_code_used_with_another_apps_token_gets_40013() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token2 = fetch_token(&server, APP2, SECRET2).await;
        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        assert_eq!(phone(&server, &token2, &code, None).await["errcode"], 40013);
        let token = fetch_token(&server, APP, SECRET).await;
        assert_eq!(phone(&server, &token, &code, None).await["errcode"], 0);
    }

    #[tokio::test]
    async fn country_code_comes_as_a_string_or_a_number_and_only_foreign_numbers_carry_a_plus() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let china = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        let info = phone(&server, &token, &china, None).await["phone_info"].clone();
        assert_eq!(info["phoneNumber"], "13800138000");
        assert_eq!(info["purePhoneNumber"], "13800138000");
        assert_eq!(info["countryCode"], json!("86"));
        assert_eq!(info["watermark"]["appid"], APP);
        let stamp = info["watermark"]["timestamp"].as_u64().unwrap();
        assert!(now().abs_diff(stamp) <= 5);

        let china_number = fake.issue_phone_code(APP, "alice", "86", "13800138000", true);
        let info = phone(&server, &token, &china_number, None).await["phone_info"].clone();
        assert_eq!(info["countryCode"], json!(86));
        assert_eq!(info["phoneNumber"], "13800138000");

        let us = fake.issue_phone_code(APP, "bob", "1", "2025550123", true);
        let info = phone(&server, &token, &us, None).await["phone_info"].clone();
        assert_eq!(info["countryCode"], json!(1));
        assert_eq!(info["phoneNumber"], "+12025550123");
        assert_eq!(info["purePhoneNumber"], "2025550123");
    }

    #[tokio::test]
    async fn strict_mode_refuses_unknown_phone_codes() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        assert_eq!(
            phone(&server, &token, "13800138000-1", None).await["errcode"],
            40029
        );
        assert_eq!(phone(&server, &token, "", None).await["errcode"], 40029);
    }

    #[tokio::test]
    async fn lenient_mode_accepts_an_unknown_phone_code_once_and_derives_the_number_from_it() {
        let fake = FakeWeChat::lenient();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let anyone = FakeWeChat::openid(APP, "whoever");
        let reply = phone(&server, &token, "13800138000-1", Some(&anyone)).await;
        assert_eq!(reply["phone_info"]["purePhoneNumber"], "13800138000");
        assert_eq!(reply["phone_info"]["phoneNumber"], "13800138000");
        assert_eq!(reply["phone_info"]["countryCode"], json!("86"));
        assert_eq!(reply["phone_info"]["watermark"]["appid"], APP);
        assert_eq!(
            phone(&server, &token, "13800138000-1", None).await["errcode"],
            40029
        );

        let derived = phone(&server, &token, "alice-phone", None).await;
        let number = derived["phone_info"]["purePhoneNumber"].as_str().unwrap();
        assert_eq!(number.len(), 11);
        assert!(number.starts_with("138"), "{number}");
        assert!(number.chars().all(|c| c.is_ascii_digit()), "{number}");
        assert_eq!(number, lenient_phone("alice-phone"));
        assert_ne!(number, lenient_phone("bob-phone"));

        assert_eq!(
            phone(&server, &token, "not well formed!", None).await["errcode"],
            40029
        );
        let too_long = "1".repeat(MAX_LENIENT_CODE_LEN + 1);
        assert_eq!(
            phone(&server, &token, &too_long, None).await["errcode"],
            40029
        );
    }

    #[tokio::test]
    async fn lenient_mode_still_holds_issued_phone_codes_to_their_user() {
        let fake = FakeWeChat::lenient();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let code = fake.issue_phone_code(APP, "alice", "852", "91234567", false);
        let bob = FakeWeChat::openid(APP, "bob");
        assert_eq!(
            phone(&server, &token, &code, Some(&bob)).await["errcode"],
            40029
        );
        let info = phone(&server, &token, &code, None).await["phone_info"].clone();
        assert_eq!(info["phoneNumber"], "+85291234567");
    }

    #[tokio::test]
    async fn checksession_accepts_the_current_key_and_says_87009_once_it_is_rotated() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let session_key = login(&server, &fake, "alice").await;
        let openid = FakeWeChat::openid(APP, "alice");
        let ok = check(&server, &token, &openid, &sign(&session_key)).await;
        assert_eq!(ok, json!({"errcode": 0, "errmsg": "ok"}));

        fake.rotate_session_key(APP, "alice");
        let stale = check(&server, &token, &openid, &sign(&session_key)).await;
        assert_eq!(
            stale,
            json!({"errcode": 87009, "errmsg": "invalid signature"})
        );
        let current = fake.session_key(APP, "alice").unwrap();
        assert_ne!(current, session_key);
        assert_eq!(
            check(&server, &token, &openid, &sign(&current)).await["errcode"],
            0
        );
        assert_eq!(fake.calls(CHECK_SESSION_PATH), 3);
    }

    #[tokio::test]
    async fn checksession_says_87009_for_the_decoded_key_an_unknown_user_or_another_apps_token() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let session_key = login(&server, &fake, "alice").await;
        let openid = FakeWeChat::openid(APP, "alice");
        let raw_key = crate::crypto::b64_decode(&session_key).unwrap();
        let wrong_keying = hmac_sha256_hex(&raw_key, b"");
        assert_eq!(
            check(&server, &token, &openid, &wrong_keying).await["errcode"],
            87009
        );
        let upper = sign(&session_key).to_uppercase();
        assert_eq!(
            check(&server, &token, &openid, &upper).await["errcode"],
            87009
        );
        let nobody = FakeWeChat::openid(APP, "nobody");
        assert_eq!(
            check(&server, &token, &nobody, &sign(&session_key)).await["errcode"],
            87009
        );
        let token2 = fetch_token(&server, APP2, SECRET2).await;
        assert_eq!(
            check(&server, &token2, &openid, &sign(&session_key)).await["errcode"],
            87009
        );
        assert_eq!(
            check(&server, "86_forged", &openid, &sign(&session_key)).await["errcode"],
            40001
        );
    }

    #[tokio::test]
    async fn encrypt_for_round_trips_under_the_current_session_key_only() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        assert!(fake.encrypt_for(APP, "alice", b"{}").is_none());
        let session_key = login(&server, &fake, "alice").await;
        let payload = FakeWeChat::phone_payload(APP, "86", "13800138000", 1_700_000_000);
        let plaintext = payload.to_string();
        let (data, iv) = fake
            .encrypt_for(APP, "alice", plaintext.as_bytes())
            .unwrap();
        let key = crate::crypto::b64_decode(&session_key).unwrap();
        let iv = crate::crypto::b64_decode(&iv).unwrap();
        let data = crate::crypto::b64_decode(&data).unwrap();
        assert_eq!(iv.len(), 16);
        assert!(!data.is_empty() && data.len().is_multiple_of(16));
        let decrypted = aes128_cbc_decrypt(&key, &iv, &data).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&decrypted).unwrap(),
            payload
        );

        fake.rotate_session_key(APP, "alice");
        let (data, iv) = fake
            .encrypt_for(APP, "alice", plaintext.as_bytes())
            .unwrap();
        let iv = crate::crypto::b64_decode(&iv).unwrap();
        let data = crate::crypto::b64_decode(&data).unwrap();
        let with_old_key = aes128_cbc_decrypt(&key, &iv, &data);
        assert!(with_old_key.is_err() || with_old_key.unwrap() != plaintext.as_bytes());
        let current = crate::crypto::b64_decode(&fake.session_key(APP, "alice").unwrap()).unwrap();
        assert_eq!(
            aes128_cbc_decrypt(&current, &iv, &data).unwrap(),
            plaintext.as_bytes()
        );
    }

    #[test]
    fn phone_payload_is_shaped_like_wechats() {
        assert_eq!(
            FakeWeChat::phone_payload(APP, "86", "13800138000", 1_700_000_000),
            json!({
                "phoneNumber": "13800138000",
                "purePhoneNumber": "13800138000",
                "countryCode": "86",
                "watermark": {"appid": APP, "timestamp": 1_700_000_000},
            })
        );
        let foreign = FakeWeChat::phone_payload(APP, "1", "2025550123", 5);
        assert_eq!(foreign["phoneNumber"], "+12025550123");
        assert_eq!(foreign["countryCode"], "1");
    }

    #[tokio::test]
    async fn misbehaviour_applies_to_the_new_paths_and_leaves_codes_unused() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        fake.misbehave(STABLE_TOKEN_PATH, Misbehaviour::Errcode(-1));
        assert_eq!(
            stable_token(&server, APP, SECRET, false).await["errcode"],
            -1
        );
        let token = fetch_token(&server, APP, SECRET).await;
        assert_eq!(fake.access_token_fetches(), 2);

        let code = fake.issue_phone_code(APP, "alice", "86", "13800138000", false);
        fake.misbehave(PHONE_NUMBER_PATH, Misbehaviour::Html);
        let html = reqwest::Client::new()
            .post(format!("{}{PHONE_NUMBER_PATH}", server.url()))
            .query(&[("access_token", token.as_str())])
            .body(json!({"code": code}).to_string())
            .send()
            .await
            .unwrap();
        assert!(html.text().await.unwrap().starts_with("<html>"));
        assert_eq!(phone(&server, &token, &code, None).await["errcode"], 0);

        let session_key = login(&server, &fake, "alice").await;
        let openid = FakeWeChat::openid(APP, "alice");
        fake.misbehave(CHECK_SESSION_PATH, Misbehaviour::ServerError);
        fake.misbehave(CHECK_SESSION_PATH, Misbehaviour::Truncated);
        let query = [
            ("access_token", token.as_str()),
            ("openid", openid.as_str()),
            ("signature", &sign(&session_key)),
            ("sig_method", "hmac_sha256"),
        ];
        let url = format!("{}{CHECK_SESSION_PATH}", server.url());
        let client = reqwest::Client::new();
        let failed = client.get(&url).query(&query).send().await.unwrap();
        assert_eq!(failed.status().as_u16(), 500);
        let truncated = client.get(&url).query(&query).send().await.unwrap();
        assert!(serde_json::from_str::<Value>(&truncated.text().await.unwrap()).is_err());
        assert_eq!(
            check(&server, &token, &openid, &sign(&session_key)).await["errcode"],
            0
        );
        assert_eq!(fake.calls(CHECK_SESSION_PATH), 3);
    }

    #[tokio::test]
    async fn missing_field_misbehaviours_drop_exactly_their_fields_and_use_the_code() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let exchange = |code: String| {
            let url = server.url();
            async move {
                let query = [
                    ("appid", APP),
                    ("secret", SECRET),
                    ("js_code", code.as_str()),
                    ("grant_type", "authorization_code"),
                ];
                let response = reqwest::Client::new()
                    .get(format!("{url}{JSCODE2SESSION_PATH}"))
                    .query(&query)
                    .send()
                    .await
                    .unwrap();
                (read(response).await, code)
            }
        };
        let cases = [
            (Misbehaviour::MissingSessionKey, vec!["openid"]),
            (Misbehaviour::MissingOpenId, vec!["session_key"]),
            (Misbehaviour::MissingOpenIdAndSessionKey, vec![]),
        ];
        for (how, kept) in cases {
            fake.misbehave(JSCODE2SESSION_PATH, how.clone());
            let (reply, code) = exchange(fake.issue_code(APP, "alice")).await;
            let mut keys: Vec<&str> = reply
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, kept, "{how:?}: {reply}");
            let (again, _) = exchange(code).await;
            assert_eq!(again["errcode"], 40163, "{how:?}: the code was used");
        }
    }

    #[tokio::test]
    async fn checksession_wants_the_hmac_sha256_sig_method() {
        let fake = FakeWeChat::new();
        let server = start(&fake).await;
        let token = fetch_token(&server, APP, SECRET).await;
        let session_key = login(&server, &fake, "alice").await;
        let openid = FakeWeChat::openid(APP, "alice");
        let query = [
            ("access_token", token.as_str()),
            ("openid", openid.as_str()),
            ("signature", &sign(&session_key)),
            ("sig_method", "sha1"),
        ];
        assert_eq!(
            get(&server, CHECK_SESSION_PATH, &query).await["errcode"],
            40097
        );
    }
}
