//! The bind-phone function: `POST /auth/phone` with `Authorization: Bearer` (an access token,
//! or the bind token of a `phone_required` login) and either `{"code"}` or
//! `{"encrypted_data", "iv"}`.

use super::{not_found, respond};
use crate::domain::{AppId, OpenId, UnionId, UserId};
use crate::error::AppError;
use crate::flows::Backend;
use crate::flows::bind_phone::PhoneProof;
use crate::flows::binding::Claimant;
use crate::http::body::parse_json;
use crate::http::{HttpRequest, HttpResponse};
use crate::secrets::SecretSource;
use crate::store::Store;
use crate::tokens::{AccessClaims, TokenVerifier};
use crate::wechat::WeChatApi;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    encrypted_data: Option<String>,
    #[serde(default)]
    iv: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    sms_code: Option<String>,
}

pub fn serves(request: &HttpRequest) -> bool {
    request.method == "POST" && request.path == "/auth/phone"
}

fn proof(body: PhoneBody) -> Result<PhoneProof, AppError> {
    if let (Some(phone), Some(code)) = (&body.phone, &body.sms_code) {
        if body.code.is_some() || body.encrypted_data.is_some() || body.iv.is_some() {
            return Err(AppError::InvalidRequest("send one proof only"));
        }
        return Ok(PhoneProof::Sms {
            phone: crate::flows::sms::parse_phone(phone)?,
            code: code.clone(),
        });
    }
    if body.phone.is_some() || body.sms_code.is_some() {
        return Err(AppError::InvalidRequest("send phone and sms_code together"));
    }
    match (body.code, body.encrypted_data, body.iv) {
        (Some(code), None, None) => {
            crate::domain::LoginCode::parse(&code).map_err(|e| AppError::InvalidRequest(e.0))?;
            Ok(PhoneProof::Code(code))
        }
        (None, Some(encrypted_data), Some(iv)) => Ok(PhoneProof::Encrypted { encrypted_data, iv }),
        _ => Err(AppError::InvalidRequest(
            "send {\"code\"}, {\"encrypted_data\", \"iv\"} or {\"phone\", \"sms_code\"}",
        )),
    }
}

/// A caller proved by a Bearer token.
pub enum Caller {
    Access(AccessClaims),
    /// A bind token: an openid with no user yet.
    Bind(Claimant),
}

/// Verifies the Bearer token: an access token, or else a bind token.
pub async fn caller<S: Store, W, X: SecretSource>(
    backend: &Backend<S, W, X>,
    token: &str,
) -> Result<Caller, AppError> {
    let keys = backend.signing_keys().await?;
    let settings = &backend.issuer.settings;
    let verifier = TokenVerifier::new(
        keys.public.clone(),
        &settings.issuer,
        &settings.audience,
        backend.clock.clone(),
    );
    if let Ok(claims) = verifier.verify_access(token) {
        // Every caller of this function mints tokens or changes credentials: the session
        // must still be live, not only the JWT.
        backend.live_caller(&claims).await?;
        return Ok(Caller::Access(claims));
    }
    let claims = verifier
        .verify_bind(token)
        .map_err(|_| AppError::Unauthorized)?;
    let appid = AppId::parse(&claims.appid).map_err(|_| AppError::Unauthorized)?;
    let openid = OpenId::parse(&claims.openid).map_err(|_| AppError::Unauthorized)?;
    let unionid = claims
        .unionid
        .as_deref()
        .and_then(|u| UnionId::parse(u).ok());
    Ok(Caller::Bind(Claimant::Unlinked {
        appid,
        openid,
        unionid,
    }))
}

/// Who is binding: an access token names a user, a bind token an openid without one.
async fn claimant<S: Store, W, X: SecretSource>(
    backend: &Backend<S, W, X>,
    request: &HttpRequest,
) -> Result<Claimant, AppError> {
    let token = request.bearer().ok_or(AppError::Unauthorized)?;
    match caller(backend, token).await? {
        Caller::Access(claims) => Ok(Claimant::User {
            user_id: UserId::parse(&claims.sub).map_err(|_| AppError::Unauthorized)?,
            appid: AppId::parse(&claims.appid).map_err(|_| AppError::Unauthorized)?,
            openid: OpenId::parse(&claims.openid).map_err(|_| AppError::Unauthorized)?,
        }),
        Caller::Bind(claimant) => Ok(claimant),
    }
}

pub async fn handle<S: Store, W: WeChatApi, X: SecretSource>(
    backend: &Backend<S, W, X>,
    request: &HttpRequest,
) -> HttpResponse {
    if !serves(request) {
        return not_found(request);
    }
    respond(request, "POST /auth/phone", async {
        let who = claimant(backend, request).await?;
        let body: PhoneBody = parse_json(&request.body)?;
        let tokens = backend.bind_phone(&who, proof(body)?).await?;
        Ok(HttpResponse::json(200, &tokens))
    })
    .await
}
