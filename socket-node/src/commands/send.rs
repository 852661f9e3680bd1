//! `send {chatroomId, clientMsgId, message}`: stored, delivered, acknowledged, then produced as
//! `message.sent`. A repeated `clientMsgId` is acknowledged with its first seq and stores nothing.
//! Each connection sends within its [allowance](crate::allowance) (`rate_limited` beyond it,
//! nothing stored; the client sends the same `clientMsgId` again later).

use shared::domain::{ChatroomId, ClientMsgId};

use crate::{
    chat::{self, Actor, ChatError},
    protocol::ServerFrame,
    session::Session,
};

pub async fn run(
    session: &mut Session,
    actor: &Actor,
    chatroom_id: ChatroomId,
    client_msg_id: ClientMsgId,
    message: String,
) -> Result<(), ChatError> {
    let origin = session.state.chat.notices.origin(session.id);
    let sent = chat::send(&session.state.chat, actor, origin, chatroom_id, client_msg_id, message).await?;
    let message = sent.message;
    if let Some(delivered) = session.following.get_mut(&chatroom_id) {
        delivered.insert(message.seq);
    }
    let ack = ServerFrame::Ack {
        chatroom_id,
        client_msg_id: message.client_msg_id.clone(),
        seq: message.seq,
        sent_at: message.sent_at,
    };
    session.emit(&ack).await;
    if sent.fresh {
        chat::message_sent(&session.state.chat, &message).await;
    }
    Ok(())
}
