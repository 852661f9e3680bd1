//! Sessions: rotation from the current hash only, revocation.

use shared::{
    domain::{Session, SessionId, TenantId, Timestamp, UserId},
    repos::Rotation,
};

use super::{Backend, tenant, user};

contract!(a_session_rotates_only_from_its_current_hash, sessions_are_revoked_per_user_and_when_expired,);

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
