//! `auth {token, v}`: the first frame, and later ones that extend the connection.
//!
//! A visitor's chatroom token follows that one chatroom; an agent's access token follows the
//! tenant's queue, the agent's own notices and the chatrooms they hold, and a moderator's the
//! tenant's open chatrooms too. A later `auth` must name
//! the same visitor or agent and extends the connection to the new token's expiry (an agent's
//! permissions are read again then).

use std::time::Duration;

use shared::{
    auth::{AccessClaims, ChatroomClaims, TokenError},
    domain::{Permission, Timestamp, UserStatus},
};
use tokio::time::Instant;

use crate::{
    chat::{self, Actor, AgentActor, ChatError},
    notice::Route,
    protocol::{self, ChatroomView, Code, Role, ServerFrame},
    session::Session,
};

pub async fn run(session: &mut Session, token: &str, version: Option<u32>) -> Result<(), ChatError> {
    if version.is_some_and(|v| v != protocol::VERSION) {
        let message = format!("this server speaks version {}", protocol::VERSION);
        return Err(ChatError::new(Code::UnsupportedVersion, message));
    }
    let expired = || ChatError::new(Code::TokenExpired, "the token has expired");
    match session.state.chatroom_tokens.verify(token) {
        Ok(claims) => visitor(session, claims).await,
        Err(TokenError::Expired) => Err(expired()),
        Err(TokenError::Invalid) => match session.state.agent_tokens.verify(token) {
            Ok(claims) => agent(session, claims).await,
            Err(TokenError::Expired) => Err(expired()),
            Err(TokenError::Invalid) => Err(ChatError::new(Code::TokenInvalid, "the token is not valid")),
        },
    }
}

fn expiry(exp: i64) -> Instant {
    let left = exp - Timestamp::now().unix_millis() / 1000;
    Instant::now()
        + Duration::from_secs(u64::try_from(left).unwrap_or(0))
        + Duration::from_secs(shared::auth::LEEWAY_SECS)
}

fn another_identity() -> ChatError {
    ChatError::new(Code::TokenInvalid, "a connection keeps the identity it authenticated with")
}

fn no_chatroom() -> ChatError {
    ChatError::new(Code::TokenInvalid, "the token's chatroom does not exist")
}

async fn visitor(session: &mut Session, claims: ChatroomClaims) -> Result<(), ChatError> {
    let (tenant, chatroom) = (claims.tid, claims.sub);
    if let Some(actor) = &session.actor {
        let Actor::Visitor { chatroom: current, .. } = actor else { return Err(another_identity()) };
        if *current != chatroom {
            return Err(another_identity());
        }
        // A fresh token of the same visitor: the connection lives on, and says so.
        let room = session.state.chat.repos.chatrooms.get(&tenant, &chatroom).await?.ok_or_else(no_chatroom)?;
        session.token_expires = Some(expiry(claims.exp));
        let chatrooms = vec![ChatroomView::from(&room)];
        session.emit(&ServerFrame::Ready { v: protocol::VERSION, role: Role::Visitor, chatrooms }).await;
        return Ok(());
    }
    // Subscribed before the read, so nothing published in between is missed.
    session.subscribe(Route::Chatroom(chatroom)).await;
    let Some(room) = session.state.chat.repos.chatrooms.get(&tenant, &chatroom).await? else {
        session.state.hub.unsubscribe(Route::Chatroom(chatroom), session.id);
        return Err(no_chatroom());
    };
    session.subscribe(Route::Visitors(tenant)).await;
    session.actor = Some(Actor::Visitor { tenant, chatroom, name: room.name.as_str().to_owned() });
    session.token_expires = Some(expiry(claims.exp));
    session.follow(chatroom, room.last_seq).await;
    session.state.metrics.unauthenticated_connections.dec();
    session.state.metrics.visitor_connections.inc();
    let room =
        if room.status.is_open() { chat::visitor_arrived(&session.state.chat, &room, session.id).await? } else { room };
    let chatrooms = vec![ChatroomView::from(&room)];
    session.emit(&ServerFrame::Ready { v: protocol::VERSION, role: Role::Visitor, chatrooms }).await;
    if let Some(place) = crate::waiting::position_of(&session.state.chat, &room).await? {
        session.emit(&place).await;
    }
    Ok(())
}

