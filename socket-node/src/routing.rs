//! Routing: which agent a waiting chatroom goes to, and how many an agent may have.
//!
//! **Capacity.** An agent's limit (`assigning.maxConcurrent`) holds through their
//! [seats](shared::repos::SeatRepo): a chatroom is offered to an agent, joined or transferred to
//! them only once a seat of theirs is taken for it, and taking one is an insert only one writer
//! wins, whichever node it runs on. The chatroom's own change (a compare-and-set) then decides
//! which of two racing claims stands; the loser gives its seat back. A seat is freed when the
//! agent stops holding the chatroom or its offer ends ([`settle_seats`]). One left behind by a
//! node that stopped in between is freed when the agent is found full ([`take_seat`]).
//!
//! **Offers.** For chatbots whose routing is automatic, a [`route`] pass over a tenant's queue
//! (oldest first) offers each waiting chatroom that has no open offer to one agent of the
//! [`Team`]: online with a console open, not away, with `assigning.enabled` and a free seat, and
//! not one the chatroom passed by. The visitor's last agent comes first when they can take it;
//! otherwise the least loaded, then the longest since their last offer, then by id (so equals
//! take turns). The offer is a compare-and-set on the chatroom (of two nodes offering it at once,
//! one wins) and lasts the chatbot's `offerSeconds`. An offer that lapsed, or whose agent went
//! offline or away, is withdrawn by the next pass (the agent joins the chatroom's passed-by list)
//! and the chatroom is offered to the next agent. Nobody available: it stays in the queue (and
//! the unclaimed alert still goes out, [`crate::waiting`]).
//!
//! **When.** Each node routes a tenant it has agents of whenever the tenant's queue or agents
//! change (a notice every node hears), when one of its agents leaves, and when an offer it saw
//! lapses ([`run_router`]). Passes on several nodes may overlap: seats and the chatrooms'
//! compare-and-set keep them from offering a chatroom twice or an agent too many.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use shared::{
    domain::{
        Availability, ChatbotId, Chatroom, ChatroomId, ChatroomStatus, Offer, Permission, Routing, TenantId, Timestamp,
        UserId, UserStatus,
    },
    events::{self, Event, OutgoingEvent},
};
use tokio::sync::{mpsc, watch};

use crate::{
    chat::{ChatError, ChatService},
    hub::Hub,
    protocol::{AgentStatusView, Presence, ServerFrame},
    waiting::LIST_LIMIT,
};

/// How long a seat may name a chatroom that does not (yet) show its agent: the chatroom's change
/// follows the seat within a write's patience, so a younger seat is never taken for left behind.
const SEAT_GRACE: Duration = Duration::from_secs(30);

/// How often the router looks for lapsed offers, and passes it could not lead.
const LAPSE_CHECK: Duration = Duration::from_millis(500);

/// How long a node leads routing a tenant at most (a pass takes far less; a node that dies in
/// one loses the lead after this).
const LEAD: Duration = Duration::from_secs(10);

/// Whether the chatroom takes one of the agent's seats: open, and held by them or offered to them.
pub fn occupies(room: &Chatroom, agent: &UserId) -> bool {
    room.is_open() && (room.agent_id == Some(*agent) || room.offer.as_ref().is_some_and(|o| o.agent_id == *agent))
}

/// Takes one of the agent's `capacity` seats for the chatroom: false when all are taken. When
/// they are, seats left behind (naming chatrooms the agent neither holds nor is offered) are
/// freed and the take tried once more.
pub async fn take_seat(
    chat: &ChatService,
    tenant: TenantId,
    agent: UserId,
    capacity: u32,
    chatroom: ChatroomId,
) -> Result<bool, ChatError> {
    let seats = &chat.repos.seats;
    if seats.take(&tenant, &agent, &chatroom, capacity, Timestamp::now()).await? {
        return Ok(true);
    }
    if free_left_behind(chat, tenant, agent).await? == 0 {
        return Ok(false);
    }
    Ok(seats.take(&tenant, &agent, &chatroom, capacity, Timestamp::now()).await?)
}

