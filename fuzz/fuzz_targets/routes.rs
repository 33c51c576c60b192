//! The route handlers end to end, offline: a fresh in-memory store, in-memory secrets, a clock
//! pinned at the WeChat sample's timestamp and an offline WeChat stub per input, then up to
//! six requests through `code_exchange`, `bind_phone`, `account` (`/auth/sms/send` only: the
//! password routes spend tens of ms in Argon2 per call) and `session`, plus the authorizer on
//! each request's Authorization header.
//!
//! Input: an optional first line `phone` (SIGNUP_MODE=phone), then requests separated by a
//! line `===`, each `METHOD /path?query`, header lines `name: value`, a blank line, the body.
//! A request line `+N` moves the clock N seconds instead. In headers, query and body, `@A`,
//! `@R`, `@B` are the access, refresh and bind tokens of a user logged in during setup, `@S`
//! the code of the last SMS sent.
//!
//! Invariants: no 500 and no unknown status; every error body is the documented JSON with the
//! request's id; nothing authenticated succeeds (route or authorizer) with a token this run did
//! not issue; a refresh succeeds only with a refresh token this run issued.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::Arc;
use wxlogin::clock::ManualClock;
use wxlogin::domain::{AppId, OpenId, SignupMode};
use wxlogin::flows::{Backend, SessionService};
use wxlogin::authorizer;
use wxlogin::http::routes::{account, bind_phone, code_exchange, not_found, session};
use wxlogin::http::{HttpRequest, HttpResponse};
use wxlogin::secrets::InMemorySecrets;
use wxlogin::store::InMemoryStore;
use wxlogin::tokens::{Keyring, TokenIssuer};
use wxlogin_fuzz::{
    APP_SECRET, KeptSms, SAMPLE_APPID, SAMPLE_TS, SIGNING_SECRET_ID, SIGNING_SECRET_JSON,
    StubWeChat, WECHAT_SECRET_ID, replace_bytes, runtime, token_settings,
};

type TheBackend = Backend<InMemoryStore, StubWeChat, InMemorySecrets>;

const MAX_REQUESTS: usize = 6;
const STATUSES: &[u16] = &[200, 400, 401, 403, 404, 409, 429, 502, 503, 504];

struct World {
    backend: TheBackend,
    sessions: SessionService<InMemoryStore>,
    clock: ManualClock,
    sms: KeptSms,
    access: String,
    refresh: String,
    bind: String,
    issued_access: Vec<String>,
    issued_refresh: Vec<String>,
    issued_bind: Vec<String>,
    served: usize,
}

fn request(method: &str, path: &str, bearer: Option<&str>, body: &Value) -> HttpRequest {
    HttpRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: String::new(),
        headers: bearer
            .map(|t| vec![("authorization".to_owned(), format!("Bearer {t}"))])
            .unwrap_or_default(),
        body: body.to_string().into_bytes(),
        source_ip: Some("198.51.100.7".to_owned()),
        request_id: "fuzz-setup".to_owned(),
    }
}

