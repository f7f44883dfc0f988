//! The grant's tokens and the token endpoint: trading a code or a refresh token for tokens,
//! and revoking a grant. A refused refresh (`invalid_grant`) means signing in again.

use serde_json::Value;

use super::endpoints::check_url;
use super::http::{http_client, network, plain, read_limited};
use super::{Endpoints, OAuthError, Provider};
use crate::clock::now_ms;

/// The largest answer read from a token endpoint.
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

/// The tokens of a grant. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    /// Absent when the provider keeps the old one (Google's refresh answers).
    pub refresh: Option<String>,
    pub expires_at_ms: i64,
    /// The signed-in address, when known (after sign-in; `None` after a refresh).
    pub account: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access", &"(hidden)")
            .field("refresh", &self.refresh.as_ref().map(|_| "(hidden)"))
            .field("expires_at_ms", &self.expires_at_ms)
            .field("account", &self.account)
            .finish()
    }
}
/// Trades a refresh token for a new access token. `invalid_grant` (revoked, expired) →
/// [`OAuthError::SignInAgain`].
pub async fn refresh(ep: &Endpoints, refresh_token: &str) -> Result<Tokens, OAuthError> {
    ep.check()?;
    let provider = ep.provider();
    let mut form = vec![
        ("grant_type", "refresh_token".to_string()),
        ("refresh_token", refresh_token.to_string()),
        ("client_id", ep.client_id.clone()),
    ];
    if let Some(s) = &ep.client_secret {
        form.push(("client_secret", s.clone()));
    }
    if provider == Provider::Microsoft {
        form.push(("scope", ep.scope(provider)));
    }
    token_request(&http_client(), ep, &form, true).await
}

/// Revokes a grant (Google's revocation endpoint). Without a `revoke_url` (Microsoft has none
/// for a single grant) there is nothing to call and this succeeds; the user can remove the app
/// in their account's settings. A token the provider no longer knows counts as revoked.
pub async fn revoke(ep: &Endpoints, token: &str) -> Result<(), OAuthError> {
    const SERVICE: &str = "sign-in service";
    let Some(url) = &ep.revoke_url else { return Ok(()) };
    let url = check_url(url)?;
    let resp = http_client().post(url).form(&[("token", token)]).send().await.map_err(|e| network(SERVICE, e))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = read_limited(resp, TOKEN_BODY_LIMIT, SERVICE).await.unwrap_or_default();
    let error = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["error"].as_str().map(str::to_string));
    match error.as_deref() {
        Some("invalid_token") => Ok(()),
        Some(e) => Err(OAuthError::Refused(plain(e))),
        None => Err(OAuthError::Status { service: SERVICE, status }),
    }
}

/// POSTs a form to the token endpoint and reads the tokens. With `refreshing`, `invalid_grant`
/// means the grant is gone.
pub(super) async fn token_request(
    http: &reqwest::Client,
    ep: &Endpoints,
    form: &[(&str, String)],
    refreshing: bool,
) -> Result<Tokens, OAuthError> {
    const SERVICE: &str = "sign-in service";
    let url = check_url(&ep.token_url)?;
    let resp =
        http.post(url).header("accept", "application/json").form(form).send().await.map_err(|e| network(SERVICE, e))?;
    let status = resp.status().as_u16();
    let body = read_limited(resp, TOKEN_BODY_LIMIT, SERVICE).await?;
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        let error = json["error"].as_str().map(plain);
        // The description may quote the request; show only its first line, never the token.
        let detail =
            json["error_description"].as_str().map(|d| plain(d.lines().next().unwrap_or(""))).unwrap_or_default();
        return Err(match error.as_deref() {
            Some("invalid_grant") if refreshing => OAuthError::SignInAgain(format!(
                "the sign-in has expired or was revoked{}",
                if detail.is_empty() { String::new() } else { format!(" ({detail})") }
            )),
            Some(e) => OAuthError::Refused(if detail.is_empty() { e.to_string() } else { format!("{e}: {detail}") }),
            None => OAuthError::Status { service: SERVICE, status },
        });
    }
    let bad = |reason: &str| OAuthError::BadAnswer { service: SERVICE, reason: reason.into() };
    let access = json["access_token"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| bad("no access_token"))?;
    if json["token_type"].as_str().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(bad("the token type is not Bearer"));
    }
    let refresh = json["refresh_token"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    // `expires_in` is a number of seconds (some servers send it as a string).
    let expires_in = json["expires_in"]
        .as_i64()
        .or_else(|| json["expires_in"].as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or(3600)
        .clamp(0, 366 * 24 * 3600);
    Ok(Tokens { access: access.to_string(), refresh, expires_at_ms: now_ms() + expires_in * 1000, account: None })
}
