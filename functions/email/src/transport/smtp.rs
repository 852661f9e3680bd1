//! SMTP through lettre, with a small connection pool.

use async_trait::async_trait;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox as LettreMailbox, MultiPart},
    transport::smtp::authentication::Credentials,
};
use secrecy::ExposeSecret;

use super::{SendError, Transport};
use crate::{
    config::{SmtpConfig, SmtpTls},
    message::{Email, Mailbox},
};

pub struct SmtpTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Self> {
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        Ok(Self { mailer: builder.build() })
    }
}

fn mailbox(mailbox: &Mailbox) -> Result<LettreMailbox, SendError> {
    let address =
        mailbox.address.as_str().parse().map_err(|_| SendError::Permanent("an address SMTP refuses".into()))?;
    Ok(LettreMailbox::new(Some(mailbox.name.clone()), address))
}

/// The email as a MIME message: multipart/alternative, plain text first.
fn message(email: &Email) -> Result<Message, SendError> {
    let mut builder = Message::builder().from(mailbox(&email.from)?).to(mailbox(&email.to)?).subject(&email.subject);
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(mailbox(&Mailbox::new("", reply_to.clone()))?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
        .map_err(|err| SendError::Permanent(format!("the message could not be built: {err}")))
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn send(&self, email: &Email) -> Result<String, SendError> {
        let message = message(email)?;
        match self.mailer.send(message).await {
            Ok(response) => Ok(response.message().next().unwrap_or_default().to_owned()),
            // 5xx: the relay refuses this message for good. Anything else (4xx, no connection,
            // a timeout, a TLS failure) may pass later.
            Err(err) if err.is_permanent() => Err(SendError::Permanent(format!("the SMTP relay refused: {err}"))),
            Err(err) => Err(SendError::Transient(format!("SMTP: {err}"))),
        }
    }
}