impl World {
    async fn new(mode: SignupMode) -> Self {
        let secrets = InMemorySecrets::new();
        secrets.set(
            WECHAT_SECRET_ID,
            &json!({"apps": {SAMPLE_APPID: APP_SECRET}}).to_string(),
        );
        secrets.set(SIGNING_SECRET_ID, SIGNING_SECRET_JSON);
        let store = InMemoryStore::new();
        let clock = ManualClock::at(SAMPLE_TS);
        let settings = token_settings();
        let backend = Backend::new(
            store.clone(),
            StubWeChat,
            Arc::new(secrets),
            WECHAT_SECRET_ID,
            SIGNING_SECRET_ID,
            TokenIssuer::new(settings.clone()),
            mode,
            Arc::new(clock.clone()),
        );
        backend.load_secrets().await.expect("secrets load");
        let sessions = SessionService::new(
            store,
            &settings.issuer,
            &settings.audience,
            Arc::new(clock.clone()),
        )
        .await
        .expect("session service");
        let mut world = Self {
            backend,
            sessions,
            clock,
            sms: KeptSms::default(),
            access: String::new(),
            refresh: String::new(),
            bind: String::new(),
            issued_access: Vec::new(),
            issued_refresh: Vec::new(),
            issued_bind: Vec::new(),
            served: 0,
        };
        // A user logged in through the routes themselves.
        let login = request(
            "POST",
            "/auth/login",
            None,
            &json!({"code": "fuzz-setup-user"}),
        );
        let mut tokens = world.send(&login).await.expect("setup login");
        if mode == SignupMode::Phone {
            world.bind = tokens["bind_token"]
                .as_str()
                .expect("bind_token")
                .to_owned();
            let bind = request(
                "POST",
                "/auth/phone",
                Some(&world.bind.clone()),
                &json!({"code": "13800138000"}),
            );
            tokens = world.send(&bind).await.expect("setup bind");
        } else {
            // A bind token as phone mode would hand out, for another openid.
            let ring = Keyring::from_secret_json(SIGNING_SECRET_JSON).expect("keyring");
            let appid = AppId::parse(SAMPLE_APPID).expect("appid");
            let openid = OpenId::parse("oFuzzBindOnly0000000000001").expect("openid");
            world.bind = world
                .backend
                .issuer
                .bind_token(&ring, &appid, &openid, None, SAMPLE_TS)
                .expect("bind token");
            world.issued_bind.push(world.bind.clone());
        }
        world.access = tokens["access_token"].as_str().expect("access").to_owned();
        world.refresh = tokens["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned();
        world
    }

    /// Routes one request, checks the response, records the tokens it hands out. `None` for a
    /// route this target does not call.
    async fn send(&mut self, req: &HttpRequest) -> Option<Value> {
        let backend = &self.backend;
        let response: HttpResponse = if code_exchange::serves(req) {
            code_exchange::handle(backend, req).await
        } else if bind_phone::serves(req) {
            bind_phone::handle(backend, req).await
        } else if req.method == "POST" && req.path == "/auth/sms/send" {
            account::handle(backend, &self.sms, req).await
        } else if account::serves(req) {
            return None;
        } else if session::serves(req) {
            session::handle(&self.sessions, req).await
        } else {
            not_found(req)
        };
        self.served += 1;
        if trace() {
            let head: String = response.body.chars().take(160).collect();
            eprintln!("{} {} -> {} {head}", req.method, req.path, response.status);
        }
        assert!(
            STATUSES.contains(&response.status),
            "status {} for {} {}: {}",
            response.status,
            req.method,
            req.path,
            response.body
        );
        let body: Value = serde_json::from_str(&response.body).expect("a JSON body");
        if response.status != 200 {
            assert!(body["error"]["code"].is_string(), "{}", response.body);
            assert!(body["error"]["message"].is_string(), "{}", response.body);
            assert_eq!(body["error"]["request_id"], req.request_id.as_str());
        }
        self.check_authentication(req, response.status, &body);
        for (field, list) in [
            ("access_token", &mut self.issued_access),
            ("refresh_token", &mut self.issued_refresh),
            ("bind_token", &mut self.issued_bind),
        ] {
            if let Some(t) = body.get(field).and_then(Value::as_str) {
                list.push(t.to_owned());
            }
        }
        Some(body)
    }

    fn check_authentication(&self, req: &HttpRequest, status: u16, body: &Value) {
        if status != 200 {
            return;
        }
        let bearer = req.bearer().map(str::to_owned);
        let ours = |list: &[String]| bearer.as_ref().is_some_and(|t| list.contains(t));
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("GET" | "PATCH" | "PUT", "/auth/me") | ("POST", "/auth/me/userinfo") => {
                assert!(ours(&self.issued_access), "{path} with a foreign token");
            }
            ("POST", "/auth/phone") => assert!(
                ours(&self.issued_access) || ours(&self.issued_bind),
                "/auth/phone with a foreign token"
            ),
            ("POST", "/auth/logout") => {
                let refresh: Option<String> = serde_json::from_slice::<Value>(&req.body)
                    .ok()
                    .and_then(|b| b.get("refresh_token")?.as_str().map(str::to_owned));
                assert!(
                    ours(&self.issued_access)
                        || refresh.is_some_and(|r| self.issued_refresh.contains(&r)),
                    "logout without a token of ours"
                );
            }
            ("POST", "/auth/refresh") => {
                let presented: Option<String> = serde_json::from_slice::<Value>(&req.body)
                    .ok()
                    .and_then(|b| b.get("refresh_token")?.as_str().map(str::to_owned));
                assert!(
                    presented.is_some_and(|r| self.issued_refresh.contains(&r)),
                    "refresh with a refresh token this run never issued"
                );
                assert!(body["access_token"].is_string());
            }
            _ => {}
        }
    }

