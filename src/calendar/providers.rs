//! Google and Microsoft accounts: the endpoints from `[calendar]`, access tokens kept in memory
//! and refreshed from the refresh token in the keyring, "sign in again" when the grant is gone,
//! the calendar list, and each included calendar's occurrences cached for a window around now.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::accounts::secret_of;
use super::oauth::{self, Endpoints, OAuthError, Provider, Tokens};
use super::refresh::Synced;
use super::sources::{event_row, occurrences, Loaded, Part, Schedule};
use super::{google, microsoft, Account, CalendarError, Calendars, Kind};
use crate::clock::now_ms;
use crate::store::calendars::{self as db, AccountRow, Content, EntryRow, Listed, NewAccountRow, NewEntry};

/// How far back and ahead provider events are cached.
pub const WINDOW_BACK_MS: i64 = 86_400_000;
pub const WINDOW_AHEAD_MS: i64 = 21 * 86_400_000;
/// An access token this close to expiry is refreshed first.
const EXPIRY_MARGIN_MS: i64 = 60_000;
/// Longest a revocation may hold up a removal.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);

type ProviderCalendar = google::ProviderCalendar;
type ProviderEvent = google::ProviderEvent;

impl Calendars {
    /// The configured endpoints of a provider; without a client id, a message saying how to
    /// register one.
    pub fn endpoints(&self, p: Provider) -> Result<Endpoints, CalendarError> {
        let (g, m) = (&self.cfg.google, &self.cfg.microsoft);
        let ep = match p {
            Provider::Google => Endpoints {
                client_id: g.client_id.trim().to_string(),
                client_secret: Some(g.client_secret.trim().to_string()).filter(|s| !s.is_empty()),
                auth_url: g.auth_url.clone(),
                token_url: g.token_url.clone(),
                revoke_url: Some(g.revoke_url.clone()).filter(|s| !s.trim().is_empty()),
                api_url: g.api_url.clone(),
                scopes: Vec::new(),
            },
            Provider::Microsoft => Endpoints {
                client_id: m.client_id.trim().to_string(),
                client_secret: None,
                auth_url: m.auth_url(),
                token_url: m.token_url(),
                revoke_url: None,
                api_url: m.api_url.clone(),
                scopes: Vec::new(),
            },
        };
        if ep.client_id.is_empty() {
            return Err(CalendarError::BadRequest(match p {
                Provider::Google => "Google sign-in needs an OAuth client id: in the Google Cloud console, enable the \
                    Google Calendar API, create an OAuth client of type \"Desktop app\", and set \
                    calendar.google.client_id (and calendar.google.client_secret) in config.toml"
                    .into(),
                Provider::Microsoft => "Microsoft sign-in needs an app registration: in Microsoft Entra, register an \
                    application with the platform \"Mobile and desktop applications\" (redirect http://127.0.0.1) \
                    and the delegated permission Calendars.Read, and set calendar.microsoft.client_id in config.toml"
                    .into(),
            }));
        }
        Ok(ep)
    }

    async fn list_calendars(
        &self,
        p: Provider,
        ep: &Endpoints,
        access: &str,
    ) -> Result<Vec<ProviderCalendar>, OAuthError> {
        match p {
            Provider::Google => google::calendars(&self.http, ep, access).await,
            Provider::Microsoft => microsoft::calendars(&self.http, ep, access).await,
        }
    }

    async fn list_events(
        &self,
        p: Provider,
        ep: &Endpoints,
        access: &str,
        calendar: &str,
    ) -> Result<Vec<ProviderEvent>, OAuthError> {
        let now = now_ms();
        let (from, to) = (now - WINDOW_BACK_MS, now + WINDOW_AHEAD_MS);
        match p {
            Provider::Google => google::events(&self.http, ep, access, calendar, from, to, self.zone).await,
            Provider::Microsoft => microsoft::events(&self.http, ep, access, calendar, from, to, self.zone).await,
        }
    }

