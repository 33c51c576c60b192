//! The DynamoDB store: one table, string key `pk`, TTL attribute `expires_at`. Ownership
//! decisions are conditional writes or transactions (never read-then-write); throttling is
//! retried by the SDK (standard mode, 3 attempts); transaction conflicts are retried here a
//! bounded number of times with jitter; anything left is `StoreError::Unavailable` (503).

use super::keys;
use super::*;
use crate::domain::{AppId, OpenId, PhoneNumber, UnionId, UserId};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use std::collections::HashMap;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

const TRANSACTION_ATTEMPTS: u32 = 3;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    #[cfg(feature = "sdk-config")]
    pub fn new(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        Self::from_client(Client::new(sdk), table)
    }

    pub fn from_client(client: Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
        }
    }

    /// A client from the Lambda environment alone (`AWS_REGION`, the `AWS_ACCESS_KEY_ID`/
    /// `AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` Lambda sets, `AWS_ENDPOINT_URL`), without
    /// aws-config's credential chain: the authorizer stays small and starts fast.
    pub fn from_lambda_env(table: &str) -> Result<Self, String> {
        use aws_sdk_dynamodb::config::{
            BehaviorVersion, Credentials, Region, retry::RetryConfig, timeout::TimeoutConfig,
        };
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let credentials = Credentials::new(
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
            std::env::var("AWS_SESSION_TOKEN").ok(),
            None,
            "lambda-environment",
        );
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(var("AWS_REGION")?))
            .credentials_provider(credentials)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(Duration::from_secs(2))
                    .operation_timeout(Duration::from_secs(5))
                    .build(),
            );
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            config = config.endpoint_url(endpoint);
        }
        Ok(Self::from_client(Client::from_conf(config.build()), table))
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get(&self, pk: String) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// Sets string fields of an existing user item.
    async fn update_user_fields(
        &self,
        user_id: &UserId,
        fields: &[(&str, &str)],
    ) -> StoreResult<()> {
        let sets: Vec<String> = (0..fields.len())
            .map(|i| format!("#f{i} = :v{i}"))
            .collect();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::user(user_id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("attribute_exists(pk)");
        for (i, (name, value)) in fields.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#f{i}"), *name)
                .expression_attribute_values(format!(":v{i}"), s(*value));
        }
        condition_may_fail(update.send().await).map(|_| ())
    }

    /// Runs a transaction; `Ok(Err(reasons))` when a condition failed (codes per item). A
    /// transaction cancelled only for transient reasons (see [`cancelled_transiently`]) is sent
    /// again, at most `TRANSACTION_ATTEMPTS` times in all, after a jittered pause; the SDK does
    /// not retry those itself (its standard mode retries only top-level throttling errors).
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Result<(), Vec<String>>> {
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let reasons: Option<Vec<String>> = match &err {
                SdkError::ServiceError(service) => match service.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => Some(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code().unwrap_or("None").to_owned())
                            .collect(),
                    ),
                    _ => None,
                },
                _ => None,
            };
            match reasons {
                Some(r) if r.iter().any(|c| c == "ConditionalCheckFailed") => return Ok(Err(r)),
                Some(r) if cancelled_transiently(&r) => {
                    if attempt >= TRANSACTION_ATTEMPTS {
                        let id = err.request_id().unwrap_or("none");
                        return Err(StoreError::Unavailable(format!(
                            "DynamoDB: transaction cancelled [{}] {attempt} times (request id {id})",
                            r.join(", ")
                        )));
                    }
                    transaction_backoff(attempt).await;
                    attempt += 1;
                }
                _ => return Err(unavailable(err)),
            }
        }
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}
fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}
fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}
/// `StoreError::Unavailable` naming only what failed: the error code (or the kind of transport
/// failure) and the AWS request id. Never the SDK's message text: it may quote item values.
fn unavailable<E>(e: SdkError<E, HttpResponse>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    StoreError::Unavailable(crate::sdk_fault::sdk_fault!(
        aws_sdk_dynamodb,
        "DynamoDB",
        &e
    ))
}

