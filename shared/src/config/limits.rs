//! The abuse guard's limits (`LIMIT_*`, `*_BUDGET`, `SMS_COUNTRIES`), read and checked at cold
//! start. A rate is written `COUNT/WINDOW` (`120/1m`, `10/1d`; windows in `s`, `m`, `h`, `d`)
//! or `off`. The defaults are far above what one real user does and below what makes abuse
//! pay; the README's "Abuse and cost guard" table gives the reasoning for each.

use super::ConfigError;

/// At most `max` hits in each fixed window of `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub max: u32,
    pub window_secs: u64,
}

impl Rate {
    pub const fn new(max: u32, window_secs: u64) -> Self {
        Self { max, window_secs }
    }

    /// `COUNT/WINDOW`, or `off` (`None`: not limited).
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (count, window) = raw
            .split_once('/')
            .ok_or("a rate is COUNT/WINDOW (e.g. 120/1m) or off")?;
        let max = count
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("the count must be a whole number from 1")?;
        let window = window.trim();
        let split = window.len().saturating_sub(1);
        let (amount, unit) = (window.get(..split), window.get(split..));
        let unit_secs = match unit {
            Some("s") => 1,
            Some("m") => 60,
            Some("h") => 3_600,
            Some("d") => 86_400,
            _ => return Err("the window ends in s, m, h or d (e.g. 1m)".to_owned()),
        };
        let window_secs = amount
            .and_then(|a| a.parse::<u64>().ok())
            .map(|a| a.saturating_mul(unit_secs))
            .filter(|w| (1..=7 * 86_400).contains(w))
            .ok_or("the window must be from 1s to 7d")?;
        Ok(Some(Self { max, window_secs }))
    }
}

/// At 100 % of a daily budget: refuse the call, or only alarm (`*_BUDGET_ACTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetAction {
    Refuse,
    AlarmOnly,
}

/// A daily count of paid calls (UTC days), alarmed at 80 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub per_day: u32,
    pub at_limit: BudgetAction,
}

/// Every limit. `None` is `off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `LIMIT_LOGIN_PER_ADDRESS`: `jscode2session` calls per source address (IPv6 /64).
    pub login_per_address: Option<Rate>,
    /// `LIMIT_LOGIN_PER_APP`: `jscode2session` calls per app (WeChat's own quota is per app).
    pub login_per_app: Option<Rate>,
    /// `LIMIT_PHONE_PER_USER`: paid `getuserphonenumber` calls per openid.
    pub phone_per_user: Option<Rate>,
    /// `LIMIT_PHONE_PER_ADDRESS`: paid phone calls per source address.
    pub phone_per_address: Option<Rate>,
    /// `PHONE_DAILY_BUDGET`, `PHONE_BUDGET_ACTION`: paid phone calls per app per day.
    pub phone_budget: Option<Budget>,
    /// `LIMIT_CHECKSESSION_PER_USER`: `checksession` calls (bad legacy data) per openid.
    pub checksession_per_user: Option<Rate>,
    /// `LIMIT_SMS_PER_PHONE`, `LIMIT_SMS_PER_PHONE_DAILY`: sends per number.
    pub sms_per_phone: [Option<Rate>; 2],
    /// `LIMIT_SMS_PER_ADDRESS`: sends per source address (IPv6 /64).
    pub sms_per_address: Option<Rate>,
    /// `LIMIT_SMS_PER_NETWORK`: sends per source network (IPv4 /24, IPv6 /48).
    pub sms_per_network: Option<Rate>,
    /// `LIMIT_SMS_PER_PREFIX`: sends per block of 10,000 numbers (all digits but the last 4).
    pub sms_per_prefix: Option<Rate>,
    /// `SMS_DAILY_BUDGET`: sends per deployment per day (always refused at 100 %).
    pub sms_budget: Option<Budget>,
    /// `SMS_COUNTRIES`: the calling codes SMS may go to (`86`; `*` for any).
    pub sms_countries: SmsCountries,
}

/// `SMS_COUNTRIES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsCountries {
    Any,
    Only(Vec<String>),
}

impl SmsCountries {
    pub fn admits(&self, calling_code: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(codes) => codes.iter().any(|c| c == calling_code),
        }
    }

    /// Whether a number (E.164 digits, no `+`) is in an admitted country. Calling codes are a
    /// prefix code (ITU-T E.164), so "starts with" is exact.
    pub fn admits_number(&self, digits: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(codes) => codes.iter().any(|c| digits.starts_with(c.as_str())),
        }
    }
}

