//! `/metrics`: counters and gauges in the Prometheus text format.
//!
//! A handful of atomics, written without a metrics crate: the node counts what an operator
//! watches (connections, sessions, messages, refused frames, dropped slow connections) and
//! renders them on request.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub visitor_connections: Gauge,
    pub agent_connections: Gauge,
    pub unauthenticated_connections: Gauge,
    pub sessions_created: Counter,
    pub messages_sent: Counter,
    pub frames_refused: Counter,
    /// Client frames beyond their kind's allowance (answered `rate_limited`, or dropped: typing).
    pub frames_rate_limited: Counter,
    pub slow_connections_dropped: Counter,
    pub connections_refused_per_ip: Counter,
    /// Notices this node's broker handed it (its share of the bus).
    pub notices_received: Counter,
}

impl Metrics {
    pub fn connections(&self) -> u64 {
        let total =
            self.visitor_connections.get() + self.agent_connections.get() + self.unauthenticated_connections.get();
        u64::try_from(total).unwrap_or(0)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, samples: &[(&str, i64)]| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for (labels, value) in samples {
                out.push_str(&format!("{name}{labels} {value}\n"));
            }
        };
        gauge(
            "parley_connections",
            "Open WebSocket connections on this node.",
            &[
                ("{role=\"visitor\"}", self.visitor_connections.get()),
                ("{role=\"agent\"}", self.agent_connections.get()),
                ("{role=\"unauthenticated\"}", self.unauthenticated_connections.get()),
            ],
        );
        let counters = [
            ("parley_sessions_created_total", "Visitor sessions (chatrooms) opened.", &self.sessions_created),
            ("parley_messages_sent_total", "Chat messages stored and delivered.", &self.messages_sent),
            ("parley_frames_refused_total", "Client frames answered with an error.", &self.frames_refused),
            (
                "parley_frames_rate_limited_total",
                "Client frames beyond their kind's allowance (rate_limited, or dropped when typing).",
                &self.frames_rate_limited,
            ),
            (
                "parley_slow_connections_dropped_total",
                "Connections closed because their send queue filled.",
                &self.slow_connections_dropped,
            ),
            (
                "parley_connections_refused_per_ip_total",
                "Connections refused by the per-address cap.",
                &self.connections_refused_per_ip,
            ),
            (
                "parley_notices_received_total",
                "Notices the broker delivered to this node (for its chatrooms, agents and tenants).",
                &self.notices_received,
            ),
        ];
        for (name, help, counter) in counters {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n", counter.get()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_prometheus_text_format() {
        let metrics = Metrics::default();
        metrics.agent_connections.inc();
        metrics.messages_sent.inc();
        metrics.messages_sent.inc();
        let text = metrics.render();
        assert!(text.contains("# TYPE parley_connections gauge\n"), "{text}");
        assert!(text.contains("parley_connections{role=\"agent\"} 1\n"), "{text}");
        assert!(text.contains("parley_messages_sent_total 2\n"), "{text}");
        assert_eq!(metrics.connections(), 1);
    }
}
