//! `[calendar]`: what counts as busy, and where Google and Microsoft sign-in go (client ids are
//! configuration: an installer or the user registers their own; nothing secret is compiled in).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// Tentative events and invitations answered "maybe" count as busy.
    pub tentative_busy: bool,
    pub google: GoogleConfig,
    pub microsoft: MicrosoftConfig,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self { tentative_busy: true, google: GoogleConfig::default(), microsoft: MicrosoftConfig::default() }
    }
}

/// Google sign-in: an OAuth client of type "Desktop app" from the Google Cloud console.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct GoogleConfig {
    /// Empty: Google sign-in is unavailable (the message says how to register a client).
    pub client_id: String,
    /// Desktop clients get a secret Google itself calls non-confidential; empty when none.
    pub client_secret: String,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: String,
    pub api_url: String,
}

impl Default for GoogleConfig {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret: String::new(),
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            revoke_url: "https://oauth2.googleapis.com/revoke".into(),
            api_url: "https://www.googleapis.com/calendar/v3".into(),
        }
    }
}

/// Microsoft sign-in: an app registration ("Mobile and desktop applications", redirect
/// `http://127.0.0.1`) in Microsoft Entra.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(deny_unknown_fields, default)]
pub struct MicrosoftConfig {
    /// Empty: Microsoft sign-in is unavailable (the message says how to register an app).
    pub client_id: String,
    /// `common` (work, school and personal accounts), `organizations`, `consumers` or a tenant id.
    pub tenant: String,
    /// Empty: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/authorize`.
    pub auth_url: String,
    /// Empty: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    pub token_url: String,
    pub api_url: String,
}

impl Default for MicrosoftConfig {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            tenant: "common".into(),
            auth_url: String::new(),
            token_url: String::new(),
            api_url: "https://graph.microsoft.com/v1.0".into(),
        }
    }
}

impl MicrosoftConfig {
    /// The authorization endpoint (the configured one, else the tenant's).
    pub fn auth_url(&self) -> String {
        self.tenant_url(&self.auth_url, "authorize")
    }

    /// The token endpoint (the configured one, else the tenant's).
    pub fn token_url(&self) -> String {
        self.tenant_url(&self.token_url, "token")
    }

    fn tenant_url(&self, set: &str, what: &str) -> String {
        if set.trim().is_empty() {
            format!("https://login.microsoftonline.com/{}/oauth2/v2.0/{what}", self.tenant.trim())
        } else {
            set.trim().to_string()
        }
    }
}

impl CalendarConfig {
    /// What counts as busy beyond the fixed rules.
    pub fn rules(&self) -> crate::calendar::busy::Rules {
        crate::calendar::busy::Rules { tentative_busy: self.tentative_busy }
    }

    /// Checks the endpoints: each must be an http(s) URL without credentials. `Err((key, why))`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let ms_auth = self.microsoft.auth_url();
        let ms_token = self.microsoft.token_url();
        for (key, url) in [
            ("calendar.google.auth_url", self.google.auth_url.as_str()),
            ("calendar.google.token_url", self.google.token_url.as_str()),
            ("calendar.google.revoke_url", self.google.revoke_url.as_str()),
            ("calendar.google.api_url", self.google.api_url.as_str()),
            ("calendar.microsoft.auth_url", ms_auth.as_str()),
            ("calendar.microsoft.token_url", ms_token.as_str()),
            ("calendar.microsoft.api_url", self.microsoft.api_url.as_str()),
        ] {
            match reqwest::Url::parse(url) {
                Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                    return Err((key, "must be an http:// or https:// address".into()))
                }
                Ok(u) if !u.username().is_empty() || u.password().is_some() => {
                    return Err((key, "must not contain a user name or password".into()))
                }
                Ok(_) => {}
                Err(e) => return Err((key, format!("{url:?} is not an address ({e})"))),
            }
        }
        let t = self.microsoft.tenant.trim();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
            return Err((
                "calendar.microsoft.tenant",
                format!("{t:?} is not common, organizations, consumers or a tenant id"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_endpoints_follow_the_tenant_unless_set() {
        let mut m = MicrosoftConfig { tenant: "contoso.onmicrosoft.com".into(), ..Default::default() };
        assert_eq!(m.token_url(), "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        m.auth_url = "http://127.0.0.1:9/authorize".into();
        assert_eq!(m.auth_url(), "http://127.0.0.1:9/authorize");
        let c = CalendarConfig { microsoft: m, ..Default::default() };
        assert!(c.check().is_ok());
        let bad = CalendarConfig { google: GoogleConfig { api_url: "ftp://x".into(), ..Default::default() }, ..c };
        assert_eq!(bad.check().unwrap_err().0, "calendar.google.api_url");
    }
}
