//! `/metrics`: what the server has done since it started, in the
//! Prometheus/OpenMetrics text format (crate prometheus-client). Each
//! process has its own counters; a Prometheus scraping several processes
//! adds them up.
//!
//! - `circles_http_requests_total{route, method, status}`
//! - `circles_http_request_duration_seconds{route}` (histogram)
//! - `circles_http_errors_total{route, status}`: answers with status >= 400
//! - `circles_push_batch_changes` (histogram): changes per accepted push request

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: &'static str,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub route: &'static str,
    pub status: u16,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    errors: Family<ErrorLabels, Counter>,
    push_changes: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("circles");
        let requests = Family::<RequestLabels, Counter>::default();
        // 1 ms .. ~16 s
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        let errors = Family::<ErrorLabels, Counter>::default();
        // 1 .. 4096 changes
        let push_changes = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        registry.register("http_requests", "HTTP requests by route, method and status", requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer a request, by route", latency.clone());
        registry.register("http_errors", "Answers with status 400 or more, by route and status", errors.clone());
        registry.register("push_batch_changes", "Changes per push request", push_changes.clone());
        Metrics { registry: Mutex::new(registry), requests, latency, errors, push_changes }
    }

    pub fn observe_request(&self, path: &str, method: &str, status: u16, elapsed: Duration) {
        let route = route_label(path);
        self.requests.get_or_create(&RequestLabels { route, method: method.to_string(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route }).observe(elapsed.as_secs_f64());
        if status >= 400 {
            self.errors.get_or_create(&ErrorLabels { route, status }).inc();
        }
    }

    pub fn observe_push(&self, changes: usize) {
        self.push_changes.observe(changes as f64);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}

/// A bounded set of route labels (never the raw path: ids would explode
/// the number of series).
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/healthz" => "/healthz",
        "/metrics" => "/metrics",
        "/openapi.json" => "/openapi.json",
        "/v1/hello" => "/v1/hello",
        "/v1/login" => "/v1/login",
        "/v1/logout" => "/v1/logout",
        "/v1/tokens" => "/v1/tokens",
        "/v1/push" => "/v1/push",
        "/v1/pull" => "/v1/pull",
        "/reset" => "/reset",
        "/pages.css" => "/pages.css",
        p if p.starts_with("/v1/tokens/") => "/v1/tokens/{id}",
        p if p.starts_with("/v1/teams/") => "/v1/teams/...",
        p if p.starts_with("/join/") => "/join/{token}",
        p if p.starts_with("/reset/") => "/reset/{token}",
        _ => "other",
    }
}
