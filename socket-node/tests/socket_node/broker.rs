//! The broker contract, on Redis and in memory: every node that listens to a route hears its
//! notices in the order they were published, a node hears nothing of the routes it does not
//! listen to, and a node that stopped its subscription hears nothing more. On Redis, a node whose
//! subscription was cut subscribes its routes again and is told to resync.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use shared::{domain::ChatroomId, testing::TestRedis};
use socket_node::{
    broker::{Broker, MemoryBroker, NoticeHandler, RedisBroker},
    notice::{Notice, NoticeKind, Route},
};
use tokio::sync::{oneshot, watch};

use crate::{
    contract::{Kind, on_both},
    support::{WAIT, eventually},
};

on_both!(
    every_listening_node_hears_every_notice_in_publish_order,
    a_node_hears_only_the_routes_it_listens_to,
    a_node_that_stopped_hears_nothing_more
);

/// Two nodes' brokers on one medium (the Redis handle is kept alive with them).
async fn brokers(kind: Kind) -> (Arc<dyn Broker>, Arc<dyn Broker>, Option<TestRedis>) {
    match kind {
        Kind::Redis => {
            let redis = TestRedis::new().await;
            let a = Arc::new(RedisBroker::new(redis.redis.clone()));
            let b = Arc::new(RedisBroker::new(redis.redis.clone()));
            (a, b, Some(redis))
        }
        Kind::Memory => {
            let broker = MemoryBroker::default();
            (Arc::new(broker.another_node()), Arc::new(broker), None)
        }
    }
}

#[derive(Default)]
struct Recorder {
    notices: Mutex<Vec<Notice>>,
    resubscribed: AtomicUsize,
}

impl NoticeHandler for Recorder {
    fn on_notice(&self, notice: Notice) {
        self.notices.lock().unwrap().push(notice);
    }

    fn on_resubscribed(&self) {
        self.resubscribed.fetch_add(1, Ordering::SeqCst);
    }
}

impl Recorder {
    fn frames(&self) -> Vec<String> {
        self.notices.lock().unwrap().iter().map(|n| n.frame.clone()).collect()
    }
}

/// Listens to the chatroom and waits until its notices flow.
async fn listen(broker: &dyn Broker, room: ChatroomId) {
    assert!(broker.listen(Route::Chatroom(room)).wait(WAIT).await, "the broker listens in time");
}