/// Item reasons a cancelled transaction may clear if sent again.
const TRANSIENT_CANCELLATIONS: [&str; 3] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// Cancelled solely for transient reasons: at least one item has one, and every other item
/// has none (`None`). A validation error or a failed condition is never retried.
fn cancelled_transiently(reasons: &[String]) -> bool {
    let transient = |c: &String| TRANSIENT_CANCELLATIONS.contains(&c.as_str());
    reasons.iter().any(transient) && reasons.iter().all(|c| c == "None" || transient(c))
}

/// The pause before transaction attempt `attempt + 1`: 20 ms per attempt made plus 0–39 ms of
/// jitter (20–59 ms, then 40–79 ms), so that racing requests do not collide again in step.
async fn transaction_backoff(attempt: u32) {
    let [random] = crate::crypto::random_bytes::<1>();
    let millis = 20 * u64::from(attempt) + u64::from(random % 40);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// A conditional write whose condition may fail by design: `Ok(false)` when it did.
fn condition_may_fail<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> StoreResult<bool>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

fn is_conditional_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some("ConditionalCheckFailedException"))
}

fn phone_of(item: &Item) -> StoreResult<Option<PhoneNumber>> {
    get_s(item, "phone")
        .map(|p| PhoneNumber::parse_e164(p).map_err(|_| corrupt("phone")))
        .transpose()
}

fn user_from(item: &Item) -> StoreResult<User> {
    let id = UserId::parse(get_s(item, "user_id").ok_or_else(|| corrupt("user_id"))?)
        .map_err(|_| corrupt("user_id"))?;
    let mut openids = std::collections::BTreeMap::new();
    if let Some(map) = item.get("openids").and_then(|v| v.as_m().ok()) {
        for (app, oid) in map {
            let appid = AppId::parse(app).map_err(|_| corrupt("openids key"))?;
            let openid = oid
                .as_s()
                .ok()
                .and_then(|o| OpenId::parse(o).ok())
                .ok_or_else(|| corrupt("openids value"))?;
            openids.insert(appid, openid);
        }
    }
    Ok(User {
        id,
        created_at: get_n(item, "created_at").unwrap_or(0),
        phone: phone_of(item)?,
        openids,
        sessions_valid_after: get_n(item, "sessions_valid_after").unwrap_or(0),
        version: get_n(item, "version").ok_or_else(|| corrupt("user version"))?,
        password_hash: get_s(item, "password_hash").map(str::to_owned),
        nickname: get_s(item, "nickname").map(str::to_owned),
        avatar_url: get_s(item, "avatar_url").map(str::to_owned),
    })
}

fn family_from(item: &Item) -> StoreResult<Family> {
    let field = |name: &str| get_s(item, name).ok_or_else(|| corrupt(name));
    Ok(Family {
        id: field("family_id")?.to_owned(),
        user_id: UserId::parse(field("user_id")?).map_err(|_| corrupt("user_id"))?,
        appid: AppId::parse(field("appid")?).map_err(|_| corrupt("appid"))?,
        openid: OpenId::parse(field("openid")?).map_err(|_| corrupt("openid"))?,
        secret_hash: field("secret_hash")?.to_owned(),
        created_at: get_n(item, "created_at").ok_or_else(|| corrupt("created_at"))?,
        expires_at: get_n(item, "expires_at").ok_or_else(|| corrupt("expires_at"))?,
        revoked: item
            .get("revoked")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(true),
        retired: {
            let mut marks = item
                .get("retired")
                .and_then(|v| v.as_ss().ok())
                .cloned()
                .unwrap_or_default();
            marks.sort();
            marks
        },
    })
}

fn link_item(
    user_id: &UserId,
    appid: &AppId,
    openid: &OpenId,
    unionid: Option<&UnionId>,
    phone: Option<&PhoneNumber>,
    now: u64,
) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), s(keys::openid_link(appid, openid))),
        ("kind".to_owned(), s("openid_link")),
        ("user_id".to_owned(), s(user_id.as_str())),
        ("appid".to_owned(), s(appid.as_str())),
        ("openid".to_owned(), s(openid.as_str())),
        ("created_at".to_owned(), n(now)),
    ]);
    if let Some(u) = unionid {
        item.insert("unionid".to_owned(), s(u.as_str()));
    }
    if let Some(p) = phone {
        item.insert("phone".to_owned(), s(p.e164()));
    }
    item
}

