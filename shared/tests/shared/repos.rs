//! One contract, two implementations: every test below runs against the in-memory repositories
//! and against MongoDB-wire (FerretDB in `scripts/test`, or the server `MONGODB_URL` names).

use shared::{
    auth::{ApiKey, IdentityKeys},
    domain::{
        ApiKeys, Assigning, Chatbot, ChatbotId, ChatbotPatch, ChatbotStatus, EmailAddress, Name, OriginPattern,
        PasswordChangeToken, Permission, Role, RoleId, Session, SessionId, Tenant, TenantId, TenantPatch, Timestamp,
        User, UserId, UserPatch, UserStatus, WidgetSettings,
    },
    repos::{RepoError, Repos, RolePatch, Rotation},
    testing::TestDatabase,
};

struct Backend {
    repos: Repos,
    /// Keeps the test database alive until the test ends, then drops it.
    _db: Option<TestDatabase>,
}

async fn memory() -> Backend {
    Backend { repos: Repos::memory(), _db: None }
}

async fn mongo() -> Backend {
    let db = TestDatabase::new().await;
    Backend { repos: Repos::mongo(&db.db), _db: Some(db) }
}

/// Runs each listed contract test once per backend: `memory::<name>` and `mongo::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name(super::memory().await).await } )*
        }
        mod mongo {
            $( #[tokio::test] async fn $name() { super::$name(super::mongo().await).await } )*
        }
    };
}

mod chat;

contract!(
    tenants_are_stored_read_and_updated,
    tenant_ids_are_paged_in_order,
    an_email_address_belongs_to_one_user_across_all_tenants,
    users_are_scoped_to_their_tenant,
    a_user_patch_changes_only_what_it_names,
    users_are_listed_oldest_first_and_deleted,
    users_holding_a_role_are_counted,
    role_names_are_unique_within_a_tenant,
    roles_are_scoped_to_their_tenant,
    a_tenant_row_can_be_deleted,
    a_password_change_token_works_once,
    login_addresses_and_the_allow_list_are_stored,
    a_session_rotates_only_from_its_current_hash,
    sessions_are_revoked_per_user_and_when_expired,
    a_chatbot_is_stored_and_read_back_whole,
    chatbots_are_scoped_to_their_tenant,
    a_chatbot_update_can_require_the_revision_it_read,
);

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

fn email(s: &str) -> EmailAddress {
    s.parse().unwrap()
}

/// A unique address, so the MongoDB backend's global unique index never sees two tests collide.
fn fresh_email(who: &str) -> EmailAddress {
    email(&format!("{who}.{}@example.com", uuid_suffix()))
}

fn uuid_suffix() -> String {
    UserId::new().to_string()[24..].to_owned()
}

async fn tenant(repos: &Repos, n: &str) -> Tenant {
    let tenant = Tenant::new(name(n));
    repos.tenants.insert(&tenant).await.unwrap();
    tenant
}

async fn user(repos: &Repos, tenant: &TenantId, who: &str) -> User {
    let user = User::new(*tenant, fresh_email(who), name(who), Some("$argon2id$v=19$placeholder".into()), vec![]);
    repos.users.insert(&user).await.unwrap();
    user
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, RepoError>, expected: &str) {
    match result {
        Err(RepoError::Conflict { code, .. } | RepoError::NotFound { code, .. }) => assert_eq!(code, expected),
        other => panic!("expected {expected}, got {other:?}"),
    }
}

async fn tenant_ids_are_paged_in_order(b: Backend) {
    let mut ids = Vec::new();
    for n in ["A", "B", "C"] {
        ids.push(tenant(&b.repos, n).await.id);
    }
    ids.sort_by_key(TenantId::to_string);
    let t = &b.repos.tenants;
    assert_eq!(t.list_ids(None, 2).await.unwrap(), ids[..2]);
    assert_eq!(t.list_ids(Some(&ids[1]), 2).await.unwrap(), ids[2..]);
    assert!(t.list_ids(Some(&ids[2]), 2).await.unwrap().is_empty());
}

