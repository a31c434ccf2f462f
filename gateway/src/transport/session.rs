//! One device connection on the device port (MQTT 3.1.1, publish only).
//!
//! CONNECT first (within the connect timeout, with the configured credentials: one identity
//! per device from `[devices] credentials`, or the `[broker]` username and password); then
//! every PUBLISH the connected identity may make is admitted and handed to the store (one it
//! may not make is dead-lettered as `not_your_topic`, acknowledged, never applied), and its
//! PUBACK (QoS 1) or PUBREC (QoS 2) is written only once the store has committed it. The
//! socket is read no faster than the store takes rows: a full store queue stops this task
//! reading, and TCP pushes back on the device.
//! A persistent session (clean session off) is answered "session present", so that a device
//! resends its unacknowledged publishes after a reconnect.
//! SUBSCRIBE is answered with a failure code for every filter (live topics are on the
//! broker), PINGREQ with PINGRESP; a silent connection is closed after 1.5 × its keep-alive.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{
    ConnAck, Connect, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, SubAck,
    SubscribeReasonCode, UnsubAck,
};
use rumqttc::mqttbytes::{self, QoS};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::frame::{self, Frame, FrameError, OVERSIZED_HEAD};
use super::relay::{self, Route};
use super::stream::DeviceStream;
use super::Port;
use crate::auth::{Denied, Identity, Refusal};
use crate::store::writer::DeadLetterRow;
use crate::store::{Ack, DeviceAcks, StoreMsg};