fn phone_item(phone: &PhoneNumber, user_id: &UserId) -> Item {
    Item::from([
        ("pk".to_owned(), s(keys::phone_owner(phone))),
        ("kind".to_owned(), s("phone_owner")),
        ("user_id".to_owned(), s(user_id.as_str())),
    ])
}

fn session_key_item(key: &SessionKeyRecord) -> Item {
    Item::from([
        (
            "pk".to_owned(),
            s(keys::session_key(&key.appid, &key.openid)),
        ),
        ("kind".to_owned(), s("session_key")),
        ("session_key".to_owned(), s(&key.session_key)),
        ("expires_at".to_owned(), n(key.expires_at)),
    ])
}

impl Identities for DynamoStore {
    async fn touch_openid_link(
        &self,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> StoreResult<Option<LinkedUser>> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::openid_link(appid, openid)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld);
        update = match unionid {
            Some(u) => update
                .update_expression("SET last_login_at = :now, unionid = if_not_exists(unionid, :u)")
                .expression_attribute_values(":u", s(u.as_str())),
            None => update.update_expression("SET last_login_at = :now"),
        };
        match update.send().await {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                let user_id = get_s(&item, "user_id")
                    .and_then(|u| UserId::parse(u).ok())
                    .ok_or_else(|| corrupt("link user_id"))?;
                let had_unionid = item.contains_key("unionid");
                Ok(Some(LinkedUser {
                    user_id,
                    phone: phone_of(&item)?,
                    had_unionid,
                }))
            }
            Err(e) if is_conditional_failure(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn find_unionid_user(&self, unionid: &UnionId) -> StoreResult<Option<UserId>> {
        let Some(item) = self.get(keys::unionid_link(unionid)).await? else {
            return Ok(None);
        };
        let id = get_s(&item, "user_id")
            .and_then(|u| UserId::parse(u).ok())
            .ok_or_else(|| corrupt("unionid user_id"))?;
        Ok(Some(id))
    }

    async fn put_unionid_link_if_absent(
        &self,
        unionid: &UnionId,
        user_id: &UserId,
    ) -> StoreResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::unionid_link(unionid)))
            .item("kind", s("unionid_link"))
            .item("user_id", s(user_id.as_str()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }

    async fn get_user(&self, user_id: &UserId) -> StoreResult<Option<User>> {
        self.get(keys::user(user_id))
            .await?
            .map(|item| user_from(&item))
            .transpose()
    }

    async fn create_user(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
    ) -> StoreResult<CreateUserOutcome> {
        let mut user_item = Item::from([
            ("pk".to_owned(), s(keys::user(&user.id))),
            ("kind".to_owned(), s("user")),
            ("user_id".to_owned(), s(user.id.as_str())),
            ("created_at".to_owned(), n(user.created_at)),
            (
                "sessions_valid_after".to_owned(),
                n(user.sessions_valid_after),
            ),
            ("version".to_owned(), n(user.version)),
            (
                "openids".to_owned(),
                AttributeValue::M(HashMap::from([(
                    appid.as_str().to_owned(),
                    s(openid.as_str()),
                )])),
            ),
        ]);
        if let Some(p) = &user.phone {
            user_item.insert("phone".to_owned(), s(p.e164()));
        }
        for (name, value) in [
            ("password_hash", &user.password_hash),
            ("nickname", &user.nickname),
            ("avatar_url", &user.avatar_url),
        ] {
            if let Some(v) = value {
                user_item.insert(name.to_owned(), s(v));
            }
        }
        let mut items = vec![
            self.put(user_item, Some("attribute_not_exists(pk)"))?,
            self.put(
                link_item(
                    &user.id,
                    appid,
                    openid,
                    unionid,
                    user.phone.as_ref(),
                    user.created_at,
                ),
                Some("attribute_not_exists(pk)"),
            )?,
        ];
        if let Some(u) = unionid {
            let union_item = Item::from([
                ("pk".to_owned(), s(keys::unionid_link(u))),
                ("kind".to_owned(), s("unionid_link")),
                ("user_id".to_owned(), s(user.id.as_str())),
            ]);
            items.push(self.put(union_item, Some("attribute_not_exists(pk)"))?);
        }
        let unionid_index = unionid.map(|_| 2);
        let phone_index = user.phone.as_ref().map(|_| items.len());
        if let Some(p) = &user.phone {
            items.push(self.put(phone_item(p, &user.id), Some("attribute_not_exists(pk)"))?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(CreateUserOutcome::Created),
            Err(reasons) => {
                let failed = |i: Option<usize>| {
                    i.and_then(|i| reasons.get(i))
                        .is_some_and(|c| c == "ConditionalCheckFailed")
                };
                if failed(Some(1)) {
                    Ok(CreateUserOutcome::OpenIdTaken)
                } else if failed(unionid_index) {
                    Ok(CreateUserOutcome::UnionIdTaken)
                } else if failed(phone_index) {
                    Ok(CreateUserOutcome::PhoneTaken)
                } else {
                    Err(corrupt("user id collision"))
                }
            }
        }
    }

    async fn link_openid(
        &self,
        user: &User,
        appid: &AppId,
        openid: &OpenId,
        unionid: Option<&UnionId>,
        now: u64,
    ) -> StoreResult<LinkOutcome> {
        let phone_condition = match &user.phone {
            Some(_) => "phone = :phone",
            None => "attribute_not_exists(phone)",
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(keys::user(&user.id)))
            .update_expression("SET openids.#app = :openid, version = :next")
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists(openids.#app) AND version = :version AND {phone_condition}"
            ))
            .expression_attribute_names("#app", appid.as_str())
            .expression_attribute_values(":openid", s(openid.as_str()))
            .expression_attribute_values(":version", n(user.version))
            .expression_attribute_values(":next", n(user.version + 1));
        if let Some(p) = &user.phone {
            update = update.expression_attribute_values(":phone", s(p.e164()));
        }
        let update = update
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let items = vec![
            self.put(
                link_item(&user.id, appid, openid, unionid, user.phone.as_ref(), now),
                Some("attribute_not_exists(pk)"),
            )?,
            TransactWriteItem::builder().update(update).build(),
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(LinkOutcome::Linked),
            Err(reasons)
                if reasons
                    .first()
                    .is_some_and(|c| c == "ConditionalCheckFailed") =>
            {
                Ok(LinkOutcome::OpenIdTaken)
            }
            Err(_) => match self.get_user(&user.id).await? {
                Some(current) if current.openids.contains_key(appid) => {
                    Ok(LinkOutcome::UserHasOtherOpenId)
                }
                _ => Ok(LinkOutcome::UserChanged),
            },
        }
    }

    async fn set_password_hash(&self, user_id: &UserId, hash: &str) -> StoreResult<()> {
        self.update_user_fields(user_id, &[("password_hash", hash)])
            .await
    }

    async fn set_profile(
        &self,
        user_id: &UserId,
        nickname: Option<&str>,
        avatar_url: Option<&str>,
    ) -> StoreResult<()> {
        let mut fields = Vec::new();
        if let Some(v) = nickname {
            fields.push(("nickname", v));
        }
        if let Some(v) = avatar_url {
            fields.push(("avatar_url", v));
        }
        if fields.is_empty() {
            return Ok(());
        }
        self.update_user_fields(user_id, &fields).await
    }
}

