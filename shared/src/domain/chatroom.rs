//! A chatroom: one conversation between a visitor and the tenant's agents, from the visitor's
//! first message until it is closed, marked stale or blocked.
//!
//! A chatroom is open while it is `waiting` (in the tenant's queue), `active` (an agent holds it)
//! or `standby` (the visitor's connection dropped and they have until `standbyUntil` to come
//! back). Every change of status goes through a [`Transition`], applied by
//! [`crate::repos::ChatroomRepo::transition`] only if the chatroom is still in a status the caller
//! expects: that is how two agents joining the same waiting chatroom end with one winner.
//! Messages live in their own collection ([`super::Message`]); the chatroom keeps the last
//! sequence number it handed out and how far each side has read.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ChatbotId, ChatroomId, EmailAddress, Name, TenantId, Timestamp, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chatroom {
    #[serde(rename = "_id")]
    pub id: ChatroomId,
    pub tenant_id: TenantId,
    pub chatbot_id: ChatbotId,
    /// The visitor's address: metadata and a rate-limit key, never a credential.
    pub email: EmailAddress,
    pub name: Name,
    /// Whether the visitor's email came with a valid identity signature from the tenant's backend.
    pub identity_verified: bool,
    pub visitor: VisitorInfo,
    /// The agent holding the chatroom; the three agent fields are set and cleared together.
    #[serde(default)]
    pub agent_id: Option<UserId>,
    #[serde(default)]
    pub agent_name: Option<String>,
    #[serde(default)]
    pub agent_email: Option<EmailAddress>,
    pub status: ChatroomStatus,
    /// The sequence number of the newest message; the next one gets `last_seq + 1`.
    pub last_seq: u64,
    /// The highest seq the visitor has read.
    pub visitor_read_seq: u64,
    /// The highest seq an agent has read.
    pub agent_read_seq: u64,
    /// While in standby: when the chatroom closes unless the visitor comes back.
    #[serde(default)]
    pub standby_until: Option<Timestamp>,
    pub created_at: Timestamp,
    /// When the status or the agent last changed.
    pub updated_at: Timestamp,
    /// When anything last happened: created, a status change, a message. What a chatbot's "last
    /// activity" is made of.
    pub last_activity_at: Timestamp,
    #[serde(default)]
    pub first_agent_reply_at: Option<Timestamp>,
    #[serde(default)]
    pub closed_at: Option<Timestamp>,
    #[serde(default)]
    pub close_reason: Option<CloseReason>,
    /// The visitor asked for the conversation by email; it is sent when the chatroom ends.
    #[serde(default)]
    pub transcript_requested: bool,
    /// When agents were alerted that this chatroom waits unclaimed; cleared when it goes back to
    /// the queue, so a chatroom waiting again is alerted again.
    #[serde(default)]
    pub unclaimed_alert_at: Option<Timestamp>,
    /// While it waits: the agent it is offered to (automatic routing), until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<Offer>,
    /// While it waits: the agents who declined it or let their offer lapse; not offered to again
    /// until it is taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_by: Vec<UserId>,
    /// The agent who last helped this visitor (same email, same chatbot): offered it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_agent_id: Option<UserId>,
    /// When an agent first took it (joined, accepted an offer): the end of its first wait.
    #[serde(default)]
    pub assigned_at: Option<Timestamp>,
    /// Not stored: the agents the last [`Transition`] applied to this value took the chatroom
    /// from (its holder, when it was handed on, let go or ended; the agent it was offered to), so
    /// whoever made the change frees their seats.
    #[serde(skip)]
    pub displaced: Vec<UserId>,
}

/// A waiting chatroom offered to one agent until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub agent_id: UserId,
    pub agent_name: String,
    pub until: Timestamp,
}

impl Offer {
    pub fn is_open(&self, now: Timestamp) -> bool {
        now < self.until
    }
}

