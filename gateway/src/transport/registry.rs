//! Which connection holds which client id: a new connection with an id already connected
//! takes it over and the older one is closed (MQTT 3.1.1, 3.1.4-2).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::oneshot;

/// Client id → (connection number, the way to close it).
#[derive(Debug, Default)]
pub struct Registry {
    held: Mutex<HashMap<String, (u64, oneshot::Sender<()>)>>,
}

impl Registry {
    /// Records that connection `conn` holds `client_id`; the connection that held it before
    /// (if any) is told to close.
    pub fn claim(&self, client_id: &str, conn: u64, close: oneshot::Sender<()>) {
        let previous = self
            .held
            .lock()
            .expect("registry lock")
            .insert(client_id.to_string(), (conn, close));
        if let Some((_, close)) = previous {
            let _ = close.send(());
        }
    }

    /// Forgets `client_id` if connection `conn` still holds it.
    pub fn release(&self, client_id: &str, conn: u64) {
        let mut held = self.held.lock().expect("registry lock");
        if held.get(client_id).is_some_and(|(c, _)| *c == conn) {
            held.remove(client_id);
        }
    }

    /// Client ids connected now.
    pub fn len(&self) -> usize {
        self.held.lock().expect("registry lock").len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_connection_with_the_same_id_closes_the_first() {
        let r = Registry::default();
        let (c1, mut k1) = oneshot::channel();
        let (c2, mut k2) = oneshot::channel();
        r.claim("dev", 1, c1);
        assert!(k1.try_recv().is_err());
        r.claim("dev", 2, c2);
        assert!(k1.try_recv().is_ok(), "the first is told to close");
        r.release("dev", 1); // the closed one must not evict the new holder
        assert_eq!(r.len(), 1);
        assert!(k2.try_recv().is_err());
        r.release("dev", 2);
        assert!(r.is_empty());
    }
}
