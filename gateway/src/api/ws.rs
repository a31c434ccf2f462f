//! WebSocket stream of live updates.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use crate::shared::Shared;

pub async fn upgrade(ws: WebSocketUpgrade, State(s): State<Arc<Shared>>) -> Response {
    ws.on_upgrade(move |socket| stream(socket, s))
}

/// Sends every live update as `{"topic": .., "payload": <json>}`; a client that falls behind
/// is told how many updates it missed and goes on.
async fn stream(mut socket: WebSocket, s: Arc<Shared>) {
    let mut rx = s.live.subscribe();
    loop {
        let text = match rx.recv().await {
            Ok(u) => format!(
                "{{\"topic\":{},\"payload\":{}}}",
                serde_json::to_string(&u.topic).unwrap_or_default(),
                u.payload
            ),
            Err(RecvError::Lagged(n)) => format!("{{\"lagged\":{n}}}"),
            Err(RecvError::Closed) => return,
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
}
