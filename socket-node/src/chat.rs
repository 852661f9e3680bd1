//! What happens in a chatroom, whatever the transport: opening one, sending, joining, leaving,
//! closing, marking, standby and resume. Each operation stores first (the repositories are the
//! source of truth), then tells the connections (a notice through the [broker](crate::broker)),
//! then queues its event for Kafka.
//!
//! Operations take a [`ChatService`]: the few handles chat needs, not the node's whole state.
//!
//! Status changes are conditional updates on the chatroom's current status (and holder), so two
//! nodes racing to change the same chatroom end with one winner and a clear error for the other.

use std::sync::Arc;

use shared::{
    auth::VisitorIdentity,
    domain::{
        AgentChange, AssignedAgent, Availability, Block, Chatbot, Chatroom, ChatroomId, ChatroomStatus, ClientMsgId,
        CloseReason, EmailAddress, Message, Name, Permission, Sender, SenderKind, TenantId, Timestamp, Transition,
        UserId, UserPatch, UserStatus, VisitorInfo,
    },
    events::{self, Event, EventQueue, OutgoingEvent},
    repos::{Inserted, RepoError, Repos},
};

use crate::{
    broker::Publisher,
    config::{Limits, Timing},
    message_writer::MessageWriter,
    metrics::Metrics,
    notice::{ConnId, Notice, NoticeKind, Origin, Route},
    presence::Presence,
    protocol::{ChatroomView, Code, MessageView, ServerFrame},
    recent::RecentMessages,
    routing::{self, RouteRequests},
    seqs::{LastSeqs, Seqs},
    waiting::Estimates,
};

/// What chat operations reach: the repositories, the event queue, the broker, presence, the
/// limits and timers, and the metrics. Cheap to clone.
#[derive(Clone)]
pub struct ChatService {
    pub repos: Repos,
    pub events: EventQueue,
    pub notices: Publisher,
    pub presence: Arc<dyn Presence>,
    /// Each chatroom's message numbers ([`crate::seqs`]).
    pub seqs: Arc<dyn Seqs>,
    /// The chatrooms' `lastSeq`, written behind their messages.
    pub last_seqs: Arc<LastSeqs>,
    /// Where messages are stored, grouped ([`crate::message_writer`]).
    pub messages: MessageWriter,
    /// Each chatroom's recent messages, for replays (with Redis; [`crate::recent`]).
    pub recent: Option<Arc<RecentMessages>>,
    pub limits: Limits,
    pub timing: Timing,
    pub metrics: Arc<Metrics>,
    /// This node's router ([`crate::routing`]).
    pub routing: RouteRequests,
    /// How long the tenants' visitors usually wait ([`crate::waiting`]).
    pub estimates: Arc<Estimates>,
}

/// Why an operation was refused: a stable code for the `error` frame, and words for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ChatError {
    pub code: Code,
    pub message: String,
}

impl ChatError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// Our failure, not the frame's: the client sends it again.
    pub fn internal() -> Self {
        Self::new(Code::Internal, "something failed on our side; send the frame again")
    }
}

impl From<RepoError> for ChatError {
    fn from(err: RepoError) -> Self {
        tracing::error!(error = %err, "storage failed");
        Self::internal()
    }
}

/// Who is acting in a chatroom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Visitor { tenant: TenantId, chatroom: ChatroomId, name: String },
    Agent(AgentActor),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentActor {
    pub tenant: TenantId,
    pub id: UserId,
    pub name: String,
    pub email: EmailAddress,
    pub permissions: Vec<Permission>,
    pub max_concurrent: u32,
}

impl Actor {
    pub fn tenant(&self) -> TenantId {
        match self {
            Self::Visitor { tenant, .. } => *tenant,
            Self::Agent(agent) => agent.tenant,
        }
    }

    pub fn sender(&self) -> Sender {
        match self {
            Self::Visitor { chatroom, name, .. } => {
                Sender { kind: SenderKind::Visitor, id: Some(chatroom.to_string()), name: name.clone() }
            }
            Self::Agent(agent) => {
                Sender { kind: SenderKind::Agent, id: Some(agent.id.to_string()), name: agent.name.clone() }
            }
        }
    }

    pub fn kind(&self) -> SenderKind {
        match self {
            Self::Visitor { .. } => SenderKind::Visitor,
            Self::Agent(_) => SenderKind::Agent,
        }
    }
}

fn system_sender() -> Sender {
    Sender { kind: SenderKind::System, id: None, name: "Parley".into() }
}

fn not_found() -> ChatError {
    ChatError::new(Code::ChatroomNotFound, "no such chatroom")
}