    /// A usable access token: the one in memory while it is fresh, else one refreshed with the
    /// refresh token from the keyring (a new refresh token, when the provider rotates it, is
    /// kept). `force` refreshes even a fresh one (the API refused it).
    async fn access_token(&self, row: &AccountRow, ep: &Endpoints, force: bool) -> Result<String, CalendarError> {
        if !force {
            if let Some((t, exp)) = self.tokens.lock().expect("calendar tokens").get(&row.id) {
                if *exp > now_ms() + EXPIRY_MARGIN_MS {
                    return Ok(t.clone());
                }
            }
        }
        let (refresh, _) = self.vault.get(&secret_of(&row.slug)).await?;
        let refresh = refresh.ok_or_else(|| {
            CalendarError::SignInAgain(format!("sign in again: the sign-in of {:?} is not in the keyring", row.name))
        })?;
        let t = oauth::refresh(ep, &refresh).await?;
        if let Some(r) = t.refresh.as_deref().filter(|r| *r != refresh) {
            self.vault.set(&secret_of(&row.slug), r).await?;
        }
        self.tokens.lock().expect("calendar tokens").insert(row.id, (t.access.clone(), t.expires_at_ms));
        Ok(t.access)
    }

    /// Calls the provider with the access token; when the API refuses it (401), refreshes once
    /// and retries; refused again means the user must sign in again.
    async fn with_token<T, F, Fut>(&self, row: &AccountRow, ep: &Endpoints, f: F) -> Result<T, CalendarError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, OAuthError>>,
    {
        let access = self.access_token(row, ep, false).await?;
        match f(access).await {
            Err(OAuthError::Unauthorized) => {
                let access = self.access_token(row, ep, true).await?;
                match f(access).await {
                    Err(OAuthError::Unauthorized) => Err(CalendarError::SignInAgain(
                        "sign in again: the calendar service refuses this sign-in".into(),
                    )),
                    r => r.map_err(CalendarError::from),
                }
            }
            r => r.map_err(CalendarError::from),
        }
    }

    fn provider_of(row: &AccountRow) -> Result<Provider, CalendarError> {
        Kind::from_db(&row.kind)
            .provider()
            .ok_or_else(|| CalendarError::BadRequest(format!("{:?} is not a Google or Microsoft account", row.name)))
    }

