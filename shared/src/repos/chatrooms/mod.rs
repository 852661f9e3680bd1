//! Chatrooms: the queue, who holds what, sequence numbers and read marks.
//!
//! Every change to a chatroom is decided by one pure function of the chatroom as it is (the
//! functions below), which both implementations run: the in-memory one under its lock, the
//! MongoDB one inside a compare-and-set on a revision (see [`mongo::MongoChatrooms`]), so the two
//! cannot disagree about what a change does.

mod memory;
mod mongo;

use async_trait::async_trait;

use super::RepoError;
use crate::domain::{
    ChatbotId, Chatroom, ChatroomId, ChatroomStatus, EmailAddress, Offer, SenderKind, TenantId, Timestamp, Transition,
    UserId,
};

pub(super) use memory::MemoryChatrooms;
pub(super) use mongo::{MongoChatrooms, ensure_indexes};

#[async_trait]
pub trait ChatroomRepo: Send + Sync {
    /// Stores a new chatroom; `chatroom_exists` (409) when the id is taken.
    async fn insert(&self, room: &Chatroom) -> Result<(), RepoError>;

    async fn get(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError>;

    /// The tenant's chatrooms in one of `statuses`, oldest first, at most `limit`: the queue
    /// (`waiting`), or every open chatroom for moderators ([`ChatroomStatus::OPEN`]).
    async fn list_with_status(
        &self,
        tenant: &TenantId,
        statuses: &[ChatroomStatus],
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError>;

    /// The chatrooms `agent` holds (active or standby), oldest first.
    async fn list_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<Vec<Chatroom>, RepoError>;

    /// How many chatrooms `agent` holds (active or standby).
    async fn count_for_agent(&self, tenant: &TenantId, agent: &UserId) -> Result<u64, RepoError>;

    /// Records that the chatroom's messages reach seq `seq` (sent at `at`): `lastSeq` and
    /// `lastActivityAt` move up, never down. The socket-node writes it behind the messages,
    /// once per chatroom every moment, as its counter hands seqs out elsewhere. Does nothing
    /// when the chatroom is not the tenant's.
    async fn raise_last_seq(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        seq: u64,
        at: Timestamp,
    ) -> Result<(), RepoError>;

    /// Applies `change` only if the chatroom's status is one of `from` and, when `held_by` is
    /// given, `agent` holds it; answers the chatroom after the change, or `None` when the
    /// condition did not hold (or the chatroom is not the tenant's). Atomic: of many agents
    /// claiming one waiting chatroom at once, exactly one gets `Some`.
    async fn transition(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        from: &[ChatroomStatus],
        held_by: Option<&UserId>,
        change: &Transition,
    ) -> Result<Option<Chatroom>, RepoError>;

    /// Replaces a waiting chatroom's offer, only if its offer is still `expected` (`None`: not
    /// offered): with `next`, or with none. `passed`, when given, joins the agents the chatroom
    /// passed by (who declined it or let the offer lapse). Atomic like [`Self::transition`]: of two
    /// nodes offering one chatroom at once, exactly one gets `Some`. Leaves `updatedAt` (the
    /// start of the wait) alone.
    async fn change_offer(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        expected: Option<&Offer>,
        next: Option<&Offer>,
        passed: Option<&UserId>,
    ) -> Result<Option<Chatroom>, RepoError>;

    /// The agent who held the visitor's latest chatroom with this chatbot, if an agent ever held one.
    async fn last_agent_for(
        &self,
        tenant: &TenantId,
        chatbot: &ChatbotId,
        email: &EmailAddress,
    ) -> Result<Option<UserId>, RepoError>;

    /// The tenant's chatrooms an agent took at `since` or later, latest first, at most `limit`:
    /// their waits make the visitors' estimate.
    async fn list_assigned_since(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<Chatroom>, RepoError>;

    /// Records when an agent first replied; later calls change nothing. Does nothing when the
    /// chatroom is not the tenant's.
    async fn set_first_agent_reply(&self, tenant: &TenantId, id: &ChatroomId, at: Timestamp) -> Result<(), RepoError>;

    /// Raises `visitorReadSeq` (reader `Visitor`) or `agentReadSeq` (reader `Agent`) to `up_to`,
    /// never lowering it and never past `lastSeq` (nobody reads a message not yet sent). A
    /// `System` reader changes nothing; so does a chatroom that is not the tenant's.
    async fn set_read(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        reader: SenderKind,
        up_to: u64,
    ) -> Result<(), RepoError>;

    /// Standby chatrooms of every tenant whose `standbyUntil` is at or before `now`, earliest
    /// deadline first, at most `limit`: what the standby sweep closes.
    async fn list_overdue_standby(&self, now: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError>;

    /// Records that the visitor wants the conversation by email when it ends. `None` when the
    /// chatroom is not the tenant's or has ended; asking again leaves it requested.
    async fn request_transcript(&self, tenant: &TenantId, id: &ChatroomId) -> Result<Option<Chatroom>, RepoError>;

    /// Waiting chatrooms of every tenant that have waited since `waiting_since` or earlier and
    /// whose agents were not alerted yet, longest-waiting first, at most `limit`: what the
    /// unclaimed-chatroom sweep alerts about.
    async fn list_unclaimed(&self, waiting_since: Timestamp, limit: u32) -> Result<Vec<Chatroom>, RepoError>;

    /// Marks the chatroom's agents alerted at `now`, only if it is still waiting and was not
    /// marked yet: of several nodes sweeping at once, exactly one gets `Some` and sends the alert.
    async fn mark_unclaimed_alerted(
        &self,
        tenant: &TenantId,
        id: &ChatroomId,
        now: Timestamp,
    ) -> Result<Option<Chatroom>, RepoError>;
}

pub(super) fn chatroom_exists() -> RepoError {
    RepoError::conflict("chatroom_exists", "a chatroom with this id already exists")
}

/// The chatroom with `lastSeq` raised to `seq` (and its activity to `at`), if that is higher.
pub(super) fn raise_last_seq(room: &Chatroom, seq: u64, at: Timestamp) -> Option<Chatroom> {
    (room.last_seq < seq).then(|| Chatroom {
        last_seq: seq,
        last_activity_at: room.last_activity_at.max(at),
        ..room.clone()
    })
}

/// The chatroom after `change`, if it is in one of the `from` statuses and held by `held_by`.
pub(super) fn transition(
    room: &Chatroom,
    from: &[ChatroomStatus],
    held_by: Option<&UserId>,
    change: &Transition,
    now: Timestamp,
) -> Option<Chatroom> {
    if !from.contains(&room.status) || held_by.is_some_and(|agent| room.agent_id.as_ref() != Some(agent)) {
        return None;
    }
    let mut next = room.clone();
    change.apply(&mut next, now);
    Some(next)
}

/// The waiting chatroom with its offer replaced, if its offer is still `expected`.
pub(super) fn offer_changed(
    room: &Chatroom,
    expected: Option<&Offer>,
    next: Option<&Offer>,
    passed: Option<&UserId>,
) -> Option<Chatroom> {
    if room.status != ChatroomStatus::Waiting || room.offer.as_ref() != expected {
        return None;
    }
    let mut changed = room.clone();
    changed.offer = next.cloned();
    if let Some(agent) = passed
        && !changed.passed_by.contains(agent)
    {
        changed.passed_by.push(*agent);
    }
    Some(changed)
}

/// The chatroom with its first agent reply recorded, unless one already is.
pub(super) fn first_agent_reply(room: &Chatroom, at: Timestamp) -> Option<Chatroom> {
    room.first_agent_reply_at.is_none().then(|| Chatroom { first_agent_reply_at: Some(at), ..room.clone() })
}

/// The chatroom with `reader`'s read mark raised to `up_to` (at most `lastSeq`), unless that
/// changes nothing.
pub(super) fn read_up_to(room: &Chatroom, reader: SenderKind, up_to: u64) -> Option<Chatroom> {
    let up_to = up_to.min(room.last_seq);
    let mut next = room.clone();
    let mark = match reader {
        SenderKind::Visitor => &mut next.visitor_read_seq,
        SenderKind::Agent => &mut next.agent_read_seq,
        SenderKind::System => return None,
    };
    if up_to <= *mark {
        return None;
    }
    *mark = up_to;
    Some(next)
}

/// The chatroom with a transcript requested, if it is open.
pub(super) fn transcript(room: &Chatroom) -> Option<Chatroom> {
    room.is_open().then(|| Chatroom { transcript_requested: true, ..room.clone() })
}

/// The chatroom marked alerted at `now`, if it still waits and was not alerted yet.
pub(super) fn unclaimed_alerted(room: &Chatroom, now: Timestamp) -> Option<Chatroom> {
    (room.status == ChatroomStatus::Waiting && room.unclaimed_alert_at.is_none())
        .then(|| Chatroom { unclaimed_alert_at: Some(now), ..room.clone() })
}

/// Whether the chatroom is one `agent` holds.
pub(super) fn held_by(room: &Chatroom, agent: &UserId) -> bool {
    room.agent_id.as_ref() == Some(agent) && matches!(room.status, ChatroomStatus::Active | ChatroomStatus::Standby)
}
