//! Where email leaves Parley: an SMTP relay ([`SmtpTransport`], lettre) when self-hosted, Amazon
//! SES v2 ([`SesTransport`]) in AWS. Both answer whether a failure is worth retrying. In
//! development without services (`scripts/dev --memory`) email does not leave at all: the
//! [`DevMailbox`] prints and keeps it.

pub mod dev_mailbox;
mod ses;
mod smtp;

use async_trait::async_trait;
pub use dev_mailbox::{DevMail, DevMailbox};
pub use ses::SesTransport;
pub use smtp::SmtpTransport;

use crate::{config::TransportConfig, message::Email};

/// Why an email was not sent. Reasons are the relay's or SES's words, never the email's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Might work later: the relay is unreachable or busy, SES throttles, a timeout.
    #[error("{0}")]
    Transient(String),
    /// Will not work however often it is tried: a refused recipient or sender, a bad message.
    #[error("{0}")]
    Permanent(String),
}

#[async_trait]
pub trait Transport: Send + Sync {
    /// Hands the email over; answers the relay's or SES's id for it.
    async fn send(&self, email: &Email) -> Result<String, SendError>;
}

/// The transport `config` names.
pub async fn from_config(config: &TransportConfig) -> anyhow::Result<std::sync::Arc<dyn Transport>> {
    Ok(match config {
        TransportConfig::Smtp(smtp) => std::sync::Arc::new(SmtpTransport::new(smtp)?),
        TransportConfig::Ses(ses) => std::sync::Arc::new(SesTransport::from_environment(ses).await),
    })
}
