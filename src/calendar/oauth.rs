//! Signing in to Google and Microsoft calendars with OAuth 2.0 for installed apps (RFC 8252):
//! the system browser, a one-shot loopback listener on 127.0.0.1, PKCE S256 (RFC 7636) and a
//! random `state`; then refreshing and revoking the grant. Tokens never appear in `Debug`,
//! logs or error text, and every answer from the providers is read with a size limit.
//!
//! Children: where a provider's endpoints are and which are allowed ([`endpoints`]), the browser
//! sign-in on a loopback listener ([`browser`]), the token endpoint and revocation ([`tokens`]),
//! and bounded, token-safe HTTP with the providers ([`http`]).

mod browser;
mod endpoints;
mod http;
mod tokens;

pub use browser::{pkce_challenge, start, SignIn, CALLBACK_PATH};
pub(crate) use endpoints::check_url;
pub use endpoints::{Endpoints, Provider};
pub(crate) use http::api_get;
pub use http::http_client;
pub use tokens::{refresh, revoke, Tokens};

/// Why signing in, refreshing or reading a provider's calendars failed, in words a user can act
/// on. No variant carries a token, a code or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The grant is gone (revoked, expired, password changed): the user must sign in again.
    #[error("sign in again: {0}")]
    SignInAgain(String),
    /// The API refused the access token (HTTP 401). Refresh the token and retry once; if it
    /// comes again, the user must sign in again.
    #[error("the calendar service refused access (HTTP 401); sign in again if this persists")]
    Unauthorized,
    #[error("the sign-in was cancelled or access was not granted in the browser")]
    Denied,
    #[error("the browser's answer did not belong to this sign-in (its state did not match); start the sign-in again")]
    StateMismatch,
    #[error("no answer from the browser in time; start the sign-in again")]
    TimedOut,
    #[error("the sign-in service refused: {0}")]
    Refused(String),
    #[error("no client id is configured for this provider: register an app and set its client id in the [calendar] settings")]
    NotConfigured,
    #[error("{0} is not a usable sign-in or calendar address: https is required (plain http only on this machine)")]
    BadEndpoint(String),
    #[error("could not open the local sign-in listener on 127.0.0.1: {0}")]
    Listener(String),
    #[error("could not reach the {service}: {reason}")]
    Network { service: &'static str, reason: String },
    #[error("the {service} answered HTTP {status}")]
    Status { service: &'static str, status: u16 },
    #[error("the {service}'s answer could not be read: {reason}")]
    BadAnswer { service: &'static str, reason: String },
    #[error("the {0}'s answer was too large")]
    TooLarge(&'static str),
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_secrets_never_show_in_debug() {
        let t = Tokens {
            access: "ya29.SECRET".into(),
            refresh: Some("1//REFRESH".into()),
            expires_at_ms: 1,
            account: None,
        };
        let s = format!("{t:?}");
        assert!(!s.contains("SECRET") && !s.contains("REFRESH"), "{s}");
        let ep = Endpoints::google("id", Some("GOCSPX-hidden"));
        assert!(!format!("{ep:?}").contains("GOCSPX"));
    }
}
