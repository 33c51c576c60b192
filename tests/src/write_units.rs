//! DynamoDB write capacity units of recorded calls, as on-demand DynamoDB bills them: a
//! PutItem, UpdateItem or DeleteItem is 1 unit per KB of item (a failed condition included), a
//! TransactWriteItems twice that per item, a BatchWriteItem 1 per KB per item. A put's size is
//! read from its request (attribute names plus values); an update or delete counts 1, which is
//! exact for the items here (all well under 1 KB).

use crate::proxy::Call;
use serde_json::Value;

/// The write units of `calls` (reads and other services count 0).
pub fn write_units(calls: &[Call]) -> u64 {
    calls.iter().map(units_of).sum()
}

fn units_of(call: &Call) -> u64 {
    let body: Value = serde_json::from_str(&call.body).unwrap_or(Value::Null);
    match call.operation.as_str() {
        "DynamoDB_20120810.PutItem" => item_units(&body["Item"]),
        "DynamoDB_20120810.UpdateItem" | "DynamoDB_20120810.DeleteItem" => 1,
        "DynamoDB_20120810.TransactWriteItems" => body["TransactItems"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| 2 * i.get("Put").map_or(1, |put| item_units(&put["Item"])))
                    .sum()
            })
            .unwrap_or(0),
        "DynamoDB_20120810.BatchWriteItem" => body["RequestItems"]
            .as_object()
            .map(|tables| {
                tables
                    .values()
                    .filter_map(Value::as_array)
                    .flatten()
                    .map(|w| w.get("PutRequest").map_or(1, |p| item_units(&p["Item"])))
                    .sum()
            })
            .unwrap_or(0),
        _ => 0,
    }
}

/// 1 unit per started KB of the item (at least 1).
fn item_units(item: &Value) -> u64 {
    let bytes: usize = item
        .as_object()
        .map(|attrs| attrs.iter().map(|(k, v)| k.len() + value_size(v)).sum())
        .unwrap_or(0);
    (bytes as u64).div_ceil(1024).max(1)
}

/// DynamoDB's size of an attribute value (strings and numbers by their text, approximately
/// for numbers; containers by their parts plus 3 bytes, as DynamoDB counts them).
fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S" | "N" | "B", Value::String(s)) => s.len(),
        ("BOOL" | "NULL", _) => 1,
        ("SS" | "NS" | "BS", Value::Array(xs)) => {
            xs.iter().filter_map(Value::as_str).map(str::len).sum()
        }
        ("L", Value::Array(xs)) => 3 + xs.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        ("M", Value::Object(m)) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(operation: &str, body: Value) -> Call {
        Call {
            operation: format!("DynamoDB_20120810.{operation}"),
            body: body.to_string(),
        }
    }

    #[test]
    fn puts_updates_and_transactions_are_billed_as_dynamodb_does() {
        let small = serde_json::json!({"pk": {"S": "USER#u_1"}, "v": {"N": "3"}});
        let big = serde_json::json!({"pk": {"S": "X"}, "blob": {"S": "x".repeat(1500)}});
        let calls = [
            call("PutItem", serde_json::json!({"Item": small})),
            call("PutItem", serde_json::json!({"Item": big})),
            call("UpdateItem", serde_json::json!({"Key": {}})),
            call("GetItem", serde_json::json!({"Key": {}})),
            call(
                "TransactWriteItems",
                serde_json::json!({"TransactItems": [
                    {"Put": {"Item": small}}, {"Update": {"Key": {}}}
                ]}),
            ),
        ];
        // 1 + 2 (1.5 KB) + 1 + 0 + 2 * (1 + 1)
        assert_eq!(write_units(&calls), 8);
    }
}
