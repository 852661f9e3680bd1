//! Users: one address across all tenants, tenant scope, patches, roles held, password tokens,
//! logins.

use shared::domain::{
    Assigning, PasswordChangeToken, Permission, Role, RoleId, Timestamp, User, UserId, UserPatch, UserStatus,
};

use super::{Backend, assert_code, email, fresh_email, name, tenant, user};

contract!(
    an_email_address_belongs_to_one_user_across_all_tenants,
    users_are_scoped_to_their_tenant,
    a_user_patch_changes_only_what_it_names,
    users_are_listed_oldest_first_and_deleted,
    users_holding_a_role_are_counted,
    a_password_change_token_works_once,
    login_addresses_and_the_allow_list_are_stored,
);

async fn an_email_address_belongs_to_one_user_across_all_tenants(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let ada = user(&b.repos, &a.id, "ada").await;

    // Same address, other tenant, other case: still taken (addresses are normalised).
    let shouting = email(&ada.email.as_str().to_uppercase());
    let twin = User::new(other.id, shouting, name("Ada Two"), Some("hash".into()), vec![]);
    assert_code(b.repos.users.insert(&twin).await, "email_taken");
    assert!(b.repos.users.list(&other.id).await.unwrap().is_empty(), "nothing was written");

    assert_eq!(b.repos.users.find_by_email(&ada.email).await.unwrap(), Some(ada));
    assert_eq!(b.repos.users.find_by_email(&fresh_email("nobody")).await.unwrap(), None);
}

async fn users_are_scoped_to_their_tenant(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let ada = user(&b.repos, &a.id, "ada").await;
    let bob = user(&b.repos, &other.id, "bob").await;

    assert_eq!(b.repos.users.get(&a.id, &ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(b.repos.users.get(&other.id, &ada.id).await.unwrap(), None);
    assert_eq!(b.repos.users.list(&a.id).await.unwrap(), vec![ada.clone()]);
    assert_eq!(b.repos.users.list(&other.id).await.unwrap(), vec![bob.clone()]);

    let patch = UserPatch { name: Some(name("Mallory")), ..UserPatch::default() };
    assert_code(b.repos.users.update(&other.id, &ada.id, &patch).await, "user_not_found");
    assert_code(b.repos.users.delete(&other.id, &ada.id).await, "user_not_found");
    assert_eq!(b.repos.users.get(&a.id, &ada.id).await.unwrap(), Some(ada), "tenant B changed nothing");
}

async fn a_user_patch_changes_only_what_it_names(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let ada = user(&b.repos, &a.id, "ada").await;
    let role = RoleId::new();

    let patch = UserPatch {
        status: Some(UserStatus::Disabled),
        role_ids: Some(vec![role]),
        grants: Some(vec![Permission::AnalyticsView]),
        denies: Some(vec![Permission::ChatbotsManage]),
        assigning: Some(Assigning { enabled: false, max_concurrent: 2 }),
        ..UserPatch::default()
    };
    let updated = b.repos.users.update(&a.id, &ada.id, &patch).await.unwrap();
    assert_eq!(updated.status, UserStatus::Disabled);
    assert_eq!(updated.role_ids, vec![role]);
    assert_eq!(updated.grants, vec![Permission::AnalyticsView]);
    assert_eq!(updated.denies, vec![Permission::ChatbotsManage]);
    assert_eq!(updated.assigning, Assigning { enabled: false, max_concurrent: 2 });
    assert_eq!((&updated.name, &updated.email, &updated.password_hash), (&ada.name, &ada.email, &ada.password_hash));
    assert!(updated.updated_at >= ada.updated_at);
    assert_eq!(b.repos.users.get(&a.id, &ada.id).await.unwrap(), Some(updated));

    assert_code(b.repos.users.update(&a.id, &UserId::new(), &patch).await, "user_not_found");
}

async fn users_are_listed_oldest_first_and_deleted(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let first = user(&b.repos, &a.id, "first").await;
    let second = user(&b.repos, &a.id, "second").await;
    let third = user(&b.repos, &a.id, "third").await;
    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(ids(b.repos.users.list(&a.id).await.unwrap()), vec![first.id, second.id, third.id]);

    b.repos.users.delete(&a.id, &second.id).await.unwrap();
    assert_eq!(ids(b.repos.users.list(&a.id).await.unwrap()), vec![first.id, third.id]);
    assert_code(b.repos.users.delete(&a.id, &second.id).await, "user_not_found");
    assert_eq!(b.repos.users.find_by_email(&second.email).await.unwrap(), None);
}

async fn users_holding_a_role_are_counted(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let admin = Role::new(a.id, name("admin"), vec![Permission::UsersManage]);
    b.repos.roles.insert(&admin).await.unwrap();
    for (tenant_id, who) in [(a.id, "ada"), (a.id, "alan"), (other.id, "bob")] {
        let u = User::new(tenant_id, fresh_email(who), name(who), Some("hash".into()), vec![admin.id]);
        b.repos.users.insert(&u).await.unwrap();
    }
    user(&b.repos, &a.id, "grace").await;
    assert_eq!(b.repos.users.count_with_role(&a.id, &admin.id).await.unwrap(), 2);
    assert_eq!(b.repos.users.count_with_role(&a.id, &RoleId::new()).await.unwrap(), 0);
}

async fn a_password_change_token_works_once(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let ada = user(&b.repos, &a.id, "ada").await;
    let token = PasswordChangeToken { hash: "h1".into(), expires_at: Timestamp::now() };
    assert_code(b.repos.users.set_password_change_token(&other.id, &ada.id, &token).await, "user_not_found");
    b.repos.users.set_password_change_token(&a.id, &ada.id, &token).await.unwrap();
    let stored = b.repos.users.get(&a.id, &ada.id).await.unwrap().unwrap();
    assert_eq!(stored.password_change_token, Some(token));

    assert!(!b.repos.users.set_password_with_token(&a.id, &ada.id, "wrong", "new-hash").await.unwrap());
    assert!(!b.repos.users.set_password_with_token(&other.id, &ada.id, "h1", "new-hash").await.unwrap());
    assert!(b.repos.users.set_password_with_token(&a.id, &ada.id, "h1", "new-hash").await.unwrap());
    assert!(!b.repos.users.set_password_with_token(&a.id, &ada.id, "h1", "newer-hash").await.unwrap(), "used twice");
    let stored = b.repos.users.get(&a.id, &ada.id).await.unwrap().unwrap();
    assert_eq!((stored.password_hash.as_deref(), stored.password_change_token), (Some("new-hash"), None));
}

async fn login_addresses_and_the_allow_list_are_stored(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let ada = user(&b.repos, &a.id, "ada").await;
    let seen = ada.ip_addresses.seen_after_login("203.0.113.7".parse().unwrap(), Timestamp::now());
    b.repos.users.record_login(&a.id, &ada.id, &seen).await.unwrap();
    let patch = UserPatch { ip_allow_list: Some(vec!["10.0.0.0/8".parse().unwrap()]), ..UserPatch::default() };
    b.repos.users.update(&a.id, &ada.id, &patch).await.unwrap();
    let stored = b.repos.users.get(&a.id, &ada.id).await.unwrap().unwrap();
    assert_eq!(stored.ip_addresses.seen, seen);
    assert_eq!(stored.ip_addresses.allow_list, vec!["10.0.0.0/8".parse().unwrap()]);
    assert!(!stored.ip_addresses.allows("203.0.113.7".parse().unwrap()));
}
