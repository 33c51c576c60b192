//! Official WeChat vectors: the published WXBizDataCrypt sample (开放数据校验与解密) opened by
//! the project's own code, and the rawData and checksession signatures checked against values
//! computed by independent implementations (Python's hashlib/hmac, `openssl dgst`).
//!
//! Sources. The sample (appid, sessionKey, encryptedData, iv) is the one on
//! <https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html>
//! and in its download `aes-sample` (WXBizDataCrypt in C++, Node, PHP, Python); the same four
//! values are in binarywang/WxJava
//! `weixin-java-miniapp/src/test/java/cn/binarywang/wx/miniapp/util/crypt/WxMaCryptUtilsTest.java`.
//! The published plaintext is the one the sample's demos print; it was also decrypted here with
//! Python's `cryptography` (AES-CBC + PKCS7 unpadder) and matched byte for byte.

use super::*;
use crate::crypto::{aes128_cbc_decrypt, b64_decode, hmac_sha256_hex, sha1_hex};

const SAMPLE_APPID: &str = "wx4f4bc4dec97d474b";
const SAMPLE_SESSION_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
const SAMPLE_IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
const SAMPLE_ENCRYPTED_DATA: &str = concat!(
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZM",
    "QmRzooG2xrDcvSnxIMXFufNstNGTyaGS",
    "9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+",
    "3hVbJSRgv+4lGOETKUQz6OYStslQ142d",
    "NCuabNPGBzlooOmB231qMM85d2/fV6Ch",
    "evvXvQP8Hkue1poOFtnEtpyxVLW1zAo6",
    "/1Xx1COxFvrc2d7UL/lmHInNlxuacJXw",
    "u0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn",
    "/Hz7saL8xz+W//FRAUid1OksQaQx4CMs",
    "8LOddcQhULW4ucetDf96JcR3g0gfRK4P",
    "C7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB",
    "6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns",
    "/8wR2SiRS7MNACwTyrGvt9ts8p12PKFd",
    "lqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYV",
    "oKlaRv85IfVunYzO0IKXsyl7JCUjCpoG",
    "20f0a04COwfneQAGGwd5oa+T8yO5hzuy",
    "Db/XcxxmK01EpqOyuxINew==",
);
/// The published plaintext, exactly (no spaces, key order as WeChat wrote it).
const SAMPLE_PLAINTEXT: &str = concat!(
    r#"{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"#,
    r#""language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","#,
    r#""avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","#,
    r#""unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","#,
    r#""watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}"#,
);
/// The sample's watermark timestamp (2016-10-24T13:03:07Z).
const SAMPLE_TS: u64 = 1_477_314_187;

fn open_sample_at(appid: &str, now: u64) -> Result<Value, OpenDataError> {
    open(
        SAMPLE_SESSION_KEY,
        SAMPLE_ENCRYPTED_DATA,
        SAMPLE_IV,
        appid,
        now,
    )
}

#[test]
fn the_wechat_sample_decrypts_to_the_published_plaintext_bytes() {
    let key = b64_decode(SAMPLE_SESSION_KEY).unwrap();
    let iv = b64_decode(SAMPLE_IV).unwrap();
    let ciphertext = b64_decode(SAMPLE_ENCRYPTED_DATA).unwrap();
    assert_eq!((key.len(), iv.len(), ciphertext.len()), (16, 16, 400));
    let plaintext = aes128_cbc_decrypt(&key, &iv, &ciphertext).unwrap();
    assert_eq!(
        String::from_utf8(plaintext.clone()).unwrap(),
        SAMPLE_PLAINTEXT
    );
    assert_eq!(plaintext, SAMPLE_PLAINTEXT.as_bytes());
}