async fn tenants_are_stored_read_and_updated(b: Backend) {
    let acme = tenant(&b.repos, "Acme").await;
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(b.repos.tenants.get(&TenantId::new()).await.unwrap(), None);
    assert_eq!(acme.sender_name().as_str(), "Acme", "emails come from the tenant's name by default");

    let rename = TenantPatch { name: Some(name("Acme Support")), ..TenantPatch::default() };
    let renamed = b.repos.tenants.update(&acme.id, &rename).await.unwrap();
    assert_eq!(renamed.name.as_str(), "Acme Support");
    assert!(renamed.updated_at >= acme.updated_at);
    assert_eq!(renamed.created_at, acme.created_at);
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(renamed.clone()));

    let sender = TenantPatch { email_sender_name: Some(Some(name("Acme Help Desk"))), ..TenantPatch::default() };
    let with_sender = b.repos.tenants.update(&acme.id, &sender).await.unwrap();
    assert_eq!((with_sender.name.as_str(), with_sender.sender_name().as_str()), ("Acme Support", "Acme Help Desk"));
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(with_sender));
    let reset = TenantPatch { email_sender_name: Some(None), ..TenantPatch::default() };
    let reset = b.repos.tenants.update(&acme.id, &reset).await.unwrap();
    assert_eq!(reset.sender_name().as_str(), "Acme Support");
    assert_eq!(b.repos.tenants.get(&acme.id).await.unwrap(), Some(reset));

    assert_code(b.repos.tenants.update(&TenantId::new(), &rename).await, "tenant_not_found");
    assert_code(b.repos.tenants.insert(&acme).await, "tenant_exists");
}

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

async fn a_tenant_row_can_be_deleted(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    b.repos.tenants.delete(&a.id).await.unwrap();
    assert_eq!(b.repos.tenants.get(&a.id).await.unwrap(), None);
    assert_code(b.repos.tenants.delete(&a.id).await, "tenant_not_found");
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

fn session(tenant: TenantId, user: UserId, hash: &str, expires_at: Timestamp) -> Session {
    let now = Timestamp::now();
    Session {
        id: SessionId::new(),
        tenant_id: tenant,
        user_id: user,
        hash: hash.into(),
        expires_at,
        rotated_hashes: vec![],
        ip: "127.0.0.1".into(),
        created_at: now,
        last_used_at: now,
    }
}

async fn a_session_rotates_only_from_its_current_hash(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let ada = user(&b.repos, &a.id, "ada").await;
    let later = Timestamp::now().plus(time::Duration::days(1));
    let s = session(a.id, ada.id, "h1", later);
    b.repos.sessions.insert(&s).await.unwrap();
    let rotation =
        Rotation { old_hash: "h1".into(), new_hash: "h2".into(), expires_at: later, ip: "203.0.113.7".into() };
    assert!(b.repos.sessions.rotate(&s, &rotation).await.unwrap());
    assert!(!b.repos.sessions.rotate(&s, &rotation).await.unwrap(), "the same token rotates once");
    let stored = b.repos.sessions.get(&s.id).await.unwrap().unwrap();
    assert_eq!((stored.hash.as_str(), stored.rotated_hashes.as_slice()), ("h2", &["h1".to_owned()][..]));
    assert_eq!(stored.ip, "203.0.113.7");

    b.repos.sessions.delete(&s.id).await.unwrap();
    assert_eq!(b.repos.sessions.get(&s.id).await.unwrap(), None);
    b.repos.sessions.delete(&s.id).await.unwrap();
}

async fn sessions_are_revoked_per_user_and_when_expired(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let (ada, bob) = (user(&b.repos, &a.id, "ada").await, user(&b.repos, &a.id, "bob").await);
    let (past, later) = (Timestamp::from_unix_millis(1_000), Timestamp::now().plus(time::Duration::days(1)));
    let (expired, live, bobs) =
        (session(a.id, ada.id, "e", past), session(a.id, ada.id, "l", later), session(a.id, bob.id, "b", later));
    for s in [&expired, &live, &bobs] {
        b.repos.sessions.insert(s).await.unwrap();
    }
    b.repos.sessions.delete_expired_for_user(&a.id, &ada.id, Timestamp::now()).await.unwrap();
    assert_eq!(b.repos.sessions.get(&expired.id).await.unwrap(), None);
    assert!(b.repos.sessions.get(&live.id).await.unwrap().is_some());

    b.repos.sessions.delete_for_user(&a.id, &ada.id).await.unwrap();
    assert_eq!(b.repos.sessions.get(&live.id).await.unwrap(), None);
    assert!(b.repos.sessions.get(&bobs.id).await.unwrap().is_some(), "other users keep their sessions");
}

#[tokio::test]
async fn ensure_indexes_is_idempotent() {
    let db = TestDatabase::new().await;
    shared::mongo::ensure_indexes(&db.db).await.unwrap();
    shared::mongo::ensure_indexes(&db.db).await.unwrap();
    let expected = [
        ("users", "email_unique"),
        ("chatrooms", "tenant_status_created"),
        ("chatrooms", "tenant_agent_status"),
        ("chatrooms", "status_standby_until"),
        ("messages", "chatroom_seq_unique"),
        ("messages", "chatroom_client_msg_id_unique"),
        ("blocks", "tenant_chatbot_email"),
        ("blocks", "tenant_chatbot_ip"),
    ];
    for (collection, index) in expected {
        let names = db.db.collection::<mongodb::bson::Document>(collection).list_index_names().await.unwrap();
        assert!(names.contains(&index.to_owned()), "{collection}: {names:?}");
    }
}

async fn chatbot(repos: &Repos, tenant: &TenantId, n: &str) -> Chatbot {
    let id = ChatbotId::new();
    let (seed, _) = IdentityKeys::ephemeral().issue(id);
    let mut chatbot = Chatbot::new(id, *tenant, name(n), &ApiKey::generate(id), seed);
    chatbot.allowed_origins = vec!["https://*.example.com".parse().unwrap(), "http://localhost:3000".parse().unwrap()];
    repos.chatbots.insert(&chatbot).await.unwrap();
    chatbot
}

async fn a_chatbot_is_stored_and_read_back_whole(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let support = chatbot(&b.repos, &a.id, "Support").await;
    let sales = chatbot(&b.repos, &a.id, "Sales").await;
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(support.clone()));
    assert_eq!(b.repos.chatbots.list(&a.id).await.unwrap(), vec![support.clone(), sales.clone()]);
    assert_code(b.repos.chatbots.insert(&support).await, "chatbot_exists");

    b.repos.chatbots.delete(&a.id, &support.id).await.unwrap();
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), None);
    assert_code(b.repos.chatbots.delete(&a.id, &support.id).await, "chatbot_not_found");
    assert_eq!(b.repos.chatbots.list(&a.id).await.unwrap(), vec![sales]);
}

