//! Per-connection rates: every kind of client frame has its own allowance, a token bucket that
//! holds `burst` frames and refills at `per_minute`, with separate rates for visitors and agents.
//!
//! Why every kind, not only `send`: each frame a client sends costs the node work and most reach
//! the other side (a `typing` or `read` notice, a status change). One client sending any kind
//! of frame in a loop must neither flood the chatroom's other side nor fill a slow agent
//! console's send queue until that console is dropped. A connection over its allowance for a
//! kind gets `rate_limited` for each frame of that kind (a `typing` beyond it is dropped without
//! an answer: an indicator that arrives late is worth nothing, and an answer per frame would
//! itself be a flood). The other kinds keep their own allowances.
//!
//! Configured per role with `PARLEY_VISITOR_FRAME_LIMITS` and `PARLEY_AGENT_FRAME_LIMITS`:
//! comma-separated `kind=burst/perMinute` (e.g. `send=10/60,typing=10/60`; `*` names every
//! kind, and a later item overrides it); a kind not named keeps its default ([`FrameRates::visitor_defaults`], [`FrameRates::agent_defaults`]).

use std::time::Duration;

use shared::config::{ConfigError, Env};
use tokio::time::Instant;

use crate::protocol::FrameKind;

/// `burst` frames at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub per_minute: u32,
}

const fn rate(burst: u32, per_minute: u32) -> Rate {
    Rate { burst, per_minute }
}

/// One role's rate for each frame kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRates([Rate; FrameKind::ALL.len()]);

impl FrameRates {
    pub const VISITOR_VAR: &str = "PARLEY_VISITOR_FRAME_LIMITS";
    pub const AGENT_VAR: &str = "PARLEY_AGENT_FRAME_LIMITS";

    /// A visitor has one chatroom and a widget that sends `typing` at most every few seconds.
    pub fn visitor_defaults() -> Self {
        Self::from_fn(|kind| match kind {
            FrameKind::Send => rate(10, 60),
            FrameKind::Typing => rate(10, 60),
            FrameKind::Read => rate(20, 120),
            FrameKind::Resume | FrameKind::History => rate(10, 60),
            FrameKind::Ping => rate(5, 30),
            FrameKind::Auth => rate(5, 10),
            _ => rate(10, 30),
        })
    }

    /// An agent holds several chatrooms (and a moderator watches more), and resumes each of them
    /// after a reconnect.
    pub fn agent_defaults() -> Self {
        Self::from_fn(|kind| match kind {
            FrameKind::Send => rate(20, 120),
            FrameKind::Typing => rate(20, 120),
            FrameKind::Read => rate(50, 300),
            FrameKind::Resume | FrameKind::History | FrameKind::Watch | FrameKind::Unwatch => rate(100, 300),
            FrameKind::Availability => rate(10, 60),
            FrameKind::Ping => rate(5, 30),
            FrameKind::Auth => rate(5, 10),
            _ => rate(20, 60),
        })
    }

    fn from_fn(rate_of: impl Fn(FrameKind) -> Rate) -> Self {
        Self(FrameKind::ALL.map(rate_of))
    }

    pub fn of(&self, kind: FrameKind) -> Rate {
        self.0[kind.index()]
    }

    /// The defaults with what `var` sets (`kind=burst/perMinute,...`).
    pub fn from_env(env: &Env, var: &str, defaults: Self) -> Result<Self, ConfigError> {
        let mut rates = defaults;
        let Some(text) = env.optional::<String>(var)? else { return Ok(rates) };
        let bad = |reason: String| ConfigError { var: var.into(), reason };
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (name, value) =
                item.split_once('=').ok_or_else(|| bad(format!("`{item}` is not `kind=burst/perMinute`")))?;
            let name = name.trim();
            let kinds: Vec<FrameKind> =
                FrameKind::ALL.into_iter().filter(|k| name == "*" || k.name() == name).collect();
            if kinds.is_empty() {
                let known: Vec<&str> = FrameKind::ALL.iter().map(|k| k.name()).collect();
                return Err(bad(format!("`{name}` is not a frame type (one of {}, or *)", known.join(", "))));
            }
            let numbers = value.split_once('/').and_then(|(burst, per_minute)| {
                Some((burst.trim().parse::<u32>().ok()?, per_minute.trim().parse::<u32>().ok()?))
            });
            match numbers {
                Some((burst, per_minute)) if burst > 0 && per_minute > 0 => {
                    for kind in kinds {
                        rates.0[kind.index()] = Rate { burst, per_minute };
                    }
                }
                _ => return Err(bad(format!("`{item}`: burst and perMinute must be whole numbers of at least 1"))),
            }
        }
        Ok(rates)
    }
}

