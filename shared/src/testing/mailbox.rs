//! Mail as a recipient sees it: the messages a real SMTP server (Mailpit) received, read back
//! through its HTTP API; and SMTP servers of a test's own, to start late or stop.
//!
//! `scripts/test` starts one Mailpit for every test and exports `PARLEY_SMTP_HOST`,
//! `PARLEY_SMTP_PORT` (where to send) and `PARLEY_MAILPIT_URL` (where to read). Tests share it,
//! so each sends to addresses of its own ([`super::unique_email`]) and reads only those.
//! [`PrivateMailpit`] runs another Mailpit, as `scripts/lib/services.sh` (`start_mailpit`) does,
//! from `PARLEY_MAILPIT_BIN`.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{closed_port, eventually};

/// How long a test waits for mail before it fails.
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(20);

/// A message as the recipient got it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub id: String,
    /// `(display name, address)`.
    pub from: (String, String),
    pub to: Vec<String>,
    pub reply_to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Every header as received, names as sent: `("Subject", "...")`.
    pub headers: Vec<(String, String)>,
}

impl Mail {
    /// The values of header `name` (any case).
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The links of the HTML part (`href` values, entities decoded).
    pub fn html_links(&self) -> Vec<String> {
        self.html
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(|href| href.replace("&amp;", "&"))
            .collect()
    }
}

/// The shared Mailpit's API.
#[derive(Debug, Clone)]
pub struct Mailbox {
    api: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Listing {
    messages: Vec<Summary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    #[serde(rename = "ID")]
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Address {
    name: String,
    address: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Full {
    #[serde(rename = "ID")]
    id: String,
    from: Address,
    to: Vec<Address>,
    reply_to: Vec<Address>,
    subject: String,
    text: String,
    #[serde(rename = "HTML")]
    html: String,
}

impl Mailbox {
    /// The Mailpit `scripts/test` started (`PARLEY_MAILPIT_URL`).
    pub fn shared() -> Self {
        match std::env::var("PARLEY_MAILPIT_URL") {
            Ok(url) if !url.is_empty() => Self::at(url),
            _ => panic!("PARLEY_MAILPIT_URL is not set: run the tests with scripts/test, which starts Mailpit"),
        }
    }

    /// The Mailpit whose API is at `url`.
    pub fn at(url: impl Into<String>) -> Self {
        Self { api: url.into().trim_end_matches('/').to_owned(), http: reqwest::Client::new() }
    }

    /// Where the shared Mailpit takes mail: `(host, port)` from `PARLEY_SMTP_HOST`/`_PORT`.
    pub fn smtp() -> (String, u16) {
        let host = std::env::var("PARLEY_SMTP_HOST").unwrap_or_else(|_| panic!("PARLEY_SMTP_HOST is not set"));
        let port = std::env::var("PARLEY_SMTP_PORT").ok().and_then(|p| p.parse().ok());
        (host, port.unwrap_or_else(|| panic!("PARLEY_SMTP_PORT is not set to a port")))
    }

    async fn get(&self, path: &str) -> Value {
        let response = self.http.get(format!("{}{path}", self.api)).send().await.expect("Mailpit answers");
        assert!(response.status().is_success(), "Mailpit answered {} to {path}", response.status());
        response.json().await.expect("Mailpit answers JSON")
    }

    /// Every message to `address` received so far, oldest first.
    pub async fn to(&self, address: &str) -> Vec<Mail> {
        let query = format!("to:\"{address}\"");
        let listing = self.get(&format!("/api/v1/search?query={}", crate::http::percent_encode(&query))).await;
        let listing: Listing = serde_json::from_value(listing).expect("a Mailpit search result");
        let mut mails = Vec::new();
        // Mailpit lists the newest first.
        for summary in listing.messages.iter().rev() {
            mails.push(self.read(&summary.id).await);
        }
        mails.retain(|m| m.to.iter().any(|to| to.eq_ignore_ascii_case(address)));
        mails
    }

    /// The first message to `address`, waiting for it up to [`MAIL_TIMEOUT`].
    pub async fn wait_for(&self, address: &str) -> Mail {
        self.wait_for_count(address, 1).await.remove(0)
    }

    /// Waits until `address` has received `count` messages (failing after [`MAIL_TIMEOUT`]) and
    /// answers them, oldest first.
    pub async fn wait_for_count(&self, address: &str, count: usize) -> Vec<Mail> {
        let what = format!("{count} message(s) to {address}");
        eventually(MAIL_TIMEOUT, &what, || async {
            let mails = self.to(address).await;
            (mails.len() >= count).then_some(mails)
        })
        .await
    }

    /// The first message to `address` that `matches` (other mail to it is skipped), waiting up
    /// to [`MAIL_TIMEOUT`].
    pub async fn wait_for_where(&self, address: &str, matches: impl Fn(&Mail) -> bool) -> Mail {
        eventually(MAIL_TIMEOUT, &format!("a matching message to {address}"), || async {
            self.to(address).await.into_iter().find(|m| matches(m))
        })
        .await
    }

    async fn read(&self, id: &str) -> Mail {
        let full: Full = serde_json::from_value(self.get(&format!("/api/v1/message/{id}")).await).expect("a message");
        let headers = self.get(&format!("/api/v1/message/{id}/headers")).await;
        let headers = headers
            .as_object()
            .map(|all| {
                all.iter()
                    .flat_map(|(name, values)| {
                        let values = values.as_array().cloned().unwrap_or_default();
                        values.into_iter().map(move |v| (name.clone(), v.as_str().unwrap_or_default().to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Mail {
            id: full.id,
            from: (full.from.name, full.from.address),
            to: full.to.into_iter().map(|a| a.address).collect(),
            reply_to: full.reply_to.into_iter().map(|a| a.address).collect(),
            subject: full.subject,
            text: full.text,
            html: full.html,
            headers,
        }
    }
}

/// A Mailpit of the test's own, started on a port chosen beforehand, so a test can point a
/// sender at an SMTP server that is not there yet and start it later.
pub struct PrivateMailpit {
    pub smtp_port: u16,
    http_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateMailpit {
    /// Picks its ports; nothing listens on them until [`PrivateMailpit::start`].
    pub fn reserve() -> Self {
        let dir = std::env::temp_dir().join(format!("parley-mailpit-{}", Uuid::new_v4().simple()));
        Self { smtp_port: closed_port(), http_port: closed_port(), dir, child: None }
    }

    /// Starts Mailpit on the reserved ports and waits until both answer. Needs
    /// `PARLEY_MAILPIT_BIN` (exported by `scripts/test`).
    pub async fn start(&mut self) -> Mailbox {
        let bin = match std::env::var_os("PARLEY_MAILPIT_BIN") {
            Some(bin) if !bin.is_empty() => PathBuf::from(bin),
            _ => panic!("PARLEY_MAILPIT_BIN is not set: run the tests with scripts/test, which builds Mailpit"),
        };
        std::fs::create_dir_all(&self.dir).expect("create the private Mailpit's directory");
        let child = Command::new(bin)
            .args(["--smtp", &format!("127.0.0.1:{}", self.smtp_port)])
            .args(["--listen", &format!("127.0.0.1:{}", self.http_port)])
            .args(["--database", &self.dir.join("mailpit.db").to_string_lossy()])
            .args(["--max", "0", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Mailpit");
        self.child = Some(child);
        for port in [self.smtp_port, self.http_port] {
            eventually(Duration::from_secs(20), "the private Mailpit to listen", || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(drop)
            })
            .await;
        }
        Mailbox::at(format!("http://127.0.0.1:{}", self.http_port))
    }
}

impl Drop for PrivateMailpit {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