impl Chatroom {
    /// A new chatroom, waiting in the queue, with no message yet.
    #[allow(clippy::too_many_arguments)] // one per field a visitor session supplies
    pub fn new(
        id: ChatroomId,
        tenant_id: TenantId,
        chatbot_id: ChatbotId,
        email: EmailAddress,
        name: Name,
        identity_verified: bool,
        visitor: VisitorInfo,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            tenant_id,
            chatbot_id,
            email,
            name,
            identity_verified,
            visitor,
            agent_id: None,
            agent_name: None,
            agent_email: None,
            status: ChatroomStatus::Waiting,
            last_seq: 0,
            visitor_read_seq: 0,
            agent_read_seq: 0,
            standby_until: None,
            created_at: now,
            updated_at: now,
            last_activity_at: now,
            first_agent_reply_at: None,
            closed_at: None,
            close_reason: None,
            transcript_requested: false,
            unclaimed_alert_at: None,
            offer: None,
            passed_by: Vec::new(),
            preferred_agent_id: None,
            assigned_at: None,
            displaced: Vec::new(),
        }
    }

    /// The agent holding the chatroom, if any.
    pub fn agent(&self) -> Option<AssignedAgent> {
        match (&self.agent_id, &self.agent_name, &self.agent_email) {
            (Some(id), Some(name), Some(email)) => {
                Some(AssignedAgent { id: *id, name: name.clone(), email: email.clone() })
            }
            _ => None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    /// Since when the chatroom has waited in the queue, if it is waiting: a status change sets
    /// `updatedAt`, and nothing else does.
    pub fn waiting_since(&self) -> Option<Timestamp> {
        (self.status == ChatroomStatus::Waiting).then_some(self.updated_at)
    }

    /// While in standby: when it closes unless the visitor comes back.
    pub fn standby_deadline(&self) -> Option<Timestamp> {
        self.standby_until.filter(|_| self.status == ChatroomStatus::Standby)
    }

    /// While it waits and its agents were not alerted: since when.
    pub fn waiting_unalerted_since(&self) -> Option<Timestamp> {
        self.waiting_since().filter(|_| self.unclaimed_alert_at.is_none())
    }

    /// Whether it waits in standby past its deadline at `now`: what the standby sweep closes.
    pub fn standby_overdue(&self, now: Timestamp) -> bool {
        self.standby_deadline().is_some_and(|until| until <= now)
    }

    /// Whether it has waited unclaimed since `waiting_since` or earlier without its agents being
    /// alerted: what the unclaimed-chatroom sweep alerts about.
    pub fn unclaimed_since(&self, waiting_since: Timestamp) -> bool {
        self.waiting_unalerted_since().is_some_and(|since| since <= waiting_since)
    }
}

/// Where a chatroom is in its life. `waiting`, `active` and `standby` are open; the others are
/// final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatroomStatus {
    /// In the tenant's queue until an agent joins.
    Waiting,
    /// An agent holds it.
    Active,
    /// The visitor's last connection dropped; it closes at `standbyUntil` unless they come back.
    Standby,
    Closed,
    /// An agent marked it stale (nothing more to say).
    Stale,
    /// An agent blocked the visitor.
    Blocked,
}

impl ChatroomStatus {
    /// The statuses in which messages can still be sent.
    pub const OPEN: [ChatroomStatus; 3] = [Self::Waiting, Self::Active, Self::Standby];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Active => "active",
            Self::Standby => "standby",
            Self::Closed => "closed",
            Self::Stale => "stale",
            Self::Blocked => "blocked",
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self, Self::Waiting | Self::Active | Self::Standby)
    }
}

impl fmt::Display for ChatroomStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a chatroom stopped being open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    ClosedByAgent,
    ClosedByVisitor,
    /// The standby ran out before the visitor came back.
    VisitorLeft,
    MarkedStale,
    Blocked,
}

