//! A native client of the Tinker REST API (and of Tinker-compatible servers such as SkyRL's):
//! sessions with heartbeats, `X-API-Key` auth with the JWT exchange when the server asks for
//! it, idempotency keys, submitted requests polled as futures (`try_again` and queue states),
//! retries with backoff for transient failures, and `forward_backward` as protobuf.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::backend::{BackendError, Result};

mod session;

/// One poll of a future may be held this long by the server.
const POLL_TIMEOUT: Duration = Duration::from_secs(45);
/// Transient failures of one call are retried for this long.
const RETRY_BUDGET: Duration = Duration::from_secs(300);

/// The service, shared by the sessions opened on it.
pub struct Tinker {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    save_timeout: Duration,
    /// The credential sent as `X-API-Key`: the key, or a JWT traded for it, with its expiry.
    jwt: tokio::sync::Mutex<Option<(String, i64)>>,
    jwt_enabled: std::sync::atomic::AtomicBool,
    /// The server refused protobuf for `forward_backward` (older Tinker-compatible servers): send
    /// JSON from then on.
    json_fwdbwd: std::sync::atomic::AtomicBool,
    /// The queue state of the last pending future (`active`, `paused_capacity`, …).
    queue: Mutex<Option<String>>,
}

impl Tinker {
    pub fn new(base_url: &str, key: Option<String>, save_timeout: Duration) -> Arc<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(POLL_TIMEOUT + Duration::from_secs(15))
            .user_agent(concat!("metaclaw/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend initialises");
        Arc::new(Self {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            key,
            save_timeout,
            jwt: tokio::sync::Mutex::new(None),
            jwt_enabled: false.into(),
            json_fwdbwd: false.into(),
            queue: Mutex::new(None),
        })
    }

    /// The queue state the service last reported for a pending request.
    pub fn queue_state(&self) -> Option<String> {
        self.queue.lock().expect("queue").clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{}", self.base, path)
    }

    /// Asks the server how to talk to it; trades the key for a JWT if it wants one.
    async fn handshake(&self) -> Result<()> {
        let body = Body::Json(json!({"sdk_version": SDK_VERSION}));
        let cfg = match self.call("client config", "client/config", body, None).await {
            Ok(v) => v,
            // A server without client configuration (some compatible ones) means the defaults.
            Err(BackendError::Rejected { message, .. }) if message.starts_with("HTTP 404") => Value::Null,
            Err(e) => return Err(e),
        };
        if cfg.get("pjwt_auth_enabled").and_then(Value::as_bool) == Some(true) {
            self.jwt_enabled.store(true, Ordering::Relaxed);
            self.refresh_jwt().await?;
        }
        Ok(())
    }

