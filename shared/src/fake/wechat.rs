//! A fake WeChat server. It speaks `wechat-api.md`'s wire format (errcode in HTTP 200, success
//! without errcode), enforces single-use 5-minute codes, rotates a user's session_key on each
//! login, and can be told to misbehave (errcodes, HTML, truncated JSON, slowness, missing
//! fields) for the next calls. Tests hold the handle; the local server runs it leniently so that
//! any well-formed code logs in ("alice-1" and "alice-2" are the same user "alice").

use super::server::{Handler, HttpServer, decode_query, serve};
use crate::crypto::{b64_encode, random_bytes, sha256_hex};
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
    /// A success body without `session_key`.
    MissingSessionKey,
    /// HTTP 500 with an empty body.
    ServerError,
}

const CODE_LIFETIME_SECS: u64 = 300;

struct IssuedCode {
    appid: String,
    user: String,
    issued_at: u64,
    used: bool,
}

#[derive(Default)]
struct State {
    apps: HashMap<String, String>,
    /// Apps bound to an Open Platform account: their users get a unionid.
    unionid_apps: HashSet<String>,
    lenient: bool,
    codes: HashMap<String, IssuedCode>,
    session_keys: HashMap<(String, String), String>,
    misbehave: HashMap<String, VecDeque<Misbehaviour>>,
    calls: HashMap<String, usize>,
    secrets_seen: Vec<String>,
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

impl FakeWeChat {
    /// Strict: only codes from `issue_code` are valid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lenient: any well-formed unknown code is accepted once, for user = the part before '-'.
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
            },
        );
        code
    }

    /// Ages every issued code by `secs` (to test expiry without sleeping).
    pub fn age_codes(&self, secs: u64) {
        for code in self.lock().codes.values_mut() {
            code.issued_at = code.issued_at.saturating_sub(secs);
        }
    }

    pub fn misbehave(&self, path: &str, how: Misbehaviour) {
        self.lock()
            .misbehave
            .entry(path.to_owned())
            .or_default()
            .push_back(how);
    }

    /// How many calls `path` received.
    pub fn calls(&self, path: &str) -> usize {
        self.lock().calls.get(path).copied().unwrap_or(0)
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

    /// Whether any request carried this exact text (tests check what the client sends).
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
            Some(Misbehaviour::MissingSessionKey) | None => {}
        }
        let drop_session_key = matches!(misbehaviour, Some(Misbehaviour::MissingSessionKey));
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        match (req.method.as_str(), path.as_str()) {
            ("GET", "/sns/jscode2session") => {
                let reply = self.jscode2session(
                    get("appid"),
                    get("secret"),
                    get("js_code"),
                    get("grant_type"),
                );
                match reply {
                    Ok(mut v) => {
                        if drop_session_key && let Some(o) = v.as_object_mut() {
                            o.remove("session_key");
                        }
                        wx_json(v)
                    }
                    Err(code) => wx_json(json!({"errcode": code, "errmsg": "fake error"})),
                }
            }
            _ => HttpResponse {
                status: 404,
                headers: vec![],
                body: "not found".into(),
            },
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
        let session_key = b64_encode(&random_bytes::<16>());
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
}

fn wx_json(v: Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: v.to_string(),
    }
}
