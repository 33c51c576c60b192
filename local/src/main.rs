//! The local server: every wxlogin route in one process on 127.0.0.1:3000 (`HOST`, `PORT`;
//! `HOST=0.0.0.0` for a phone on the LAN previewing the mini program), on the embedded
//! default — in-memory store, signing keys generated at start, and a built-in fake WeChat
//! (lenient: any well-formed code logs in). Set `WECHAT_APP_ID` and `WECHAT_APP_SECRET` to
//! call the real WeChat instead. SMS codes are printed (`LOCAL_SMS=aliyun|tencent`: first
//! signed by the production China SMS client and sent to a built-in fake gateway). Not for
//! production: state lives in memory only.

mod fake_sms;

use std::sync::Arc;
use wxlogin::authorizer;
use wxlogin::clock::SystemClock;
use wxlogin::config::Config;
use wxlogin::fake::{FakeWeChat, serve};
use wxlogin::flows::{Backend, SessionService};
use wxlogin::http::routes::{account, bind_phone, code_exchange, not_found, session};
use wxlogin::http::{HttpRequest, HttpResponse};
use wxlogin::secrets::InMemorySecrets;
use wxlogin::sms::{LogSender, SmsSender};
use wxlogin::store::InMemoryStore;
use wxlogin::tokens::{Keyring, TokenIssuer};
use wxlogin::wechat::client::WeChatClient;