impl Sessions for DynamoStore {
    async fn start_session(
        &self,
        key: Option<&SessionKeyRecord>,
        family: &Family,
    ) -> StoreResult<()> {
        let family_item = Item::from([
            ("pk".to_owned(), s(keys::family(&family.id))),
            ("kind".to_owned(), s("refresh_family")),
            ("family_id".to_owned(), s(&family.id)),
            ("user_id".to_owned(), s(family.user_id.as_str())),
            ("appid".to_owned(), s(family.appid.as_str())),
            ("openid".to_owned(), s(family.openid.as_str())),
            ("secret_hash".to_owned(), s(&family.secret_hash)),
            ("created_at".to_owned(), n(family.created_at)),
            ("expires_at".to_owned(), n(family.expires_at)),
            ("revoked".to_owned(), AttributeValue::Bool(family.revoked)),
        ]);
        let mut items = vec![self.put(family_item, Some("attribute_not_exists(pk)"))?];
        if let Some(key) = key {
            items.push(self.put(session_key_item(key), None)?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(_) => Err(corrupt("refresh family id collision")),
        }
    }

    async fn put_session_key(&self, key: &SessionKeyRecord) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(session_key_item(key)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_session_key(
        &self,
        appid: &AppId,
        openid: &OpenId,
        now: u64,
    ) -> StoreResult<Option<SessionKeyRecord>> {
        let Some(item) = self.get(keys::session_key(appid, openid)).await? else {
            return Ok(None);
        };
        let expires_at = get_n(&item, "expires_at").unwrap_or(0);
        if expires_at <= now {
            return Ok(None);
        }
        let session_key = get_s(&item, "session_key")
            .ok_or_else(|| corrupt("session_key"))?
            .to_owned();
        Ok(Some(SessionKeyRecord {
            appid: appid.clone(),
            openid: openid.clone(),
            session_key,
            expires_at,
        }))
    }

    async fn get_family(&self, family_id: &str, now: u64) -> StoreResult<Option<Family>> {
        let Some(item) = self.get(keys::family(family_id)).await? else {
            return Ok(None);
        };
        let family = family_from(&item)?;
        Ok((family.expires_at > now).then_some(family))
    }

    async fn rotate_family(
        &self,
        family_id: &str,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: u64,
        now: u64,
    ) -> StoreResult<RotateOutcome> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::family(family_id)))
            .update_expression("SET secret_hash = :new, expires_at = :exp ADD retired :mark")
            .condition_expression("secret_hash = :old AND revoked = :false AND expires_at > :now")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(
                ":mark",
                AttributeValue::Ss(vec![crate::tokens::refresh::retired_mark(old_hash)]),
            )
            .expression_attribute_values(":exp", n(new_expires_at))
            .expression_attribute_values(":old", s(old_hash))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(RotateOutcome::Rotated),
            Err(e) if is_conditional_failure(&e) => Ok(RotateOutcome::Refused),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::family(family_id)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }

    async fn end_all_sessions(&self, user_id: &UserId, now: u64) -> StoreResult<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::user(user_id)))
            .update_expression("SET sessions_valid_after = :now")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(sessions_valid_after) OR sessions_valid_after < :now)")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }
}

