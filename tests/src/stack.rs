//! A whole test deployment: a fresh table and secrets in moto, a fake WeChat knowing the apps,
//! and the environment a function binary gets in `template.yaml`.

use crate::emulator::{Emulator, binary};
use crate::moto;
use std::sync::Arc;
use wxlogin::clock::SystemClock;
use wxlogin::fake::{FakeWeChat, HttpServer};
use wxlogin::tokens::{Keyring, SigningAlgorithm, TokenVerifier};

pub const ISSUER: &str = "wxlogin-test";
pub const AUDIENCE: &str = "wxlogin-test-api";

pub struct Stack {
    /// The moto this stack's table and secrets are in.
    pub endpoint: String,
    pub sdk: aws_config::SdkConfig,
    pub table: String,
    pub wechat_secret_id: String,
    pub signing_secret_id: String,
    pub signing_secret: String,
    pub apps: Vec<(String, String)>,
    pub wechat: FakeWeChat,
    pub wechat_server: HttpServer,
}

impl Stack {
    /// One app, `wxtestapp00000001` with secret `app-secret-1`.
    pub async fn new() -> Self {
        Self::with_apps(&[("wxtestapp00000001", "app-secret-1")]).await
    }

    pub async fn with_apps(apps: &[(&str, &str)]) -> Self {
        Self::with_apps_on(moto::endpoint(), apps).await
    }

    /// `new`, on a moto of its own (`moto::private_endpoint`).
    pub async fn on_private_moto() -> Self {
        Self::with_apps_on(
            moto::private_endpoint(),
            &[("wxtestapp00000001", "app-secret-1")],
        )
        .await
    }

    async fn with_apps_on(endpoint: String, apps: &[(&str, &str)]) -> Self {
        let sdk = moto::sdk_config_at(&endpoint).await;
        let table = moto::unique("wxlogin");
        moto::create_table(&sdk, &table).await;
        let wechat_secret_id = moto::unique("wxlogin/wechat");
        let apps_json = serde_json::json!({"apps": apps.iter().map(|(a, s)| ((*a).to_owned(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>()});
        moto::put_secret(&sdk, &wechat_secret_id, &apps_json.to_string()).await;
        let signing_secret_id = moto::unique("wxlogin/signing");
        // The production default: one RS256 key, as the key rotation makes it.
        let signing_secret = Keyring::new_secret_json(SigningAlgorithm::Rs256).unwrap();
        moto::put_secret(&sdk, &signing_secret_id, &signing_secret).await;
        let wechat = FakeWeChat::new();
        for (a, s) in apps {
            wechat.add_app(a, s);
        }
        let wechat_server = wechat.start(0).await.unwrap();
        Self {
            endpoint,
            sdk,
            table,
            wechat_secret_id,
            signing_secret_id,
            signing_secret,
            apps: apps
                .iter()
                .map(|(a, s)| ((*a).to_owned(), (*s).to_owned()))
                .collect(),
            wechat,
            wechat_server,
        }
    }

    pub fn appid(&self) -> &str {
        &self.apps[0].0
    }

    pub fn env(&self, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut env = moto::aws_env_at(&self.endpoint);
        env.extend([
            ("TABLE_NAME", self.table.clone()),
            ("WECHAT_SECRET_ID", self.wechat_secret_id.clone()),
            ("SIGNING_KEY_SECRET_ID", self.signing_secret_id.clone()),
            ("TOKEN_ISSUER", ISSUER.to_owned()),
            ("TOKEN_AUDIENCE", AUDIENCE.to_owned()),
            ("WECHAT_API_BASE", self.wechat_server.url()),
        ]);
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            env.push((k, (*v).to_owned()));
        }
        env
    }

    /// Starts a function binary as a warm Lambda instance (cold init done).
    pub async fn start(&self, name: &str, extra: &[(&'static str, &str)]) -> Emulator {
        let mut emulator = Emulator::start(&binary(name), &self.env(extra)).await;
        emulator.wait_ready().await.unwrap();
        emulator
    }

    /// A verifier holding only the public keys of the signing secret.
    pub fn verifier(&self) -> TokenVerifier {
        let ring = Keyring::from_secret_json(&self.signing_secret).unwrap();
        TokenVerifier::new(ring.public, ISSUER, AUDIENCE, Arc::new(SystemClock))
    }

    /// A login of `user` through a code-exchange instance; panics unless it is a 200.
    pub async fn login(&self, code_exchange: &Emulator, user: &str) -> serde_json::Value {
        let code = self.wechat.issue_code(self.appid(), user);
        let r = code_exchange
            .http(crate::events::post_json(
                "/auth/login",
                &serde_json::json!({"code": code}),
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.raw_body);
        r.body
    }

    pub async fn count_items(&self, prefix: &str) -> usize {
        moto::scan_prefix(&self.sdk, &self.table, prefix)
            .await
            .len()
    }

    /// Every item of the table, canonical (maps sorted), keyed by `pk`: two snapshots are
    /// equal exactly when nothing was written in between.
    pub async fn snapshot(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        moto::scan_prefix(&self.sdk, &self.table, "")
            .await
            .into_iter()
            .map(|item| {
                let pk = item["pk"].as_s().unwrap().clone();
                let value = serde_json::Value::Object(
                    item.iter()
                        .map(|(k, v)| (k.clone(), canonical(v)))
                        .collect(),
                );
                (pk, value)
            })
            .collect()
    }

    /// The item with exactly this `pk`, canonical, if any.
    pub async fn item(&self, pk: &str) -> Option<serde_json::Value> {
        self.snapshot().await.remove(pk)
    }
}

/// An attribute value as JSON with sorted map keys, for comparing items.
pub fn canonical(v: &aws_sdk_dynamodb::types::AttributeValue) -> serde_json::Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use serde_json::json;
    match v {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::Bool(b) => json!({ "BOOL": b }),
        A::Null(_) => json!({ "NULL": true }),
        A::B(b) => json!({ "B": wxlogin::crypto::b64_encode(b.as_ref()) }),
        A::M(m) => {
            json!({ "M": m.iter().map(|(k, v)| (k.clone(), canonical(v))).collect::<serde_json::Map<_, _>>() })
        }
        A::L(l) => json!({ "L": l.iter().map(canonical).collect::<Vec<_>>() }),
        A::Ss(ss) => {
            let mut ss = ss.clone();
            ss.sort();
            json!({ "SS": ss })
        }
        A::Ns(ns) => {
            let mut ns = ns.clone();
            ns.sort();
            json!({ "NS": ns })
        }
        other => json!({ "other": format!("{other:?}") }),
    }
}