impl CloseReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ClosedByAgent => "closed_by_agent",
            Self::ClosedByVisitor => "closed_by_visitor",
            Self::VisitorLeft => "visitor_left",
            Self::MarkedStale => "marked_stale",
            Self::Blocked => "blocked",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the visitor's browser told us when the chatroom was created (metadata for the agent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorInfo {
    pub ip: String,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub browser: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub page_url: Option<String>,
    #[serde(default)]
    pub referrer: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
}

/// The agent holding a chatroom, as the chatroom records it (name and email as they were when
/// the agent joined).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedAgent {
    pub id: UserId,
    pub name: String,
    pub email: EmailAddress,
}

/// What a transition does to the agent fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentChange {
    /// Leave them as they are.
    Keep,
    /// Hand the chatroom to this agent.
    Set(AssignedAgent),
    /// Nobody holds the chatroom any more (back to the queue).
    Clear,
}

/// A change of status, with what goes with it. Applied by
/// [`crate::repos::ChatroomRepo::transition`] only when the chatroom is in one of the expected
/// statuses; both repositories apply it through [`Transition::apply`], so they agree on every
/// field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: ChatroomStatus,
    pub agent: AgentChange,
    /// `standbyUntil` after the change: the deadline when entering standby, else `None` (cleared).
    pub standby_until: Option<Timestamp>,
    /// When set, `closedAt` becomes the time of the change and `closeReason` this.
    pub close_reason: Option<CloseReason>,
}

impl Transition {
    /// To `status`, keeping the agent, clearing any standby deadline, with no close reason.
    pub fn to(status: ChatroomStatus) -> Self {
        Self { to: status, agent: AgentChange::Keep, standby_until: None, close_reason: None }
    }

    /// `waiting` → `active`: `agent` joins.
    pub fn claim(agent: AssignedAgent) -> Self {
        Self { agent: AgentChange::Set(agent), ..Self::to(ChatroomStatus::Active) }
    }

    /// Into standby until `until`.
    pub fn standby(until: Timestamp) -> Self {
        Self { standby_until: Some(until), ..Self::to(ChatroomStatus::Standby) }
    }

    /// Into a final status for `reason`.
    pub fn close(status: ChatroomStatus, reason: CloseReason) -> Self {
        Self { close_reason: Some(reason), ..Self::to(status) }
    }

