//! Serving the policy: the service's OpenAI-compatible endpoint is an upstream named `policy`
//! whose model is the adapter being served, placed first for the models the user routes to it.
//! Swapping the adapter is one atomic store of the routing table: a request in flight keeps the
//! upstream it started with, and the next request uses the new adapter. Nothing waits.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Auth, Config, Protocol};
use crate::upstream::{Routes, SharedRoutes, Upstream};

/// The policy upstream's name (in turns, routing and status).
pub const POLICY: &str = "policy";

/// The policy's place in the routing table.
pub struct Serving {
    routes: SharedRoutes,
    template: Upstream,
}

impl Serving {
    /// `None` when training is off or serves no models.
    pub fn new(routes: SharedRoutes, cfg: &Config, key: Option<String>) -> Option<Self> {
        let t = &cfg.train;
        let base_model = t.active_model()?;
        if t.serve_models.is_empty() {
            return None;
        }
        let template = Upstream {
            name: POLICY.into(),
            kind: Protocol::OpenAi,
            auth: Auth::Key,
            base_url: t.serve_url(),
            key,
            model: Some(base_model.to_string()),
            models: t.serve_models.clone(),
            default: false,
            timeout: Duration::from_secs(cfg.upstream.timeout_secs),
            stream_idle_timeout: Duration::from_secs(cfg.upstream.stream_idle_timeout_secs),
            logprobs: true,
            parsed_url: Default::default(),
            plain: None,
        };
        Some(Self { routes, template })
    }

    /// The model the policy upstream serves now.
    pub fn current(&self) -> Option<String> {
        self.routes.load().upstreams.iter().find(|u| u.name == POLICY).and_then(|u| u.model.clone())
    }

    /// Serves `model` (a sampler path, or the base model) from the next request on.
    pub fn serve(&self, model: &str) {
        let mut up = self.template.clone();
        up.model = Some(model.to_string());
        let up = Arc::new(up);
        self.routes.rcu(|old| {
            let mut list: Vec<Arc<Upstream>> = old.upstreams.iter().filter(|u| u.name != POLICY).cloned().collect();
            list.insert(0, up.clone());
            Routes { upstreams: list }
        });
        tracing::info!(model, "the policy upstream now serves this adapter");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapping_keeps_in_flight_upstreams_and_routes_new_requests() {
        let mut cfg = Config::default();
        cfg.train.enabled = true;
        cfg.train.base_model = Some("Qwen/Qwen3-8B".into());
        cfg.train.serve_models = vec!["gpt-4o".into()];
        let routes: SharedRoutes =
            Arc::new(arc_swap::ArcSwap::from_pointee(Routes::new(crate::upstream::from_config(&cfg))));
        let s = Serving::new(routes.clone(), &cfg, Some("k".into())).unwrap();
        s.serve("Qwen/Qwen3-8B");
        let before = routes.load().candidates(Some("gpt-4o"));
        assert_eq!(before[0].name, POLICY);
        s.serve("tinker://run/sampler_weights/step-1");
        // The request that started earlier still holds the old adapter.
        assert_eq!(before[0].model.as_deref(), Some("Qwen/Qwen3-8B"));
        let after = routes.load().candidates(Some("gpt-4o"));
        assert_eq!(after[0].model.as_deref(), Some("tinker://run/sampler_weights/step-1"));
        assert_eq!(after.len(), 2, "the policy once, then the usual route as the fallback");
        assert_eq!(after[1].name, "default");
        assert_ne!(routes.load().candidates(Some("claude-x"))[0].name, POLICY);
        assert_eq!(s.current().as_deref(), Some("tinker://run/sampler_weights/step-1"));
    }
}