/// The chatroom, if the actor may act in it: a visitor in their own, an agent in one they hold
/// (or, with `chatrooms:moderate`, any of the tenant's when `moderating`).
pub async fn load_for(
    state: &ChatService,
    actor: &Actor,
    id: ChatroomId,
    moderating: bool,
) -> Result<Chatroom, ChatError> {
    if let Actor::Visitor { chatroom, .. } = actor
        && *chatroom != id
    {
        return Err(ChatError::new(Code::NotInChatroom, "this token opens another chatroom"));
    }
    let room = state.repos.chatrooms.get(&actor.tenant(), &id).await?.ok_or_else(not_found)?;
    if let Actor::Agent(agent) = actor {
        let holds = room.agent_id == Some(agent.id);
        let moderates = moderating && agent.permissions.contains(&Permission::ChatroomsModerate);
        if !holds && !moderates {
            return Err(ChatError::new(Code::NotInChatroom, "join the chatroom first"));
        }
    }
    Ok(room)
}

/// Tells the chatroom's connections about the chatroom's new state, and the tenant's agents that
/// their lists changed (the queue too, when `queue_changed`).
pub async fn announce(state: &ChatService, room: &Chatroom, queue_changed: bool) {
    let frame = ServerFrame::Chatroom(ChatroomView::from(room)).to_json();
    let kind = NoticeKind::Status { chatroom_id: room.id, status: room.status, agent_id: room.agent_id };
    state.notices.publish(Notice { route: Route::Chatroom(room.id), kind, origin: None, frame }).await;
    chatrooms_changed(state, room.tenant_id, queue_changed).await;
}

/// Tells every node that the tenant's chatrooms changed: its agents' lists, and when `queue`,
/// the visitors' places in the queue.
pub async fn chatrooms_changed(state: &ChatService, tenant: TenantId, queue: bool) {
    let notice =
        |route| Notice { route, kind: NoticeKind::ChatroomsChanged { queue }, origin: None, frame: String::new() };
    state.notices.publish(notice(Route::Tenant(tenant))).await;
    if queue {
        state.notices.publish(notice(Route::Visitors(tenant))).await;
    }
}

/// Tells every node that one of the tenant's agents changed availability or load, or opened or
/// closed a console: the `agents` frame is rebuilt, and the queue routed again.
pub async fn agents_changed(state: &ChatService, tenant: TenantId) {
    let notice =
        Notice { route: Route::Tenant(tenant), kind: NoticeKind::AgentsChanged, origin: None, frame: String::new() };
    state.notices.publish(notice).await;
}

async fn event(state: &ChatService, room: &Chatroom, event: Event) {
    queue_event(state, OutgoingEvent::new(room.tenant_id, event)).await;
}

/// Hands the event to the node's queue, which produces it to Kafka (or the outbox) in order.
pub async fn queue_event(state: &ChatService, event: OutgoingEvent) {
    if let Err(shared::events::QueueClosed(event)) = state.events.push(event).await {
        // Only while the node stops, after the queue was closed.
        tracing::error!(event_id = %event.envelope.id, event_type = %event.envelope.event_type, "event dropped at shutdown");
    }
}

/// What a visitor gives when opening the widget.
pub struct NewVisitor {
    pub email: EmailAddress,
    pub name: Name,
    pub identity: VisitorIdentity,
    pub info: VisitorInfo,
}

/// Opens a chatroom for a visitor: stored as waiting with the greeting as its first message, in
/// the tenant's queue, announced with `chatroom.created`.
pub async fn open(state: &ChatService, chatbot: &Chatbot, visitor: NewVisitor) -> Result<Chatroom, ChatError> {
    let verified = matches!(visitor.identity, VisitorIdentity::Verified);
    let mut room = Chatroom::new(
        ChatroomId::new(),
        chatbot.tenant_id,
        chatbot.id,
        visitor.email,
        visitor.name,
        verified,
        visitor.info,
        Timestamp::now(),
    );
    room.preferred_agent_id =
        state.repos.chatrooms.last_agent_for(&room.tenant_id, &room.chatbot_id, &room.email).await?;
    state.repos.chatrooms.insert(&room).await?;
    if let Err(err) = state.seqs.begin(&room.id).await {
        // The greeting's number then comes from the store, as after a Redis flush.
        tracing::warn!(error = %err, "a new chatroom's seq counter not started");
    }
    let greeting = store_system_message(state, &room, chatbot.settings.greeting.as_str()).await?;
    room.last_seq = greeting.seq;
    chatrooms_changed(state, room.tenant_id, true).await;
    let created = events::ChatroomCreated {
        chatroom_id: room.id,
        chatbot_id: room.chatbot_id,
        name: room.name.clone(),
        email: room.email.clone(),
        identity_verified: room.identity_verified,
        visitor: room.visitor.clone(),
        created_at: room.created_at,
    };
    queue_event(state, OutgoingEvent::at(room.tenant_id, Event::ChatroomCreated(created), room.created_at)).await;
    Ok(room)
}

