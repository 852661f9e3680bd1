//! The chatroom cache in Redis: a chatroom read once comes from Redis after, a change made by
//! any node is seen by every node at once, and a cached chatroom is still its tenant's alone.

use std::sync::Arc;

use shared::{
    domain::{
        AgentChange, AssignedAgent, ChatbotId, Chatroom, ChatroomId, ChatroomStatus, SenderKind, TenantId, Timestamp,
        Transition, UserId, VisitorInfo,
    },
    repos::{ChatroomRepo, Repos},
    testing::TestRedis,
};
use socket_node::chatroom_cache::CachedChatrooms;

fn new_room(tenant: TenantId) -> Chatroom {
    Chatroom::new(
        ChatroomId::new(),
        tenant,
        ChatbotId::new(),
        "vera@example.com".parse().unwrap(),
        "Vera Visitor".parse().unwrap(),
        false,
        VisitorInfo::default(),
        Timestamp::now(),
    )
}

fn join(agent: UserId) -> Transition {
    let agent = AssignedAgent { id: agent, name: "Ada Agent".into(), email: "ada@example.com".parse().unwrap() };
    Transition { to: ChatroomStatus::Active, agent: AgentChange::Set(agent), standby_until: None, close_reason: None }
}

/// The store, and two nodes' cached views of it on one Redis.
async fn two_nodes() -> (Arc<dyn ChatroomRepo>, CachedChatrooms, CachedChatrooms, TestRedis) {
    let redis = TestRedis::new().await;
    let store = Repos::memory().chatrooms;
    let a = CachedChatrooms::new(store.clone(), redis.redis.clone());
    let b = CachedChatrooms::new(store.clone(), redis.redis.clone());
    (store, a, b, redis)
}

#[tokio::test]
async fn a_chatroom_read_once_is_served_from_redis_until_a_node_changes_it() {
    let (store, a, _b, _redis) = two_nodes().await;
    let room = new_room(TenantId::new());
    a.insert(&room).await.unwrap();
    assert_eq!(a.get(&room.tenant_id, &room.id).await.unwrap().unwrap().status, ChatroomStatus::Waiting);

    // Changed behind the cache's back (straight in the store): the cached copy still answers,
    // which shows the read did not reach the store.
    let agent = UserId::new();
    store.transition(&room.tenant_id, &room.id, &[ChatroomStatus::Waiting], None, &join(agent)).await.unwrap();
    assert_eq!(a.get(&room.tenant_id, &room.id).await.unwrap().unwrap().status, ChatroomStatus::Waiting);

    // A change through the cache forgets it: the next read has everything the store has.
    a.set_read(&room.tenant_id, &room.id, SenderKind::Visitor, 1).await.unwrap();
    let fresh = a.get(&room.tenant_id, &room.id).await.unwrap().unwrap();
    assert_eq!((fresh.status, fresh.agent_id), (ChatroomStatus::Active, Some(agent)));
}

#[tokio::test]
async fn a_change_on_one_node_is_seen_by_the_other_at_once() {
    let (_store, a, b, _redis) = two_nodes().await;
    let room = new_room(TenantId::new());
    a.insert(&room).await.unwrap();
    assert_eq!(a.get(&room.tenant_id, &room.id).await.unwrap().unwrap().status, ChatroomStatus::Waiting);
    assert_eq!(b.get(&room.tenant_id, &room.id).await.unwrap().unwrap().status, ChatroomStatus::Waiting);

    let agent = UserId::new();
    b.transition(&room.tenant_id, &room.id, &[ChatroomStatus::Waiting], None, &join(agent)).await.unwrap();
    let on_a = a.get(&room.tenant_id, &room.id).await.unwrap().unwrap();
    assert_eq!((on_a.status, on_a.agent_id), (ChatroomStatus::Active, Some(agent)));

    let close = Transition::to(ChatroomStatus::Closed);
    a.transition(&room.tenant_id, &room.id, &[ChatroomStatus::Active], None, &close).await.unwrap();
    assert_eq!(b.get(&room.tenant_id, &room.id).await.unwrap().unwrap().status, ChatroomStatus::Closed);
}

#[tokio::test]
async fn a_cached_chatroom_is_not_another_tenants() {
    let (_store, a, b, _redis) = two_nodes().await;
    let room = new_room(TenantId::new());
    a.insert(&room).await.unwrap();
    assert!(a.get(&room.tenant_id, &room.id).await.unwrap().is_some(), "cached now");
    assert_eq!(b.get(&TenantId::new(), &room.id).await.unwrap(), None, "another tenant reads nothing");
    assert_eq!(b.get(&room.tenant_id, &ChatroomId::new()).await.unwrap(), None, "an unknown id reads nothing");
}

#[tokio::test]
async fn the_sweeps_find_due_chatrooms_in_redis_and_again_after_redis_lost_them() {
    let (store, a, b, redis) = two_nodes().await;
    let tenant = TenantId::new();
    let (waiting, held) = (new_room(tenant), new_room(tenant));
    a.insert(&waiting).await.unwrap();
    a.insert(&held).await.unwrap();
    b.transition(&tenant, &held.id, &[ChatroomStatus::Waiting], None, &join(UserId::new())).await.unwrap();
    let past = Timestamp::now();
    let standby = Transition { standby_until: Some(past), ..Transition::to(ChatroomStatus::Standby) };
    b.transition(&tenant, &held.id, &[ChatroomStatus::Active], None, &standby).await.unwrap();

    let later = Timestamp::from_unix_millis(past.unix_millis() + 1_000);
    let ids = |rooms: Vec<Chatroom>| rooms.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(a.list_overdue_standby(later, 10).await.unwrap()), vec![held.id]);
    assert_eq!(ids(a.list_unclaimed(later, 10).await.unwrap()), vec![waiting.id], "the joined one waits no more");

    // Redis loses everything: the next sweep files the open chatrooms again from the store.
    let mut conn = redis.redis.conn.clone();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}*", redis.redis.keys.prefix())).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("DEL").arg(keys).query_async(&mut conn).await.unwrap();
    assert_eq!(ids(b.list_overdue_standby(later, 10).await.unwrap()), vec![held.id]);
    assert_eq!(ids(b.list_unclaimed(later, 10).await.unwrap()), vec![waiting.id]);

    // Changed straight in the store (a lost filing): read, found no longer due, not answered.
    store
        .transition(&tenant, &held.id, &[ChatroomStatus::Standby], None, &Transition::to(ChatroomStatus::Active))
        .await
        .unwrap();
    a.set_read(&tenant, &held.id, SenderKind::Agent, 0).await.unwrap(); // forgets the cached copy
    assert!(a.list_overdue_standby(later, 10).await.unwrap().is_empty());
    assert!(
        a.list_unclaimed(past.minus_std(std::time::Duration::from_secs(60)), 10).await.unwrap().is_empty(),
        "not waiting that long"
    );
}