async fn chatbots_are_scoped_to_their_tenant(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let other = tenant(&b.repos, "B").await;
    let support = chatbot(&b.repos, &a.id, "Support").await;
    assert_eq!(b.repos.chatbots.get(&other.id, &support.id).await.unwrap(), None);
    assert!(b.repos.chatbots.list(&other.id).await.unwrap().is_empty());
    let patch = ChatbotPatch { name: Some(name("Mallory")), ..ChatbotPatch::default() };
    assert_code(b.repos.chatbots.update(&other.id, &support.id, &patch, None).await, "chatbot_not_found");
    assert_code(b.repos.chatbots.delete(&other.id, &support.id).await, "chatbot_not_found");
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(support), "tenant B changed nothing");
}

async fn a_chatbot_update_can_require_the_revision_it_read(b: Backend) {
    let a = tenant(&b.repos, "A").await;
    let support = chatbot(&b.repos, &a.id, "Support").await;
    let settings = WidgetSettings { colour: "#112233".parse().unwrap(), ..WidgetSettings::default() };
    let patch = ChatbotPatch {
        settings: Some(settings.clone()),
        status: Some(ChatbotStatus::Disabled),
        allowed_origins: Some(vec![OriginPattern::Any]),
        enforce_identity: Some(true),
        ..ChatbotPatch::default()
    };
    let updated = b.repos.chatbots.update(&a.id, &support.id, &patch, Some(support.revision)).await.unwrap();
    assert_eq!(updated.revision, support.revision + 1);
    assert_eq!((updated.settings.clone(), updated.status), (settings, ChatbotStatus::Disabled));
    assert_eq!(updated.allowed_origins, vec![OriginPattern::Any]);
    assert!(updated.enforce_identity);
    assert_eq!((updated.name.clone(), updated.api_keys.clone()), (support.name.clone(), support.api_keys.clone()));
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(updated.clone()));

    // A writer that read the old revision loses; nothing it carried is stored.
    let stale = ChatbotPatch { api_keys: Some(ApiKeys::default()), ..ChatbotPatch::default() };
    assert_code(b.repos.chatbots.update(&a.id, &support.id, &stale, Some(support.revision)).await, "chatbot_changed");
    assert_code(b.repos.chatbots.update(&a.id, &ChatbotId::new(), &stale, Some(0)).await, "chatbot_not_found");
    assert_eq!(b.repos.chatbots.get(&a.id, &support.id).await.unwrap(), Some(updated.clone()));

    let rotated = b.repos.chatbots.update(&a.id, &support.id, &stale, Some(updated.revision)).await.unwrap();
    assert_eq!(rotated.api_keys, ApiKeys::default());
    assert_eq!(rotated.revision, updated.revision + 1);
}
