//! Roles: unique names within a tenant, tenant scope.

use shared::{
    domain::{Permission, Role},
    repos::RolePatch,
};

use super::{Backend, assert_code, name, tenant};

contract!(role_names_are_unique_within_a_tenant, roles_are_scoped_to_their_tenant,);

async fn role_names_are_unique_within_a_tenant(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let agents = Role::new(a.id, name("agents"), vec![Permission::ChatroomsJoin]);
    b.repos.roles.insert(&agents).await.unwrap();
    assert_code(b.repos.roles.insert(&Role::new(a.id, name("agents"), vec![])).await, "role_name_taken");
    b.repos.roles.insert(&Role::new(other.id, name("agents"), vec![])).await.unwrap();

    let leads = Role::new(a.id, name("leads"), vec![]);
    b.repos.roles.insert(&leads).await.unwrap();
    let rename = RolePatch { name: Some(name("agents")), ..RolePatch::default() };
    assert_code(b.repos.roles.update(&a.id, &leads.id, &rename).await, "role_name_taken");
    assert_eq!(b.repos.roles.get(&a.id, &leads.id).await.unwrap(), Some(leads.clone()), "nothing changed");

    let patch = RolePatch { name: Some(name("team leads")), permissions: Some(vec![Permission::ChatroomsModerate]) };
    let updated = b.repos.roles.update(&a.id, &leads.id, &patch).await.unwrap();
    assert_eq!(updated.name.as_str(), "team leads");
    assert_eq!(updated.permissions, vec![Permission::ChatroomsModerate]);
    assert_eq!(b.repos.roles.find_by_name(&a.id, &name("team leads")).await.unwrap(), Some(updated.clone()));
    assert_eq!(b.repos.roles.find_by_name(&a.id, &name("leads")).await.unwrap(), None);
    let names: Vec<String> = b.repos.roles.list(&a.id).await.unwrap().into_iter().map(|r| r.name.into()).collect();
    assert_eq!(names, ["agents", "team leads"]);
}

async fn roles_are_scoped_to_their_tenant(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let role = Role::new(a.id, name("agents"), vec![]);
    b.repos.roles.insert(&role).await.unwrap();

    assert_eq!(b.repos.roles.get(&other.id, &role.id).await.unwrap(), None);
    assert_eq!(b.repos.roles.find_by_name(&other.id, &role.name).await.unwrap(), None);
    assert!(b.repos.roles.list(&other.id).await.unwrap().is_empty());
    let patch = RolePatch { permissions: Some(vec![Permission::TenantManage]), ..RolePatch::default() };
    assert_code(b.repos.roles.update(&other.id, &role.id, &patch).await, "role_not_found");
    assert_code(b.repos.roles.delete(&other.id, &role.id).await, "role_not_found");
    assert_eq!(b.repos.roles.get(&a.id, &role.id).await.unwrap(), Some(role.clone()));

    b.repos.roles.delete(&a.id, &role.id).await.unwrap();
    assert_eq!(b.repos.roles.get(&a.id, &role.id).await.unwrap(), None);
}