/// (variable, default) of every rate, in `Limits` order.
pub const RATE_DEFAULTS: [(&str, &str); 10] = [
    ("LIMIT_LOGIN_PER_ADDRESS", "120/1m"),
    ("LIMIT_LOGIN_PER_APP", "off"),
    ("LIMIT_PHONE_PER_USER", "10/1d"),
    ("LIMIT_PHONE_PER_ADDRESS", "60/1h"),
    ("LIMIT_CHECKSESSION_PER_USER", "10/1h"),
    ("LIMIT_SMS_PER_PHONE", "1/1m"),
    ("LIMIT_SMS_PER_PHONE_DAILY", "10/1d"),
    ("LIMIT_SMS_PER_ADDRESS", "20/1h"),
    ("LIMIT_SMS_PER_NETWORK", "60/1h"),
    ("LIMIT_SMS_PER_PREFIX", "30/1h"),
];
pub const DEFAULT_PHONE_DAILY_BUDGET: &str = "10000";
pub const DEFAULT_SMS_DAILY_BUDGET: &str = "1000";
pub const DEFAULT_SMS_COUNTRIES: &str = "86";

impl Default for Limits {
    fn default() -> Self {
        // The defaults parse (a unit test says so); `off` is the fallback only in principle.
        Self::read(&|_: &str| None).unwrap_or_else(|_| Self::off())
    }
}

impl Limits {
    /// No limit at all (tests that count something else).
    pub fn off() -> Self {
        Self {
            login_per_address: None,
            login_per_app: None,
            phone_per_user: None,
            phone_per_address: None,
            phone_budget: None,
            checksession_per_user: None,
            sms_per_phone: [None, None],
            sms_per_address: None,
            sms_per_network: None,
            sms_per_prefix: None,
            sms_budget: None,
            sms_countries: SmsCountries::Any,
        }
    }

    pub(super) fn read(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut rates = [None; 10];
        for (slot, (name, default)) in rates.iter_mut().zip(RATE_DEFAULTS) {
            let raw = get(name).unwrap_or_else(|| default.to_owned());
            *slot = Rate::parse(&raw)
                .map_err(|why| ConfigError(format!("{name}: {why}, got {raw:?}")))?;
        }
        let [
            login_per_address,
            login_per_app,
            phone_per_user,
            phone_per_address,
            checksession_per_user,
            sms_phone_minute,
            sms_phone_day,
            sms_per_address,
            sms_per_network,
            sms_per_prefix,
        ] = rates;
        Ok(Self {
            login_per_address,
            login_per_app,
            phone_per_user,
            phone_per_address,
            phone_budget: budget(
                get,
                "PHONE_DAILY_BUDGET",
                DEFAULT_PHONE_DAILY_BUDGET,
                Some("PHONE_BUDGET_ACTION"),
            )?,
            checksession_per_user,
            sms_per_phone: [sms_phone_minute, sms_phone_day],
            sms_per_address,
            sms_per_network,
            sms_per_prefix,
            sms_budget: budget(get, "SMS_DAILY_BUDGET", DEFAULT_SMS_DAILY_BUDGET, None)?,
            sms_countries: countries(get)?,
        })
    }
}

fn budget(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: &str,
    action_name: Option<&str>,
) -> Result<Option<Budget>, ConfigError> {
    let raw = get(name).unwrap_or_else(|| default.to_owned());
    if raw.trim().eq_ignore_ascii_case("off") || raw.trim() == "0" {
        return Ok(None);
    }
    let per_day = raw
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ConfigError(format!(
                "{name} must be a whole number of calls per day (0 or off: no budget), got {raw:?}"
            ))
        })?;
    let at_limit = match action_name {
        None => BudgetAction::Refuse,
        Some(action) => match get(action).as_deref().map(str::trim) {
            None | Some("refuse") => BudgetAction::Refuse,
            Some("alarm") => BudgetAction::AlarmOnly,
            Some(other) => {
                return Err(ConfigError(format!(
                    "{action} must be \"refuse\" or \"alarm\", got {other:?}"
                )));
            }
        },
    };
    Ok(Some(Budget { per_day, at_limit }))
}