impl PhoneOwnership for DynamoStore {
    async fn phone_owner(&self, phone: &PhoneNumber) -> StoreResult<Option<UserId>> {
        let Some(item) = self.get(keys::phone_owner(phone)).await? else {
            return Ok(None);
        };
        let owner = get_s(&item, "user_id")
            .and_then(|u| UserId::parse(u).ok())
            .ok_or_else(|| corrupt("phone owner"))?;
        Ok(Some(owner))
    }

    async fn bind_phone(&self, user: &User, phone: &PhoneNumber) -> StoreResult<BindOutcome> {
        let mut owner_put = self.put(
            phone_item(phone, &user.id),
            Some("attribute_not_exists(pk) OR user_id = :uid"),
        )?;
        if let Some(put) = owner_put.put.as_mut() {
            put.expression_attribute_values =
                Some(HashMap::from([(":uid".to_owned(), s(user.id.as_str()))]));
        }
        let user_update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(keys::user(&user.id)))
            .update_expression("SET phone = :phone, version = :next")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(phone) AND version = :version",
            )
            .expression_attribute_values(":phone", s(phone.e164()))
            .expression_attribute_values(":version", n(user.version))
            .expression_attribute_values(":next", n(user.version + 1))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut items = vec![
            owner_put,
            TransactWriteItem::builder().update(user_update).build(),
        ];
        for (appid, openid) in &user.openids {
            let link_update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(keys::openid_link(appid, openid)))
                .update_expression("SET phone = :phone")
                .condition_expression("attribute_exists(pk) AND user_id = :uid")
                .expression_attribute_values(":phone", s(phone.e164()))
                .expression_attribute_values(":uid", s(user.id.as_str()))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            items.push(TransactWriteItem::builder().update(link_update).build());
        }
        match self.transact(items).await? {
            Ok(()) => Ok(BindOutcome::Bound),
            Err(reasons)
                if reasons
                    .first()
                    .is_some_and(|c| c == "ConditionalCheckFailed") =>
            {
                Ok(BindOutcome::PhoneTaken)
            }
            Err(_) => Ok(BindOutcome::UserChanged),
        }
    }
}

