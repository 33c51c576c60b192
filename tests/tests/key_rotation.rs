//! The `key-rotation` binary as Secrets Manager drives it (createSecret, setSecret, testSecret,
//! finishSecret, each under the same token) against moto's Secrets Manager: the seed
//! CloudFormation generates becomes the first RS256 key, signers pick it up, a second rotation
//! too soon is refused, one after the minimum age keeps the old key published.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Value, json};
use wxlogin::tokens::{Keyring, SigningAlgorithm};
use wxlogin_tests::emulator::{Emulator, Outcome};
use wxlogin_tests::events;
use wxlogin_tests::stack::Stack;

const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

async fn step(rotation: &Emulator, secret_id: &str, token: &str, step: &str) -> Outcome {
    rotation
        .invoke(json!({"Step": step, "SecretId": secret_id, "ClientRequestToken": token}))
        .await
}

/// One whole rotation under a new token; panics unless every step succeeds.
async fn rotate(stack: &Stack, rotation: &Emulator, token: &str) {
    for name in STEPS {
        match step(rotation, &stack.signing_secret_id, token, name).await {
            Outcome::Response(_) => {}
            other => panic!("{name}: {other:?}\n{}", rotation.logs()),
        }
    }
}

async fn current_secret(stack: &Stack) -> (String, Value) {
    let client = aws_sdk_secretsmanager::Client::new(&stack.sdk);
    let out = client
        .get_secret_value()
        .secret_id(&stack.signing_secret_id)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap();
    let text = out.secret_string.unwrap();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

async fn version_of_current(stack: &Stack) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&stack.sdk);
    let out = client
        .describe_secret()
        .secret_id(&stack.signing_secret_id)
        .send()
        .await
        .unwrap();
    out.version_ids_to_stages
        .unwrap()
        .into_iter()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .unwrap()
        .0
}

/// Makes `value` the current version by moving the stage, as a rotation does (moto's
/// UpdateSecret does not take AWSCURRENT from a version a stage move gave it to).
async fn make_current(stack: &Stack, version: &str, value: &str) {
    let client = aws_sdk_secretsmanager::Client::new(&stack.sdk);
    let from = version_of_current(stack).await;
    client
        .put_secret_value()
        .secret_id(&stack.signing_secret_id)
        .client_request_token(version)
        .secret_string(value)
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    client
        .update_secret_version_stage()
        .secret_id(&stack.signing_secret_id)
        .version_stage("AWSCURRENT")
        .move_to_version_id(version)
        .remove_from_version_id(from)
        .send()
        .await
        .unwrap();
    assert_eq!(current_secret(stack).await.0, value);
}

