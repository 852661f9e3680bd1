//! The local Tinybird stand-in `scripts/test` runs (`scripts/services/tinybird/standin.py`):
//! Tinybird's own datafile parser and template engine over chDB, an embedded ClickHouse, since
//! Tinybird itself cannot be reached from here. Tests that use it say so in their names.

/// Where the stand-in listens and its two tokens (one appends to datasources, one reads pipes).
#[derive(Clone)]
pub struct TinybirdStandIn {
    pub url: String,
    pub append_token: String,
    pub read_token: String,
}

impl TinybirdStandIn {
    /// The one `scripts/test` started (`PARLEY_TINYBIRD_STANDIN_*`).
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run the tests with scripts/test, which starts the Tinybird stand-in")
            })
        };
        Self {
            url: var("PARLEY_TINYBIRD_STANDIN_URL"),
            append_token: var("PARLEY_TINYBIRD_STANDIN_APPEND_TOKEN"),
            read_token: var("PARLEY_TINYBIRD_STANDIN_READ_TOKEN"),
        }
    }

    /// The variables that point Parley at it, streaming under the consumer group `group`.
    pub fn env(&self, group: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PARLEY_TINYBIRD_URL", self.url.clone()),
            ("PARLEY_TINYBIRD_TOKEN", self.append_token.clone()),
            ("PARLEY_TINYBIRD_READ_TOKEN", self.read_token.clone()),
            ("PARLEY_TINYBIRD_GROUP", group.to_owned()),
            ("PARLEY_TINYBIRD_WAIT_MS", "200".to_owned()),
        ]
    }
}
