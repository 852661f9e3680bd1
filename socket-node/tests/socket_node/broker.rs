//! The broker contract, on Redis and in memory: every subscribed node hears every notice in the
//! order it was published, and a node that stopped its subscription hears nothing more.

use std::sync::{Arc, Mutex};

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

on_both!(every_node_hears_every_notice_in_publish_order, a_node_that_stopped_hears_nothing_more);

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
            (Arc::new(broker.clone()), Arc::new(broker), None)
        }
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Notice>>);

impl NoticeHandler for Recorder {
    fn on_notice(&self, notice: Notice) {
        self.0.lock().unwrap().push(notice);
    }

    fn on_resubscribed(&self) {}
}

impl Recorder {
    fn frames(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|n| n.frame.clone()).collect()
    }
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

async fn every_node_hears_every_notice_in_publish_order(kind: Kind) {
    let (a, b, _redis) = brokers(kind).await;
    let (on_a, on_b) = (subscribe(a.clone()).await, subscribe(b.clone()).await);
    let room = ChatroomId::new();
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
    let heard = on_a.recorder.0.lock().unwrap()[0].clone();
    assert_eq!(heard, notice(room, sent[0].clone()), "a notice arrives whole");
}

async fn a_node_that_stopped_hears_nothing_more(kind: Kind) {
    let (a, b, _redis) = brokers(kind).await;
    let (on_a, on_b) = (subscribe(a.clone()).await, subscribe(b).await);
    on_b.stop.send(true).unwrap();
    tokio::time::timeout(WAIT, on_b.task).await.expect("the subscription stops in time").unwrap();
    a.publish(&notice(ChatroomId::new(), "after b stopped".into())).await.expect("published");
    eventually(WAIT, "the running node to hear it", || async { (on_a.recorder.frames().len() == 1).then_some(()) })
        .await;
    assert!(on_b.recorder.frames().is_empty(), "a stopped node hears nothing");
}
