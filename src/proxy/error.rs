//! Errors the proxy answers with, always as OpenAI-style error JSON
//! (`{"error": {"message", "type", "param", "code"}}`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}