/// Stores a message from Parley itself and shows it to the chatroom.
pub async fn store_system_message(state: &ChatService, room: &Chatroom, text: &str) -> Result<Message, ChatError> {
    let (message, _) = number_and_store(state, room, ClientMsgId::system(), system_sender(), text.to_owned()).await?;
    publish_message(state, &message, None).await;
    Ok(message)
}

/// The chatroom's last seq: its document's `lastSeq`, or the counter's when that is ahead (the
/// document is written behind the messages).
pub async fn last_seq(state: &ChatService, room: &Chatroom) -> u64 {
    match state.seqs.current(&room.id).await {
        Ok(current) => room.last_seq.max(current.unwrap_or(0)),
        Err(err) => {
            tracing::warn!(error = %err, "the seq counter could not be read");
            room.last_seq
        }
    }
}

/// Checks a seq the client names (`afterSeq`, `upToSeq`, `beforeSeq - 1`) against what the
/// chatroom holds, and answers the chatroom's last seq. The counter (or the document's
/// `lastSeq`) answers at once; only a seq beyond both asks the store, since after Redis lost the
/// counter the document may trail the messages a client was given. A seq beyond the store too is
/// `seq_out_of_range`: taking it would move the connection's bookkeeping past messages not yet
/// sent, which it would then never be given.
pub async fn check_position(state: &ChatService, room: &Chatroom, seq: u64, field: &str) -> Result<u64, ChatError> {
    let known = last_seq(state, room).await;
    if seq <= known {
        return Ok(known);
    }
    let stored = state.repos.messages.highest_seq(&room.tenant_id, &room.id).await?;
    if seq <= stored {
        return Ok(stored);
    }
    let last = known.max(stored);
    Err(ChatError::new(Code::SeqOutOfRange, format!("{field} {seq} is beyond the chatroom's last message, seq {last}")))
}

/// How many numbers a send takes before giving up, should the counter hand out taken ones.
const MAX_TRIES: usize = 3;

