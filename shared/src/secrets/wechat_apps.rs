//! The WeChat app secrets: `{"apps": {"<appid>": "<app secret>", ...}}` (DESIGN §7), and the
//! choice of app for a request (named `appid`, or the single configured one).

use crate::domain::AppId;
use crate::error::AppError;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// An app secret, held as a `SecretString` (wiped on drop). Its Debug form hides it; `expose`
/// is called only to build the WeChat request.
#[derive(Clone)]
pub struct AppSecret(SecretString);

impl AppSecret {
    pub fn new(value: &str) -> Self {
        Self(SecretString::from(value))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// In constant time: telling a rotated secret from the held one (`flows::app_secret`) leaks
/// nothing about either through timing.
impl PartialEq for AppSecret {
    fn eq(&self, other: &Self) -> bool {
        crate::crypto::constant_time_eq(self.expose().as_bytes(), other.expose().as_bytes())
    }
}

impl Eq for AppSecret {}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeChatApps {
    apps: BTreeMap<AppId, AppSecret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    apps: BTreeMap<String, SecretString>,
}

impl WeChatApps {
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: Raw = serde_json::from_str(text)
            .map_err(|_| "expected {\"apps\": {\"<appid>\": \"<app secret>\"}}".to_owned())?;
        let mut apps = BTreeMap::new();
        for (appid, secret) in raw.apps {
            let appid = AppId::parse(&appid).map_err(|_| format!("{appid:?} is not an app id"))?;
            let text = secret.expose_secret();
            if text.trim().is_empty() || text.len() > 256 {
                return Err(format!("the secret of {appid} is empty or too long"));
            }
            apps.insert(appid, AppSecret(secret));
        }
        Ok(Self { apps })
    }

    /// The app a request names, or the only configured one when it names none. No app at all
    /// (a fresh deployment: the template creates `{"apps": {}}`) is an operator's to fix.
    pub fn select(&self, requested: Option<&str>) -> Result<(AppId, AppSecret), AppError> {
        if self.apps.is_empty() {
            return Err(AppError::Misconfigured(
                "no WeChat app in the secret yet: run scripts/set-app-secret.sh APPID".into(),
            ));
        }
        match requested {
            Some(raw) => {
                let appid = AppId::parse(raw).map_err(|_| AppError::UnknownApp)?;
                let secret = self.apps.get(&appid).ok_or(AppError::UnknownApp)?;
                Ok((appid, secret.clone()))
            }
            None => {
                let mut it = self.apps.iter();
                match (it.next(), it.next()) {
                    (Some((appid, secret)), None) => Ok((appid.clone(), secret.clone())),
                    _ => Err(AppError::InvalidRequest(
                        "appid is required: this deployment serves several mini programs",
                    )),
                }
            }
        }
    }

    pub fn contains(&self, appid: &AppId) -> bool {
        self.apps.contains_key(appid)
    }

    pub fn secret(&self, appid: &AppId) -> Option<&AppSecret> {
        self.apps.get(appid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_app_is_the_default() {
        let apps = WeChatApps::parse(r#"{"apps":{"wx1":"s1"}}"#).unwrap();
        assert_eq!(apps.select(None).unwrap().0.as_str(), "wx1");
        assert!(matches!(
            apps.select(Some("wx2")),
            Err(AppError::UnknownApp)
        ));
        assert!(matches!(
            apps.select(Some("../x")),
            Err(AppError::UnknownApp)
        ));
    }

    #[test]
    fn several_apps_need_an_appid() {
        let apps = WeChatApps::parse(r#"{"apps":{"wx1":"s1","wx2":"s2"}}"#).unwrap();
        assert!(matches!(
            apps.select(None),
            Err(AppError::InvalidRequest(_))
        ));
        assert_eq!(apps.select(Some("wx2")).unwrap().1.expose(), "s2");
    }

    /// The template's first value: the functions start, and every login says MISCONFIGURED.
    #[test]
    fn no_app_yet_starts_but_every_selection_is_misconfigured() {
        let apps = WeChatApps::parse(r#"{"apps": {}}"#).unwrap();
        assert!(matches!(apps.select(None), Err(AppError::Misconfigured(_))));
        assert!(matches!(
            apps.select(Some("wx1")),
            Err(AppError::Misconfigured(_))
        ));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert_eq!(AppSecret::new("s1"), AppSecret::new("s1"));
        assert_ne!(AppSecret::new("s1"), AppSecret::new("s2"));
        assert_ne!(AppSecret::new("s1"), AppSecret::new("s10"));
        assert_eq!(format!("{:?}", AppSecret::new("s1")), "AppSecret(..)");
        let one = WeChatApps::parse(r#"{"apps":{"wx1":"s1"}}"#).unwrap();
        let rotated = WeChatApps::parse(r#"{"apps":{"wx1":"s2"}}"#).unwrap();
        assert_eq!(one, WeChatApps::parse(r#"{"apps":{"wx1":"s1"}}"#).unwrap());
        assert_ne!(one, rotated);
    }

    #[test]
    fn malformed_app_secrets_are_refused_without_echoing_them() {
        for bad in [
            "",
            "{}",
            r#"{"apps":{"wx1":""}}"#,
            r#"{"apps":{"w x":"s"}}"#,
            "[]",
        ] {
            let err = WeChatApps::parse(bad).unwrap_err();
            assert!(!err.contains("s1"));
        }
        let apps = WeChatApps::parse(r#"{"apps":{"wx1":"topsecret"}}"#).unwrap();
        assert!(!format!("{apps:?}").contains("topsecret"));
    }
}