fn kid_of(session: &Value) -> String {
    let header = jsonwebtoken::decode_header(session["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    header.kid.unwrap()
}

async fn authorized(authorizer: &Emulator, session: &Value) -> bool {
    let bearer = format!("Bearer {}", session["access_token"].as_str().unwrap());
    match authorizer.invoke(events::authorizer(Some(&bearer))).await {
        Outcome::Response(v) => v["isAuthorized"] == true,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_first_rotation_turns_the_generated_seed_into_an_rs256_key_and_signers_use_it() {
    let stack = Stack::new().await;
    // What CloudFormation's GenerateSecretString leaves before the first rotation.
    let seed = "S".repeat(64);
    make_current(
        &stack,
        "00000000-0000-4000-8000-000000000000",
        &json!({ "current": seed }).to_string(),
    )
    .await;
    // Configured for RS256, a signer refuses to start with the seed's Ed25519 key (fail closed:
    // Lambda starts it again at the next invocation, by when the rotation has run).
    let mut early = Emulator::start(
        &wxlogin_tests::emulator::binary("code-exchange"),
        &stack.env(&[]),
    )
    .await;
    assert!(early.wait_ready().await.is_err());
    assert!(
        early.logs().contains("SIGNING_ALGORITHM"),
        "{}",
        early.logs()
    );

    let rotation = stack.start("key-rotation", &[]).await;
    let token = "11111111-1111-4111-8111-111111111111";
    rotate(&stack, &rotation, token).await;
    assert_eq!(version_of_current(&stack).await, token);
    let (text, value) = current_secret(&stack).await;
    assert_eq!(
        value["previous"],
        seed.as_str(),
        "the seed is kept as previous"
    );
    assert_eq!(value["current"]["alg"], "RS256");
    let ring = Keyring::from_secret_json(&text).unwrap();
    assert_eq!(ring.current.algorithm(), SigningAlgorithm::Rs256);
    assert_eq!(
        ring.public.public_keys().count(),
        1,
        "the seed's Ed25519 key is not a verifier of an RS256 deployment"
    );

    // Every step again (Secrets Manager retries): nothing changes.
    for name in STEPS {
        assert!(matches!(
            step(&rotation, &stack.signing_secret_id, token, name).await,
            Outcome::Response(_)
        ));
    }
    assert_eq!(current_secret(&stack).await.0, text);

    // A signer started now signs RS256 tokens with the new key; the authorizer admits them.
    let signer = stack.start("code-exchange", &[]).await;
    let session = stack.login(&signer, "after-first-rotation").await;
    assert_eq!(kid_of(&session), ring.current.kid);
    let authorizer = stack.start("authorizer", &[]).await;
    assert!(authorized(&authorizer, &session).await);

    // Another secret's event is refused, whatever its step.
    assert!(matches!(
        step(&rotation, "someone-elses-secret", token, "createSecret").await,
        Outcome::Error(_)
    ));
}

#[tokio::test]
async fn a_rotation_too_soon_is_refused_and_one_after_the_minimum_age_keeps_the_old_key_published()
{
    let stack = Stack::new().await;
    let rotation = stack.start("key-rotation", &[]).await;
    rotate(&stack, &rotation, "22222222-2222-4222-8222-222222222222").await;
    let (first_text, first) = current_secret(&stack).await;
    let first_kid = Keyring::from_secret_json(&first_text).unwrap().current.kid;

    // Right away: the previous key may still verify live tokens, so nothing moves.
    let too_soon = "33333333-3333-4333-8333-333333333333";
    match step(
        &rotation,
        &stack.signing_secret_id,
        too_soon,
        "createSecret",
    )
    .await
    {
        Outcome::Error(e) => assert!(e.to_string().contains("too young"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(current_secret(&stack).await.0, first_text);

    let signer = stack.start("code-exchange", &[]).await;
    let before = stack.login(&signer, "before-second-rotation").await;
    assert_eq!(kid_of(&before), first_kid);
    let authorizer = stack.start("authorizer", &[]).await;

    // The same secret, current since longer ago than the minimum age (access TTL 7200 s +
    // secret cache 3600 s + authorizer cache 3600 s).
    let mut aged = first.clone();
    aged["rotated_at"] = json!(first["rotated_at"].as_u64().unwrap() - 14_401);
    make_current(
        &stack,
        "55555555-5555-4555-8555-555555555555",
        &aged.to_string(),
    )
    .await;
    rotate(&stack, &rotation, "44444444-4444-4444-8444-444444444444").await;
    let (second_text, second) = current_secret(&stack).await;
    assert_eq!(second["previous"], first["current"]);
    let second_kid = Keyring::from_secret_json(&second_text).unwrap().current.kid;
    assert_ne!(second_kid, first_kid);

    let new_signer = stack.start("code-exchange", &[]).await;
    let after = stack.login(&new_signer, "after-second-rotation").await;
    assert_eq!(kid_of(&after), second_kid);
    // The authorizer from before: the old token still verifies, the new kid is learned.
    assert!(authorized(&authorizer, &before).await);
    assert!(authorized(&authorizer, &after).await);
    // The JWKS lists the new key, then the old one, both RSA.
    let session = stack.start("session", &[]).await;
    let jwks = session
        .http(events::http("GET", "/.well-known/jwks.json", None, &[]))
        .await;
    let keys = jwks.body["keys"].as_array().unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![second_kid.as_str(), first_kid.as_str()]);
    assert!(
        keys.iter()
            .all(|k| k["kty"] == "RSA" && k["alg"] == "RS256")
    );
}