    /// Adds the account a finished sign-in brought: its calendars listed, the user's own
    /// ticked and read once, the refresh token in the keyring. Nothing is kept on failure.
    pub(super) async fn add_provider(
        &self,
        p: Provider,
        tokens: Tokens,
        name: Option<String>,
    ) -> Result<Account, CalendarError> {
        let ep = self.endpoints(p)?;
        let refresh = tokens.refresh.clone().ok_or_else(|| {
            CalendarError::BadRequest(format!(
                "{} gave no refresh token: sign in again and allow offline access",
                p.label()
            ))
        })?;
        let access = tokens.access.clone();
        let address = match tokens.account.clone() {
            Some(a) => Some(a),
            None => match p {
                Provider::Google => google::account(&self.http, &ep, &access).await.ok().flatten(),
                Provider::Microsoft => microsoft::account(&self.http, &ep, &access).await.ok().flatten(),
            },
        };
        // Signing in again as an account already here (its grant revoked or expired): the new
        // refresh token replaces the old one and that account syncs again, its ticks kept.
        if let Some(addr) = address.as_deref() {
            let kind = if p == Provider::Google { Kind::Google } else { Kind::Microsoft }.as_db();
            let known = db::accounts(&self.store)
                .await?
                .into_iter()
                .find(|r| r.kind == kind && r.user.as_deref() == Some(addr));
            if let Some(row) = known {
                self.vault.set(&secret_of(&row.slug), &refresh).await?;
                self.tokens.lock().expect("calendar tokens").insert(row.id, (access.clone(), tokens.expires_at_ms));
                self.test(row.id).await?;
                return self.get(row.id).await;
            }
        }
        let listed = self.list_calendars(p, &ep, &access).await?;
        let mut entries = Vec::new();
        for c in listed {
            let mut e = NewEntry {
                remote_id: c.id.clone(),
                name: c.name.clone(),
                color: c.color.clone(),
                own: c.own,
                included: c.own,
                ..NewEntry::default()
            };
            if e.included {
                match self.list_events(p, &ep, &access, &c.id).await {
                    Ok(evs) => {
                        e.events = evs.len() as i64;
                        e.content = Content::Events(
                            evs.into_iter().map(|v| event_row(v.summary, v.start_ms, v.end_ms, &v.facts)).collect(),
                        );
                    }
                    Err(err) => e.error = Some(CalendarError::from(err).to_string()),
                }
            }
            entries.push(e);
        }
        let display = address.clone().unwrap_or_else(|| p.label().to_string());
        let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| match &address {
            Some(a) => format!("{} ({a})", p.label()),
            None => p.label().to_string(),
        });
        let kind = if p == Provider::Google { Kind::Google } else { Kind::Microsoft };
        let slug = self.free_slug(&format!("{}-{}", p.label(), address.as_deref().unwrap_or("account"))).await?;
        self.vault.set(&secret_of(&slug), &refresh).await?;
        let row = NewAccountRow {
            slug: slug.clone(),
            name,
            kind: kind.as_db().into(),
            display,
            owner: address.clone().unwrap_or_default(),
            events: entries.iter().filter(|e| e.included).map(|e| e.events).sum(),
            user: address,
            now: now_ms(),
            ..NewAccountRow::default()
        };
        let id = self.insert_with_secret(&slug, row, entries).await?;
        self.tokens.lock().expect("calendar tokens").insert(id, (tokens.access, tokens.expires_at_ms));
        let row = self.row(id).await?;
        let parts = self.load_cached(&row).await?;
        self.loaded.write().expect("calendars").insert(id, Loaded { enabled: true, parts });
        self.changed();
        self.get(id).await
    }

    /// Syncs a Google or Microsoft account: the calendar list, then each included calendar's
    /// occurrences in the window. A calendar that fails keeps its cached events and its error.
    pub(super) async fn sync_provider(&self, row: &AccountRow) -> Result<Synced, CalendarError> {
        let p = Self::provider_of(row)?;
        let ep = self.endpoints(p)?;
        let listed = self
            .with_token(row, &ep, |a| {
                let ep = &ep;
                async move { self.list_calendars(p, ep, &a).await }
            })
            .await?;
        let listed = listed
            .into_iter()
            .map(|c| Listed { remote_id: c.id, name: c.name, color: c.color, own: c.own, include_if_new: c.own })
            .collect();
        db::reconcile_entries(&self.store, row.id, listed).await?;
        let mut parts = Vec::new();
        let mut error = None;
        for e in db::entries(&self.store, Some(row.id)).await?.into_iter().filter(|e| e.included) {
            match self.sync_provider_entry(row, &e).await {
                Ok(part) => parts.push(part),
                Err(err @ CalendarError::SignInAgain(_)) => return Err(err),
                Err(err) => {
                    let msg = err.to_string();
                    db::record_entry(&self.store, e.id, Some(msg.clone()), now_ms(), None).await?;
                    error.get_or_insert(format!("{}: {msg}", e.name));
                    if let Some(p) = self.loaded_part(row.id, e.id) {
                        parts.push(p);
                    } else if let Some(p) = self.cached_part(row, &e).await? {
                        parts.push(p);
                    }
                }
            }
        }
        Ok(Synced { parts: Some(parts), error, fetched: None })
    }

    /// Reads one calendar's occurrences in the window and replaces its cache.
    pub(super) async fn sync_provider_entry(&self, row: &AccountRow, e: &EntryRow) -> Result<Part, CalendarError> {
        let p = Self::provider_of(row)?;
        let ep = self.endpoints(p)?;
        let id = e.remote_id.clone();
        let evs = self
            .with_token(row, &ep, |a| {
                let (ep, id) = (&ep, &id);
                async move { self.list_events(p, ep, &a, id).await }
            })
            .await?;
        let rows: Vec<_> = evs.into_iter().map(|v| event_row(v.summary, v.start_ms, v.end_ms, &v.facts)).collect();
        let n = rows.len() as i64;
        db::replace_events(&self.store, e.id, rows.clone()).await?;
        db::record_entry(&self.store, e.id, None, now_ms(), Some(n)).await?;
        Ok(Part { entry: Some(e.id), schedule: Schedule::Events(Arc::new(occurrences(rows))) })
    }

    /// Revokes an account's grant, best effort: a failure is logged, never an error.
    pub(super) async fn revoke(&self, row: &AccountRow, p: Provider) {
        let Ok(ep) = self.endpoints(p) else { return };
        let token = match self.vault.get(&secret_of(&row.slug)).await {
            Ok((Some(t), _)) => t,
            _ => return,
        };
        match tokio::time::timeout(REVOKE_TIMEOUT, oauth::revoke(&ep, &token)).await {
            Ok(Ok(())) => tracing::info!(calendar = %row.name, "the sign-in was revoked"),
            Ok(Err(e)) => tracing::warn!(calendar = %row.name, error = %e, "could not revoke the sign-in"),
            Err(_) => tracing::warn!(calendar = %row.name, "revoking the sign-in timed out"),
        }
    }
}
