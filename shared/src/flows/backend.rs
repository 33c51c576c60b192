//! Everything a flow needs, built once per cold start and borrowed by every request.

use crate::clock::SharedClock;
use crate::config::Limits;
use crate::domain::SignupMode;
use crate::error::AppResult;
use crate::secrets::{CachedSecret, SecretSource, WeChatApps};
use crate::tokens::KeyDirectory;
use crate::tokens::{Keyring, PublishedKeys, SigningAlgorithm, TokenIssuer, TokenVerifier};
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
    /// The abuse guard's limits (`flows/abuse_guard.rs`); the defaults until `with_limits`.
    pub limits: Limits,
    pub clock: SharedClock,
    /// WeChat access_tokens for the phone APIs, per app, for this instance.
    pub access_tokens: crate::wechat::access_token::AccessTokenCache,
    /// The `kid` this instance last published to the key directory.
    published_kid: std::sync::Mutex<Option<String>>,
    /// The verifier over the keyring's public keys, built once per keyring (by current kid).
    verifier: std::sync::Mutex<Option<(String, Arc<TokenVerifier>)>>,
}

/// Parsers for `CachedSecret`.
pub fn parse_apps(text: &str) -> Result<WeChatApps, String> {
    WeChatApps::parse(text)
}
pub fn parse_keyring(text: &str) -> Result<Keyring, String> {
    Keyring::from_secret_json(text).map_err(|e| e.to_string())
}

/// The keyring parser of a deployment: a secret whose current key is of another algorithm
/// than `SIGNING_ALGORITHM` is malformed, so it is never cached and a cold start with it
/// fails (the next invocation starts again, and reads the secret the rotation has fixed).
pub fn keyring_parser(algorithm: SigningAlgorithm) -> fn(&str) -> Result<Keyring, String> {
    fn of(text: &str, algorithm: SigningAlgorithm) -> Result<Keyring, String> {
        let ring = Keyring::from_secret_json(text).map_err(|e| e.to_string())?;
        ring.require(algorithm).map_err(|e| e.to_string())?;
        Ok(ring)
    }
    match algorithm {
        SigningAlgorithm::Rs256 => |text| of(text, SigningAlgorithm::Rs256),
        SigningAlgorithm::EdDsa => |text| of(text, SigningAlgorithm::EdDsa),
    }
}

impl<S: KeyDirectory, W, X: SecretSource> Backend<S, W, X> {
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
            keys: CachedSecret::new(
                secrets,
                signing_key_secret_id,
                keyring_parser(issuer.settings.algorithm),
                clock.clone(),
            ),
            issuer,
            signup_mode,
            limits: Limits::default(),
            clock,
            access_tokens: Default::default(),
            published_kid: std::sync::Mutex::new(None),
            verifier: std::sync::Mutex::new(None),
        }
    }

    /// The limits from the configuration (`Config::limits`).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Loads both secrets, failing when either is missing or malformed (cold start).
    pub async fn load_secrets(&self) -> Result<(), String> {
        let (apps, keys) = tokio::join!(self.apps.load(), self.keys.load());
        apps.map_err(|e| format!("WECHAT_SECRET_ID: {e}"))?;
        keys.map_err(|e| format!("SIGNING_KEY_SECRET_ID: {e}"))?;
        self.signing_keys()
            .await
            .map_err(|e| format!("publishing the public keys: {e}"))?;
        Ok(())
    }

    /// The verifier of our own tokens: built once per instance, again only when the keyring
    /// rotates.
    pub async fn verifier(&self) -> AppResult<Arc<TokenVerifier>> {
        let keys = self.signing_keys().await?;
        let mut slot = self
            .verifier
            .lock()
            .map_err(|_| crate::error::AppError::internal("verifier cache poisoned"))?;
        if let Some((kid, verifier)) = slot.as_ref()
            && *kid == keys.current.kid
        {
            return Ok(verifier.clone());
        }
        let settings = &self.issuer.settings;
        let verifier = Arc::new(TokenVerifier::new(
            keys.public.pinned(settings.algorithm),
            &settings.issuer,
            &settings.audience,
            self.clock.clone(),
        ));
        *slot = Some((keys.current.kid.clone(), verifier.clone()));
        Ok(verifier)
    }

    /// The keyring to sign with. When it is new to this instance (cold start, or a rotation
    /// picked up by the secret cache), its public keys are published first, so that no token
    /// is signed with a key verifiers cannot find.
    pub async fn signing_keys(&self) -> AppResult<Arc<Keyring>> {
        let keys = self.keys.get().await?;
        let fresh = self
            .published_kid
            .lock()
            .map(|p| p.as_deref() != Some(keys.current.kid.as_str()))
            .unwrap_or(true);
        if fresh {
            self.store.publish_keys(&PublishedKeys::of(&keys)).await?;
            if let Ok(mut p) = self.published_kid.lock() {
                *p = Some(keys.current.kid.clone());
            }
        }
        Ok(keys)
    }
}