/// A running subscription: its recorder and what stops it.
struct Subscribed {
    recorder: Arc<Recorder>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn subscribe(broker: Arc<dyn Broker>) -> Subscribed {
    let recorder = Arc::new(Recorder::default());
    let (stop, stopped) = watch::channel(false);
    let (ready_tx, ready) = oneshot::channel();
    let handler: Arc<dyn NoticeHandler> = recorder.clone();
    let task = tokio::spawn(async move { broker.run(handler, stopped, ready_tx).await });
    tokio::time::timeout(WAIT, ready).await.expect("subscribed in time").expect("the subscription started");
    Subscribed { recorder, stop, task }
}

fn notice(room: ChatroomId, frame: String) -> Notice {
    Notice { route: Route::Chatroom(room), kind: NoticeKind::Typing, origin: None, frame }
}

async fn every_listening_node_hears_every_notice_in_publish_order(kind: Kind) {
    let (a, b, _redis) = brokers(kind).await;
    let (on_a, on_b) = (subscribe(a.clone()).await, subscribe(b.clone()).await);
    let room = ChatroomId::new();
    listen(a.as_ref(), room).await;
    listen(b.as_ref(), room).await;
    let sent: Vec<String> = (0..50).map(|i| format!("frame {i}")).collect();
    for frame in &sent {
        a.publish(&notice(room, frame.clone())).await.expect("published");
    }
    for on in [&on_a, &on_b] {
        let heard = eventually(WAIT, "every notice on every node", || async {
            let frames = on.recorder.frames();
            (frames.len() >= sent.len()).then_some(frames)
        })
        .await;
        assert_eq!(heard, sent, "each node hears each notice once, in the order published");
    }
    let heard = on_a.recorder.notices.lock().unwrap()[0].clone();
    assert_eq!(heard, notice(room, sent[0].clone()), "a notice arrives whole");
}

async fn a_node_hears_only_the_routes_it_listens_to(kind: Kind) {
    let (a, b, _redis) = brokers(kind).await;
    let (on_a, on_b) = (subscribe(a.clone()).await, subscribe(b.clone()).await);
    let (room_a, room_b, nobodys) = (ChatroomId::new(), ChatroomId::new(), ChatroomId::new());
    listen(a.as_ref(), room_a).await;
    listen(b.as_ref(), room_b).await;
    for (room, frame) in [(nobodys, "nobody's"), (room_b, "for b"), (room_a, "for a")] {
        b.publish(&notice(room, frame.into())).await.expect("published");
    }
    // One publisher's order: once a hears its own, b has had the chance to hear it too.
    eventually(WAIT, "a to hear its notice", || async { (!on_a.recorder.frames().is_empty()).then_some(()) }).await;
    eventually(WAIT, "b to hear its notice", || async { (!on_b.recorder.frames().is_empty()).then_some(()) }).await;
    assert_eq!(on_a.recorder.frames(), ["for a"], "a hears its route's notice only");
    assert_eq!(on_b.recorder.frames(), ["for b"], "b hears its route's notice only");

    b.ignore(Route::Chatroom(room_b));
    listen(b.as_ref(), room_a).await;
    b.publish(&notice(room_b, "after b ignored it".into())).await.expect("published");
    b.publish(&notice(room_a, "now for both".into())).await.expect("published");
    let heard = eventually(WAIT, "b to hear the route it listens to now", || async {
        let frames = on_b.recorder.frames();
        (frames.len() >= 2).then_some(frames)
    })
    .await;
    assert_eq!(heard, ["for b", "now for both"], "a route b ignores no longer reaches it");
}

async fn a_node_that_stopped_hears_nothing_more(kind: Kind) {
    let (a, b, _redis) = brokers(kind).await;
    let (on_a, on_b) = (subscribe(a.clone()).await, subscribe(b.clone()).await);
    let room = ChatroomId::new();
    listen(a.as_ref(), room).await;
    listen(b.as_ref(), room).await;
    on_b.stop.send(true).unwrap();
    tokio::time::timeout(WAIT, on_b.task).await.expect("the subscription stops in time").unwrap();
    a.publish(&notice(room, "after b stopped".into())).await.expect("published");
    eventually(WAIT, "the running node to hear it", || async { (on_a.recorder.frames().len() == 1).then_some(()) })
        .await;
    assert!(on_b.recorder.frames().is_empty(), "a stopped node hears nothing");
}

/// Routes the cut node listens to: a count no other test's node has, which finds its pub/sub
/// connection in `CLIENT LIST` on the shared Redis.
const ROUTES_OF_THE_CUT_NODE: usize = 137;

#[tokio::test]
async fn on_redis_a_node_whose_subscription_was_cut_listens_again_and_resyncs() {
    let redis = TestRedis::new().await;
    let (a, b) = (Arc::new(RedisBroker::new(redis.redis.clone())), Arc::new(RedisBroker::new(redis.redis.clone())));
    let on_a = subscribe(a.clone()).await;
    let rooms: Vec<ChatroomId> = (0..ROUTES_OF_THE_CUT_NODE).map(|_| ChatroomId::new()).collect();
    for room in &rooms {
        listen(a.as_ref(), *room).await;
    }

    let mut conn = redis.redis.conn.clone();
    let clients: String =
        redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub").query_async(&mut conn).await.unwrap();
    let marker = format!(" sub={ROUTES_OF_THE_CUT_NODE} ");
    let line = clients.lines().find(|line| line.contains(&marker)).expect("the node's pub/sub connection");
    let id = line.split(' ').find_map(|field| field.strip_prefix("id=")).expect("a client id");
    let _: () = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query_async(&mut conn).await.unwrap();

    eventually(WAIT, "the node to be told to resync", || async {
        (on_a.recorder.resubscribed.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    for room in [rooms[0], rooms[ROUTES_OF_THE_CUT_NODE - 1]] {
        b.publish(&notice(room, format!("after the cut to {room}"))).await.expect("published");
    }
    let heard = eventually(WAIT, "the notices after the cut", || async {
        let frames = on_a.recorder.frames();
        (frames.len() >= 2).then_some(frames)
    })
    .await;
    let expected: Vec<String> =
        [rooms[0], rooms[ROUTES_OF_THE_CUT_NODE - 1]].iter().map(|room| format!("after the cut to {room}")).collect();
    assert_eq!(heard, expected, "every route is listened to again");
}
