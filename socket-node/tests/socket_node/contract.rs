//! What the broker and presence contract suites share: each suite is written once, over two
//! nodes on one medium, and run on Redis (the harness's, under the test's own key prefix) and
//! in process memory.

/// Where a suite runs.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Redis,
    Memory,
}

/// Runs each listed `async fn test(kind: Kind)` as two tests: `on_redis::test` and
/// `in_memory::test`.
macro_rules! on_both {
    ($($test:ident),* $(,)?) => {
        mod on_redis {
            $(#[tokio::test] async fn $test() { super::$test(crate::contract::Kind::Redis).await })*
        }
        mod in_memory {
            $(#[tokio::test] async fn $test() { super::$test(crate::contract::Kind::Memory).await })*
        }
    };
}
pub(crate) use on_both;