    async fn refresh_jwt(&self) -> Result<String> {
        let key = self.key.clone().ok_or(BackendError::NoKey)?;
        let resp = self
            .http
            .post(self.url("auth/token"))
            .header("X-API-Key", &key)
            .json(&json!({}))
            .send()
            .await
            .map_err(|e| network("auth", e))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(BackendError::Auth(message_of(&body, status)));
        }
        let jwt = body
            .get("jwt")
            .and_then(Value::as_str)
            .ok_or_else(|| BackendError::Protocol { op: "auth", message: format!("HTTP {status} without a `jwt`") })?;
        let exp = jwt_expiry(jwt).unwrap_or(i64::MAX);
        *self.jwt.lock().await = Some((jwt.to_string(), exp));
        Ok(jwt.to_string())
    }

    async fn credential(&self) -> Result<Option<String>> {
        if !self.jwt_enabled.load(Ordering::Relaxed) {
            return Ok(self.key.clone());
        }
        let now = crate::clock::now_ms() / 1000;
        let cached = self.jwt.lock().await.clone();
        match cached {
            Some((jwt, exp)) if exp - now > 300 => Ok(Some(jwt)),
            _ => self.refresh_jwt().await.map(Some),
        }
    }

    /// POSTs with retries: connection errors, timeouts, 408, 409, 429 and 5xx back off and try
    /// again under the same idempotency key; other 4xx are the request's fault.
    async fn call(&self, op: &'static str, path: &str, body: Body, idem: Option<&str>) -> Result<Value> {
        let start = tokio::time::Instant::now();
        let mut attempt = 0u32;
        let mut reauth = true;
        loop {
            let mut rb = self.http.post(self.url(path)).header("Accept", "application/json");
            if let Some(k) = self.credential().await? {
                rb = rb.header("X-API-Key", k);
            }
            if let Some(i) = idem {
                rb = rb.header("X-Idempotency-Key", i);
            }
            rb = match &body {
                Body::Json(v) => rb.json(v),
                Body::Proto(b) => rb.header("Content-Type", "application/x-protobuf").body(b.clone()),
            };
            let retry = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return resp
                            .json::<Value>()
                            .await
                            .map_err(|e| BackendError::Protocol { op, message: e.to_string() });
                    }
                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                    match status.as_u16() {
                        401 if reauth && self.jwt_enabled.load(Ordering::Relaxed) => {
                            reauth = false;
                            self.refresh_jwt().await?;
                            continue;
                        }
                        401 | 403 => return Err(BackendError::Auth(message_of(&body, status))),
                        402 => {
                            return Err(BackendError::Rejected {
                                op,
                                message: format!("billing: {}", message_of(&body, status)),
                            })
                        }
                        408 | 409 | 429 | 500..=599 => format!("HTTP {status}: {}", message_of(&body, status)),
                        415 => return Err(BackendError::Unsupported { op, message: message_of(&body, status) }),
                        _ => return Err(BackendError::Rejected { op, message: message_of(&body, status) }),
                    }
                }
                Err(e) => network(op, e).to_string(),
            };
            attempt += 1;
            let wait = Duration::from_millis((500u64 << attempt.min(6)).min(30_000));
            if start.elapsed() + wait > RETRY_BUDGET {
                return Err(BackendError::Network { op, message: retry });
            }
            tracing::debug!(op, attempt, error = %retry, "training service call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Submits a request that answers with a future, and waits for its result.
    async fn submit(&self, op: &'static str, path: &str, body: Body, deadline: Option<Duration>) -> Result<Outcome> {
        let idem = format!("metaclaw-{}", crate::home::random_hex(16));
        let work = async {
            let accepted = self.call(op, path, body, Some(&idem)).await?;
            let id = match accepted.get("request_id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(BackendError::Protocol { op, message: format!("no request_id in {accepted}") }),
            };
            self.wait(op, &id).await
        };
        match deadline {
            Some(d) => {
                tokio::time::timeout(d, work).await.map_err(|_| BackendError::Timeout { op, secs: d.as_secs() })?
            }
            None => work.await,
        }
    }

    /// Polls a future until it resolves.
    async fn wait(&self, op: &'static str, request_id: &str) -> Result<Outcome> {
        let mut attempt = 0u32;
        let mut idle = Duration::from_millis(50);
        let mut bad = 0;
        loop {
            let mut rb = self
                .http
                .post(self.url("retrieve_future"))
                .header("Accept", "application/x-protobuf, application/json")
                .timeout(POLL_TIMEOUT)
                .json(&json!({"request_id": request_id, "allow_metadata_only": false}));
            if let Some(k) = self.credential().await? {
                rb = rb.header("X-API-Key", k);
            }
            let backoff = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let proto = resp
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|c| c.contains("application/x-protobuf"));
                    if status.is_success() && proto {
                        let bytes = resp.bytes().await.map_err(|e| network(op, e))?;
                        self.set_queue(None);
                        return Ok(Outcome::Proto(bytes));
                    }
                    let body: Value = resp.json().await.unwrap_or(Value::Null);
                    match status.as_u16() {
                        200..=299 if body["type"] == "try_again" => {
                            self.set_queue(body.get("queue_state").and_then(Value::as_str).map(str::to_string));
                            tokio::time::sleep(idle).await;
                            idle = (idle * 2).min(Duration::from_secs(1));
                            continue;
                        }
                        200..=299 if body.get("error").is_some() => {
                            self.set_queue(None);
                            return Err(BackendError::Failed {
                                op,
                                category: body["category"].as_str().unwrap_or("unknown").to_string(),
                                message: body["error"]
                                    .as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| body["error"].to_string()),
                            });
                        }
                        200..=299 => {
                            self.set_queue(None);
                            return Ok(Outcome::Json(body));
                        }
                        408 | 500..=599 => {
                            self.set_queue(body.get("queue_state").and_then(Value::as_str).map(str::to_string));
                            tokio::time::sleep(idle).await;
                            continue;
                        }
                        // SkyRL reports a failed request as 400 {"detail"}.
                        400 if body.get("detail").is_some() => {
                            bad += 1;
                            if bad >= 3 {
                                return Err(BackendError::Failed {
                                    op,
                                    category: "user".into(),
                                    message: message_of(&body, status),
                                });
                            }
                            true
                        }
                        401 | 403 => return Err(BackendError::Auth(message_of(&body, status))),
                        410 => {
                            return Err(BackendError::Failed {
                                op,
                                category: "server".into(),
                                message: "the result expired before it was collected".into(),
                            })
                        }
                        429 => true,
                        _ => return Err(BackendError::Rejected { op, message: message_of(&body, status) }),
                    }
                }
                Err(e) if e.is_timeout() => {
                    // A long poll that outlived our patience: ask again.
                    continue;
                }
                Err(e) => {
                    tracing::debug!(op, error = %e, "polling the training service failed; retrying");
                    true
                }
            };
            if backoff {
                attempt += 1;
                let wait = Duration::from_millis((500u64 << attempt.min(6)).min(30_000));
                if wait * attempt > RETRY_BUDGET {
                    return Err(BackendError::Network { op, message: "the service stopped answering".into() });
                }
                tokio::time::sleep(wait).await;
            }
        }
    }

    fn set_queue(&self, q: Option<String>) {
        *self.queue.lock().expect("queue") = q;
    }
}