impl CodeClaims for DynamoStore {
    async fn claim_login_code(
        &self,
        appid: &AppId,
        digest: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<CodeClaim> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::login_code(appid, digest)))
            .item("kind", s("login_code"))
            .item("expires_at", n(expires_at))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(CodeClaim::Fresh),
            Err(e) if is_conditional_failure(&e) => Ok(CodeClaim::Replayed),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn claim_phone_code(
        &self,
        appid: &AppId,
        digest: &str,
        openid: &OpenId,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<PhoneCodeClaim> {
        let pk = keys::phone_code(appid, digest);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("kind", s("phone_code"))
            .item("openid", s(openid.as_str()))
            .item("expires_at", n(expires_at))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(PhoneCodeClaim::Fresh),
            Err(e) if is_conditional_failure(&e) => {}
            Err(e) => return Err(unavailable(e)),
        }
        // Someone holds the claim: whose, and is the answer in? (A read, deciding nothing.)
        let Some(item) = self.get(pk).await? else {
            return Ok(PhoneCodeClaim::Pending);
        };
        if get_s(&item, "openid") != Some(openid.as_str()) {
            return Ok(PhoneCodeClaim::OtherOwner);
        }
        Ok(match phone_of(&item)? {
            Some(phone) => PhoneCodeClaim::Done(phone),
            None => PhoneCodeClaim::Pending,
        })
    }

    async fn complete_phone_code(
        &self,
        appid: &AppId,
        digest: &str,
        phone: &PhoneNumber,
    ) -> StoreResult<()> {
        // Only onto an existing claim: an upsert would leave an item without an owner or an
        // expiry, which every later claim of the code would read as someone else's, forever.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::phone_code(appid, digest)))
            .update_expression("SET phone = :phone")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":phone", s(phone.e164()))
            .send()
            .await;
        condition_may_fail(result).map(|_| ())
    }

    async fn release_phone_code(&self, appid: &AppId, digest: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::phone_code(appid, digest)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl Counters for DynamoStore {
    async fn hit_counter(
        &self,
        name: &str,
        limit: u32,
        window_secs: u64,
        now: u64,
    ) -> StoreResult<CounterHit> {
        let window = window_secs.max(1);
        let start = now - now % window;
        let end = start + window;
        let limited = CounterHit::Limited {
            retry_after: end.saturating_sub(now).max(1),
        };
        // The condition below admits the first hit whatever the limit: a window with a limit
        // of 0 is full before any hit.
        if limit == 0 {
            return Ok(limited);
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::counter(name, start)))
            .update_expression("ADD hits :one SET expires_at = :end")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":end", n(end))
            .expression_attribute_values(":limit", n(u64::from(limit)))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let hits = out
                    .attributes
                    .as_ref()
                    .and_then(|a| get_n(a, "hits"))
                    .unwrap_or(1);
                Ok(CounterHit::Counted(u32::try_from(hits).unwrap_or(u32::MAX)))
            }
            Err(e) if is_conditional_failure(&e) => Ok(limited),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn read_counter(&self, name: &str, window_secs: u64, now: u64) -> StoreResult<u32> {
        let window = window_secs.max(1);
        let item = self.get(keys::counter(name, now - now % window)).await?;
        Ok(item
            .and_then(|i| get_n(&i, "hits"))
            .map(|h| u32::try_from(h).unwrap_or(u32::MAX))
            .unwrap_or(0))
    }
}