/// One token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    burst: f64,
    per_second: f64,
    refilled: Instant,
}

impl Bucket {
    fn new(rate: Rate, now: Instant) -> Self {
        let burst = f64::from(rate.burst);
        Self { tokens: burst, burst, per_second: f64::from(rate.per_minute) / 60.0, refilled: now }
    }

    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.tokens = (self.tokens + now.duration_since(self.refilled).as_secs_f64() * self.per_second).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
    }
}

/// A connection's allowances, one per frame kind, at its role's rates.
#[derive(Debug)]
pub struct Allowances([Bucket; FrameKind::ALL.len()]);

impl Allowances {
    pub fn new(rates: &FrameRates, now: Instant) -> Self {
        Self(FrameKind::ALL.map(|kind| Bucket::new(rates.of(kind), now)))
    }

    /// Takes one frame of `kind` at `now`, or answers how long until there is room for one.
    pub fn take(&mut self, kind: FrameKind, now: Instant) -> Result<(), Duration> {
        self.0[kind.index()].take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allowance_holds_a_burst_then_refills_at_its_rate() {
        let rates = FrameRates::from_env(
            &Env::from_pairs([(FrameRates::VISITOR_VAR, "send=2/60")]),
            FrameRates::VISITOR_VAR,
            FrameRates::visitor_defaults(),
        )
        .unwrap();
        let start = Instant::now();
        let mut allowances = Allowances::new(&rates, start);
        assert!(allowances.take(FrameKind::Send, start).is_ok() && allowances.take(FrameKind::Send, start).is_ok());
        assert_eq!(
            allowances.take(FrameKind::Send, start),
            Err(Duration::from_secs(1)),
            "one a second after the burst"
        );
        assert!(allowances.take(FrameKind::Typing, start).is_ok(), "each kind has its own allowance");
        assert!(allowances.take(FrameKind::Send, start + Duration::from_secs(1)).is_ok());
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..2 {
            assert!(allowances.take(FrameKind::Send, much_later).is_ok());
        }
        assert!(allowances.take(FrameKind::Send, much_later).is_err(), "an allowance never grows past its burst");
    }

    #[test]
    fn rates_are_set_per_kind_and_bad_ones_are_named() {
        let env = Env::from_pairs([(FrameRates::AGENT_VAR, " typing = 3/6 , ping=1/1")]);
        let rates = FrameRates::from_env(&env, FrameRates::AGENT_VAR, FrameRates::agent_defaults()).unwrap();
        assert_eq!(rates.of(FrameKind::Typing), rate(3, 6));
        assert_eq!(rates.of(FrameKind::Ping), rate(1, 1));
        assert_eq!(rates.of(FrameKind::Send), FrameRates::agent_defaults().of(FrameKind::Send));
        let env = Env::from_pairs([(FrameRates::AGENT_VAR, "*=7/70,send=2/20")]);
        let rates = FrameRates::from_env(&env, FrameRates::AGENT_VAR, FrameRates::agent_defaults()).unwrap();
        assert_eq!((rates.of(FrameKind::Join), rates.of(FrameKind::Send)), (rate(7, 70), rate(2, 20)));
        for bad in ["typing", "dance=1/1", "send=0/60", "send=1/0", "send=1", "send=a/b"] {
            let env = Env::from_pairs([(FrameRates::AGENT_VAR, bad)]);
            let err = FrameRates::from_env(&env, FrameRates::AGENT_VAR, FrameRates::agent_defaults()).unwrap_err();
            assert_eq!(err.var, FrameRates::AGENT_VAR, "{bad}");
        }
    }
}
