//! Metrics: MetaClaw's own overhead per turn (total time minus time waiting on the upstream,
//! TensorZero's definition), kept in a sliding window for p50/p99 in `/api/status`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

const WINDOW: usize = 4096;

/// Overhead percentiles over the most recent turns, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct OverheadStats {
    pub samples: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

#[derive(Default)]
pub struct Metrics {
    overhead: Mutex<VecDeque<f64>>,
    /// When the proxy last received a request (ms since the epoch): the scheduler's fallback
    /// idle signal.
    pub last_request: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Requests refused, or relayed without a turn record, counted by reason (a fixed set of
    /// names, so bounded) since the engine started.
    unrecorded: Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn record_overhead(&self, ms: f64) {
        let mut w = self.overhead.lock().expect("metrics lock");
        if w.len() == WINDOW {
            w.pop_front();
        }
        w.push_back(ms);
    }

    /// Counts one request that left no turn record, for `reason`.
    pub fn count_unrecorded(&self, reason: &'static str) {
        *self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).entry(reason).or_default() += 1;
    }

    /// The requests that left no turn record, by reason.
    pub fn unrecorded(&self) -> std::collections::BTreeMap<String, u64> {
        self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    pub fn overhead(&self) -> OverheadStats {
        let mut v: Vec<f64> = self.overhead.lock().expect("metrics lock").iter().copied().collect();
        if v.is_empty() {
            return OverheadStats::default();
        }
        v.sort_by(f64::total_cmp);
        OverheadStats {
            samples: v.len(),
            p50_ms: Some(percentile(&v, 0.50)),
            p99_ms: Some(percentile(&v, 0.99)),
            max_ms: v.last().copied(),
        }
    }
}

/// Nearest-rank percentile of sorted data.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let m = Metrics::default();
        assert_eq!(m.overhead().samples, 0);
        for i in 1..=100 {
            m.record_overhead(i as f64);
        }
        let s = m.overhead();
        assert_eq!((s.samples, s.p50_ms, s.p99_ms, s.max_ms), (100, Some(50.0), Some(99.0), Some(100.0)));
    }
}
