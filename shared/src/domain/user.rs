//! A user: an agent or admin of one tenant. Email addresses are unique across Parley, because
//! login takes an email and a password and finds the tenant from the user.

use serde::{Deserialize, Serialize};

use std::{fmt, net::IpAddr, str::FromStr};

use ipnet::IpNet;

use super::{EmailAddress, InvalidValue, Name, Permission, Role, RoleId, TenantId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(rename = "_id")]
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: EmailAddress,
    pub name: Name,
    /// An argon2id PHC string; `None` until an invited user sets a password. Never serialised
    /// into an API response (responses use their own types).
    #[serde(default)]
    pub password_hash: Option<String>,
    pub role_ids: Vec<RoleId>,
    /// Permissions granted to this user beyond their roles.
    pub grants: Vec<Permission>,
    /// Permissions taken from this user whatever their roles say.
    pub denies: Vec<Permission>,
    pub assigning: Assigning,
    /// Whether the agent, while their console is open, takes offers (`online`) or not (`away`).
    #[serde(default)]
    pub availability: Availability,
    pub status: UserStatus,
    /// The pending set-password (invitation) or password-reset token, hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_change_token: Option<PasswordChangeToken>,
    #[serde(default)]
    pub ip_addresses: IpAddresses,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A single-use token that lets its holder set the user's password: the SHA-256 of the token
/// (the token itself only travels in the email) and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChangeToken {
    pub hash: String,
    pub expires_at: Timestamp,
}

/// Where the user logged in from, and where they may log in from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddresses {
    /// The most recent login addresses, newest first, at most [`IpAddresses::SEEN_KEPT`].
    #[serde(default)]
    pub seen: Vec<SeenIp>,
    /// When not empty, login and refresh succeed only from these addresses or networks.
    #[serde(default)]
    pub allow_list: Vec<IpRange>,
}

impl IpAddresses {
    pub const SEEN_KEPT: usize = 10;

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_list.is_empty() || self.allow_list.iter().any(|range| range.contains(ip))
    }

    /// The seen list after a login from `ip` at `now`: `ip` first, older entries after it.
    pub fn seen_after_login(&self, ip: IpAddr, now: Timestamp) -> Vec<SeenIp> {
        let ip = ip.to_string();
        let mut seen = vec![SeenIp { ip: ip.clone(), last_seen_at: now }];
        seen.extend(self.seen.iter().filter(|s| s.ip != ip).take(Self::SEEN_KEPT - 1).cloned());
        seen
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeenIp {
    pub ip: String,
    pub last_seen_at: Timestamp,
}

/// An address or a CIDR network (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`), kept in its
/// canonical text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpRange(IpNet);

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen through an IPv6 socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.contains(&ip)
    }
}

impl FromStr for IpRange {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let net = match s.parse::<IpNet>() {
            Ok(net) => net.trunc(),
            Err(_) => s
                .parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| InvalidValue("not an IP address or CIDR network".into()))?,
        };
        Ok(Self(net))
    }
}

super::text_value!(IpRange);

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpNet::V4(net) if net.prefix_len() == 32 => net.addr().fmt(f),
            IpNet::V6(net) if net.prefix_len() == 128 => net.addr().fmt(f),
            net => net.fmt(f),
        }
    }
}

/// Whether the agent takes chatrooms, and how many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assigning {
    pub enabled: bool,
    pub max_concurrent: u32,
}

impl Default for Assigning {
    fn default() -> Self {
        Self { enabled: true, max_concurrent: 5 }
    }
}

/// What an agent chose: offered chatrooms (`online`) or not (`away`). With no console open they
/// are offline whatever they chose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    #[default]
    Online,
    Away,
}

impl Availability {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Cannot log in; existing sessions fail at their next refresh.
    Disabled,
}

impl UserStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// A partial update of a user: `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    pub name: Option<Name>,
    pub role_ids: Option<Vec<RoleId>>,
    pub grants: Option<Vec<Permission>>,
    pub denies: Option<Vec<Permission>>,
    pub assigning: Option<Assigning>,
    pub availability: Option<Availability>,
    pub status: Option<UserStatus>,
    pub ip_allow_list: Option<Vec<IpRange>>,
}