async fn agent(session: &mut Session, claims: AccessClaims) -> Result<(), ChatError> {
    let refreshing = match &session.actor {
        None => false,
        Some(Actor::Agent(agent)) if agent.id == claims.sub => true,
        Some(_) => return Err(another_identity()),
    };
    if !claims.perms.contains(&Permission::ChatroomsJoin) {
        return Err(ChatError::new(Code::PermissionDenied, "this needs the chatrooms:join permission"));
    }
    let repos = session.state.chat.repos.clone();
    let user = repos.users.get(&claims.tid, &claims.sub).await?;
    let Some(user) = user.filter(|u| u.status == UserStatus::Active) else {
        return Err(ChatError::new(Code::PermissionDenied, "the account is not an active agent"));
    };
    let agent = AgentActor {
        tenant: claims.tid,
        id: user.id,
        name: user.name.as_str().to_owned(),
        email: user.email.clone(),
        permissions: claims.perms.clone(),
        max_concurrent: user.assigning.max_concurrent,
    };
    let (tenant, agent_id) = (agent.tenant, agent.id);
    let moderates = agent.permissions.contains(&Permission::ChatroomsModerate);
    if moderates {
        session.subscribe(Route::Moderators(tenant)).await;
    } else {
        session.state.hub.unsubscribe(Route::Moderators(tenant), session.id);
    }
    if refreshing {
        // A fresh token of the same agent: the connection lives on with what the token and
        // the account say now (permissions changed by an admin take effect here).
        let held = repos.chatrooms.list_for_agent(&tenant, &agent_id).await?;
        session.actor = Some(Actor::Agent(agent));
        session.token_expires = Some(expiry(claims.exp));
        let chatrooms = held.iter().map(ChatroomView::from).collect();
        session.emit(&ServerFrame::Ready { v: protocol::VERSION, role: Role::Agent, chatrooms }).await;
        return Ok(());
    }
    session.subscribe(Route::Tenant(tenant)).await;
    session.subscribe(Route::Agent(agent_id)).await;
    let held = repos.chatrooms.list_for_agent(&tenant, &agent_id).await?;
    for room in &held {
        session.follow(room.id, room.last_seq).await;
    }
    session.actor = Some(Actor::Agent(agent));
    session.token_expires = Some(expiry(claims.exp));
    session.state.metrics.unauthenticated_connections.dec();
    session.state.metrics.agent_connections.inc();
    if let Err(err) = session.state.chat.presence.agent_online(tenant, agent_id, session.id).await {
        tracing::warn!(error = %err, "agent presence not recorded; the next heartbeat records it");
    }
    // Chatrooms held from before seats existed take theirs now, so the limit counts them.
    let capacity = user.assigning.max_concurrent.max(u32::try_from(held.len()).unwrap_or(u32::MAX));
    for room in &held {
        crate::routing::take_seat(&session.state.chat, tenant, agent_id, capacity, room.id).await?;
    }
    chat::agents_changed(&session.state.chat, tenant).await;
    let chatrooms = held.iter().map(ChatroomView::from).collect();
    session.emit(&ServerFrame::Ready { v: protocol::VERSION, role: Role::Agent, chatrooms }).await;
    session.emit(&crate::waiting::queue_frame(&repos, &tenant).await?).await;
    session.emit(&crate::routing::agents_frame(&session.state.chat, tenant).await?).await;
    if moderates {
        session.emit(&crate::waiting::open_frame(&repos, &tenant).await?).await;
    }
    Ok(())
}
