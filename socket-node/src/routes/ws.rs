//! `GET /v1/ws`: the WebSocket upgrade. What happens on the socket is in
//! [`connection`](crate::connection).

use axum::{
    extract::{State, WebSocketUpgrade},
    response::Response,
};
use shared::client_ip::ClientIp;

use crate::state::AppState;

/// Read and write buffers per connection. axum's defaults (128 KiB each) would cost ~130 KiB per
/// idle connection; chat frames are small, and a larger frame grows the buffer while it is read.
/// `scripts/bench/idle` measures what an idle connection costs.
const BUFFER_BYTES: usize = 1024;

pub async fn upgrade(State(state): State<AppState>, ClientIp(ip): ClientIp, upgrade: WebSocketUpgrade) -> Response {
    let limits = state.config.limits;
    let slot = state.ip_slots.acquire(ip, limits.connections_per_ip);
    upgrade
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_write_buffer_size(BUFFER_BYTES.max(limits.frame_bytes) * 4)
        .max_message_size(limits.frame_bytes)
        .max_frame_size(limits.frame_bytes)
        .on_upgrade(move |socket| crate::connection::serve(state, socket, ip, slot))
}
