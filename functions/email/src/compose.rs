//! Which emails an event asks for, and what they say.
//!
//! Each builder reads what it needs beyond the event from MongoDB (the tenant's sender name, the
//! chatroom and its messages, the agents to alert) and writes both parts: plain text, and HTML in
//! which everything a visitor or agent typed is escaped ([`escape_html`]). Links start with the
//! configured public address; set-password tokens travel in the link's fragment (`#token=...`),
//! which browsers never send to a server.

use shared::{
    domain::{ChatroomStatus, Permission, SenderKind, TenantId, Timestamp, UserStatus},
    events::{
        ChatroomCreated, ChatroomEnded, ChatroomUnclaimed, Envelope, Event, EventError, EventKind,
        PasswordResetRequested, UserInvited,
    },
    repos::RepoError,
};

use crate::{
    message::{Email, EmailKind, Mailbox, escape_html, escape_lines, plain},
    state::AppState,
};

/// The display name of mail that is not on a tenant's behalf (account emails).
pub const PARLEY: &str = "Parley";

/// The most messages a transcript lists; longer conversations end with a note.
pub const TRANSCRIPT_LIMIT: u32 = 2_000;

/// What an event asks for.
#[derive(Debug)]
pub enum Composed {
    Emails(Vec<Email>),
    /// No email: why (a kind of event that sends none, a chatroom claimed before the alert, ...).
    Nothing(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The event's data is not what its type promises ([`EventError::Malformed`]): it can
    /// never be sent.
    #[error(transparent)]
    Malformed(EventError),
    /// MongoDB failed; the event is retried.
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// The emails `envelope` asks for. A kind of event this build does not know (a newer producer)
/// asks for none; data that does not fit its type is [`ComposeError::Malformed`].
pub async fn compose(state: &AppState, envelope: &Envelope) -> Result<Composed, ComposeError> {
    let event = match envelope.event() {
        Ok(event) => event,
        Err(EventError::Unknown(event_type)) => {
            tracing::warn!(%event_type, "skipping an event of a kind this build does not know");
            return Ok(Composed::Nothing("this kind of event is unknown here"));
        }
        Err(EventError::Malformed { kind, .. }) if !sends_email(kind) => {
            return Ok(Composed::Nothing("this kind of event sends no email"));
        }
        Err(err @ EventError::Malformed { .. }) => return Err(ComposeError::Malformed(err)),
    };
    match event {
        Event::ChatroomCreated(event) => welcome(state, envelope, event).await,
        Event::ChatroomUnclaimed(event) => unclaimed_alert(state, envelope, event).await,
        Event::ChatroomClosed(event) | Event::ChatroomMarkedStale(event) => transcript(state, envelope, event).await,
        Event::PasswordResetRequested(event) => password_reset(state, event),
        Event::UserInvited(event) => invitation(state, envelope, event).await,
        _ => Ok(Composed::Nothing("this kind of event sends no email")),
    }
}

/// The kinds of event [`compose`] writes emails for: only their unusable data is worth a dead
/// letter.
fn sends_email(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::ChatroomCreated
            | EventKind::ChatroomUnclaimed
            | EventKind::ChatroomClosed
            | EventKind::ChatroomMarkedStale
            | EventKind::PasswordResetRequested
            | EventKind::UserInvited
    )
}

/// The tenant's sender name, or Parley's when the tenant is gone.
async fn sender(state: &AppState, tenant: &TenantId) -> Result<Mailbox, ComposeError> {
    let name = state.repos.tenants.get(tenant).await?.map(|t| t.sender_name().as_str().to_owned());
    Ok(Mailbox::new(name.as_deref().unwrap_or(PARLEY), state.mail.from.clone()))
}

fn email(
    state: &AppState,
    kind: EmailKind,
    from: Mailbox,
    to: Mailbox,
    subject: &str,
    text: String,
    html: String,
) -> Email {
    Email { reply_to: state.mail.reply_to.clone(), ..Email::new(kind, from, to, subject, plain(&text), html) }
}

/// A whole HTML document around `body` (already escaped), with `heading` (raw text).
fn layout(heading: &str, body: &str, footer: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title></head>\n\
         <body style=\"margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,sans-serif;color:#1f2937\">\n\
         <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px\">\n\
         <h1 style=\"font-size:20px;margin:0 0 16px\">{title}</h1>\n{body}\n\
         <p style=\"color:#6b7280;font-size:12px;margin-top:24px\">{footer}</p>\n</div>\n</body></html>\n",
        title = escape_html(heading),
        footer = escape_html(footer),
    )
}