    async fn authorizer(&self, req: &HttpRequest) {
        let header = req.header("authorization").unwrap_or_default();
        let event =
            json!({"identitySource": [header], "requestContext": {"requestId": req.request_id}});
        // Behind another app's authorizer, nothing of ours is admitted.
        let elsewhere = authorizer::AdmittedApps::new(vec!["wxanotherapp000000".to_owned()]);
        let refused = authorizer::authorize(&self.sessions.gate, &elsewhere, &event).await;
        assert_eq!(
            refused["isAuthorized"], false,
            "admitted by another app's authorizer"
        );
        let ours = authorizer::AdmittedApps::new(vec![SAMPLE_APPID.to_owned()]);
        let answer = authorizer::authorize(&self.sessions.gate, &ours, &event).await;
        let authorized = answer["isAuthorized"]
            .as_bool()
            .expect("isAuthorized is a bool");
        if authorized {
            let token = header
                .trim()
                .split_once(' ')
                .map(|(_, t)| t.trim().to_owned())
                .unwrap_or_default();
            assert!(
                self.issued_access.contains(&token),
                "the authorizer let in a token this run never issued: {header:?}"
            );
            assert!(answer["context"]["user_id"].is_string());
            assert_eq!(answer["context"]["appid"], SAMPLE_APPID);
        } else {
            assert_eq!(answer["context"], json!({}));
        }
    }

    fn substitute(&self, bytes: &[u8]) -> Vec<u8> {
        let code = self.sms.last_code().unwrap_or_default();
        let out = replace_bytes(bytes, b"@A", self.access.as_bytes());
        let out = replace_bytes(&out, b"@R", self.refresh.as_bytes());
        let out = replace_bytes(&out, b"@B", self.bind.as_bytes());
        replace_bytes(&out, b"@S", code.as_bytes())
    }

    /// One request from its text, or a clock move.
    async fn run(&mut self, text: &[u8]) {
        let (head, body) = match find(text, b"\n\n") {
            Some(i) => (&text[..i], &text[i + 2..]),
            None => (text, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.lines();
        let first = lines.next().unwrap_or_default().trim();
        if let Some(secs) = first.strip_prefix('+') {
            if let Ok(secs) = secs.trim().parse::<u32>() {
                self.clock.advance(u64::from(secs));
            }
            return;
        }
        let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
        let target =
            String::from_utf8_lossy(&self.substitute(target.trim().as_bytes())).into_owned();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| {
                let v = self.substitute(v.trim().as_bytes());
                (
                    k.trim().to_ascii_lowercase(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        let req = HttpRequest {
            method: method.trim().to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: self.substitute(body),
            source_ip: Some("198.51.100.7".to_owned()),
            request_id: format!("fuzz-{}", self.served),
        };
        self.authorizer(&req).await;
        self.send(&req).await;
    }
}

/// `WXLOGIN_FUZZ_TRACE=1` prints each request's status (to check what a seed does).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("WXLOGIN_FUZZ_TRACE").is_some())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_requests(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(data, b"\n===\n") {
        out.push(&data[..i]);
        data = &data[i + 5..];
    }
    out.push(data);
    out
}

fuzz_target!(|data: &[u8]| {
    let (mode, data) = match data.strip_prefix(b"phone\n") {
        Some(rest) => (SignupMode::Phone, rest),
        None => (SignupMode::OpenId, data),
    };
    runtime().block_on(async {
        let mut world = World::new(mode).await;
        for text in split_requests(data).into_iter().take(MAX_REQUESTS) {
            world.run(text).await;
        }
    });
});
