//! Everything a flow needs, built once per cold start and borrowed by every request.

use crate::clock::SharedClock;
use crate::domain::SignupMode;
use crate::secrets::{CachedSecret, SecretSource, WeChatApps};
use crate::store::Store;
use crate::tokens::{Keyring, TokenIssuer};
use std::sync::Arc;

pub struct Backend<S, W, X> {
    pub store: S,
    pub wechat: W,
    /// `WECHAT_SECRET_ID`, parsed.
    pub apps: CachedSecret<X, WeChatApps>,
    /// `SIGNING_KEY_SECRET_ID`, parsed.
    pub keys: CachedSecret<X, Keyring>,
    pub issuer: TokenIssuer,
    pub signup_mode: SignupMode,
    pub clock: SharedClock,
}

/// Parsers for `CachedSecret`.
pub fn parse_apps(text: &str) -> Result<WeChatApps, String> {
    WeChatApps::parse(text)
}
pub fn parse_keyring(text: &str) -> Result<Keyring, String> {
    Keyring::from_secret_json(text).map_err(|e| e.to_string())
}

impl<S: Store, W, X: SecretSource> Backend<S, W, X> {
    /// Builds the secret caches over one source; call `load_secrets` before serving.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: S,
        wechat: W,
        secrets: Arc<X>,
        wechat_secret_id: &str,
        signing_key_secret_id: &str,
        issuer: TokenIssuer,
        signup_mode: SignupMode,
        clock: SharedClock,
    ) -> Self {
        Self {
            store,
            wechat,
            apps: CachedSecret::new(secrets.clone(), wechat_secret_id, parse_apps, clock.clone()),
            keys: CachedSecret::new(secrets, signing_key_secret_id, parse_keyring, clock.clone()),
            issuer,
            signup_mode,
            clock,
        }
    }

    /// Loads both secrets, failing when either is missing or malformed (cold start).
    pub async fn load_secrets(&self) -> Result<(), String> {
        let (apps, keys) = tokio::join!(self.apps.load(), self.keys.load());
        apps.map_err(|e| format!("WECHAT_SECRET_ID: {e}"))?;
        keys.map_err(|e| format!("SIGNING_KEY_SECRET_ID: {e}"))?;
        Ok(())
    }
}
