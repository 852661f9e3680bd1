//! The tenant's last admin is protected: no update or deletion may leave a tenant without an
//! active user who holds the `admin` role and is not denied managing users and roles.
//!
//! Without multi-document transactions two concurrent changes could each remove one of the last
//! two admins, so the check runs twice: before the write (the usual refusal) and after it, when a
//! change that left no admin is undone and refused the same way.

use shared::{
    ApiError,
    domain::{Permission, Role, RoleId, TenantId, User, UserStatus},
};

use crate::AppState;

pub fn last_admin() -> ApiError {
    ApiError::conflict("last_admin", "this is the tenant's last admin; make another user an admin first")
}

/// The id of the `admin` role among the tenant's roles.
pub fn admin_role(roles: &[Role]) -> Option<RoleId> {
    roles.iter().find(|r| r.is_admin()).map(|r| r.id)
}

pub fn is_admin(user: &User, admin_role: Option<RoleId>) -> bool {
    let management_denied = [Permission::UsersManage, Permission::RolesManage].iter().any(|p| user.denies.contains(p));
    user.status == UserStatus::Active
        && admin_role.is_some_and(|role| user.role_ids.contains(&role))
        && !management_denied
}

/// How many admins the tenant has, leaving `except` out.
pub async fn count(
    state: &AppState,
    tenant: &TenantId,
    admin_role: Option<RoleId>,
    except: Option<&User>,
) -> Result<usize, ApiError> {
    let users = state.repos.users.list(tenant).await?;
    Ok(users.iter().filter(|u| except.is_none_or(|e| e.id != u.id) && is_admin(u, admin_role)).count())
}