    /// The change itself, at `now`.
    pub fn apply(&self, room: &mut Chatroom, now: Timestamp) {
        let holder = room.agent_id;
        room.displaced = room.offer.take().map(|offer| offer.agent_id).into_iter().collect();
        room.status = self.to;
        match &self.agent {
            AgentChange::Keep => {}
            AgentChange::Set(agent) => {
                room.assigned_at.get_or_insert(now);
                room.agent_id = Some(agent.id);
                room.agent_name = Some(agent.name.clone());
                room.agent_email = Some(agent.email.clone());
            }
            AgentChange::Clear => {
                room.agent_id = None;
                room.agent_name = None;
                room.agent_email = None;
            }
        }
        room.standby_until = self.standby_until;
        // An offer lives within one wait (any change of status or agent ended it above). A new
        // wait passes by the agent who handed the chatroom back: routing offers it to others.
        room.passed_by.clear();
        if let Some(holder) = holder
            && (room.agent_id != Some(holder) || !self.to.is_open())
        {
            room.displaced.push(holder);
            if room.agent_id.is_none() && self.to.is_open() {
                room.passed_by.push(holder);
            }
        }
        if self.to == ChatroomStatus::Waiting {
            room.unclaimed_alert_at = None;
        }
        if let Some(reason) = self.close_reason {
            room.closed_at = Some(now);
            room.close_reason = Some(reason);
        }
        room.updated_at = now;
        room.last_activity_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> Chatroom {
        Chatroom::new(
            ChatroomId::new(),
            TenantId::new(),
            ChatbotId::new(),
            "visitor@example.com".parse().unwrap(),
            "Vera".parse().unwrap(),
            false,
            VisitorInfo { ip: "203.0.113.9".into(), ..VisitorInfo::default() },
            Timestamp::from_unix_millis(1_000),
        )
    }

    fn ada() -> AssignedAgent {
        AssignedAgent { id: UserId::new(), name: "Ada".into(), email: "ada@example.com".parse().unwrap() }
    }

    #[test]
    fn a_chatroom_handed_back_to_the_queue_passes_its_agent_by_until_someone_takes_it() {
        let (mut room, agent, now) = (room(), ada(), Timestamp::from_unix_millis(2_000));
        Transition::claim(agent.clone()).apply(&mut room, now);
        assert!(room.passed_by.is_empty() && room.displaced.is_empty());
        let back = Transition { agent: AgentChange::Clear, ..Transition::to(ChatroomStatus::Waiting) };
        back.apply(&mut room, now);
        assert_eq!(
            (room.passed_by.as_slice(), room.displaced.as_slice()),
            ([agent.id].as_slice(), [agent.id].as_slice())
        );
        let bob = AssignedAgent { id: UserId::new(), name: "Bob".into(), email: "bob@example.com".parse().unwrap() };
        Transition::claim(bob).apply(&mut room, now);
        assert!(room.passed_by.is_empty(), "a new wait starts afresh");
    }

    #[test]
    fn a_new_chatroom_waits_with_no_agent() {
        let room = room();
        assert_eq!((room.status, room.last_seq, room.agent()), (ChatroomStatus::Waiting, 0, None));
        assert!(room.is_open());
    }

    #[test]
    fn a_transition_sets_what_it_names() {
        let (mut room, agent, now) = (room(), ada(), Timestamp::from_unix_millis(2_000));
        Transition::claim(agent.clone()).apply(&mut room, now);
        assert_eq!((room.status, room.agent(), room.updated_at), (ChatroomStatus::Active, Some(agent.clone()), now));

        let until = Timestamp::from_unix_millis(600_000);
        Transition::standby(until).apply(&mut room, now);
        assert_eq!((room.standby_until, room.agent()), (Some(until), Some(agent.clone())), "the agent is kept");

        let later = Timestamp::from_unix_millis(3_000);
        Transition::close(ChatroomStatus::Closed, CloseReason::VisitorLeft).apply(&mut room, later);
        assert_eq!(room.standby_until, None, "the deadline is cleared");
        assert_eq!((room.closed_at, room.close_reason), (Some(later), Some(CloseReason::VisitorLeft)));
        assert!(!room.is_open());

        room.unclaimed_alert_at = Some(later);
        let back = Transition { agent: AgentChange::Clear, ..Transition::to(ChatroomStatus::Waiting) };
        back.apply(&mut room, later);
        assert_eq!(room.agent(), None);
        assert_eq!(room.unclaimed_alert_at, None, "waiting again: alerted again");
        assert_eq!(room.waiting_since(), Some(later));
        assert_eq!(room.close_reason, Some(CloseReason::VisitorLeft), "no reason given: the old one stays");
    }

    #[test]
    fn statuses_and_reasons_travel_as_their_names() {
        for status in [
            ChatroomStatus::Waiting,
            ChatroomStatus::Active,
            ChatroomStatus::Standby,
            ChatroomStatus::Closed,
            ChatroomStatus::Stale,
            ChatroomStatus::Blocked,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(status.is_open(), ChatroomStatus::OPEN.contains(&status));
        }
        for reason in [
            CloseReason::ClosedByAgent,
            CloseReason::ClosedByVisitor,
            CloseReason::VisitorLeft,
            CloseReason::MarkedStale,
            CloseReason::Blocked,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
        let json = serde_json::to_value(VisitorInfo { page_url: Some("https://x.test/".into()), ..Default::default() });
        assert_eq!(json.unwrap()["pageUrl"], "https://x.test/");
    }
}
