//! The process's one TLS client configuration, shared by every outbound HTTPS client we build
//! (WeChat, the SMS providers, the signed AWS calls; the AWS SDK clients keep their own):
//! Mozilla's root certificates compiled into the binary (`webpki-roots`, 69 KB), aws-lc-rs as
//! the crypto provider. Built on first use, once per process (2 µs), then cloned for each client.
//! It never reads the platform's certificate store: loading the CA bundle and `/etc/ssl/certs`
//! took 4.5–11.6 ms of every cold start here, plain-HTTP endpoints included. It must not set
//! ALPN: each client names its protocols.

use rustls::ClientConfig;
use rustls::crypto::aws_lc_rs;
use std::sync::{Arc, OnceLock};

/// The configuration could not be built (no protocol version the provider supports).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot build the TLS client configuration: {0}")]
pub struct TlsConfigError(String);

/// The shared configuration (a clone of the one built on the first call).
pub fn client_config() -> Result<ClientConfig, TlsConfigError> {
    static CONFIG: OnceLock<Result<ClientConfig, TlsConfigError>> = OnceLock::new();
    CONFIG.get_or_init(build).clone()
}

/// An HTTP client could not be built: fails the cold start, with its cause.
#[cfg(any(feature = "wechat", feature = "china-sms"))]
#[derive(Debug, thiserror::Error)]
#[error("cannot build the {what} HTTP client: {cause}")]
pub struct ClientBuildError {
    what: &'static str,
    #[source]
    cause: Box<dyn std::error::Error + Send + Sync>,
}

/// A reqwest client for `what` (`WeChat`, `SMS`) on the shared configuration: connect within
/// `connect_timeout`, answer within `request_timeout`, idle connections kept 50 s.
#[cfg(any(feature = "wechat", feature = "china-sms"))]
pub fn http_client(
    what: &'static str,
    connect_timeout: std::time::Duration,
    request_timeout: std::time::Duration,
) -> Result<reqwest::Client, ClientBuildError> {
    let fail = |cause: Box<dyn std::error::Error + Send + Sync>| ClientBuildError { what, cause };
    let mut tls = client_config().map_err(|e| fail(e.into()))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        // reqwest's own rustls setup would build a platform verifier (the native roots).
        .tls_backend_preconfigured(tls)
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .pool_idle_timeout(std::time::Duration::from_secs(50))
        .build()
        .map_err(|e| fail(e.into()))
}

fn build() -> Result<ClientConfig, TlsConfigError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // No ALPN here: each client names its protocols (hyper-rustls refuses a preset list).
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_trusts_the_compiled_in_roots_and_presets_no_protocols() {
        let config = client_config().unwrap();
        assert!(config.alpn_protocols.is_empty());
        assert!(
            webpki_roots::TLS_SERVER_ROOTS.len() > 100,
            "Mozilla's store, not an empty one"
        );
    }

    #[test]
    fn every_call_hands_out_the_same_configuration() {
        let (a, b) = (client_config().unwrap(), client_config().unwrap());
        assert!(Arc::ptr_eq(
            &a.crypto_provider().clone(),
            b.crypto_provider()
        ));
    }
}
