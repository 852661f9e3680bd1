//! Seats in process memory.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{Seat, SeatRepo};
use crate::{
    domain::{ChatroomId, TenantId, Timestamp, UserId},
    repos::RepoError,
};

#[derive(Default)]
pub(in crate::repos) struct MemorySeats {
    rows: Mutex<HashMap<String, Seat>>,
}

#[async_trait]
impl SeatRepo for MemorySeats {
    async fn take(
        &self,
        tenant: &TenantId,
        agent: &UserId,
        chatroom: &ChatroomId,
        capacity: u32,
        now: Timestamp,
    ) -> Result<bool, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.values().any(|s| s.tenant_id == *tenant && s.agent_id == *agent && s.chatroom_id == *chatroom) {
            return Ok(true);
        }
        for n in 0..capacity {
            let seat = Seat::new(*tenant, *agent, n, *chatroom, now);
            if !rows.contains_key(&seat.id) {
                rows.insert(seat.id.clone(), seat);
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn release(&self, tenant: &TenantId, agent: &UserId, chatroom: &ChatroomId) -> Result<(), RepoError> {
        self.rows
            .lock()
            .unwrap()
            .retain(|_, s| !(s.tenant_id == *tenant && s.agent_id == *agent && s.chatroom_id == *chatroom));
        Ok(())
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Seat>, RepoError> {
        let mut seats: Vec<Seat> =
            self.rows.lock().unwrap().values().filter(|s| s.tenant_id == *tenant).cloned().collect();
        seats.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(seats)
    }
}
