//! The access gate: verifies access tokens with public keys from the key directory, loaded at
//! cold start. No I/O on the hot path; a token naming a `kid` we do not hold (a rotation since
//! cold start) triggers one re-read of the directory, at most once per
//! `RELOAD_MIN_INTERVAL_SECS`, so a flood of forged kids cannot turn into a flood of reads.
//! Used by the authorizer, the session function and the local server.

use crate::clock::SharedClock;
use crate::config::TokenSettings;
use crate::error::AppError;
use crate::principal::SessionPrincipal;
use crate::tokens::keys::PublicKeySet;
use crate::tokens::{
    AccessClaims, PublishedKeySource, SigningAlgorithm, TokenVerifier, VerifyError,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

pub const RELOAD_MIN_INTERVAL_SECS: u64 = 30;
/// The key set served as the JWKS is at most this old: older, it is read again first.
pub const JWKS_MAX_AGE_SECS: u64 = 60;

pub struct AccessGate<D> {
    directory: D,
    verifier: RwLock<Arc<TokenVerifier>>,
    issuer: String,
    audience: String,
    algorithm: SigningAlgorithm,
    clock: SharedClock,
    /// When the last re-read happened (0: never since cold start).
    last_reload: AtomicU64,
    /// When the held keys were read (cold start or the latest re-read).
    loaded_at: AtomicU64,
}

impl<D: PublishedKeySource> AccessGate<D> {
    /// Loads the published keys. An empty directory is not an error (nobody has logged in
    /// yet): every token is refused until a signer publishes.
    pub async fn load(
        directory: D,
        settings: &TokenSettings,
        clock: SharedClock,
    ) -> Result<Self, AppError> {
        let (issuer, audience, algorithm) =
            (&settings.issuer, &settings.audience, settings.algorithm);
        let keys = Self::read_keys(&directory, algorithm).await?;
        let verifier = TokenVerifier::new(keys, issuer, audience, clock.clone());
        let loaded_at = AtomicU64::new(clock.now());
        Ok(Self {
            directory,
            verifier: RwLock::new(Arc::new(verifier)),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            algorithm,
            clock,
            last_reload: AtomicU64::new(0),
            loaded_at,
        })
    }

    /// The published keys of the pinned `algorithm` (a set published while the algorithm
    /// changes lists keys of both).
    async fn read_keys(
        directory: &D,
        algorithm: SigningAlgorithm,
    ) -> Result<PublicKeySet, AppError> {
        let published = directory.load_keys().await?;
        let keys = published.map(|p| p.keys).unwrap_or_default();
        PublicKeySet::new(keys, algorithm).map_err(|e| AppError::internal_from("published keys", e))
    }

    fn current(&self) -> Arc<TokenVerifier> {
        match self.verifier.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The public keys held now.
    /// The `iss` the tokens this gate admits carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The one algorithm this gate accepts.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    pub fn keys(&self) -> PublicKeySet {
        self.current().keys().clone()
    }

    /// The public keys for the JWKS: read again first when the held set is older than
    /// `JWKS_MAX_AGE_SECS` (one reader per instance at a time; the others serve the held set),
    /// so a rotation shows up within that bound on warm instances too. A failed read serves
    /// the held set.
    pub async fn published_keys(&self) -> PublicKeySet {
        let now = self.clock.now();
        let loaded = self.loaded_at.load(Ordering::SeqCst);
        let stale = now.saturating_sub(loaded) >= JWKS_MAX_AGE_SECS;
        if stale
            && self
                .loaded_at
                .compare_exchange(loaded, now, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            && let Err(e) = self.reload().await
        {
            tracing::warn!(error = %e, "re-reading the published keys for the JWKS failed; serving the held set");
        }
        self.keys()
    }

    /// The principal of an access token (`principal` decides how claims become one).
    pub async fn authenticate(&self, token: &str) -> Result<SessionPrincipal, VerifyError> {
        SessionPrincipal::try_from(self.verify_access(token).await?)
    }

    pub async fn verify_access(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        match self.current().verify_access(token) {
            Err(VerifyError::UnknownKid) if self.may_reload() => {
                if let Err(e) = self.reload().await {
                    tracing::warn!(error = %e, "re-reading the published keys failed");
                    return Err(VerifyError::UnknownKid);
                }
                self.current().verify_access(token)
            }
            other => other,
        }
    }

    fn may_reload(&self) -> bool {
        let now = self.clock.now();
        let last = self.last_reload.load(Ordering::SeqCst);
        (last == 0 || now.saturating_sub(last) >= RELOAD_MIN_INTERVAL_SECS)
            && self
                .last_reload
                .compare_exchange(last, now.max(1), Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    async fn reload(&self) -> Result<(), AppError> {
        let keys = Self::read_keys(&self.directory, self.algorithm).await?;
        let verifier = Arc::new(TokenVerifier::new(
            keys,
            &self.issuer,
            &self.audience,
            self.clock.clone(),
        ));
        match self.verifier.write() {
            Ok(mut slot) => *slot = verifier,
            Err(poisoned) => *poisoned.into_inner() = verifier,
        }
        self.loaded_at.store(self.clock.now(), Ordering::SeqCst);
        tracing::info!("published keys re-read");
        Ok(())
    }
}
