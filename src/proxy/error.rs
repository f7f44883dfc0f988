//! Errors the proxy answers with, in the caller's own protocol: OpenAI-style
//! (`{"error": {"message", "type", "param", "code"}}`) or Anthropic-style
//! (`{"type": "error", "error": {"type", "message"}}`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use crate::upstream::Protocol;
use crate::upstream::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{message}")]
    BadRequest { message: String, param: Option<&'static str> },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("request body is larger than the configured limit of {limit_mib} MiB (proxy.max_body_mib)")]
    TooLarge { limit_mib: u32 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body did not arrive within {secs} s (proxy.body_timeout_secs)")]
    BodyTimeout { secs: u64 },
    #[error("{0}")]
    UpstreamUnreachable(String),
    #[error("{0}")]
    UpstreamTimeout(String),
}

impl ProxyError {
    pub fn bad(message: impl Into<String>, param: Option<&'static str>) -> Self {
        Self::BadRequest { message: message.into(), param }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::UpstreamUnreachable(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    fn kind_and_code(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest { .. } => ("invalid_request_error", "invalid_request"),
            Self::Unauthorized(_) => ("authentication_error", "invalid_api_key"),
            Self::Forbidden(_) => ("permission_error", "forbidden"),
            Self::TooLarge { .. } => ("invalid_request_error", "request_too_large"),
            Self::NotFound(_) => ("invalid_request_error", "not_found"),
            Self::UnsupportedMediaType(_) => ("invalid_request_error", "unsupported_media_type"),
            Self::BodyTimeout { .. } => ("invalid_request_error", "request_timeout"),
            Self::UpstreamUnreachable(_) => ("upstream_error", "upstream_unreachable"),
            Self::UpstreamTimeout(_) => ("upstream_error", "upstream_timeout"),
        }
    }

    pub fn body(&self) -> serde_json::Value {
        let (kind, code) = self.kind_and_code();
        let param = match self {
            Self::BadRequest { param, .. } => *param,
            _ => None,
        };
        json!({"error": {"message": self.to_string(), "type": kind, "param": param, "code": code}})
    }
}

impl From<UpstreamError> for ProxyError {
    fn from(e: UpstreamError) -> Self {
        // A passthrough body is streamed on as it arrives: the client, not the upstream, was slow.
        if let Some(t) = super::request::timed_out(&e) {
            return Self::BodyTimeout { secs: t.secs() };
        }
        match e {
            UpstreamError::NoUpstream(m) => Self::NotFound(m),
            UpstreamError::NoCallerCredential { .. } => Self::Unauthorized(e.to_string()),
            UpstreamError::Translate { .. } => Self::bad(e.to_string(), None),
            UpstreamError::Timeout { message, .. } => Self::UpstreamTimeout(message),
            UpstreamError::Unreachable { message, .. } => Self::UpstreamUnreachable(message),
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}

/// Anthropic's error `type` for an HTTP status.
pub fn anthropic_error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 408 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// An error body in `proto`'s shape.
pub fn error_json(proto: Protocol, status: StatusCode, message: &str) -> serde_json::Value {
    match proto {
        Protocol::Anthropic => {
            json!({"type": "error", "error": {"type": anthropic_error_type(status), "message": message}})
        }
        Protocol::OpenAi => {
            let kind = match status.as_u16() {
                401 => "authentication_error",
                403 => "permission_error",
                429 => "rate_limit_error",
                400..=499 => "invalid_request_error",
                _ => "upstream_error",
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
    }
}

impl ProxyError {
    /// This error as a response in `proto`'s shape.
    pub fn into_response_for(self, proto: Protocol) -> Response {
        match proto {
            Protocol::OpenAi => self.into_response(),
            Protocol::Anthropic => {
                (self.status(), axum::Json(error_json(proto, self.status(), &self.to_string()))).into_response()
            }
        }
    }
}