fn countries(get: &dyn Fn(&str) -> Option<String>) -> Result<SmsCountries, ConfigError> {
    let raw = get("SMS_COUNTRIES").unwrap_or_else(|| DEFAULT_SMS_COUNTRIES.to_owned());
    if raw.trim() == "*" {
        return Ok(SmsCountries::Any);
    }
    let mut codes = Vec::new();
    for code in raw.split(',').map(|c| c.trim().trim_start_matches('+')) {
        if code.is_empty() || code.len() > 3 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(ConfigError(format!(
                "SMS_COUNTRIES must be comma-separated calling codes (86,852) or *, got {raw:?}"
            )));
        }
        codes.push(code.to_owned());
    }
    Ok(SmsCountries::Only(codes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Limits, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Limits::read(&|k| map.get(k).cloned())
    }

    #[test]
    fn rates_parse_count_slash_window_or_off() {
        assert_eq!(Rate::parse("120/1m"), Ok(Some(Rate::new(120, 60))));
        assert_eq!(Rate::parse(" 10 / 1d "), Ok(Some(Rate::new(10, 86_400))));
        assert_eq!(Rate::parse("5/90s"), Ok(Some(Rate::new(5, 90))));
        assert_eq!(Rate::parse("3/2h"), Ok(Some(Rate::new(3, 7_200))));
        assert_eq!(Rate::parse("OFF"), Ok(None));
        for bad in [
            "", "10", "0/1m", "-1/1m", "10/1w", "10/m", "10/8d", "10/0s", "x/1m", "10/1é",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn the_defaults_parse_and_are_what_the_readme_says() {
        let l = read(&[]).unwrap();
        assert_eq!(l, Limits::default());
        assert_eq!(l.login_per_address, Some(Rate::new(120, 60)));
        assert_eq!(l.login_per_app, None);
        assert_eq!(l.phone_per_user, Some(Rate::new(10, 86_400)));
        assert_eq!(
            l.phone_budget,
            Some(Budget {
                per_day: 10_000,
                at_limit: BudgetAction::Refuse
            })
        );
        assert_eq!(
            l.sms_per_phone,
            [Some(Rate::new(1, 60)), Some(Rate::new(10, 86_400))]
        );
        assert_eq!(l.sms_per_address, Some(Rate::new(20, 3_600)));
        assert_eq!(l.sms_budget.map(|b| b.per_day), Some(1_000));
        assert!(l.sms_countries.admits("86"));
        assert!(!l.sms_countries.admits("44"));
    }

    #[test]
    fn each_variable_is_read_and_a_bad_one_is_named() {
        let l = read(&[
            ("LIMIT_LOGIN_PER_ADDRESS", "off"),
            ("PHONE_DAILY_BUDGET", "50"),
            ("PHONE_BUDGET_ACTION", "alarm"),
            ("SMS_COUNTRIES", "86, +852"),
            ("SMS_DAILY_BUDGET", "0"),
        ])
        .unwrap();
        assert_eq!(l.login_per_address, None);
        assert_eq!(
            l.phone_budget,
            Some(Budget {
                per_day: 50,
                at_limit: BudgetAction::AlarmOnly
            })
        );
        assert!(l.sms_countries.admits("852") && !l.sms_countries.admits("1"));
        assert_eq!(l.sms_budget, None);
        assert!(
            read(&[("SMS_COUNTRIES", "*")])
                .unwrap()
                .sms_countries
                .admits("44")
        );
        assert_eq!(
            read(&[("PHONE_DAILY_BUDGET", "off")]).unwrap().phone_budget,
            None
        );
        let only_cn = read(&[]).unwrap().sms_countries;
        assert!(only_cn.admits_number("8613800138000"));
        assert!(!only_cn.admits_number("447700900123"));
        assert!(!only_cn.admits_number("14155550123"));
        for (name, _) in RATE_DEFAULTS {
            let err = read(&[(name, "lots")]).unwrap_err();
            assert!(err.0.contains(name), "{err}");
        }
        for (name, bad) in [
            ("PHONE_DAILY_BUDGET", "-1"),
            ("PHONE_BUDGET_ACTION", "ignore"),
            ("SMS_DAILY_BUDGET", "many"),
            ("SMS_COUNTRIES", "china"),
        ] {
            let err = read(&[(name, bad)]).unwrap_err();
            assert!(err.0.contains(name), "{err}");
        }
    }
}