/// Frees the agent's seats older than [`SEAT_GRACE`] whose chatroom they neither hold nor are
/// offered; answers how many.
async fn free_left_behind(chat: &ChatService, tenant: TenantId, agent: UserId) -> Result<usize, ChatError> {
    let settled_before = Timestamp::now().minus_std(SEAT_GRACE);
    let seats = chat.repos.seats.list(&tenant).await?;
    let mut freed = 0;
    for seat in seats.iter().filter(|s| s.agent_id == agent && s.taken_at <= settled_before) {
        let room = chat.repos.chatrooms.get(&tenant, &seat.chatroom_id).await?;
        if !room.is_some_and(|room| occupies(&room, &agent)) {
            tracing::warn!(agent_id = %agent, chatroom_id = %seat.chatroom_id, "freeing a seat left behind");
            chat.repos.seats.release(&tenant, &agent, &seat.chatroom_id).await?;
            freed += 1;
        }
    }
    Ok(freed)
}

/// Gives back the agent's seat for the chatroom. A failure only leaves the seat behind, for
/// [`take_seat`] to free later.
pub async fn release_seat(chat: &ChatService, tenant: TenantId, agent: UserId, chatroom: ChatroomId) {
    if let Err(err) = chat.repos.seats.release(&tenant, &agent, &chatroom).await {
        tracing::warn!(error = %err, agent_id = %agent, chatroom_id = %chatroom, "seat not released");
    }
}

/// Gives back a seat taken for a change that did not happen, unless the chatroom shows the agent
/// in it now: another change of theirs (a join racing an offer) found the seat and stood.
pub async fn release_unused_seat(chat: &ChatService, tenant: TenantId, agent: UserId, chatroom: ChatroomId) {
    match chat.repos.chatrooms.get(&tenant, &chatroom).await {
        Ok(Some(room)) => release_unless_in(chat, &room, agent).await,
        Ok(None) => release_seat(chat, tenant, agent, chatroom).await,
        // Left behind for now; `take_seat` frees it when the agent is full.
        Err(err) => tracing::warn!(error = %err, "seat kept: the chatroom could not be read"),
    }
}

/// [`release_unused_seat`] with the chatroom as the caller has just read it.
pub async fn release_unless_in(chat: &ChatService, room: &Chatroom, agent: UserId) {
    if !occupies(room, &agent) {
        release_seat(chat, room.tenant_id, agent, room.id).await;
    }
}

/// After a change of the chatroom that left it as `after`: frees the seats of the agents the
/// change took it from (its holder when handed on, let go or ended; the agent it was offered to),
/// as the change itself names them ([`Chatroom::displaced`]), and tells the team when it freed
/// any. Answers whether it did.
pub async fn settle_seats(chat: &ChatService, after: &Chatroom) -> bool {
    let freed: Vec<&UserId> = after.displaced.iter().filter(|agent| !occupies(after, agent)).collect();
    for agent in &freed {
        release_seat(chat, after.tenant_id, **agent, after.id).await;
    }
    if !freed.is_empty() {
        crate::chat::agents_changed(chat, after.tenant_id).await;
    }
    !freed.is_empty()
}

/// An agent routing may offer a chatroom to.
#[derive(Debug, Clone)]
struct Member {
    id: UserId,
    name: String,
    load: u32,
    capacity: u32,
    last_offered: Option<Timestamp>,
}

/// The tenant's agents who take offers now, with their loads.
struct Team {
    members: Vec<Member>,
}

impl Team {
    /// Online (a console open on a live node), chose online, active, with `assigning.enabled`.
    async fn load(chat: &ChatService, tenant: TenantId) -> Result<Self, ChatError> {
        let online = chat.presence.agents_online(tenant).await.map_err(presence_failed)?;
        if online.is_empty() {
            return Ok(Self { members: Vec::new() });
        }
        let users = chat.repos.users.list(&tenant).await?;
        let loads = loads(chat, tenant).await?;
        let last_offered = chat.presence.last_routed(tenant).await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "offer times unknown; equally loaded agents go by id");
            HashMap::new()
        });
        let members = users
            .into_iter()
            .filter(|u| online.contains(&u.id) && u.status == UserStatus::Active)
            .filter(|u| u.availability == Availability::Online && u.assigning.enabled)
            .map(|u| Member {
                id: u.id,
                name: u.name.as_str().to_owned(),
                load: loads.get(&u.id).copied().unwrap_or(0),
                capacity: u.assigning.max_concurrent,
                last_offered: last_offered.get(&u.id).copied(),
            })
            .collect();
        Ok(Self { members })
    }

    fn has(&self, agent: &UserId) -> bool {
        self.members.iter().any(|m| m.id == *agent)
    }

    /// Who `room` goes to next: its visitor's last agent when they can take it, else the least
    /// loaded, then the longest since their last offer, then the lowest id.
    fn pick(&self, room: &Chatroom) -> Option<Member> {
        let free = |m: &&Member| m.load < m.capacity && !room.passed_by.contains(&m.id);
        let preferred = room.preferred_agent_id.and_then(|id| self.members.iter().filter(free).find(|m| m.id == id));
        preferred
            .or_else(|| {
                self.members
                    .iter()
                    .filter(free)
                    .min_by_key(|m| (m.load, m.last_offered.map_or(i64::MIN, |at| at.unix_millis()), m.id.to_string()))
            })
            .cloned()
    }

    fn member(&mut self, agent: &UserId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == *agent)
    }

    fn offered(&mut self, agent: &UserId, at: Timestamp) {
        if let Some(member) = self.member(agent) {
            member.load += 1;
            member.last_offered = Some(at);
        }
    }

    fn full(&mut self, agent: &UserId) {
        if let Some(member) = self.member(agent) {
            member.load = member.capacity;
        }
    }

    fn freed(&mut self, agent: &UserId) {
        if let Some(member) = self.member(agent) {
            member.load = member.load.saturating_sub(1);
        }
    }
}