/// Serves one connection until the device leaves, breaks the protocol, is taken over by a
/// newer connection with its client id, or the port stops; acknowledgements still owed for
/// committed readings are written before the socket closes. `cert_id`: the CN of the
/// device's verified TLS client certificate ([`super::tls`]).
pub(super) async fn serve<S: DeviceStream>(
    stream: S,
    peer: SocketAddr,
    port: Arc<Port>,
    cert_id: Option<String>,
) {
    let conn = port.next_conn.fetch_add(1, Relaxed);
    let (mut rd, wr) = stream.split();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (ack_tx, ack_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(wr, out_rx, ack_rx, port.max_packet));
    let mut buf = BytesMut::with_capacity(8192);
    let metrics = &port.admission.shared.metrics;

    let first = tokio::time::timeout(
        port.cfg.connect_timeout,
        frame::next(&mut rd, &mut buf, port.max_packet),
    )
    .await;
    let accepted = match first {
        Ok(Ok(Frame::Packet(Packet::Connect(c)))) => {
            let accepted = match &cert_id {
                Some(cn) => super::tls::accept_certified(&port, &c, conn, cn).await,
                None => accept(&port, &c, conn).await,
            };
            accepted.map(|(id, who)| (id, who, c))
        }
        Ok(Err(FrameError::Protocol(mqttbytes::Error::InvalidProtocolLevel(level)))) => Err((
            ConnectReturnCode::RefusedProtocolVersion,
            format!("not MQTT 3.1.1 (protocol level {level})"),
        )),
        other => {
            metrics.device_protocol_errors.fetch_add(1, Relaxed);
            let why = match other {
                Ok(Ok(f)) => format!("expected CONNECT, got {f:?}"),
                Ok(Err(e)) => e.to_string(),
                Err(_) => "no CONNECT within the connect timeout".into(),
            };
            tracing::info!(%peer, %why, "device connection closed before CONNECT");
            return;
        }
    };
    let (client_id, identity, connect) = match accepted {
        Ok(a) => a,
        Err((code, why)) => {
            metrics.device_refused.fetch_add(1, Relaxed);
            if code == ConnectReturnCode::BadUserNamePassword {
                metrics.device_bad_credentials.fetch_add(1, Relaxed);
            }
            tracing::warn!(%peer, %why, "device refused");
            let _ = out_tx.send(Packet::ConnAck(ConnAck::new(code, false)));
            drop((out_tx, ack_tx));
            let _ = writer.await;
            return;
        }
    };
    let (close_tx, mut close_rx) = oneshot::channel();
    port.registry.claim(&client_id, conn, close_tx);
    // A device's session here holds nothing but the device's own unacknowledged publishes
    // (devices cannot subscribe on this port), so a persistent session is always "present":
    // the device then resends what it has not seen acknowledged, and the store drops copies.
    // (rumqttc, for one, discards its unacknowledged messages on "no session".)
    let session_present = !connect.clean_session;
    let _ = out_tx.send(Packet::ConnAck(ConnAck::new(
        ConnectReturnCode::Success,
        session_present,
    )));
    metrics.device_connects.fetch_add(1, Relaxed);
    metrics.device_connected.fetch_add(1, Relaxed);
    tracing::debug!(%peer, %client_id, identity = identity.as_ref().map(|i| i.id.as_str()), "device connected");

    let acks = DeviceAcks { conn, tx: ack_tx };
    let keep_alive = match connect.keep_alive {
        0 => Duration::from_secs(24 * 3600),
        s => Duration::from_millis(s as u64 * 1500),
    };
    let mut stop = port.stop.clone();
    let mut conn_state = Conn {
        port: &port,
        acks,
        client_id: &client_id,
        identity,
        warned: false,
        out: &out_tx,
        pending: Vec::new(),
    };
    let why: String = loop {
        let next = tokio::select! {
            biased;
            _ = &mut close_rx => break "taken over by a newer connection with its client id".into(),
            _ = crate::stop::stopped(&mut stop) => break "the device port is stopping".into(),
            r = tokio::time::timeout(keep_alive, frame::next(&mut rd, &mut buf, port.max_packet)) => r,
        };
        let f = match next {
            Err(_) => break "keep-alive expired".into(),
            Ok(Err(FrameError::Closed)) => break "closed by the device".into(),
            Ok(Err(e)) => {
                metrics.device_protocol_errors.fetch_add(1, Relaxed);
                break e.to_string();
            }
            Ok(Ok(f)) => f,
        };
        // This packet and every whole one already read behind it go to the store as one
        // batch: one hand-off for all of them.
        let mut end = conn_state.handle(f);
        while end.is_none() {
            match frame::ready(&mut buf, port.max_packet) {
                Ok(Some(f)) => end = conn_state.handle(f),
                Ok(None) => break,
                Err(e) => {
                    metrics.device_protocol_errors.fetch_add(1, Relaxed);
                    end = Some(e.to_string());
                }
            }
        }
        conn_state.flush().await;
        if let Some(why) = end {
            break why;
        }
    };
    let acks = conn_state.acks;
    tracing::debug!(%peer, %client_id, %why, "device connection ending");
    port.registry.release(&client_id, conn);
    metrics.device_connected.fetch_sub(1, Relaxed);
    // The writer ends once the last acknowledgement owed to this connection is written (every
    // clone of `acks` travels with a reading in the store's queue), or after a bound if the
    // device stopped reading.
    drop(acks);
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
}

/// One connection's state while it serves publishes.
struct Conn<'a> {
    port: &'a Port,
    acks: DeviceAcks,
    client_id: &'a str,
    /// Who connected (with `[devices] credentials`; `None` without).
    identity: Option<Arc<Identity>>,
    /// Whether a refused publish was logged at warn already (the rest go to debug).
    warned: bool,
    out: &'a mpsc::UnboundedSender<Packet>,
    /// Store messages of the packets handled since the last flush, in arrival order.
    pending: Vec<StoreMsg>,
}

