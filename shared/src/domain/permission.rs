//! Permissions: the catalogue of what a user may do. Roles hold permissions; a user's effective
//! permissions are the union of their roles' permissions and their grants, minus their denies.
//! On the wire and in MongoDB a permission is its `resource:action` name; an unknown name never
//! deserialises.

use std::{collections::BTreeSet, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::InvalidValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Permission {
    TenantManage,
    UsersManage,
    RolesManage,
    ChatbotsManage,
    ChatroomsJoin,
    ChatroomsModerate,
    AnalyticsView,
}

impl Permission {
    /// The whole catalogue, in the order the documentation lists it.
    pub const ALL: [Permission; 7] = [
        Self::TenantManage,
        Self::UsersManage,
        Self::RolesManage,
        Self::ChatbotsManage,
        Self::ChatroomsJoin,
        Self::ChatroomsModerate,
        Self::AnalyticsView,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TenantManage => "tenant:manage",
            Self::UsersManage => "users:manage",
            Self::RolesManage => "roles:manage",
            Self::ChatbotsManage => "chatbots:manage",
            Self::ChatroomsJoin => "chatrooms:join",
            Self::ChatroomsModerate => "chatrooms:moderate",
            Self::AnalyticsView => "analytics:view",
        }
    }

    pub fn description(&self) -> &'static str {
        match self {
            Self::TenantManage => "rename the tenant",
            Self::UsersManage => "list, invite, update and delete users",
            Self::RolesManage => "list, create, update and delete roles",
            Self::ChatbotsManage => "create, update and delete chatbots and their API keys",
            Self::ChatroomsJoin => "take chatrooms from the queue and chat in them",
            Self::ChatroomsModerate => "mark chatrooms stale or blocked, close other agents' chatrooms, lift blocks",
            Self::AnalyticsView => "see the live status and the usage reports",
        }
    }

    /// Effective permissions: the union of the roles' permissions and the grants, minus the
    /// denies, sorted in catalogue order.
    pub fn effective<'a>(
        role_permissions: impl IntoIterator<Item = &'a Permission>,
        grants: &[Permission],
        denies: &[Permission],
    ) -> Vec<Permission> {
        let held: BTreeSet<Permission> = role_permissions.into_iter().copied().chain(grants.iter().copied()).collect();
        held.into_iter().filter(|p| !denies.contains(p)).collect()
    }
}

impl FromStr for Permission {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| InvalidValue("not a known permission (GET /permissions lists them)".into()))
    }
}

super::text_value!(Permission);

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Permission::{self, *};

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().unwrap(), p);
        }
        assert!("users:delete".parse::<Permission>().is_err());
        assert!(serde_json::from_str::<Permission>(r#"{"$ne": ""}"#).is_err());
    }

    #[test]
    fn effective_permissions_are_roles_and_grants_minus_denies() {
        let roles = [ChatroomsJoin, UsersManage];
        let effective = Permission::effective(&roles, &[AnalyticsView, ChatroomsJoin], &[UsersManage, RolesManage]);
        assert_eq!(effective, [ChatroomsJoin, AnalyticsView]);
    }
}