pub fn presence_failed(err: crate::presence::PresenceError) -> ChatError {
    tracing::warn!(error = %err, "presence unavailable");
    ChatError::internal()
}

/// Each agent's seats: the chatrooms they hold and the offers open to them.
async fn loads(chat: &ChatService, tenant: TenantId) -> Result<HashMap<UserId, u32>, ChatError> {
    let mut loads = HashMap::new();
    for seat in chat.repos.seats.list(&tenant).await? {
        *loads.entry(seat.agent_id).or_insert(0) += 1;
    }
    Ok(loads)
}

/// One pass over the tenant's queue (see the module): withdraws offers that lapsed or whose agent
/// is gone, and offers each chatroom of an automatic chatbot without an open offer. Answers when
/// the earliest offer still open lapses, for the router to pass again then.
pub async fn route(chat: &ChatService, tenant: TenantId) -> Result<Option<Timestamp>, ChatError> {
    let waiting = chat.repos.chatrooms.list_with_status(&tenant, &[ChatroomStatus::Waiting], LIST_LIMIT).await?;
    let mut routings: HashMap<ChatbotId, Option<Routing>> = HashMap::new();
    let mut automatic = Vec::new();
    for room in waiting {
        let routing = match routings.get(&room.chatbot_id) {
            Some(routing) => *routing,
            None => {
                let chatbot = chat.repos.chatbots.get(&tenant, &room.chatbot_id).await?;
                let routing = chatbot.map(|c| c.routing).filter(Routing::is_automatic);
                routings.insert(room.chatbot_id, routing);
                routing
            }
        };
        if let Some(routing) = routing {
            automatic.push((room, routing));
        }
    }
    if automatic.is_empty() {
        return Ok(None);
    }
    let mut team = Team::load(chat, tenant).await?;
    let (mut changed, mut next_lapse) = (false, None::<Timestamp>);
    for (mut room, routing) in automatic {
        if let Some(offer) = room.offer.clone() {
            if offer.is_open(Timestamp::now()) && team.has(&offer.agent_id) {
                next_lapse = Some(next_lapse.map_or(offer.until, |t| t.min(offer.until)));
                continue;
            }
            // Lapsed, or its agent went offline or away: the chatroom passes them by.
            let passed =
                chat.repos.chatrooms.change_offer(&tenant, &room.id, Some(&offer), None, Some(&offer.agent_id));
            let Some(passed) = passed.await? else { continue };
            release_seat(chat, tenant, offer.agent_id, room.id).await;
            team.freed(&offer.agent_id);
            changed = true;
            room = passed;
        }
        if let Some(offer) = offer(chat, &mut team, &room, routing).await? {
            next_lapse = Some(next_lapse.map_or(offer.until, |t| t.min(offer.until)));
            changed = true;
        }
    }
    if changed {
        crate::chat::chatrooms_changed(chat, tenant, true).await;
        crate::chat::agents_changed(chat, tenant).await;
    }
    Ok(next_lapse)
}