impl Conn<'_> {
    /// Handles one frame: store messages are kept for [`Conn::flush`], replies are queued to
    /// the writer. `Some(why)` ends the connection.
    fn handle(&mut self, f: Frame) -> Option<String> {
        let f = self.screen(f)?;
        let port = self.port;
        let metrics = &port.admission.shared.metrics;
        let reply = match f {
            Frame::Packet(Packet::Publish(p)) => match relay::route(&p.topic) {
                Route::Reading => {
                    let ack = ack_for(&self.acks, p.pkid, p.qos);
                    let msg = port.admission.admit(&p.topic, &p.payload, ack);
                    self.pending.push(msg);
                    None
                }
                Route::Relay => {
                    let passed = port
                        .relay
                        .as_ref()
                        .is_some_and(|c| relay::relay(c, &p.topic, p.qos, p.retain, &p.payload));
                    if passed {
                        metrics.device_relayed.fetch_add(1, Relaxed);
                        ack_packet(p.pkid, p.qos)
                    } else {
                        metrics.device_relay_full.fetch_add(1, Relaxed);
                        None
                    }
                }
                Route::Forbidden => {
                    tracing::warn!(client_id = %self.client_id, topic = %p.topic, "device tried to publish a gateway topic");
                    let ack = ack_for(&self.acks, p.pkid, p.qos);
                    let msg = reject(
                        port,
                        &p.topic,
                        "forbidden_topic",
                        "only the gateway publishes this topic".into(),
                        p.payload.to_vec(),
                        ack,
                    );
                    self.pending.push(msg);
                    None
                }
            },
            Frame::Oversized {
                topic,
                pkid,
                qos,
                bytes,
                head,
            } => {
                let detail = format!(
                    "message of {bytes} bytes is over the device port's limit of {} bytes (first {OVERSIZED_HEAD} bytes kept)",
                    port.max_packet
                );
                let ack = ack_for(&self.acks, pkid, qos);
                self.pending
                    .push(reject(port, &topic, "oversized", detail, head, ack));
                None
            }
            Frame::Packet(Packet::PubRel(r)) => Some(Packet::PubComp(PubComp::new(r.pkid))),
            Frame::Packet(Packet::Subscribe(s)) => {
                tracing::debug!(client_id = %self.client_id, "SUBSCRIBE on the device port refused (live topics are on the broker)");
                Some(Packet::SubAck(SubAck::new(
                    s.pkid,
                    vec![SubscribeReasonCode::Failure; s.filters.len()],
                )))
            }
            Frame::Packet(Packet::Unsubscribe(u)) => Some(Packet::UnsubAck(UnsubAck::new(u.pkid))),
            Frame::Packet(Packet::PingReq) => Some(Packet::PingResp),
            Frame::Packet(Packet::Disconnect) => return Some("disconnected".into()),
            // Acknowledgements of publishes this port never sends.
            Frame::Packet(Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubComp(_)) => None,
            Frame::Packet(other) => {
                metrics.device_protocol_errors.fetch_add(1, Relaxed);
                return Some(format!("unexpected {other:?} from a device"));
            }
        };
        if let Some(p) = reply {
            let _ = self.out.send(p);
        }
        None
    }

    /// Refuses a publish (whole or oversized) that the connected identity may not make,
    /// before anything else looks at it (`None`: handled); every other frame is given back.
    /// The gateway's own topics are left to their own refusal (`forbidden_topic`).
    fn screen(&mut self, f: Frame) -> Option<Frame> {
        let Some(identity) = &self.identity else {
            return Some(f);
        };
        let (topic, pkid, qos) = match &f {
            Frame::Packet(Packet::Publish(p)) => (p.topic.as_str(), p.pkid, p.qos),
            Frame::Oversized {
                topic, pkid, qos, ..
            } => (topic.as_str(), *pkid, *qos),
            Frame::Packet(_) => return Some(f),
        };
        if relay::route(topic) == Route::Forbidden {
            return Some(f);
        }
        let Err(denied) = identity.may_publish(topic) else {
            return Some(f);
        };
        let topic = topic.to_string();
        let payload = match f {
            Frame::Packet(Packet::Publish(p)) => p.payload.to_vec(),
            Frame::Oversized { head, .. } => head,
            Frame::Packet(_) => Vec::new(),
        };
        let ack = ack_for(&self.acks, pkid, qos);
        self.not_your_topic(&topic, denied, payload, ack);
        None
    }

    /// Refuses a publish on a topic that is not the identity's: counted for the identity,
    /// dead-lettered as `not_your_topic`, acknowledged after the dead letter's commit (so the
    /// device does not resend it), never applied to the state.
    fn not_your_topic(&mut self, topic: &str, denied: Denied, payload: Vec<u8>, ack: Option<Ack>) {
        let port = self.port;
        let id = self
            .identity
            .as_ref()
            .map(|i| i.id.clone())
            .unwrap_or_default();
        port.admission.shared.metrics.device_not_your_topic(&id);
        if self.warned {
            tracing::debug!(client_id = %self.client_id, identity = %id, %topic, "publish refused: not this identity's topic");
        } else {
            self.warned = true;
            tracing::warn!(client_id = %self.client_id, identity = %id, %topic, why = %denied, "publish refused: not this identity's topic (further refusals on this connection are logged at debug)");
        }
        let msg = reject(port, topic, "not_your_topic", denied.0, payload, ack);
        self.pending.push(msg);
    }

    /// Hands the pending store messages over: urgent ones on their lane, the rest as one
    /// batch (waiting while the store's queue is full: the socket is not read meanwhile).
    async fn flush(&mut self) {
        let mut batch = Vec::with_capacity(self.pending.len());
        for msg in self.pending.drain(..) {
            if msg.is_urgent() {
                self.port.store.send_urgent(msg);
            } else {
                batch.push(msg);
            }
        }
        match batch.len() {
            0 => {}
            1 => self.port.store.send(batch.pop().expect("one")).await,
            _ => self.port.store.send(StoreMsg::Batch(batch)).await,
        }
    }
}

