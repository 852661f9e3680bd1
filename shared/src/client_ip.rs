//! The caller's IP address, for login records, allow-lists and rate limits.
//!
//! Behind a proxy the TCP peer is the proxy, so the address a person connects from comes from
//! `X-Forwarded-For`; but anyone can send that header, so it is believed only when the peer is
//! one of the configured trusted proxies (`PARLEY_TRUSTED_PROXIES`, e.g. nginx's address), and
//! then the right-most address that is not itself a trusted proxy is the client. On Lambda the
//! address is API Gateway's `sourceIp`.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::request::Parts,
};

use crate::{
    ApiError,
    config::{ConfigError, Env},
    domain::IpRange,
};

/// The networks whose `X-Forwarded-For` is believed. Empty by default: the peer is the client.
/// Cheap to clone (every request takes a copy from the router's state).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpRange]>);

impl TrustedProxies {
    pub const VAR: &str = "PARLEY_TRUSTED_PROXIES";

    /// `PARLEY_TRUSTED_PROXIES`: comma-separated addresses or CIDR networks.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let Some(raw) = env.optional::<String>(Self::VAR)? else { return Ok(Self::default()) };
        raw.split(',')
            .map(|part| {
                part.parse::<IpRange>()
                    .map_err(|e| ConfigError { var: Self::VAR.into(), reason: format!("{e} (got {:?})", part.trim()) })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|ranges| Self(ranges.into()))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(ip))
    }

    /// The client behind `peer`, given the `X-Forwarded-For` values in order of appearance.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim);
        let mut client = peer;
        for hop in hops.collect::<Vec<_>>().into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The caller's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    TrustedProxies: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => Some(addr.ip()),
            None => lambda_source_ip(parts),
        };
        let peer = peer.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no peer address on the request")))?;
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        Ok(Self(TrustedProxies::from_ref(state).client(peer, &forwarded)))
    }
}

/// API Gateway's view of the caller, when running on Lambda.
fn lambda_source_ip(parts: &Parts) -> Option<IpAddr> {
    use lambda_http::request::RequestContext;
    let source = match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.as_deref(),
        _ => None,
    };
    source?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies =
            TrustedProxies::from_env(&Env::from_pairs([(TrustedProxies::VAR, "10.0.0.0/8, 127.0.0.1")])).unwrap();
        assert_eq!(proxies.client(ip("198.51.100.9"), &["203.0.113.7"]), ip("198.51.100.9"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["203.0.113.7"]), ip("203.0.113.7"));
        // A client may put anything in the header; only what the trusted hops appended counts.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["1.1.1.1, 203.0.113.7, 10.0.0.5"]), ip("203.0.113.7"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["1.1.1.1", "203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["garbage"]), ip("127.0.0.1"));
    }

    #[test]
    fn a_bad_proxy_list_names_the_variable() {
        let err = TrustedProxies::from_env(&Env::from_pairs([(TrustedProxies::VAR, "10.0.0.0/8,nginx")])).unwrap_err();
        assert_eq!(err.var, TrustedProxies::VAR);
    }
}
