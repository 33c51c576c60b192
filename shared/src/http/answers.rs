//! The JSON shapes of successful answers (DESIGN §2). Flows return plain results; routes put
//! them in these shapes, so a reader finds every field a client sees here. Error bodies are
//! the error table's (`error_table`).

use super::HttpResponse;
use crate::flows::login::PhoneRequired;
use crate::flows::session::Profile;
use crate::flows::{LoginOutcome, SessionTokens, UserView};
use serde::Serialize;

#[derive(Serialize)]
struct Tokens<'a> {
    status: &'static str,
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: &'a str,
    refresh_expires_in: u64,
    user: User<'a>,
    /// A login's phone proof that was refused (the login itself went through).
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_error: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct User<'a> {
    id: &'a str,
    phone_bound: bool,
    /// Masked (`138****8000`): the full number never leaves the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    created: bool,
}

#[derive(Serialize)]
struct PhoneRequiredBody<'a> {
    status: &'static str,
    bind_token: &'a str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_error: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct ProfileBody<'a> {
    id: &'a str,
    appid: &'a str,
    phone_bound: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<&'a str>,
    created_at: &'a str,
}

fn user(view: &UserView) -> User<'_> {
    User {
        id: &view.id,
        phone_bound: view.phone_bound,
        phone: view.phone.as_deref(),
        created: view.created,
    }
}

/// `{"status":"ok","access_token",…,"user":{…}}`: every login, refresh, bind and password answer.
pub fn tokens(t: &SessionTokens) -> HttpResponse {
    tokens_with(t, None)
}

fn tokens_with(t: &SessionTokens, phone_error: Option<&serde_json::Value>) -> HttpResponse {
    HttpResponse::json(
        200,
        &Tokens {
            status: "ok",
            access_token: &t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            refresh_token: &t.refresh_token,
            refresh_expires_in: t.refresh_expires_in,
            user: user(&t.user),
            phone_error,
        },
    )
}

/// `{"status":"phone_required","bind_token",…}` (SIGNUP_MODE=phone, unknown openid).
pub fn phone_required(p: &PhoneRequired) -> HttpResponse {
    phone_required_with(p, None)
}

fn phone_required_with(p: &PhoneRequired, phone_error: Option<&serde_json::Value>) -> HttpResponse {
    HttpResponse::json(
        200,
        &PhoneRequiredBody {
            status: "phone_required",
            bind_token: &p.bind_token,
            expires_in: p.expires_in,
            phone_error,
        },
    )
}

pub fn login(outcome: &LoginOutcome) -> HttpResponse {
    login_with(outcome, None)
}

/// A login's answer, with `phone_error` (`error_table::embedded_error`) beside it when a
/// phone proof sent with the login was refused.
pub fn login_with(outcome: &LoginOutcome, phone_error: Option<serde_json::Value>) -> HttpResponse {
    match outcome {
        LoginOutcome::Session(t) => tokens_with(t, phone_error.as_ref()),
        LoginOutcome::PhoneRequired(p) => phone_required_with(p, phone_error.as_ref()),
    }
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0's required fields):
/// the issuer as configured, and the JWKS under it when the issuer is a URL (then this
/// document is at the issuer's own `/.well-known/openid-configuration`), else under the host
/// the request came to (API Gateway routes by it, so it is the API's own).
pub fn discovery(
    issuer: &str,
    host: Option<&str>,
    algorithm: crate::tokens::SigningAlgorithm,
) -> serde_json::Value {
    let base = if issuer.starts_with("https://") || issuer.starts_with("http://") {
        issuer.trim_end_matches('/').to_owned()
    } else {
        host.map(|h| format!("https://{h}")).unwrap_or_default()
    };
    serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": [algorithm.jwa()],
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "appid", "openid", "phone_bound", "sid"],
    })
}

/// `GET /auth/me` and the profile updates.
pub fn profile(p: &Profile) -> HttpResponse {
    HttpResponse::json(
        200,
        &ProfileBody {
            id: &p.id,
            appid: &p.appid,
            phone_bound: p.phone_bound,
            phone: p.phone.as_deref(),
            nickname: p.nickname.as_deref(),
            avatar_url: p.avatar_url.as_deref(),
            created_at: &p.created_at,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::SigningAlgorithm;

    #[test]
    fn discovery_names_the_jwks_under_a_url_issuer_or_else_the_request_host() {
        let at_issuer = discovery(
            "https://api.example.cn/",
            Some("abc.execute-api.example"),
            SigningAlgorithm::Rs256,
        );
        assert_eq!(at_issuer["issuer"], "https://api.example.cn/");
        assert_eq!(
            at_issuer["jwks_uri"],
            "https://api.example.cn/.well-known/jwks.json"
        );
        let at_host = discovery(
            "wxlogin",
            Some("abc.execute-api.cn-north-1.amazonaws.com.cn"),
            SigningAlgorithm::EdDsa,
        );
        assert_eq!(
            at_host["jwks_uri"],
            "https://abc.execute-api.cn-north-1.amazonaws.com.cn/.well-known/jwks.json"
        );
        assert_eq!(at_host["id_token_signing_alg_values_supported"][0], "EdDSA");
        assert_eq!(
            at_issuer["id_token_signing_alg_values_supported"][0],
            "RS256"
        );
    }
}
