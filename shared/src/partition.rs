//! AWS partitions for the endpoints our own code builds: a China region (`cn-north-1`,
//! `cn-northwest-1`, partition `aws-cn`) answers under `amazonaws.com.cn`, every other
//! commercial region under `amazonaws.com`. The SDK clients resolve their endpoints themselves
//! (their resolver knows the partitions; pinned by the tests below); only the authorizer's
//! SDK-free key reader needs this.

/// The DNS suffix of the partition that holds `region`.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// `https://<service>.<region>.<suffix>`, the regional endpoint of `service`.
pub fn regional_endpoint(service: &str, region: &str) -> String {
    format!("https://{service}.{region}.{}", dns_suffix(region))
}

/// The endpoint override the SDKs honour: `AWS_ENDPOINT_URL_<SERVICE>` first, then
/// `AWS_ENDPOINT_URL`; an empty value counts as unset (a template may declare it empty).
pub fn endpoint_override(lookup: impl Fn(&str) -> Option<String>, service: &str) -> Option<String> {
    let specific = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
    [specific.as_str(), "AWS_ENDPOINT_URL"]
        .into_iter()
        .filter_map(lookup)
        .map(|value| value.trim().trim_end_matches('/').to_owned())
        .find(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_regions_are_addressed_under_amazonaws_com_cn() {
        assert_eq!(
            regional_endpoint("dynamodb", "cn-north-1"),
            "https://dynamodb.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            regional_endpoint("dynamodb", "cn-northwest-1"),
            "https://dynamodb.cn-northwest-1.amazonaws.com.cn"
        );
        assert_eq!(
            regional_endpoint("dynamodb", "ap-east-1"),
            "https://dynamodb.ap-east-1.amazonaws.com"
        );
    }

    #[test]
    fn the_service_override_wins_and_empty_counts_as_unset() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(endpoint_override(env(&[]), "dynamodb"), None);
        assert_eq!(
            endpoint_override(env(&[("AWS_ENDPOINT_URL", "")]), "dynamodb"),
            None
        );
        assert_eq!(
            endpoint_override(
                env(&[("AWS_ENDPOINT_URL", "http://moto:5000/")]),
                "dynamodb"
            ),
            Some("http://moto:5000".to_owned())
        );
        assert_eq!(
            endpoint_override(
                env(&[
                    ("AWS_ENDPOINT_URL", "http://all"),
                    ("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb")
                ]),
                "dynamodb"
            ),
            Some("http://ddb".to_owned())
        );
    }

    /// The SDK clients the other functions use resolve a China region into `aws-cn` too.
    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn the_sdk_resolves_china_regions_into_the_aws_cn_partition() {
        use aws_sdk_dynamodb::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        for (region, url) in [
            ("cn-north-1", "https://dynamodb.cn-north-1.amazonaws.com.cn"),
            (
                "cn-northwest-1",
                "https://dynamodb.cn-northwest-1.amazonaws.com.cn",
            ),
            ("us-east-1", "https://dynamodb.us-east-1.amazonaws.com"),
        ] {
            let params = Params::builder().region(region).build().unwrap();
            let endpoint = DefaultResolver::new()
                .resolve_endpoint(&params)
                .await
                .unwrap();
            assert_eq!(endpoint.url(), url);
            assert_eq!(regional_endpoint("dynamodb", region), url, "ours agrees");
        }
    }

    #[cfg(feature = "secrets-manager")]
    #[tokio::test]
    async fn secrets_manager_in_a_china_region_is_under_amazonaws_com_cn() {
        use aws_sdk_secretsmanager::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        let params = Params::builder().region("cn-north-1").build().unwrap();
        let endpoint = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .unwrap();
        assert_eq!(
            endpoint.url(),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn"
        );
    }
}
