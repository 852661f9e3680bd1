//! Amazon SES v2 (`SendEmail` with simple content), through the AWS SDK.

use async_trait::async_trait;
use aws_sdk_sesv2::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    operation::send_email::SendEmailError,
    types::{Body, Content, Destination, EmailContent, Message},
};

use super::{SendError, Transport};
use crate::{config::SesConfig, message::Email};

pub struct SesTransport {
    client: Client,
}

impl SesTransport {
    /// Over the standard AWS configuration chain (region and credentials from the environment, a
    /// profile, or the Lambda's role), with `config.endpoint` in place of SES's when set.
    pub async fn from_environment(config: &SesConfig) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Self::new(Client::new(&loader.load().await))
    }

    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn content(data: &str) -> Result<Content, SendError> {
    Content::builder().data(data).charset("UTF-8").build().map_err(|e| SendError::Permanent(e.to_string()))
}

/// `Name <address>`, the name quoted so that commas and the like stay inside it.
fn mailbox(name: &str, address: &str) -> String {
    let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{quoted}\" <{address}>")
}

#[async_trait]
impl Transport for SesTransport {
    async fn send(&self, email: &Email) -> Result<String, SendError> {
        let body = Body::builder().text(content(&email.text)?).html(content(&email.html)?).build();
        let message = Message::builder().subject(content(&email.subject)?).body(body).build();
        let to = mailbox(&email.to.name, email.to.address.as_str());
        let mut request = self
            .client
            .send_email()
            .from_email_address(mailbox(&email.from.name, email.from.address.as_str()))
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build());
        if let Some(reply_to) = &email.reply_to {
            request = request.reply_to_addresses(reply_to.as_str());
        }
        match request.send().await {
            Ok(output) => Ok(output.message_id().unwrap_or_default().to_owned()),
            Err(err) => Err(classify(err)),
        }
    }
}

/// SES's refusals of this message or account are permanent; throttling, its own failures and
/// network trouble are not.
fn classify(err: SdkError<SendEmailError>) -> SendError {
    match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let words = format!("SES: {}: {}", inner.code().unwrap_or("error"), inner.message().unwrap_or_default());
            let throttled = inner.is_too_many_requests_exception() || inner.is_limit_exceeded_exception();
            if throttled || service.raw().status().is_server_error() {
                SendError::Transient(words)
            } else {
                SendError::Permanent(words)
            }
        }
        _ => SendError::Transient(format!("SES could not be reached: {}", shared_error_chain(&err))),
    }
}

fn shared_error_chain(err: &dyn std::error::Error) -> String {
    let mut words = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    words
}