const SDK_VERSION: &str = "0.25.0";

enum Body {
    Json(Value),
    Proto(bytes::Bytes),
}

enum Outcome {
    Json(Value),
    Proto(bytes::Bytes),
}

impl Outcome {
    fn json(self, op: &'static str) -> Result<Value> {
        match self {
            Self::Json(v) => Ok(v),
            Self::Proto(_) => {
                Err(BackendError::Protocol { op, message: "a protobuf result where JSON was expected".into() })
            }
        }
    }
}

fn network(op: &'static str, e: reqwest::Error) -> BackendError {
    if e.is_timeout() {
        return BackendError::Network { op, message: "timed out".into() };
    }
    // The error's source chain says why (refused, DNS, TLS) without the URL's secrets.
    let e = e.without_url();
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        message = format!("{message}: {s}");
        src = s.source();
    }
    BackendError::Network { op, message }
}

fn message_of(body: &Value, status: reqwest::StatusCode) -> String {
    let m = ["detail", "error", "message"].iter().find_map(|k| match body.get(*k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ Value::Object(_)) => {
            v.get("message").and_then(Value::as_str).map(str::to_string).or(Some(v.to_string()))
        }
        Some(v) if !v.is_null() => Some(v.to_string()),
        _ => None,
    });
    match m {
        Some(m) => format!("HTTP {}: {m}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The `exp` claim of a JWT (read, not verified: the server verifies it).
fn jwt_expiry(jwt: &str) -> Option<i64> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.get("exp")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_expiry_is_read_from_the_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"u","exp":1900000000}"#);
        assert_eq!(jwt_expiry(&format!("h.{payload}.s")), Some(1_900_000_000));
        assert_eq!(jwt_expiry("not-a-jwt"), None);
    }

    #[test]
    fn error_messages_name_the_status_and_the_reason() {
        let s = reqwest::StatusCode::BAD_REQUEST;
        assert_eq!(message_of(&json!({"detail": "bad rank"}), s), "HTTP 400: bad rank");
        assert_eq!(message_of(&json!({"error": {"message": "nope"}}), s), "HTTP 400: nope");
        assert_eq!(message_of(&Value::Null, s), "HTTP 400");
    }
}