/// The acknowledgement of a publish: PUBACK at QoS 1, PUBREC at QoS 2, none at QoS 0. Sent at
/// once for a relayed message, after the commit for the rest.
fn ack_packet(pkid: u16, qos: QoS) -> Option<Packet> {
    match qos {
        QoS::AtMostOnce => None,
        QoS::AtLeastOnce => Some(Packet::PubAck(PubAck::new(pkid))),
        QoS::ExactlyOnce => Some(Packet::PubRec(PubRec::new(pkid))),
    }
}

fn ack_for(acks: &DeviceAcks, pkid: u16, qos: QoS) -> Option<Ack> {
    (qos != QoS::AtMostOnce).then(|| Ack::Device {
        to: acks.clone(),
        pkid,
        qos,
    })
}

/// A message refused before admission (a gateway topic, an oversized message): counted as
/// received and as a reject, dead-lettered (to its district's topic when it names one) and
/// stored; `ack` is sent after the commit, so the device does not resend it forever.
fn reject(
    port: &Port,
    topic: &str,
    reason: &'static str,
    detail: String,
    payload: Vec<u8>,
    ack: Option<Ack>,
) -> StoreMsg {
    let shared = &port.admission.shared;
    shared.metrics.received.fetch_add(1, Relaxed);
    let district = district_of(port, topic);
    let row = DeadLetterRow {
        received: shared.clock.now_ms(),
        district: district
            .as_ref()
            .map(|(_, id)| id.clone())
            .unwrap_or_default(),
        topic: topic.to_string(),
        reason,
        detail,
        payload,
    };
    port.admission.reject(district.map(|(i, _)| i), row, ack)
}

/// The served district a sensor topic names, if any: (index, id).
fn district_of(port: &Port, topic: &str) -> Option<(usize, String)> {
    let d = topic.strip_prefix("district/")?.split('/').next()?;
    let shared = &port.admission.shared;
    shared.index.get(d).map(|&i| (i, d.to_string()))
}