#[test]
fn the_wechat_sample_opens_at_its_own_timestamp_with_the_published_values() {
    let payload = open_sample_at(SAMPLE_APPID, SAMPLE_TS).unwrap();
    let published: Value = serde_json::from_str(SAMPLE_PLAINTEXT).unwrap();
    assert_eq!(payload, published);
    assert_eq!(payload["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
    assert_eq!(payload["unionId"], "ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
    assert_eq!(payload["nickName"], "Band");
    assert_eq!(payload["gender"], 1);
    assert_eq!(payload["language"], "zh_CN");
    assert_eq!(payload["city"], "Guangzhou");
    assert_eq!(payload["province"], "Guangdong");
    assert_eq!(payload["country"], "CN");
    assert_eq!(
        payload["avatarUrl"],
        "http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0"
    );
    assert_eq!(payload["watermark"]["appid"], SAMPLE_APPID);
    assert_eq!(payload["watermark"]["timestamp"], SAMPLE_TS);
    assert_eq!(payload.as_object().unwrap().len(), 10);
}

#[test]
fn the_wechat_sample_is_accepted_inside_the_watermark_window_and_refused_outside() {
    let oldest_ok = SAMPLE_TS + WATERMARK_MAX_AGE_SECS;
    let earliest_ok = SAMPLE_TS - WATERMARK_MAX_SKEW_SECS;
    for now in [
        SAMPLE_TS,
        oldest_ok,
        oldest_ok - 1,
        earliest_ok,
        earliest_ok + 1,
    ] {
        assert!(open_sample_at(SAMPLE_APPID, now).is_ok(), "now = {now}");
    }
    for now in [
        oldest_ok + 1,
        earliest_ok - 1,
        0,
        u64::MAX,
        // Today's clock: the 2016 sample is long stale.
        1_800_000_000,
    ] {
        assert_eq!(
            open_sample_at(SAMPLE_APPID, now),
            Err(OpenDataError::WatermarkTime),
            "now = {now}"
        );
    }
}

#[test]
fn the_wechat_sample_is_refused_for_another_appid() {
    for appid in [
        "wx0000000000000000",
        "WX4F4BC4DEC97D474B",
        "wx4f4bc4dec97d474b ",
        "wx4f4bc4dec97d474",
        "",
    ] {
        assert_eq!(
            open_sample_at(appid, SAMPLE_TS),
            Err(OpenDataError::WatermarkAppid),
            "appid = {appid:?}"
        );
    }
}

#[test]
fn the_wechat_sample_is_refused_with_another_key_or_iv_or_altered_data() {
    // The rawData example's session_key from the same page: a valid key, not this data's.
    assert_eq!(
        open(
            "HyVFkGl5F5OQWJZZaNzBBg==",
            SAMPLE_ENCRYPTED_DATA,
            SAMPLE_IV,
            SAMPLE_APPID,
            SAMPLE_TS
        ),
        Err(OpenDataError::WrongKey)
    );
    // A changed iv changes only the first block: `{"openId":"oGZU` no longer starts with `{`.
    assert_eq!(
        open(
            SAMPLE_SESSION_KEY,
            SAMPLE_ENCRYPTED_DATA,
            "AAAAAAAAAAAAAAAAAAAAAA==",
            SAMPLE_APPID,
            SAMPLE_TS
        ),
        Err(OpenDataError::WrongKey)
    );
    // The last block cut off: the padding is gone.
    let mut ciphertext = b64_decode(SAMPLE_ENCRYPTED_DATA).unwrap();
    ciphertext.truncate(384);
    assert_eq!(
        open(
            SAMPLE_SESSION_KEY,
            &crate::crypto::b64_encode(&ciphertext),
            SAMPLE_IV,
            SAMPLE_APPID,
            SAMPLE_TS
        ),
        Err(OpenDataError::WrongKey)
    );
    // WeChat's key as text that is not base64, and a short key.
    assert_eq!(
        open(
            "tiihtNczf5v6AKRyjwEUhQ",
            SAMPLE_ENCRYPTED_DATA,
            SAMPLE_IV,
            SAMPLE_APPID,
            SAMPLE_TS
        ),
        Err(OpenDataError::SessionKeyCorrupt)
    );
    assert_eq!(
        open(
            "tiihtNczf5v6AKRy",
            SAMPLE_ENCRYPTED_DATA,
            SAMPLE_IV,
            SAMPLE_APPID,
            SAMPLE_TS
        ),
        Err(OpenDataError::SessionKeyCorrupt)
    );
}

/// The getUserInfo example on the same page (rawData as WeChat documents it).
const DOC_RAW_DATA: &str = concat!(
    r#"{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","#,
    r#""province":"Guangdong","country":"CN","#,
    r#""avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}"#,
);

#[test]
fn raw_data_signatures_match_the_published_and_independently_computed_values() {
    // The page's own example: session_key HyVFkGl5F5OQWJZZaNzBBg== gives
    // 75e81ceda165f4ffa64f4068af58c64b8f54b88c (published), and independently:
    // python3 -c 'import hashlib; print(hashlib.sha1(b"{\"nickName\":\"Band\",\"gender\":1,\"language\":\"zh_CN\",\"city\":\"Guangzhou\",\"province\":\"Guangdong\",\"country\":\"CN\",\"avatarUrl\":\"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0\"}HyVFkGl5F5OQWJZZaNzBBg==").hexdigest())'
    assert_eq!(
        sha1_hex(format!("{DOC_RAW_DATA}HyVFkGl5F5OQWJZZaNzBBg==").as_bytes()),
        "75e81ceda165f4ffa64f4068af58c64b8f54b88c"
    );
    // The same rawData with the decryption sample's session_key:
    // python3 -c 'import hashlib; print(hashlib.sha1(b"{\"nickName\":\"Band\",\"gender\":1,\"language\":\"zh_CN\",\"city\":\"Guangzhou\",\"province\":\"Guangdong\",\"country\":\"CN\",\"avatarUrl\":\"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0\"}tiihtNczf5v6AKRyjwEUhQ==").hexdigest())'
    // Built exactly as flows::profile::apply_user_info builds it.
    assert_eq!(
        sha1_hex(format!("{}{}", DOC_RAW_DATA, SAMPLE_SESSION_KEY).as_bytes()),
        "e43ecb743a4d98ae8ed76b7ce6263010b8c0bb4b"
    );
}

#[test]
fn hmac_sha256_keyed_with_the_session_key_text_matches_wechats_published_example() {
    // 用户登录态签名 page: hmac_sha256('{"foo":"bar"}', 'o0q0otL8aEzpcZL/FT9WsQ==') =
    // 654571f7…aa0b (published); the key is the base64 *text*. Independently:
    // python3 -c 'import hmac,hashlib; print(hmac.new(b"o0q0otL8aEzpcZL/FT9WsQ==", b"{\"foo\":\"bar\"}", hashlib.sha256).hexdigest())'
    assert_eq!(
        hmac_sha256_hex(b"o0q0otL8aEzpcZL/FT9WsQ==", br#"{"foo":"bar"}"#),
        "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b"
    );
    // checksession's signature for the sample session_key, hmac_sha256(key = text, ""):
    // printf '' | openssl dgst -sha256 -hmac 'tiihtNczf5v6AKRyjwEUhQ=='
    assert_eq!(
        hmac_sha256_hex(SAMPLE_SESSION_KEY.as_bytes(), b""),
        CHECKSESSION_SIGNATURE_FOR_SAMPLE_KEY
    );
    // Keyed with the 16 decoded bytes instead it would differ (and WeChat would say 87009):
    // python3 -c 'import hmac,hashlib,base64; print(hmac.new(base64.b64decode("tiihtNczf5v6AKRyjwEUhQ=="), b"", hashlib.sha256).hexdigest())'
    assert_eq!(
        hmac_sha256_hex(&b64_decode(SAMPLE_SESSION_KEY).unwrap(), b""),
        "96502defeaf026b55cdc22f97e6c092b0959a2f92c5ec30c571353bb88391bf0"
    );
}

/// `printf '' | openssl dgst -sha256 -hmac 'tiihtNczf5v6AKRyjwEUhQ=='` (and
/// `python3 -c 'import hmac,hashlib; print(hmac.new(b"tiihtNczf5v6AKRyjwEUhQ==", b"", hashlib.sha256).hexdigest())'`).
const CHECKSESSION_SIGNATURE_FOR_SAMPLE_KEY: &str =
    "7154f9f8b4b76b92f541cbf0e37d48840fa06e5e42da92a6f80168a1516a4735";

/// The production client's checksession request, captured by a local server: the signature it
/// sends for the sample session_key is the independently computed one.
#[tokio::test]
async fn the_production_checksession_call_sends_the_independently_computed_signature() {
    use crate::domain::OpenId;
    use crate::fake::{decode_query, serve};
    use crate::http::{HttpRequest, HttpResponse};
    use crate::wechat::client::WeChatClient;
    use crate::wechat::{WeChatApi, WxAccessToken};
    use std::sync::{Arc, Mutex};

    let seen: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
    let keep = seen.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = serve(
        listener,
        Arc::new(move |req: HttpRequest| {
            keep.lock().unwrap().push(req);
            Box::pin(async {
                HttpResponse::json(200, &serde_json::json!({"errcode": 0, "errmsg": "ok"}))
            })
        }),
    )
    .unwrap();
    let client = WeChatClient::new(&server.url()).unwrap();
    let token = WxAccessToken::new("ACCESS_TOKEN", 7200);
    let openid = OpenId::parse("oGZUI0egBJY1zhBYw2KhdUfwVJJE").unwrap();
    assert!(
        client
            .check_session(
                &token,
                &openid,
                &crate::domain::SessionKey::new(SAMPLE_SESSION_KEY)
            )
            .await
            .unwrap()
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/wxa/checksession");
    let query = decode_query(&req.query);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("signature"),
        Some(CHECKSESSION_SIGNATURE_FOR_SAMPLE_KEY)
    );
    assert_eq!(get("sig_method"), Some("hmac_sha256"));
    assert_eq!(get("openid"), Some("oGZUI0egBJY1zhBYw2KhdUfwVJJE"));
    assert_eq!(get("access_token"), Some("ACCESS_TOKEN"));
    // The session_key itself never travels.
    assert!(
        !req.query.contains("tiihtNczf5v6AKRyjwEUhQ"),
        "{}",
        req.query
    );
}
