//! Client methods of the `settings` resource: the config file, API keys, deleting the data.

use super::{Client, ClientError};
use crate::api::types::settings::{ConfigSaved, ConfigView, ConfigWrite, DeleteAll, KeyInfo, KeyWrite};
use crate::config::Config;

impl Client {
    /// `GET /api/config`.
    pub async fn config(&self) -> Result<ConfigView, ClientError> {
        self.get("/api/config").await
    }

    /// `PUT /api/config`: validated, then written atomically.
    pub async fn save_config(&self, config: &Config) -> Result<ConfigSaved, ClientError> {
        self.put("/api/config", &ConfigWrite { config: config.clone() }).await
    }

    /// `POST /api/config/apply`: reads config.toml and the keys again and applies them (after an
    /// edit by hand).
    pub async fn apply_config(&self) -> Result<ConfigSaved, ClientError> {
        self.post_empty("/api/config/apply").await
    }

    /// `GET /api/keys`: whether each key is set and where from, never a value.
    pub async fn keys(&self) -> Result<Vec<KeyInfo>, ClientError> {
        self.get("/api/keys").await
    }

    /// `PUT /api/keys/{name}`: stores a key (the OS keyring, else the owner-only secrets file).
    pub async fn set_key(&self, name: &str, value: &str) -> Result<(), ClientError> {
        self.put(&format!("/api/keys/{name}"), &KeyWrite { value: value.to_string() }).await
    }

    /// `DELETE /api/keys/{name}`.
    pub async fn delete_key(&self, name: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/keys/{name}")).await
    }

    /// `DELETE /api/data` with the typed confirmation: every recorded conversation and what was
    /// learned from it (skills stay).
    pub async fn delete_all_data(&self, confirm: &str) -> Result<(), ClientError> {
        self.call(reqwest::Method::DELETE, "/api/data", Some(&DeleteAll { confirm: confirm.to_string() })).await
    }
}
