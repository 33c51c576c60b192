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
use crate::tokens::TokenVerifier;
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
}

pub fn serves(request: &HttpRequest) -> bool {
    request.method == "POST" && request.path == "/auth/phone"
}

fn proof(body: PhoneBody) -> Result<PhoneProof, AppError> {
    match (body.code, body.encrypted_data, body.iv) {
        (Some(code), None, None) => {
            crate::domain::LoginCode::parse(&code).map_err(|e| AppError::InvalidRequest(e.0))?;
            Ok(PhoneProof::Code(code))
        }
        (None, Some(encrypted_data), Some(iv)) => Ok(PhoneProof::Encrypted { encrypted_data, iv }),
        _ => Err(AppError::InvalidRequest(
            "send either {\"code\"} or {\"encrypted_data\", \"iv\"}",
        )),
    }
}

/// Who is calling: an access token names a user, a bind token an openid without one.
async fn claimant<S: Store, W, X: SecretSource>(
    backend: &Backend<S, W, X>,
    request: &HttpRequest,
) -> Result<Claimant, AppError> {
    let token = request.bearer().ok_or(AppError::Unauthorized)?;
    let keys = backend.signing_keys().await?;
    let settings = &backend.issuer.settings;
    let verifier = TokenVerifier::new(
        keys.public.clone(),
        &settings.issuer,
        &settings.audience,
        backend.clock.clone(),
    );
    let parse = |appid: &str, openid: &str| -> Result<(AppId, OpenId), AppError> {
        Ok((
            AppId::parse(appid).map_err(|_| AppError::Unauthorized)?,
            OpenId::parse(openid).map_err(|_| AppError::Unauthorized)?,
        ))
    };
    if let Ok(claims) = verifier.verify_access(token) {
        let (appid, openid) = parse(&claims.appid, &claims.openid)?;
        let user_id = UserId::parse(&claims.sub).map_err(|_| AppError::Unauthorized)?;
        return Ok(Claimant::User {
            user_id,
            appid,
            openid,
        });
    }
    let claims = verifier
        .verify_bind(token)
        .map_err(|_| AppError::Unauthorized)?;
    let (appid, openid) = parse(&claims.appid, &claims.openid)?;
    let unionid = claims
        .unionid
        .as_deref()
        .and_then(|u| UnionId::parse(u).ok());
    Ok(Claimant::Unlinked {
        appid,
        openid,
        unionid,
    })
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