/// Offers the chatroom to the team's next agent with a seat for it; `None` when nobody can take
/// it, or another node changed it first.
async fn offer(
    chat: &ChatService,
    team: &mut Team,
    room: &Chatroom,
    routing: Routing,
) -> Result<Option<Offer>, ChatError> {
    let tenant = room.tenant_id;
    while let Some(member) = team.pick(room) {
        if !take_seat(chat, tenant, member.id, member.capacity, room.id).await? {
            team.full(&member.id);
            continue;
        }
        let now = Timestamp::now();
        let offer = Offer {
            agent_id: member.id,
            agent_name: member.name.clone(),
            until: now.plus_std(routing.offer_seconds.duration()),
        };
        let Some(offered) = chat.repos.chatrooms.change_offer(&tenant, &room.id, None, Some(&offer), None).await?
        else {
            release_unused_seat(chat, tenant, member.id, room.id).await;
            return Ok(None);
        };
        team.offered(&member.id, now);
        if let Err(err) = chat.presence.routed(tenant, member.id, now).await {
            tracing::warn!(error = %err, "offer time not recorded");
        }
        let data = events::ChatroomOffered {
            chatroom_id: offered.id,
            agent_id: member.id,
            offer_until: offer.until,
            returning_visitor: offered.preferred_agent_id == Some(member.id),
        };
        crate::chat::queue_event(chat, OutgoingEvent::new(tenant, Event::ChatroomOffered(data))).await;
        return Ok(Some(offer));
    }
    Ok(None)
}

/// The tenant's agents (active users who may join chatrooms) as the `agents` frame shows them.
pub async fn agents_frame(chat: &ChatService, tenant: TenantId) -> Result<ServerFrame, ChatError> {
    let users = chat.repos.users.list(&tenant).await?;
    let roles = chat.repos.roles.list(&tenant).await?;
    let online = chat.presence.agents_online(tenant).await.map_err(presence_failed)?;
    let loads = loads(chat, tenant).await?;
    let agents = users
        .iter()
        .filter(|u| u.status == UserStatus::Active && u.permissions(&roles).contains(&Permission::ChatroomsJoin))
        .map(|u| AgentStatusView {
            id: u.id,
            name: u.name.as_str().to_owned(),
            availability: match (online.contains(&u.id), u.availability) {
                (false, _) => Presence::Offline,
                (true, Availability::Online) => Presence::Online,
                (true, Availability::Away) => Presence::Away,
            },
            load: loads.get(&u.id).copied().unwrap_or(0),
            max_concurrent: u.assigning.max_concurrent,
            assigning: u.assigning.enabled,
        })
        .collect();
    Ok(ServerFrame::Agents { agents })
}

/// Asks this node's router for a pass over a tenant's queue.
#[derive(Clone)]
pub struct RouteRequests(mpsc::UnboundedSender<TenantId>);

impl RouteRequests {
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<TenantId>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    pub fn route(&self, tenant: TenantId) {
        let _ = self.0.send(tenant);
    }
}

/// Routes each tenant asked for (a burst of asks for one tenant makes one pass), and again when
/// an offer it saw lapses, while this node has agents of the tenant.
pub async fn run_router(
    chat: ChatService,
    hub: std::sync::Arc<Hub>,
    mut requests: mpsc::UnboundedReceiver<TenantId>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut lapses: HashMap<TenantId, Timestamp> = HashMap::new();
    // Asked for while another node led: passed again at the next tick.
    let mut deferred: HashSet<TenantId> = HashSet::new();
    let mut ticks = tokio::time::interval(LAPSE_CHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut tenants = HashSet::new();
        tokio::select! {
            asked = requests.recv() => match asked {
                Some(tenant) => { tenants.insert(tenant); }
                None => return,
            },
            _ = ticks.tick() => {
                let now = Timestamp::now();
                lapses.retain(|tenant, _| hub.has_tenant(tenant));
                tenants.extend(lapses.iter().filter(|(_, at)| **at <= now).map(|(tenant, _)| *tenant));
                tenants.extend(deferred.drain());
            }
            _ = shutdown.changed() => return,
        }
        while let Ok(tenant) = requests.try_recv() {
            tenants.insert(tenant);
        }
        for tenant in tenants {
            match chat.presence.lead_routing(tenant, LEAD).await {
                Ok(true) => {}
                Ok(false) => {
                    deferred.insert(tenant);
                    continue;
                }
                Err(err) => tracing::warn!(error = %err, "routing lead unknown; passing anyway"),
            }
            let passed = route(&chat, tenant).await;
            chat.presence.end_routing(tenant).await;
            match passed {
                Ok(Some(lapse)) => {
                    lapses.insert(tenant, lapse);
                }
                Ok(None) => {
                    lapses.remove(&tenant);
                }
                Err(err) => tracing::warn!(error = %err, %tenant, "routing pass failed"),
            }
        }
    }
}