fn paragraph(html: &str) -> String {
    format!("<p style=\"line-height:1.5\">{html}</p>\n")
}

fn button(href: &str, label: &str) -> String {
    format!(
        "<p><a href=\"{href}\" style=\"display:inline-block;background:#2563eb;color:#ffffff;padding:10px 18px;\
         border-radius:6px;text-decoration:none\">{label}</a></p>\n<p style=\"font-size:12px;color:#6b7280\">\
         Or open this address: {href}</p>\n",
        href = escape_html(href),
        label = escape_html(label),
    )
}

/// `2026-11-25 10:15 UTC`.
fn when(at: Timestamp) -> String {
    let t = at.as_offset_date_time();
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// A wait in words: `45 s`, `7 min`, `2 h 5 min`.
fn how_long(millis: i64) -> String {
    let seconds = millis.max(0) / 1000;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

// --- welcome -------------------------------------------------------------------------------------

async fn welcome(state: &AppState, envelope: &Envelope, event: ChatroomCreated) -> Result<Composed, ComposeError> {
    let from = sender(state, &envelope.tenant_id).await?;
    let company = from.name.clone();
    let subject = format!("Thanks for contacting {company}");
    let text = format!(
        "Hi {name},\n\nThanks for reaching out to {company}. A live agent will join your chat shortly: keep the \
         chat window open to talk with them. If the connection drops, reopen the chat soon and the \
         conversation picks up where it left off.\n\n{company}\n",
        name = event.name.as_str(),
    );
    let body = paragraph(&format!("Hi {},", escape_html(event.name.as_str())))
        + &paragraph(&format!(
            "Thanks for reaching out to {}. A live agent will join your chat shortly: keep the chat window open \
             to talk with them. If the connection drops, reopen the chat soon and the conversation picks up \
             where it left off.",
            escape_html(&company)
        ));
    let html = layout(&subject, &body, &format!("Sent by {company} because you started a chat."));
    let to = Mailbox::new(event.name.as_str(), event.email);
    Ok(Composed::Emails(vec![email(state, EmailKind::Welcome, from, to, &subject, text, html)]))
}

// --- unclaimed-chatroom alert --------------------------------------------------------------------

async fn unclaimed_alert(
    state: &AppState,
    envelope: &Envelope,
    event: ChatroomUnclaimed,
) -> Result<Composed, ComposeError> {
    let tenant = envelope.tenant_id;
    let Some(room) = state.repos.chatrooms.get(&tenant, &event.chatroom_id).await? else {
        return Ok(Composed::Nothing("the chatroom no longer exists"));
    };
    if room.status != ChatroomStatus::Waiting {
        return Ok(Composed::Nothing("an agent joined the chatroom before the alert went out"));
    }
    let roles = state.repos.roles.list(&tenant).await?;
    let mut agents = Vec::new();
    for user in state.repos.users.list(&tenant).await? {
        let takes_chats = user.status == UserStatus::Active
            && user.password_hash.is_some()
            && user.assigning.enabled
            && user.permissions(&roles).contains(&Permission::ChatroomsJoin);
        if takes_chats
            && state.repos.chatrooms.count_for_agent(&tenant, &user.id).await?
                < u64::from(user.assigning.max_concurrent)
        {
            agents.push(user);
        }
    }
    if agents.is_empty() {
        return Ok(Composed::Nothing("no agent of the tenant can take the chatroom"));
    }
    let chatbot = state.repos.chatbots.get(&tenant, &room.chatbot_id).await?;
    let chatbot = chatbot.map(|c| c.name.as_str().to_owned()).unwrap_or_else(|| "a deleted chatbot".into());
    let waited = how_long(envelope.occurred_at.unix_millis() - event.waiting_since.unix_millis());
    let link = state.mail.public_url.join(&format!("/console/chatrooms/{}", room.id));
    let from = Mailbox::new(PARLEY, state.mail.from.clone());
    let subject = format!("{} has waited {waited} for an agent", room.name.as_str());
    let emails = agents
        .into_iter()
        .map(|agent| {
            let text = format!(
                "Hi {agent},\n\n{visitor} <{visitor_email}> has been waiting {waited} for an agent on {chatbot}, \
                 since {since}, and nobody has joined yet.\n\nJoin the chat: {link}\n",
                agent = agent.name.as_str(),
                visitor = room.name.as_str(),
                visitor_email = room.email,
                since = when(event.waiting_since),
            );
            let body = paragraph(&format!("Hi {},", escape_html(agent.name.as_str())))
                + &paragraph(&format!(
                    "<strong>{visitor}</strong> &lt;{visitor_email}&gt; has been waiting {waited} for an agent \
                     on {chatbot}, since {since}, and nobody has joined yet.",
                    visitor = escape_html(room.name.as_str()),
                    visitor_email = escape_html(room.email.as_str()),
                    chatbot = escape_html(&chatbot),
                    since = when(event.waiting_since),
                ))
                + &button(&link, "Join the chat");
            let html = layout(&subject, &body, "Sent by Parley because you take chats and this one is unclaimed.");
            let to = Mailbox::new(agent.name.as_str(), agent.email.clone());
            email(state, EmailKind::UnclaimedAlert, from.clone(), to, &subject, text, html)
        })
        .collect();
    Ok(Composed::Emails(emails))
}

// --- transcript ----------------------------------------------------------------------------------

async fn transcript(state: &AppState, envelope: &Envelope, event: ChatroomEnded) -> Result<Composed, ComposeError> {
    if !event.transcript_requested {
        return Ok(Composed::Nothing("the visitor did not ask for a transcript"));
    }
    let tenant = envelope.tenant_id;
    let Some(room) = state.repos.chatrooms.get(&tenant, &event.chatroom_id).await? else {
        return Ok(Composed::Nothing("the chatroom no longer exists"));
    };
    let messages = state.repos.messages.list_after(&tenant, &room.id, 0, TRANSCRIPT_LIMIT).await?;
    let from = sender(state, &tenant).await?;
    let company = from.name.clone();
    let subject = format!("Your conversation with {company}");
    let mut text = format!(
        "Hi {name},\n\nHere is your conversation with {company}, which started on {started}.\n\n",
        name = room.name.as_str(),
        started = when(room.created_at),
    );
    let mut rows = String::new();
    for message in &messages {
        let who = match message.sender.kind {
            SenderKind::Visitor => "You".to_owned(),
            _ => message.sender.name.clone(),
        };
        let at = when(message.sent_at);
        text.push_str(&format!("[{at}] {who}: {}\n", message.message));
        let colour = if message.sender.kind == SenderKind::System { "#6b7280" } else { "#1f2937" };
        rows.push_str(&format!(
            "<tr><td style=\"vertical-align:top;padding:6px 8px 6px 0;white-space:nowrap;color:#6b7280;font-size:12px\">\
             {at}</td><td style=\"vertical-align:top;padding:6px 0;color:{colour}\"><strong>{who}</strong><br>{text}</td></tr>\n",
            at = escape_html(&at),
            who = escape_html(&who),
            text = escape_lines(&message.message),
        ));
    }
    if messages.len() as u32 == TRANSCRIPT_LIMIT {
        text.push_str(&format!("\n(The transcript shows the first {TRANSCRIPT_LIMIT} messages.)\n"));
    }
    text.push_str(&format!("\n{company}\n"));
    let body = paragraph(&format!("Hi {},", escape_html(room.name.as_str())))
        + &paragraph(&format!(
            "Here is your conversation with {}, which started on {}.",
            escape_html(&company),
            when(room.created_at)
        ))
        + &format!("<table style=\"border-collapse:collapse;width:100%\">\n{rows}</table>\n");
    let html = layout(&subject, &body, &format!("Sent by {company} because you asked for a transcript of your chat."));
    let to = Mailbox::new(room.name.as_str(), room.email.clone());
    Ok(Composed::Emails(vec![email(state, EmailKind::Transcript, from, to, &subject, text, html)]))
}

// --- account emails ------------------------------------------------------------------------------

fn set_password_link(state: &AppState, page: &str, token: &str) -> String {
    state.mail.public_url.join(&format!("/console/{page}#token={}", shared::http::percent_encode(token)))
}

fn password_reset(state: &AppState, event: PasswordResetRequested) -> Result<Composed, ComposeError> {
    let link = set_password_link(state, "reset-password", &event.token);
    let subject = "Reset your Parley password";
    let until = when(event.expires_at);
    let text = format!(
        "Hi {name},\n\nSomeone (we hope you) asked to reset the password of your Parley account. Choose a new \
         password here, until {until}:\n\n{link}\n\nIf it was not you, ignore this email: your password stays as \
         it is.\n",
        name = event.name.as_str(),
    );
    let body = paragraph(&format!("Hi {},", escape_html(event.name.as_str())))
        + &paragraph(&format!(
            "Someone (we hope you) asked to reset the password of your Parley account. Choose a new password \
             here, until {until}:"
        ))
        + &button(&link, "Choose a new password")
        + &paragraph("If it was not you, ignore this email: your password stays as it is.");
    let html = layout(subject, &body, "Sent by Parley because a password reset was asked for.");
    let from = Mailbox::new(PARLEY, state.mail.from.clone());
    let to = Mailbox::new(event.name.as_str(), event.email);
    Ok(Composed::Emails(vec![email(state, EmailKind::PasswordReset, from, to, subject, text, html)]))
}

async fn invitation(state: &AppState, envelope: &Envelope, event: UserInvited) -> Result<Composed, ComposeError> {
    let tenant = state.repos.tenants.get(&envelope.tenant_id).await?;
    let team = tenant.map(|t| t.name.as_str().to_owned()).unwrap_or_else(|| "a team".into());
    let inviter = state.repos.users.get(&envelope.tenant_id, &event.invited_by).await?;
    let inviter = inviter.map(|u| u.name.as_str().to_owned());
    let inviter = inviter.unwrap_or_else(|| "An administrator".into());
    let link = set_password_link(state, "accept-invitation", &event.token);
    let subject = format!("{inviter} invited you to {team} on Parley");
    let until = when(event.expires_at);
    let text = format!(
        "Hi {name},\n\n{inviter} invited you to answer {team}'s visitors on Parley. Choose your password to \
         sign in, until {until}:\n\n{link}\n",
        name = event.name.as_str(),
    );
    let body = paragraph(&format!("Hi {},", escape_html(event.name.as_str())))
        + &paragraph(&format!(
            "{} invited you to answer {}'s visitors on Parley. Choose your password to sign in, until {until}:",
            escape_html(&inviter),
            escape_html(&team)
        ))
        + &button(&link, "Accept the invitation");
    let html = layout(&subject, &body, "Sent by Parley because someone invited this address.");
    let from = Mailbox::new(PARLEY, state.mail.from.clone());
    let to = Mailbox::new(event.name.as_str(), event.email);
    Ok(Composed::Emails(vec![email(state, EmailKind::Invitation, from, to, &subject, text, html)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_their_largest_units() {
        assert_eq!(
            [how_long(-5), how_long(45_900), how_long(7 * 60_000 + 59_000), how_long(7_500_000)],
            ["0 s", "45 s", "7 min", "2 h 5 min"]
        );
    }

    #[test]
    fn times_read_as_utc_minutes() {
        assert_eq!(when(Timestamp::from_unix_millis(1_795_600_800_000)), "2026-11-25 10:00 UTC");
    }

    #[test]
    fn the_layout_escapes_its_heading_and_footer() {
        let html = layout("<b>Hi</b>", "<p>body</p>", "a & b");
        assert!(html.contains("<h1 style=\"font-size:20px;margin:0 0 16px\">&lt;b&gt;Hi&lt;/b&gt;</h1>"), "{html}");
        assert!(html.contains("a &amp; b") && html.contains("<p>body</p>"));
    }
}