impl SmsCodes for DynamoStore {
    async fn put_sms_code(
        &self,
        phone: &PhoneNumber,
        stored_hash: &str,
        expires_at: u64,
    ) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::sms_code(phone)))
            .item("kind", s("sms_code"))
            .item("code", s(stored_hash))
            .item("attempts", n(0))
            .item("expires_at", n(expires_at))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn attempt_sms_code(
        &self,
        phone: &PhoneNumber,
        max_attempts: u32,
        now: u64,
    ) -> StoreResult<Option<String>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::sms_code(phone)))
            .update_expression("ADD attempts :one")
            .condition_expression("attribute_exists(pk) AND attempts < :max AND expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(u64::from(max_attempts)))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .attributes
                .as_ref()
                .and_then(|a| get_s(a, "code"))
                .map(str::to_owned)),
            Err(e) if is_conditional_failure(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn consume_sms_code(&self, phone: &PhoneNumber, stored_hash: &str) -> StoreResult<bool> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(keys::sms_code(phone)))
            .condition_expression("code = :code")
            .expression_attribute_values(":code", s(stored_hash))
            .send()
            .await;
        condition_may_fail(result)
    }
}

/// The published public keys: one item, `pk = SIGNING_KEYS` (the authorizer's IAM policy is
/// limited to it with `dynamodb:LeadingKeys`).
impl crate::tokens::KeyDirectory for DynamoStore {
    async fn publish_keys(&self, published: &crate::tokens::PublishedKeys) -> StoreResult<()> {
        let json = serde_json::to_string(&published.keys)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(keys::SIGNING_KEYS))
            .item("kind", s("signing_keys"))
            .item("current_kid", s(&published.current_kid))
            .item("keys", s(json))
            .expression_attribute_values(":cur", s(&published.current_kid));
        put = match &published.previous_kid {
            Some(prev) => put
                .item("previous_kid", s(prev))
                .condition_expression(
                    "attribute_not_exists(pk) OR current_kid = :cur OR current_kid = :prev",
                )
                .expression_attribute_values(":prev", s(prev)),
            None => put.condition_expression("attribute_not_exists(pk) OR current_kid = :cur"),
        };
        condition_may_fail(put.send().await).map(|_| ())
    }
}

impl crate::tokens::PublishedKeySource for DynamoStore {
    async fn load_keys(&self) -> StoreResult<Option<crate::tokens::PublishedKeys>> {
        let Some(item) = self.get(keys::SIGNING_KEYS.to_owned()).await? else {
            return Ok(None);
        };
        let keys = get_s(&item, "keys")
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| corrupt("signing keys"))?;
        Ok(Some(crate::tokens::PublishedKeys {
            current_kid: get_s(&item, "current_kid")
                .ok_or_else(|| corrupt("current_kid"))?
                .to_owned(),
            previous_kid: get_s(&item, "previous_kid").map(str::to_owned),
            keys,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_transactions_cancelled_solely_for_transient_reasons_are_retried() {
        for retried in [
            &["None", "TransactionConflict"][..],
            &["TransactionConflict"],
            &["ThrottlingError", "None"],
            &[
                "None",
                "ProvisionedThroughputExceeded",
                "TransactionConflict",
            ],
        ] {
            assert!(cancelled_transiently(&codes(retried)), "{retried:?}");
        }
        for refused in [
            &[][..],
            &["None", "None"],
            &["ConditionalCheckFailed", "TransactionConflict"],
            &["ValidationError", "TransactionConflict"],
            &["ItemCollectionSizeLimitExceeded", "None"],
        ] {
            assert!(!cancelled_transiently(&codes(refused)), "{refused:?}");
        }
    }
}
