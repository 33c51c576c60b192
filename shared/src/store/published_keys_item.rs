//! The published-keys item (`pk = SIGNING_KEYS`) as string attributes: encoded and decoded
//! here once, for the DynamoDB store (SDK attribute values) and the authorizer's SDK-free
//! reader (DynamoDB's JSON), which each only look attributes up in their own form of an item.

use super::attrs::{CURRENT_KID, KEYS, PREVIOUS_KID};
use super::{StoreError, StoreResult};
use crate::tokens::PublishedKeys;

/// The item's string attributes besides `pk` and `kind`, as (name, value); `keys` holds the
/// public keys as JSON. Written by the DynamoDB store only (the key reader only reads).
#[cfg(any(feature = "dynamodb", test))]
pub fn encode(published: &PublishedKeys) -> StoreResult<Vec<(&'static str, String)>> {
    let keys = serde_json::to_string(&published.keys).map_err(|e| {
        StoreError::Corrupt(crate::error::Cause::with_source("signing keys item", e))
    })?;
    let mut attributes = vec![(CURRENT_KID, published.current_kid.clone()), (KEYS, keys)];
    if let Some(previous) = &published.previous_kid {
        attributes.push((PREVIOUS_KID, previous.clone()));
    }
    Ok(attributes)
}

/// Reads the item back; `string` finds a string attribute by name, however the item was
/// fetched. A missing or unreadable `keys` or `current_kid` is `Corrupt` (fail closed).
pub fn decode<'a>(string: impl Fn(&str) -> Option<&'a str>) -> StoreResult<PublishedKeys> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("signing keys item: {what}").into());
    let keys = string(KEYS)
        .and_then(|json| serde_json::from_str(json).ok())
        .ok_or_else(|| corrupt(KEYS))?;
    Ok(PublishedKeys {
        current_kid: string(CURRENT_KID)
            .ok_or_else(|| corrupt(CURRENT_KID))?
            .to_owned(),
        previous_kid: string(PREVIOUS_KID).map(str::to_owned),
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::Keyring;
    use std::collections::HashMap;

    fn decoded(attributes: &HashMap<&str, String>) -> StoreResult<PublishedKeys> {
        decode(|name| attributes.get(name).map(String::as_str))
    }

    #[test]
    fn an_encoded_set_decodes_to_itself_and_a_damaged_one_is_corrupt() {
        let secret = Keyring::generate_secret_json(Some(&"a".repeat(40)));
        let published = PublishedKeys::of(&Keyring::from_secret_json(&secret).unwrap());
        assert!(published.previous_kid.is_some());
        let attributes: HashMap<&str, String> = encode(&published).unwrap().into_iter().collect();
        assert_eq!(decoded(&attributes).unwrap(), published);

        for (name, damage) in [(KEYS, None), (KEYS, Some("[{")), (CURRENT_KID, None)] {
            let mut damaged = attributes.clone();
            match damage {
                Some(value) => damaged.insert(name, value.to_owned()),
                None => damaged.remove(name),
            };
            assert!(
                matches!(decoded(&damaged), Err(StoreError::Corrupt(m)) if m.to_string().contains(name)),
                "{name} {damage:?}"
            );
        }
        let mut without_previous = attributes.clone();
        without_previous.remove(PREVIOUS_KID);
        assert_eq!(decoded(&without_previous).unwrap().previous_kid, None);
    }
}
