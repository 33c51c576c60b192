//! The bind-phone function: `POST /auth/phone` with `Authorization: Bearer` (an access token,
//! or the bind token of a `phone_required` login) and one proof (`{"code"}`,
//! `{"encrypted_data", "iv"}` or `{"phone", "sms_code"}`); `POST /auth/phone/change`, the
//! same proofs of a new number with an access token.

use super::{not_found, respond};
use crate::error::AppError;
use crate::flows::Backend;
use crate::flows::bind_phone::PhoneProof;
use crate::http::answers;
use crate::http::body::parse_json;
use crate::http::{HttpRequest, HttpResponse};
use crate::principal::{self, Principal};
use crate::secrets::SecretSource;
use crate::store::Store;
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
    request.method == "POST"
        && matches!(request.path.as_str(), "/auth/phone" | "/auth/phone/change")
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

/// Who calls a route that mints tokens or changes credentials: an access token whose
/// session is still live, or else a bind token.
pub async fn caller<S: Store, W, X: SecretSource>(
    backend: &Backend<S, W, X>,
    token: &str,
) -> Result<Principal, AppError> {
    let verifier = backend.verifier().await?;
    let who = principal::access_or_bind(&verifier, token).map_err(|_| AppError::Unauthorized)?;
    if let Principal::User(session) = &who {
        backend.live_caller(session).await?;
    }
    Ok(who)
}

pub async fn handle<S: Store, W: WeChatApi, X: SecretSource>(
    backend: &Backend<S, W, X>,
    request: &HttpRequest,
) -> HttpResponse {
    if !serves(request) {
        return not_found(request);
    }
    if request.path == "/auth/phone/change" {
        return respond(request, "POST /auth/phone/change", async {
            let token = request.bearer().ok_or(AppError::Unauthorized)?;
            // An access token of a live session: a bind token has no phone to change.
            let Principal::User(session) = caller(backend, token).await? else {
                return Err(AppError::Unauthorized);
            };
            let body: PhoneBody = parse_json(&request.body)?;
            // Boxed: the two flows' futures nested in one handler overflow rustc's query depth.
            let tokens = Box::pin(backend.change_phone(
                &session,
                proof(body)?,
                request.source_ip.as_deref(),
            ))
            .await?;
            Ok(answers::tokens(&tokens))
        })
        .await;
    }
    respond(request, "POST /auth/phone", async {
        let token = request.bearer().ok_or(AppError::Unauthorized)?;
        let who = caller(backend, token).await?;
        let body: PhoneBody = parse_json(&request.body)?;
        let tokens =
            Box::pin(backend.bind_phone(&who, proof(body)?, request.source_ip.as_deref())).await?;
        Ok(answers::tokens(&tokens))
    })
    .await
}
