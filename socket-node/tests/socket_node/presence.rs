//! The presence contract, on Redis and in memory: visitors counted across nodes, agents online
//! once per agent, and the presence of a node that stops beating reaped exactly once.

use std::{sync::Arc, time::Duration};

use shared::{
    domain::{ChatroomId, TenantId, Timestamp, UserId},
    testing::TestRedis,
};
use socket_node::presence::{Beat, MemoryPresence, MemorySpace, Presence, RedisPresence};

use crate::{
    contract::{Kind, on_both},
    support::{WAIT, eventually},
};

on_both!(
    visitors_are_counted_across_nodes,
    agents_online_are_counted_once_per_agent,
    a_node_that_stops_beating_is_reaped_once,
    a_departing_node_takes_its_agents_along,
);

/// Two nodes' presence on one medium.
async fn nodes(kind: Kind) -> (Arc<dyn Presence>, Arc<dyn Presence>, Option<TestRedis>) {
    match kind {
        Kind::Redis => {
            let redis = TestRedis::new().await;
            let a = Arc::new(RedisPresence::new(redis.redis.clone(), "node-a".into()));
            let b = Arc::new(RedisPresence::new(redis.redis.clone(), "node-b".into()));
            (a, b, Some(redis))
        }
        Kind::Memory => {
            let space = MemorySpace::default();
            let a = Arc::new(MemoryPresence::new(space.clone(), "node-a".into()));
            let b = Arc::new(MemoryPresence::new(space, "node-b".into()));
            (a, b, None)
        }
    }
}

fn beat(interval: Duration) -> Beat {
    Beat { address: "127.0.0.1:1".parse().unwrap(), connections: 0, started_at: Timestamp::now(), interval }
}

async fn visitors_are_counted_across_nodes(kind: Kind) {
    let (a, b, _redis) = nodes(kind).await;
    let (tenant, room) = (TenantId::new(), ChatroomId::new());
    assert_eq!(a.arrive(tenant, room, 1).await.unwrap(), 1);
    // The same connection number on another node is another connection.
    assert_eq!(b.arrive(tenant, room, 1).await.unwrap(), 2);
    assert_eq!(a.count(room).await.unwrap(), 2);
    assert_eq!(a.count(ChatroomId::new()).await.unwrap(), 0, "another chatroom has nobody");
    assert_eq!(a.leave(tenant, room, 1).await.unwrap(), 1);
    assert_eq!(b.leave(tenant, room, 1).await.unwrap(), 0, "the last connection left");
}

async fn agents_online_are_counted_once_per_agent(kind: Kind) {
    let (a, b, _redis) = nodes(kind).await;
    let (tenant, ada, bob) = (TenantId::new(), UserId::new(), UserId::new());
    a.agent_online(tenant, ada, 1).await.unwrap();
    b.agent_online(tenant, ada, 2).await.unwrap();
    a.agent_online(tenant, bob, 3).await.unwrap();
    for node in [&a, &b] {
        node.heartbeat(beat(Duration::from_secs(5))).await.unwrap();
    }
    assert_eq!(b.agents_online(tenant).await.unwrap(), [ada, bob].into(), "Ada's two consoles count once");
    assert!(a.agents_online(TenantId::new()).await.unwrap().is_empty(), "another tenant sees nobody");
    a.agent_offline(tenant, 3).await.unwrap();
    a.agent_offline(tenant, 1).await.unwrap();
    assert_eq!(b.agents_online(tenant).await.unwrap(), [ada].into(), "Ada's other console is still open");
}

async fn a_node_that_stops_beating_is_reaped_once(kind: Kind) {
    let (a, b, _redis) = nodes(kind).await;
    let (tenant, room, ada) = (TenantId::new(), ChatroomId::new(), UserId::new());
    let interval = Duration::from_millis(50);
    a.arrive(tenant, room, 1).await.unwrap();
    a.agent_online(tenant, ada, 2).await.unwrap();
    a.heartbeat(beat(interval)).await.unwrap();
    assert_eq!(b.heartbeat(beat(interval)).await.unwrap(), vec![], "node a is alive");
    // Node a stops beating; node b keeps on, and after three of a's intervals reaps it.
    let orphaned = eventually(WAIT, "node b to reap node a", || async {
        let orphaned = b.heartbeat(beat(interval)).await.unwrap();
        (!orphaned.is_empty()).then_some(orphaned)
    })
    .await;
    assert_eq!(orphaned, vec![(tenant, room)], "the dead node's chatrooms are handed over");
    assert_eq!(b.count(room).await.unwrap(), 0, "its visitor connections are gone");
    assert!(b.agents_online(tenant).await.unwrap().is_empty(), "its agents are gone");
    assert_eq!(b.heartbeat(beat(interval)).await.unwrap(), vec![], "a dead node is reaped once");
}

async fn a_departing_node_takes_its_agents_along(kind: Kind) {
    let (a, b, _redis) = nodes(kind).await;
    let (tenant, ada) = (TenantId::new(), UserId::new());
    a.agent_online(tenant, ada, 1).await.unwrap();
    a.heartbeat(beat(Duration::from_secs(5))).await.unwrap();
    assert_eq!(b.agents_online(tenant).await.unwrap(), [ada].into());
    a.depart().await;
    assert!(b.agents_online(tenant).await.unwrap().is_empty());
}

/// A heartbeat is one command while all is well, yet Redis emptied under a node (flushed, as an
/// operator might) holds its visitors and agents again after the node's next heartbeat.
#[tokio::test]
async fn after_redis_is_emptied_the_next_heartbeat_restores_the_nodes_presence() {
    let redis = TestRedis::new().await;
    let a = RedisPresence::new(redis.redis.clone(), "node-a".into());
    let (tenant, room, ada) = (TenantId::new(), ChatroomId::new(), UserId::new());
    a.arrive(tenant, room, 1).await.unwrap();
    a.agent_online(tenant, ada, 2).await.unwrap();
    a.heartbeat(beat(Duration::from_secs(5))).await.unwrap();
    assert_eq!(a.count(room).await.unwrap(), 1);

    let mut conn = redis.redis.conn.clone();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}*", redis.redis.keys.prefix())).query_async(&mut conn).await.unwrap();
    let _: u64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
    assert_eq!(a.count(room).await.unwrap(), 0, "Redis lost the visitor");
    assert!(a.agents_online(tenant).await.unwrap().is_empty(), "and the agent");

    a.heartbeat(beat(Duration::from_secs(5))).await.unwrap();
    assert_eq!(a.count(room).await.unwrap(), 1, "the visitor is present again");
    assert_eq!(a.agents_online(tenant).await.unwrap(), [ada].into(), "and the agent online");
}