/// Checks a CONNECT: with identities (`[devices] credentials`), the identity's password and
/// that the client id is in its namespace; otherwise the `[broker]` credentials when the port
/// requires them. An empty client id is given `{identity}-{conn}` (with identities) or
/// `anonymous-{conn}` for a clean session. The client id and the identity, or the refusal's
/// return code and reason.
async fn accept(
    port: &Port,
    connect: &Connect,
    conn: u64,
) -> Result<(String, Option<Arc<Identity>>), (ConnectReturnCode, String)> {
    if let Some(auth) = &port.auth {
        let refused = |r: Refusal| match r {
            Refusal::BadCredentials(why) => (
                ConnectReturnCode::BadUserNamePassword,
                format!("{why} (client id \"{}\")", connect.client_id),
            ),
            Refusal::ClientId(why) => (ConnectReturnCode::BadClientId, why),
        };
        let Some(login) = &connect.login else {
            return Err(refused(Refusal::BadCredentials(
                "no username and password".into(),
            )));
        };
        let identity = auth
            .authenticate(&login.username, &login.password)
            .await
            .map_err(refused)?;
        let client_id = match (connect.client_id.is_empty(), connect.clean_session) {
            (false, _) => connect.client_id.clone(),
            (true, true) => format!("{}-{conn}", identity.id),
            (true, false) => {
                return Err((
                    ConnectReturnCode::BadClientId,
                    "a persistent session needs a client id".into(),
                ))
            }
        };
        auth.check_client_id(&identity, &client_id)
            .map_err(refused)?;
        return Ok((client_id, Some(identity)));
    }
    if let Some((user, pass)) = &port.credentials {
        let ok = connect
            .login
            .as_ref()
            .is_some_and(|l| same(&l.username, user) && same(&l.password, pass));
        if !ok {
            return Err((
                ConnectReturnCode::BadUserNamePassword,
                format!(
                    "wrong or missing credentials (client id \"{}\")",
                    connect.client_id
                ),
            ));
        }
    }
    match (connect.client_id.is_empty(), connect.clean_session) {
        (false, _) => Ok((connect.client_id.clone(), None)),
        (true, true) => Ok((format!("anonymous-{conn}"), None)),
        (true, false) => Err((
            ConnectReturnCode::BadClientId,
            "a persistent session needs a client id".into(),
        )),
    }
}

/// Compares secrets in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Writes control packets and the store's acknowledgements, batching whatever is waiting
/// into one write.
async fn write_loop(
    mut wr: impl AsyncWrite + Unpin,
    mut out: mpsc::UnboundedReceiver<Packet>,
    mut acks: mpsc::UnboundedReceiver<Vec<(u16, QoS)>>,
    max: usize,
) {
    let mut buf = BytesMut::with_capacity(4096);
    let (mut out_open, mut acks_open) = (true, true);
    while out_open || acks_open {
        tokio::select! {
            p = out.recv(), if out_open => match p {
                Some(p) => { let _ = p.write(&mut buf, max); }
                None => out_open = false,
            },
            a = acks.recv(), if acks_open => match a {
                Some(ids) => put_acks(&mut buf, &ids, max),
                None => acks_open = false,
            },
        }
        while let Ok(p) = out.try_recv() {
            let _ = p.write(&mut buf, max);
        }
        while let Ok(ids) = acks.try_recv() {
            put_acks(&mut buf, &ids, max);
        }
        if !buf.is_empty() {
            if wr.write_all(&buf).await.is_err() {
                return;
            }
            buf.clear();
        }
    }
    let _ = wr.shutdown().await;
}

fn put_acks(buf: &mut BytesMut, ids: &[(u16, QoS)], max: usize) {
    for p in ids.iter().filter_map(|&(pkid, qos)| ack_packet(pkid, qos)) {
        let _ = p.write(buf, max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same("s3cret", "s3cret"));
        assert!(!same("s3cret", "s3creT"));
        assert!(!same("s3cret", "s3cret!"));
        assert!(same("", ""));
    }
}