/// Numbers a message and stores it: the message, and whether it is new (false when its
/// `clientMsgId` was stored before: that first message). A number the counter handed out twice
/// (after losing its state, see [`crate::seqs`]) is refused by the store, and the next is taken.
async fn number_and_store(
    state: &ChatService,
    room: &Chatroom,
    client_msg_id: ClientMsgId,
    sender: Sender,
    text: String,
) -> Result<(Message, bool), ChatError> {
    for _ in 0..MAX_TRIES {
        let seq = state.seqs.next(&state.repos, &room.tenant_id, &room.id, room.last_seq).await.map_err(|err| {
            tracing::error!(error = %err, "no seq for a message");
            ChatError::internal()
        })?;
        let message = Message::new(
            room.tenant_id,
            room.id,
            seq,
            client_msg_id.clone(),
            sender.clone(),
            text.clone(),
            Timestamp::now(),
        );
        match state.messages.insert(message.clone()).await {
            Ok(Inserted::New) => {
                state.last_seqs.stored(room.tenant_id, room.id, seq, message.sent_at);
                return Ok((message, true));
            }
            // The same clientMsgId raced in from another connection: its message is the one.
            Ok(Inserted::Duplicate(first)) => {
                if let Some(recent) = &state.recent {
                    recent.unused(&room.id, seq).await;
                }
                return Ok((first, false));
            }
            Err(RepoError::Conflict { code: "message_seq_taken", .. }) => {
                tracing::warn!(chatroom_id = %room.id, seq, "a seq was handed out twice; taking the next");
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(ChatError::internal())
}

/// Shows a newly stored message to its chatroom and fills its seq in the chatroom's window of
/// recent messages ([`crate::recent`]), both with the one frame.
async fn publish_message(state: &ChatService, message: &Message, origin: Option<Origin>) {
    let frame = ServerFrame::Message(MessageView::from(message)).to_json();
    let remembered = async {
        if let Some(recent) = &state.recent {
            recent.stored(&message.chatroom_id, message.seq, &frame).await;
        }
    };
    let notice = Notice {
        route: Route::Chatroom(message.chatroom_id),
        kind: NoticeKind::Message { seq: message.seq },
        origin,
        frame: frame.clone(),
    };
    tokio::join!(remembered, state.notices.publish(notice));
}

/// A message `send` accepted: `fresh` is false when its `clientMsgId` was stored before.
pub struct Sent {
    pub message: Message,
    pub fresh: bool,
}

/// `text` without control characters, but for line breaks and tabs in a chat message
/// (`keep_lines`). They show nothing to a reader, and MongoDB wire-protocol servers on
/// PostgreSQL (FerretDB) cannot store a NUL at all: left in, such a character would make the
/// write fail.
pub fn without_controls(text: String, keep_lines: bool) -> String {
    let unwanted = |c: char| c.is_control() && !(keep_lines && matches!(c, '\n' | '\t'));
    if !text.contains(unwanted) {
        return text;
    }
    text.chars().filter(|&c| !unwanted(c)).collect()
}

/// Validates, numbers, stores and delivers a chat message (control characters other than line
/// breaks and tabs are dropped first); the returned message is what the
/// sender's ack names. A `clientMsgId` already stored in the chatroom returns that message and
/// stores nothing.
pub async fn send(
    state: &ChatService,
    actor: &Actor,
    origin: Origin,
    chatroom: ChatroomId,
    client_msg_id: ClientMsgId,
    text: String,
) -> Result<Sent, ChatError> {
    if text.len() > state.limits.message_bytes {
        return Err(ChatError::new(
            Code::MessageTooLarge,
            format!("a message holds at most {} bytes", state.limits.message_bytes),
        ));
    }
    let text = without_controls(text, true);
    if text.trim().is_empty() {
        return Err(ChatError::new(Code::MessageEmpty, "the message is empty"));
    }
    let room = load_for(state, actor, chatroom, false).await?;
    let tenant = room.tenant_id;
    if !room.status.is_open() {
        // A resend of a message stored before the chatroom ended still gets its ack.
        if let Some(first) = state.repos.messages.find_by_client_id(&tenant, &room.id, &client_msg_id).await? {
            return Ok(Sent { message: first, fresh: false });
        }
        return Err(closed(&room));
    }
    // A resend is not looked for first: its insert meets the first copy's id (derived from the
    // clientMsgId), which is then answered. It costs a seq, never a second copy.
    let (message, fresh) = number_and_store(state, &room, client_msg_id, actor.sender(), text).await?;
    if !fresh {
        return Ok(Sent { message, fresh: false });
    }
    publish_message(state, &message, Some(origin)).await;
    if actor.kind() == SenderKind::Agent && room.first_agent_reply_at.is_none() {
        state.repos.chatrooms.set_first_agent_reply(&tenant, &room.id, message.sent_at).await?;
    }
    state.metrics.messages_sent.inc();
    Ok(Sent { message, fresh: true })
}

/// Produces `message.sent`; called after the sender has its ack.
pub async fn message_sent(state: &ChatService, message: &Message) {
    let sent = events::MessageSent {
        chatroom_id: message.chatroom_id,
        message_id: message.id,
        seq: message.seq,
        client_msg_id: message.client_msg_id.clone(),
        sender: message.sender.clone(),
        message: message.message.clone(),
        sent_at: message.sent_at,
    };
    let event = OutgoingEvent::at(message.tenant_id, Event::MessageSent(sent), message.sent_at);
    queue_event(state, event).await;
}

fn closed(room: &Chatroom) -> ChatError {
    ChatError::new(Code::ChatroomClosed, format!("the chatroom is {}", room.status))
}

/// Shows the other side that the actor is typing. Nothing is stored or read: the caller has
/// checked that its connection follows the chatroom (the hot path stays off MongoDB).
pub async fn typing(state: &ChatService, actor: &Actor, origin: Origin, chatroom: ChatroomId, typing: bool) {
    let frame = ServerFrame::Typing { chatroom_id: chatroom, sender: actor.sender(), typing }.to_json();
    let notice = Notice { route: Route::Chatroom(chatroom), kind: NoticeKind::Typing, origin: Some(origin), frame };
    state.notices.publish(notice).await;
}

/// Records that the actor has read the other side's messages up to `up_to` and tells the other side.
pub async fn read(
    state: &ChatService,
    actor: &Actor,
    origin: Origin,
    chatroom: ChatroomId,
    up_to: u64,
) -> Result<(), ChatError> {
    let room = load_for(state, actor, chatroom, false).await?;
    check_position(state, &room, up_to, "upToSeq").await?;
    let reader = actor.kind();
    if up_to > room.last_seq {
        // The document's lastSeq trails the messages (written behind): bring it up first, as a
        // read mark never passes it.
        state.repos.chatrooms.raise_last_seq(&room.tenant_id, &room.id, up_to, room.last_activity_at).await?;
    }
    state.repos.messages.mark_read(&room.tenant_id, &room.id, reader, up_to).await?;
    state.repos.chatrooms.set_read(&room.tenant_id, &room.id, reader, up_to).await?;
    let frame = ServerFrame::Read { chatroom_id: room.id, reader, up_to_seq: up_to }.to_json();
    let notice = Notice { route: Route::Chatroom(room.id), kind: NoticeKind::Read, origin: Some(origin), frame };
    state.notices.publish(notice).await;
    Ok(())
}

/// Claims a waiting chatroom for the agent (taking one of their seats first, so their limit holds
/// whatever else races), or accepts the offer of one; a chatroom someone else claimed first is
/// `chatroom_already_claimed`.
pub async fn join(state: &ChatService, agent: &AgentActor, chatroom: ChatroomId) -> Result<Chatroom, ChatError> {
    let before = state.repos.chatrooms.get(&agent.tenant, &chatroom).await?.ok_or_else(not_found)?;
    let seated = before.status == ChatroomStatus::Waiting;
    if seated && !routing::take_seat(state, agent.tenant, agent.id, agent.max_concurrent, chatroom).await? {
        return Err(ChatError::new(
            Code::TooManyChatrooms,
            format!("you hold {0} chatrooms or offers, your limit is {0}", agent.max_concurrent),
        ));
    }
    let claim = Transition {
        to: ChatroomStatus::Active,
        agent: AgentChange::Set(AssignedAgent { id: agent.id, name: agent.name.clone(), email: agent.email.clone() }),
        standby_until: None,
        close_reason: None,
    };
    let claimed =
        state.repos.chatrooms.transition(&agent.tenant, &chatroom, &[ChatroomStatus::Waiting], None, &claim).await?;
    let Some(room) = claimed else {
        let room = state.repos.chatrooms.get(&agent.tenant, &chatroom).await?.ok_or_else(not_found)?;
        if seated {
            routing::release_unless_in(state, &room, agent.id).await;
        }
        return Err(match room.status {
            ChatroomStatus::Active | ChatroomStatus::Standby if room.agent_id == Some(agent.id) => {
                ChatError::new(Code::InvalidState, "you hold this chatroom already")
            }
            ChatroomStatus::Active | ChatroomStatus::Standby if room.agent_id.is_some() => {
                // Named, so the agent who lost the race knows whom to ask.
                let winner = room.agent_name.as_deref().unwrap_or("another agent");
                ChatError::new(Code::ChatroomAlreadyClaimed, format!("{winner} joined this chatroom first"))
            }
            ChatroomStatus::Standby => {
                ChatError::new(Code::InvalidState, "the visitor is away; wait for them to come back")
            }
            _ => closed(&room),
        });
    };
    // The agent's seat changed the team's loads whether or not another's was freed.
    if !routing::settle_seats(state, &room).await {
        agents_changed(state, room.tenant_id).await;
    }
    tell_agent(state, agent.id, NoticeKind::Assigned { chatroom_id: room.id }).await;
    announce(state, &room, true).await;
    let joined = store_system_message(state, &room, &format!("{} joined the chat", agent.name)).await?;
    let waiting_since = before.waiting_since().unwrap_or(before.created_at);
    let offered = before.offer.as_ref().is_some_and(|offer| offer.agent_id == agent.id);
    // The claim's own moment (the chatroom's `updatedAt`, its first `assignedAt`).
    let assigned_at = room.updated_at;
    let data = events::ChatroomAssigned {
        chatroom_id: room.id,
        agent_id: agent.id,
        agent_name: agent.name.clone(),
        waited_ms: assigned_at.unix_millis() - waiting_since.unix_millis(),
        via: if offered { events::AssignedVia::Offer } else { events::AssignedVia::Join },
    };
    queue_event(state, OutgoingEvent::at(room.tenant_id, Event::ChatroomAssigned(data), assigned_at)).await;
    Ok(Chatroom { last_seq: joined.seq, ..room })
}

/// Refuses the offer of a waiting chatroom: it passes the agent by, and routing offers it to the
/// next agent.
pub async fn decline(state: &ChatService, agent: &AgentActor, chatroom: ChatroomId) -> Result<Chatroom, ChatError> {
    let room = state.repos.chatrooms.get(&agent.tenant, &chatroom).await?.ok_or_else(not_found)?;
    let not_offered = || ChatError::new(Code::InvalidState, "this chatroom is not offered to you");
    let offer = room.offer.as_ref().filter(|o| o.agent_id == agent.id && room.status == ChatroomStatus::Waiting);
    let offer = offer.ok_or_else(not_offered)?;
    let declined =
        state.repos.chatrooms.change_offer(&agent.tenant, &room.id, Some(offer), None, Some(&agent.id)).await?;
    let declined = declined.ok_or_else(not_offered)?;
    routing::release_seat(state, agent.tenant, agent.id, room.id).await;
    chatrooms_changed(state, room.tenant_id, true).await;
    agents_changed(state, room.tenant_id).await;
    Ok(declined)
}

/// Hands a chatroom the agent holds to another agent (online, available, below their limit),
/// or back to the queue (`to` none); the visitor reads who has it now.
pub async fn transfer(
    state: &ChatService,
    agent: &AgentActor,
    chatroom: ChatroomId,
    to: Option<UserId>,
) -> Result<Chatroom, ChatError> {
    let Some(to) = to else {
        let room = leave_as(
            state,
            agent,
            chatroom,
            &format!("{} transferred the chat; the next available agent will join shortly", agent.name),
        )
        .await?;
        let data = events::ChatroomTransferred { chatroom_id: room.id, from_agent_id: agent.id, to_agent_id: None };
        event(state, &room, Event::ChatroomTransferred(data)).await;
        return Ok(room);
    };
    let before = load_for(state, &Actor::Agent(agent.clone()), chatroom, false).await?;
    if !matches!(before.status, ChatroomStatus::Active | ChatroomStatus::Standby) {
        return Err(closed(&before));
    }
    let unavailable = |why: &str| ChatError::new(Code::AgentUnavailable, why.to_owned());
    if to == agent.id {
        return Err(unavailable("you hold this chatroom already"));
    }
    let target = state.repos.users.get(&agent.tenant, &to).await?;
    let Some(target) = target.filter(|u| u.status == UserStatus::Active) else {
        return Err(unavailable("no such agent"));
    };
    let online = state.presence.agents_online(agent.tenant).await.map_err(routing::presence_failed)?;
    if !online.contains(&to) || target.availability != Availability::Online {
        return Err(unavailable(&format!("{} is not available", target.name)));
    }
    let capacity = target.assigning.max_concurrent;
    if !routing::take_seat(state, agent.tenant, to, capacity, chatroom).await? {
        return Err(ChatError::new(
            Code::TooManyChatrooms,
            format!("{} holds {capacity} chatrooms or offers, their limit", target.name),
        ));
    }
    let handover = Transition {
        to: before.status,
        agent: AgentChange::Set(AssignedAgent {
            id: to,
            name: target.name.as_str().to_owned(),
            email: target.email.clone(),
        }),
        standby_until: before.standby_until,
        close_reason: None,
    };
    let handed = state
        .repos
        .chatrooms
        .transition(&agent.tenant, &chatroom, &[before.status], Some(&agent.id), &handover)
        .await?;
    let Some(room) = handed else {
        routing::release_unused_seat(state, agent.tenant, to, chatroom).await;
        return Err(ChatError::new(Code::InvalidState, "the chatroom changed meanwhile; look again"));
    };
    // The target's seat changed the team's loads whether or not the sender's was freed.
    if !routing::settle_seats(state, &room).await {
        agents_changed(state, room.tenant_id).await;
    }
    tell_agent(state, to, NoticeKind::Assigned { chatroom_id: room.id }).await;
    announce(state, &room, false).await;
    store_system_message(state, &room, &format!("{} transferred the chat to {}", agent.name, target.name)).await?;
    let data = events::ChatroomTransferred { chatroom_id: room.id, from_agent_id: agent.id, to_agent_id: Some(to) };
    event(state, &room, Event::ChatroomTransferred(data)).await;
    Ok(room)
}

/// Records whether the agent takes offers; their team sees it, and routing goes by it.
pub async fn set_availability(
    state: &ChatService,
    agent: &AgentActor,
    availability: Availability,
) -> Result<(), ChatError> {
    let patch = UserPatch { availability: Some(availability), ..UserPatch::default() };
    state.repos.users.update(&agent.tenant, &agent.id, &patch).await?;
    agents_changed(state, agent.tenant).await;
    Ok(())
}

async fn tell_agent(state: &ChatService, agent: UserId, kind: NoticeKind) {
    state.notices.publish(Notice { route: Route::Agent(agent), kind, origin: None, frame: String::new() }).await;
}

/// Hands the chatroom back to the queue (or, while the visitor is away, leaves it unheld).
pub async fn leave(state: &ChatService, agent: &AgentActor, chatroom: ChatroomId) -> Result<Chatroom, ChatError> {
    let room = leave_as(state, agent, chatroom, &format!("{} left the chat", agent.name)).await?;
    let data = events::ChatroomAgentLeft { chatroom_id: room.id, agent_id: agent.id };
    event(state, &room, Event::ChatroomAgentLeft(data)).await;
    Ok(room)
}

/// Lets go of the chatroom, telling the visitor `words`.
async fn leave_as(
    state: &ChatService,
    agent: &AgentActor,
    chatroom: ChatroomId,
    words: &str,
) -> Result<Chatroom, ChatError> {
    let room = load_for(state, &Actor::Agent(agent.clone()), chatroom, false).await?;
    let to = match room.status {
        ChatroomStatus::Active => ChatroomStatus::Waiting,
        ChatroomStatus::Standby => ChatroomStatus::Standby,
        _ => return Err(closed(&room)),
    };
    let change = Transition { to, agent: AgentChange::Clear, standby_until: room.standby_until, close_reason: None };
    let left =
        state.repos.chatrooms.transition(&agent.tenant, &room.id, &[room.status], Some(&agent.id), &change).await?;
    let Some(left) = left else {
        return Err(ChatError::new(Code::InvalidState, "the chatroom changed meanwhile; look again"));
    };
    routing::settle_seats(state, &left).await;
    announce(state, &left, left.status == ChatroomStatus::Waiting).await;
    store_system_message(state, &left, words).await?;
    Ok(left)
}

/// Ends the chatroom: closed by its visitor or agent, marked stale, or blocked. An agent who does
/// not hold it needs `chatrooms:moderate`.
pub async fn end(
    state: &ChatService,
    actor: &Actor,
    chatroom: ChatroomId,
    reason: CloseReason,
) -> Result<Chatroom, ChatError> {
    let moderating = !matches!(reason, CloseReason::ClosedByVisitor);
    let room = load_for(state, actor, chatroom, moderating).await?;
    if !room.status.is_open() {
        return Err(closed(&room));
    }
    let to = match reason {
        CloseReason::MarkedStale => ChatroomStatus::Stale,
        CloseReason::Blocked => ChatroomStatus::Blocked,
        _ => ChatroomStatus::Closed,
    };
    let change = Transition { to, agent: AgentChange::Keep, standby_until: None, close_reason: Some(reason) };
    let ended = state.repos.chatrooms.transition(&room.tenant_id, &room.id, &[room.status], None, &change).await?;
    let Some(ended) = ended else {
        return Err(ChatError::new(Code::InvalidState, "the chatroom changed meanwhile; look again"));
    };
    routing::settle_seats(state, &ended).await;
    if reason == CloseReason::Blocked
        && let Actor::Agent(agent) = actor
    {
        let block = Block::new(
            ended.tenant_id,
            ended.chatbot_id,
            ended.id,
            ended.email.clone(),
            ended.visitor.ip.clone(),
            agent.id,
            Timestamp::now(),
        );
        state.repos.blocks.insert(&block).await?;
    }
    announce(state, &ended, room.status == ChatroomStatus::Waiting).await;
    let by = actor.sender();
    let data = ended_data(&ended, reason, by.kind, by.id);
    let ended_event = match reason {
        CloseReason::MarkedStale => Event::ChatroomMarkedStale(data),
        CloseReason::Blocked => Event::ChatroomBlocked(data),
        _ => Event::ChatroomClosed(data),
    };
    event(state, &ended, ended_event).await;
    Ok(ended)
}

/// The data of `chatroom.closed`, `chatroom.marked_stale` and `chatroom.blocked`.
fn ended_data(room: &Chatroom, reason: CloseReason, by: SenderKind, by_id: Option<String>) -> events::ChatroomEnded {
    events::ChatroomEnded {
        chatroom_id: room.id,
        reason,
        by: events::EndedBy { kind: by, id: by_id },
        closed_at: room.closed_at,
        transcript_requested: room.transcript_requested,
    }
}

/// Records that the visitor wants the conversation by email when it ends (the email function
/// sends it on `chatroom.closed` or `chatroom.marked_stale`), and shows both sides.
pub async fn request_transcript(
    state: &ChatService,
    actor: &Actor,
    chatroom: ChatroomId,
) -> Result<Chatroom, ChatError> {
    let room = load_for(state, actor, chatroom, false).await?;
    match state.repos.chatrooms.request_transcript(&room.tenant_id, &room.id).await? {
        Some(asked) => {
            announce(state, &asked, false).await;
            Ok(asked)
        }
        None => Err(closed(&room)),
    }
}

/// Announces a chatroom that has waited too long with nobody joining (`chatroom.unclaimed`),
/// once per wait: of several nodes sweeping, the one whose mark lands produces the event.
pub async fn alert_unclaimed(state: &ChatService, room: &Chatroom) -> Result<(), ChatError> {
    let now = Timestamp::now();
    let Some(marked) = state.repos.chatrooms.mark_unclaimed_alerted(&room.tenant_id, &room.id, now).await? else {
        return Ok(());
    };
    let Some(waiting_since) = marked.waiting_since() else { return Ok(()) };
    let unclaimed = events::ChatroomUnclaimed {
        chatroom_id: marked.id,
        chatbot_id: marked.chatbot_id,
        name: marked.name.clone(),
        email: marked.email.clone(),
        waiting_since,
        waited_ms: now.unix_millis() - waiting_since.unix_millis(),
    };
    event(state, &marked, Event::ChatroomUnclaimed(unclaimed)).await;
    Ok(())
}

/// A visitor connection arrived: a chatroom in standby is taken back (active again if an agent
/// holds it, else back in the queue).
pub async fn visitor_arrived(state: &ChatService, room: &Chatroom, conn: ConnId) -> Result<Chatroom, ChatError> {
    if let Err(err) = state.presence.arrive(room.tenant_id, room.id, conn).await {
        tracing::warn!(error = %err, "presence not recorded");
    }
    // Read after recording presence: a departure racing with this arrival either sees this
    // connection, or put the chatroom in standby before this read.
    let room = state.repos.chatrooms.get(&room.tenant_id, &room.id).await?.ok_or_else(not_found)?;
    if room.status != ChatroomStatus::Standby {
        return Ok(room);
    }
    resume_from_standby(state, &room).await
}

async fn resume_from_standby(state: &ChatService, room: &Chatroom) -> Result<Chatroom, ChatError> {
    let to = if room.agent_id.is_some() { ChatroomStatus::Active } else { ChatroomStatus::Waiting };
    let change = Transition { to, agent: AgentChange::Keep, standby_until: None, close_reason: None };
    match state.repos.chatrooms.transition(&room.tenant_id, &room.id, &[ChatroomStatus::Standby], None, &change).await?
    {
        Some(resumed) => {
            announce(state, &resumed, to == ChatroomStatus::Waiting).await;
            let data = events::ChatroomResumed { chatroom_id: resumed.id, status: resumed.status };
            event(state, &resumed, Event::ChatroomResumed(data)).await;
            Ok(resumed)
        }
        // Another connection resumed it first.
        None => Ok(state.repos.chatrooms.get(&room.tenant_id, &room.id).await?.ok_or_else(not_found)?),
    }
}

/// A visitor connection ended: when it was the chatroom's last, the chatroom goes to standby for
/// the configured time.
pub async fn visitor_departed(
    state: &ChatService,
    tenant: TenantId,
    chatroom: ChatroomId,
    conn: ConnId,
) -> Result<(), ChatError> {
    let left = match state.presence.leave(tenant, chatroom, conn).await {
        Ok(left) => left,
        Err(err) => {
            tracing::warn!(error = %err, "presence not updated; standby skipped");
            return Ok(());
        }
    };
    if left == 0 {
        go_standby(state, tenant, chatroom).await?;
    }
    Ok(())
}

/// Puts an open chatroom with no visitor connection in standby.
pub async fn go_standby(state: &ChatService, tenant: TenantId, chatroom: ChatroomId) -> Result<(), ChatError> {
    let until = Timestamp::now().plus_std(state.timing.standby);
    let change = Transition {
        to: ChatroomStatus::Standby,
        agent: AgentChange::Keep,
        standby_until: Some(until),
        close_reason: None,
    };
    let from = [ChatroomStatus::Waiting, ChatroomStatus::Active];
    let Some(room) = state.repos.chatrooms.transition(&tenant, &chatroom, &from, None, &change).await? else {
        return Ok(());
    };
    // An offer ends when the visitor goes: its agent's seat is free again.
    routing::settle_seats(state, &room).await;
    announce(state, &room, room.agent_id.is_none()).await;
    let data = events::ChatroomStandby { chatroom_id: room.id, standby_until: until };
    event(state, &room, Event::ChatroomStandby(data)).await;
    // The visitor may have come back while this ran; if so, they take the chatroom back.
    if state.presence.count(room.id).await.unwrap_or(0) > 0 {
        resume_from_standby(state, &room).await?;
    }
    Ok(())
}

/// Closes a chatroom whose standby ran out (reason `visitor_left`).
pub async fn expire_standby(state: &ChatService, room: &Chatroom) -> Result<(), ChatError> {
    let change = Transition {
        to: ChatroomStatus::Closed,
        agent: AgentChange::Keep,
        standby_until: None,
        close_reason: Some(CloseReason::VisitorLeft),
    };
    let from = [ChatroomStatus::Standby];
    let Some(closed) = state.repos.chatrooms.transition(&room.tenant_id, &room.id, &from, None, &change).await? else {
        return Ok(());
    };
    routing::settle_seats(state, &closed).await;
    announce(state, &closed, false).await;
    let data = ended_data(&closed, CloseReason::VisitorLeft, SenderKind::System, None);
    event(state, &closed, Event::ChatroomClosed(data)).await;
    Ok(())
}