/// The app the built-in fake WeChat knows.
const LOCAL_APPID: &str = "wxlocal0000000000";
const LOCAL_SECRET: &str = "local-app-secret";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    wxlogin::telemetry::init_text_logs();
    let config = Config::from_env()?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let host: std::net::IpAddr = match std::env::var("HOST") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("HOST must be an IP address such as 0.0.0.0, got {text:?}"))?,
        Err(_) => std::net::IpAddr::from([127, 0, 0, 1]),
    };

    // WeChat: the real one with real credentials, otherwise the built-in fake.
    let real = std::env::var("WECHAT_APP_ID")
        .ok()
        .zip(std::env::var("WECHAT_APP_SECRET").ok());
    let (appid, secret, wechat_base, _fake_server) = match real {
        Some((appid, secret)) => (appid, secret, config.wechat_api_base.clone(), None),
        None => {
            let fake = FakeWeChat::lenient();
            fake.add_app(LOCAL_APPID, LOCAL_SECRET);
            let server = fake.start(0).await?;
            (
                LOCAL_APPID.to_owned(),
                LOCAL_SECRET.to_owned(),
                server.url(),
                Some((fake, server)),
            )
        }
    };

    let secrets = InMemorySecrets::new();
    secrets.set(
        "local/wechat",
        &serde_json::json!({"apps": {&appid: &secret}}).to_string(),
    );
    secrets.set(
        "local/signing-key",
        &Keyring::new_secret_json(config.tokens.algorithm)?,
    );
    let store = InMemoryStore::new();
    let backend = Arc::new(
        Backend::new(
            store.clone(),
            WeChatClient::new(&wechat_base)?,
            Arc::new(secrets),
            "local/wechat",
            "local/signing-key",
            TokenIssuer::new(config.tokens.clone()),
            config.signup_mode,
            Arc::new(SystemClock),
        )
        .with_limits(config.limits.clone()),
    );
    backend.load_secrets().await?;
    let sessions =
        Arc::new(SessionService::new(store, &config.tokens, Arc::new(SystemClock)).await?);

    // SMS: printed by the log sender, or signed and sent to a fake China gateway first.
    let china_sms = fake_sms::LocalChinaSms::from_env().await?;
    let sms_line = china_sms.as_ref().map_or_else(
        || "printed below".to_owned(),
        |c| {
            format!(
                "sent to the built-in fake {} gateway, printed below",
                c.provider()
            )
        },
    );
    let sender: Arc<dyn SmsSender> = match china_sms {
        Some(china) => Arc::new(china),
        None => Arc::new(LogSender),
    };

    let listener = tokio::net::TcpListener::bind((host, port)).await?;
    let server = serve(
        listener,
        Arc::new(move |mut request: HttpRequest| {
            let (backend, sessions, sender) = (backend.clone(), sessions.clone(), sender.clone());
            // One deadline per request, as a Lambda invocation has.
            let deadline = tokio::time::Instant::now() + wxlogin::deadline::LOCAL_BUDGET;
            Box::pin(wxlogin::deadline::within(deadline, async move {
                if code_exchange::serves(&request) {
                    code_exchange::handle(&*backend, &request).await
                } else if bind_phone::serves(&request) {
                    bind_phone::handle(&*backend, &request).await
                } else if account::serves(&request) {
                    // Locally the SMS is printed to this terminal, never sent.
                    account::handle(&*backend, &*sender, &request).await
                } else if session::serves(&request) {
                    // API Gateway runs an authorizer before /auth/me and the demo routes; so
                    // does the local server, and passes its context on as API Gateway does.
                    if let Err(refused) = gateway_authorizer(&sessions, &mut request).await {
                        return refused;
                    }
                    session::handle(&*sessions, &request).await
                } else {
                    not_found(&request)
                }
            }))
        }),
    )?;
    let base = server.url();
    let wechat = if _fake_server.is_some() {
        "built-in fake WeChat (any code works once; \"alice-1\", \"alice-2\" are user alice)"
    } else {
        "the real WeChat"
    };
    println!(
        "wxlogin local server on {base}\n  app: {appid}  WeChat: {wechat}  signup mode: {mode:?}\n\nTry it:\n  curl -s -X POST {base}/auth/login -H 'content-type: application/json' -d '{{\"code\":\"alice-1\"}}'\n  curl -s -X POST {base}/auth/refresh -H 'content-type: application/json' -d '{{\"refresh_token\":\"<refresh_token from the login>\"}}'\n  curl -s -X POST {base}/auth/phone -H 'authorization: Bearer <access_token>' -d '{{\"code\":\"13800138000-1\"}}'\n  curl -s -X POST {base}/auth/sms/send -d '{{\"phone\":\"13800138000\"}}'   # the code is {sms_line}\n  curl -s {base}/auth/me -H 'authorization: Bearer <access_token>'\n  curl -s {base}/demo/protected -H 'authorization: Bearer <access_token>'   # a customer route behind the authorizer\n",
        mode = config.signup_mode
    );
    if host.is_unspecified() {
        println!(
            "Listening on every interface: a phone previewing the mini program reaches http://<this computer's LAN address>:{port}\n(in WeChat DevTools, Details > Local Settings: tick \"Do not verify valid domain names\" / 不校验合法域名).\n"
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}

type Sessions = SessionService<InMemoryStore>;

/// The authorizer's decision for this request, as API Gateway would ask for it.
async fn authorize(sessions: &Sessions, request: &HttpRequest) -> serde_json::Value {
    let event = serde_json::json!({"identitySource": [request.header("authorization").unwrap_or_default()]});
    // One app locally: admitting every app is admitting that one.
    let apps = authorizer::AdmittedApps::default();
    authorizer::authorize(&sessions.gate, &apps, &event).await
}

/// What API Gateway does before a protected route: `/auth/me` and `/demo/protected` run the
/// Lambda authorizer (403 when it says no), `/demo/jwt` the built-in JWT authorizer of
/// `AuthorizerType=jwt` (401 when the token does not verify; its claims passed on as strings).
async fn gateway_authorizer(
    sessions: &Sessions,
    request: &mut HttpRequest,
) -> Result<(), HttpResponse> {
    if request.path == session::DEMO_JWT_PATH {
        let claims = match request.bearer() {
            Some(token) => sessions.gate.verify_access(token).await.ok(),
            None => None,
        };
        let Some(claims) = claims.and_then(|c| serde_json::to_value(c).ok()) else {
            return Err(HttpResponse::json(
                401,
                &serde_json::json!({"message": "Unauthorized"}),
            ));
        };
        let as_strings: serde_json::Map<String, serde_json::Value> = claims
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let text = v
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string());
                (k.clone(), serde_json::Value::String(text))
            })
            .collect();
        request.authorizer =
            Some(serde_json::json!({"jwt": {"claims": as_strings, "scopes": null}}));
    } else if request.path == "/auth/me" || request.path == session::DEMO_LAMBDA_PATH {
        let decision = authorize(sessions, request).await;
        if decision.get("isAuthorized") != Some(&serde_json::Value::Bool(true)) {
            return Err(forbidden());
        }
        request.authorizer = Some(serde_json::json!({"lambda": decision.get("context")}));
    }
    Ok(())
}

/// What API Gateway answers when the authorizer says no.
fn forbidden() -> HttpResponse {
    HttpResponse::json(403, &serde_json::json!({"message": "Forbidden"}))
}
