//! Where a provider's sign-in and calendar API live ([`Endpoints`], for [`Provider`] Google or
//! Microsoft): the real ones, the scopes asked for, and the rule that every endpoint is https
//! (plain http only on loopback, for local stand-ins).

use serde::{Deserialize, Serialize};

use super::OAuthError;

/// Which sign-in service an account uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SignInProvider"))]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Microsoft,
}

impl Provider {
    /// The provider's name as users know it.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
        }
    }

    /// The read-only scopes asked for when the configuration names none: Google's
    /// `calendar.readonly`; Microsoft's `Calendars.Read`, `User.Read` (the signed-in address) and
    /// `offline_access` (a refresh token).
    pub fn default_scopes(self) -> Vec<String> {
        match self {
            Provider::Google => vec!["https://www.googleapis.com/auth/calendar.readonly".into()],
            Provider::Microsoft => vec!["offline_access".into(), "Calendars.Read".into(), "User.Read".into()],
        }
    }
}

/// Where a provider's sign-in and calendar API live, and the app's client registration.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub client_id: String,
    /// Google desktop clients have a secret that is not confidential; Microsoft public clients
    /// have none.
    pub client_secret: Option<String>,
    pub auth_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    /// Google: `https://www.googleapis.com/calendar/v3`; Microsoft: `https://graph.microsoft.com/v1.0`.
    pub api_url: String,
    /// Empty: [`Provider::default_scopes`].
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "(hidden)"))
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("revoke_url", &self.revoke_url)
            .field("api_url", &self.api_url)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl Endpoints {
    /// Google's real endpoints for a registered desktop client.
    pub fn google(client_id: &str, client_secret: Option<&str>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.map(str::to_string),
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            revoke_url: Some("https://oauth2.googleapis.com/revoke".into()),
            api_url: "https://www.googleapis.com/calendar/v3".into(),
            scopes: Vec::new(),
        }
    }

    /// Microsoft identity platform v2 and Graph v1.0 for a registered public client; `tenant`
    /// is `common`, `organizations`, `consumers` or a tenant id. Microsoft has no revocation
    /// endpoint for a single grant.
    pub fn microsoft(client_id: &str, tenant: &str) -> Self {
        let tenant = if tenant.trim().is_empty() { "common" } else { tenant.trim() };
        Self {
            client_id: client_id.into(),
            client_secret: None,
            auth_url: format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
            token_url: format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
            revoke_url: None,
            api_url: "https://graph.microsoft.com/v1.0".into(),
            scopes: Vec::new(),
        }
    }

    /// Which provider these endpoints belong to: Microsoft's token endpoints end in
    /// `/oauth2/v2.0/token` (the stand-in's too); every other one is taken as Google's.
    pub fn provider(&self) -> Provider {
        let path = reqwest::Url::parse(self.token_url.trim()).map(|u| u.path().to_string()).unwrap_or_default();
        if path.ends_with("/oauth2/v2.0/token") {
            Provider::Microsoft
        } else {
            Provider::Google
        }
    }

    pub(super) fn scope(&self, provider: Provider) -> String {
        let mut scopes = if self.scopes.is_empty() { provider.default_scopes() } else { self.scopes.clone() };
        if provider == Provider::Microsoft && !scopes.iter().any(|s| s == "offline_access") {
            scopes.push("offline_access".into());
        }
        scopes.join(" ")
    }

    /// Every endpoint must be https, or plain http on loopback (local stand-ins).
    pub(super) fn check(&self) -> Result<(), OAuthError> {
        if self.client_id.trim().is_empty() {
            return Err(OAuthError::NotConfigured);
        }
        let urls = [Some(&self.auth_url), Some(&self.token_url), self.revoke_url.as_ref(), Some(&self.api_url)];
        for u in urls.into_iter().flatten() {
            check_url(u)?;
        }
        Ok(())
    }
}

/// Parses an endpoint address: https, or http to a loopback host.
pub(crate) fn check_url(u: &str) -> Result<reqwest::Url, OAuthError> {
    let url = reqwest::Url::parse(u.trim()).map_err(|_| OAuthError::BadEndpoint(shown(u)))?;
    let Some(host) = url.host_str() else { return Err(OAuthError::BadEndpoint(shown(u))) };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(OAuthError::BadEndpoint(shown(u))),
    }
}

/// What may be shown of an endpoint address in an error: scheme and host.
fn shown(u: &str) -> String {
    match reqwest::Url::parse(u.trim()) {
        Ok(url) => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
        Err(_) => "(not an address)".into(),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_unless_on_loopback() {
        assert!(check_url("https://oauth2.googleapis.com/token").is_ok());
        assert!(check_url("http://127.0.0.1:9/token").is_ok());
        assert!(check_url("http://localhost:9/token").is_ok());
        assert!(check_url("http://[::1]:9/token").is_ok());
        assert!(check_url("http://oauth2.googleapis.com/token").is_err());
        assert!(check_url("ftp://127.0.0.1/token").is_err());
        assert!(check_url("not a url").is_err());
    }
}
