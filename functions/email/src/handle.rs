//! The one core both adapters call: an event in, its emails sent once each.
//!
//! For every email the event asks for ([`compose`]): claim it in the sent-log, send it with
//! retries and backoff, record the outcome. An email that cannot be sent (a permanent refusal,
//! or retries exhausted) goes to the `emails.dlq` topic with its reason and the whole event,
//! from which it can be sent again: nothing is dropped silently. `handle` answers an error only
//! when the event should be delivered again later (MongoDB or the dead-letter topic failed,
//! another worker is sending one of its emails right now); a redelivery skips what was done.

use shared::{
    domain::EmailAddress,
    events::{EmailDeadLettered, Envelope, Event, OutgoingEvent, PublishError},
    repos::RepoError,
};

use crate::{
    compose::{ComposeError, Composed, compose},
    message::{Email, EmailKind},
    sent_log::{Claim, Key},
    state::AppState,
    transport::SendError,
};

/// What became of one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        attempts: u32,
    },
    /// An earlier delivery of the event sent it.
    AlreadySent,
    /// On the dead-letter topic with this reason (now or by an earlier delivery).
    DeadLettered {
        reason: String,
    },
}

/// What `handle` did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The event asks for no email, and why.
    Ignored(&'static str),
    /// Each email the event asked for: its kind, recipient and fate.
    Emails(Vec<(EmailKind, EmailAddress, Delivery)>),
    /// The event's data was unusable; the event went to the dead-letter topic.
    Malformed { reason: String },
}

impl Outcome {
    /// How many emails went out during this call.
    pub fn sent(&self) -> usize {
        match self {
            Self::Emails(emails) => emails.iter().filter(|(_, _, d)| matches!(d, Delivery::Sent { .. })).count(),
            _ => 0,
        }
    }
}

/// Why the event must be delivered again later.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Storage(#[from] RepoError),
    #[error("the dead-letter topic did not take the email: {0}")]
    DeadLetter(#[from] PublishError),
    #[error("another worker is sending an email of this event")]
    Busy,
}

/// Sends the emails `envelope` asks for, each at most once across deliveries of the event.
#[tracing::instrument(skip_all, fields(event_id = %envelope.id, event_type = %envelope.event_type, tenant_id = %envelope.tenant_id))]
pub async fn handle(state: &AppState, envelope: &Envelope) -> Result<Outcome, HandleError> {
    let emails = match compose(state, envelope).await {
        Ok(Composed::Emails(emails)) => emails,
        Ok(Composed::Nothing(why)) => return Ok(Outcome::Ignored(why)),
        Err(err @ ComposeError::Malformed(_)) => return malformed(state, envelope, err.to_string()).await,
        Err(ComposeError::Repo(err)) => return Err(err.into()),
    };
    let mut outcome = Vec::with_capacity(emails.len());
    for email in emails {
        let delivery = deliver(state, envelope, &email).await?;
        outcome.push((email.kind, email.to.address.clone(), delivery));
    }
    Ok(Outcome::Emails(outcome))
}

async fn deliver(state: &AppState, envelope: &Envelope, email: &Email) -> Result<Delivery, HandleError> {
    let key = Key::new(envelope.id, email.to.address.as_str());
    match state.sent_log.claim(&key, envelope, Some(email.kind)).await? {
        Claim::Mine => {}
        Claim::Busy => return Err(HandleError::Busy),
        Claim::Sent => return Ok(Delivery::AlreadySent),
        Claim::DeadLettered => {
            let reason = state.sent_log.get(&key).await?.and_then(|r| r.last_error).unwrap_or_default();
            return Ok(Delivery::DeadLettered { reason });
        }
        Claim::Failed { reason, attempts } => return give_up(state, envelope, email, &key, &reason, attempts).await,
    }
    let mut attempt = 0;
    let reason = loop {
        attempt += 1;
        match state.transport.send(email).await {
            Ok(transport_id) => {
                state.sent_log.sent(&key, attempt, &transport_id).await?;
                tracing::info!(kind = %email.kind, attempts = attempt, "email sent");
                return Ok(Delivery::Sent { attempts: attempt });
            }
            Err(SendError::Permanent(reason)) => break reason,
            Err(SendError::Transient(reason)) if attempt >= state.retry.attempts => {
                break format!("gave up after {attempt} attempts: {reason}");
            }
            Err(SendError::Transient(reason)) => {
                let pause = state.retry.delay_after(attempt);
                tracing::warn!(kind = %email.kind, attempt, retry_in_ms = pause.as_millis() as u64, error = %reason, "email not sent; retrying");
                state.sent_log.attempt_failed(&key, attempt, &reason).await?;
                tokio::time::sleep(pause).await;
            }
        }
    };
    state.sent_log.failed(&key, attempt, &reason).await?;
    give_up(state, envelope, email, &key, &reason, attempt).await
}

/// An event whose data is unusable goes to the dead-letter topic once, like an email given up
/// on (its sent-log record has no recipient).
async fn malformed(state: &AppState, envelope: &Envelope, reason: String) -> Result<Outcome, HandleError> {
    let key = Key::new(envelope.id, "");
    match state.sent_log.claim(&key, envelope, None).await? {
        Claim::Mine | Claim::Failed { .. } => {
            tracing::error!(%reason, "event not usable; sent to the dead-letter topic");
            state.sent_log.failed(&key, 0, &reason).await?;
            dead_letter(state, envelope, None, &reason, 0).await?;
            state.sent_log.dead_lettered(&key).await?;
        }
        Claim::Busy => return Err(HandleError::Busy),
        Claim::Sent | Claim::DeadLettered => {}
    }
    Ok(Outcome::Malformed { reason })
}

/// Puts the email on the dead-letter topic and records that it is there.
async fn give_up(
    state: &AppState,
    envelope: &Envelope,
    email: &Email,
    key: &Key,
    reason: &str,
    attempts: u32,
) -> Result<Delivery, HandleError> {
    tracing::error!(kind = %email.kind, attempts, %reason, "email not sent; sent to the dead-letter topic");
    dead_letter(state, envelope, Some(email), reason, attempts).await?;
    state.sent_log.dead_lettered(key).await?;
    Ok(Delivery::DeadLettered { reason: reason.to_owned() })
}

/// One `email.dead_lettered` event, keyed by the original event's id, carrying that event whole
/// (it may hold a set-password token: `emails.dlq` is as private as `tenants`).
async fn dead_letter(
    state: &AppState,
    envelope: &Envelope,
    email: Option<&Email>,
    reason: &str,
    attempts: u32,
) -> Result<(), PublishError> {
    let data = EmailDeadLettered {
        event_id: envelope.id,
        event_type: envelope.event_type.clone(),
        kind: email.map(|e| e.kind.as_str().to_owned()),
        recipient: email.map(|e| e.to.address.clone()),
        reason: reason.to_owned(),
        attempts,
        event: envelope.clone(),
    };
    let event = OutgoingEvent::new(envelope.tenant_id, Event::EmailDeadLettered(data));
    state.dead_letters.publish(&event).await
}