impl UserPatch {
    /// Applies the patch in place (the in-memory repository and tests use it; MongoDB applies
    /// the same fields with `$set`).
    pub fn apply_to(&self, user: &mut User, now: Timestamp) {
        if let Some(name) = &self.name {
            user.name = name.clone();
        }
        if let Some(role_ids) = &self.role_ids {
            user.role_ids = role_ids.clone();
        }
        if let Some(grants) = &self.grants {
            user.grants = grants.clone();
        }
        if let Some(denies) = &self.denies {
            user.denies = denies.clone();
        }
        if let Some(assigning) = self.assigning {
            user.assigning = assigning;
        }
        if let Some(availability) = self.availability {
            user.availability = availability;
        }
        if let Some(status) = self.status {
            user.status = status;
        }
        if let Some(allow_list) = &self.ip_allow_list {
            user.ip_addresses.allow_list = allow_list.clone();
        }
        user.updated_at = now;
    }
}

impl User {
    /// The user's effective permissions given their tenant's roles: the union of the roles they
    /// hold and their grants, minus their denies.
    pub fn permissions(&self, tenant_roles: &[Role]) -> Vec<Permission> {
        let held = tenant_roles.iter().filter(|r| self.role_ids.contains(&r.id)).flat_map(|r| &r.permissions);
        Permission::effective(held, &self.grants, &self.denies)
    }

    /// A new active user; `password_hash` is `None` for an invited user who has yet to set one.
    pub fn new(
        tenant_id: TenantId,
        email: EmailAddress,
        name: Name,
        password_hash: Option<String>,
        role_ids: Vec<RoleId>,
    ) -> Self {
        let now = Timestamp::now();
        Self {
            id: UserId::new(),
            tenant_id,
            email,
            name,
            password_hash,
            role_ids,
            grants: Vec::new(),
            denies: Vec::new(),
            assigning: Assigning::default(),
            availability: Availability::default(),
            status: UserStatus::Active,
            password_change_token: None,
            ip_addresses: IpAddresses::default(),
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges_accept_addresses_and_networks() {
        let single: IpRange = "203.0.113.7".parse().unwrap();
        assert_eq!(single.to_string(), "203.0.113.7");
        assert!(single.contains("203.0.113.7".parse().unwrap()));
        assert!(!single.contains("203.0.113.8".parse().unwrap()));
        let net: IpRange = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains("::ffff:10.9.9.9".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpRange>().is_err());
        assert!("example.com".parse::<IpRange>().is_err());
    }

    #[test]
    fn an_empty_allow_list_allows_everyone() {
        let mut addresses = IpAddresses::default();
        assert!(addresses.allows("198.51.100.1".parse().unwrap()));
        addresses.allow_list = vec!["203.0.113.0/24".parse().unwrap()];
        assert!(addresses.allows("203.0.113.99".parse().unwrap()));
        assert!(!addresses.allows("198.51.100.1".parse().unwrap()));
    }

    #[test]
    fn the_seen_list_keeps_the_newest_addresses_once() {
        let mut addresses = IpAddresses::default();
        let t = Timestamp::from_unix_millis;
        for (n, ip) in ["10.0.0.1", "10.0.0.2", "10.0.0.1"].into_iter().enumerate() {
            addresses.seen = addresses.seen_after_login(ip.parse().unwrap(), t(n as i64));
        }
        let ips: Vec<&str> = addresses.seen.iter().map(|s| s.ip.as_str()).collect();
        assert_eq!(ips, ["10.0.0.1", "10.0.0.2"]);
        for n in 0..20 {
            addresses.seen = addresses.seen_after_login(format!("10.1.0.{n}").parse().unwrap(), t(100 + n));
        }
        assert_eq!(addresses.seen.len(), IpAddresses::SEEN_KEPT);
        assert_eq!(addresses.seen[0].ip, "10.1.0.19");
    }
}
