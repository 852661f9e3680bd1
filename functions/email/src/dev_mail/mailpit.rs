//! The emails a local Mailpit received, read through its API (`/api/v1/messages`,
//! `/api/v1/message/{id}`), for `scripts/dev` on the real services: the email function sends over
//! SMTP to Mailpit, and the page shows what arrived.

use async_trait::async_trait;
use serde::Deserialize;
use shared::domain::Timestamp;

use super::Letters;
use crate::transport::DevMail;

/// How many of the newest emails the page shows.
const SHOWN: usize = 50;

pub struct MailpitLetters {
    api: String,
    http: reqwest::Client,
}

impl MailpitLetters {
    /// Mailpit's web address (`http://127.0.0.1:8025`).
    pub fn new(api: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("a plain HTTP client builds");
        Self { api: api.into().trim_end_matches('/').to_owned(), http }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, String> {
        let response = self
            .http
            .get(format!("{}{path}", self.api))
            .send()
            .await
            .map_err(|_| "the local Mailpit does not answer".to_owned())?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(format!("the local Mailpit answered {}", response.status()));
        }
        response.json().await.map(Some).map_err(|_| "the local Mailpit answered something unexpected".to_owned())
    }
}

#[derive(Deserialize)]
struct Listing {
    messages: Vec<Summary>,
}

#[derive(Deserialize)]
struct Summary {
    #[serde(rename = "ID")]
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Message {
    #[serde(rename = "ID")]
    id: String,
    from: Option<Address>,
    #[serde(default)]
    to: Vec<Address>,
    #[serde(default)]
    reply_to: Vec<Address>,
    subject: String,
    #[serde(default)]
    date: Option<Timestamp>,
    text: String,
    #[serde(rename = "HTML")]
    html: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Address {
    name: String,
    address: String,
}

impl Address {
    fn shown(&self) -> String {
        if self.name.is_empty() { self.address.clone() } else { format!("{} <{}>", self.name, self.address) }
    }
}

impl From<Message> for DevMail {
    fn from(message: Message) -> Self {
        let list = |addresses: &[Address]| addresses.iter().map(Address::shown).collect::<Vec<_>>().join(", ");
        Self {
            id: message.id,
            // Mailpit knows no kind; the subject says what the email is.
            kind: String::new(),
            from: message.from.as_ref().map(Address::shown).unwrap_or_default(),
            to: list(&message.to),
            reply_to: Some(list(&message.reply_to)).filter(|r| !r.is_empty()),
            subject: message.subject,
            text: message.text,
            html: message.html,
            sent_at: message.date.unwrap_or_else(Timestamp::now),
        }
    }
}

#[async_trait]
impl Letters for MailpitLetters {
    async fn newest(&self) -> Result<Vec<DevMail>, String> {
        let listing: Listing =
            self.get(&format!("/api/v1/messages?limit={SHOWN}")).await?.unwrap_or(Listing { messages: Vec::new() });
        let mut mails = Vec::new();
        for summary in listing.messages {
            if let Some(mail) = self.one(&summary.id).await? {
                mails.push(mail);
            }
        }
        Ok(mails)
    }

    async fn one(&self, id: &str) -> Result<Option<DevMail>, String> {
        // Mailpit's ids are base62; anything else is no id of its.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        Ok(self.get::<Message>(&format!("/api/v1/message/{id}")).await?.map(DevMail::from))
    }

    fn note(&self) -> String {
        format!("the newest {SHOWN}, from the local Mailpit · nothing here left this machine")
    }
}
