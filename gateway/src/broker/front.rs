//! The gateway in front of the embedded broker: where subscribers (and devices on the broker
//! path) connect, over plaintext or TLS, before rumqttd.
//!
//! Two ways, chosen by the configuration:
//! - **Screening** (with `[devices] credentials`): rumqttd listens on a loopback port of its
//!   own that only the gateway knows; the front takes `[broker] listen` (and `tls_listen`
//!   with `[broker] tls`). It reads each connection's packets towards the broker with
//!   rumqttc's codec (`rumqttc::mqttbytes::v4`). Nothing passes before a CONNECT, whose
//!   username and password it checks against the same identities as the device port
//!   ([`Authenticator`]); the CONNECT goes on with the password replaced by a secret that
//!   rumqttd takes from the front only ([`FrontPass`]), so that the loopback port admits no
//!   identity that bypasses the front. Every later packet is screened ([`super::guard`]) and
//!   forwarded as it came; a refused PUBLISH closes the connection (MQTT 3.1.1 has no other
//!   way to refuse one), is counted (`gateway_broker_publish_refused_total`) and logged with
//!   the client id and identity. The broker's answers are copied back unchanged.
//! - **Piping** (without identities, `[broker] tls` only): TLS is terminated here and the
//!   bytes are copied both ways to rumqttd's plaintext listener, which stays on `listen`.
//!
//! Why the gateway terminates TLS rather than rumqttd: in rumqttd 0.20 TLS needs the
//! `use-rustls` feature (a second rustls, 0.22, and x509-parser built beside the gateway's
//! rustls 0.23), and its client certificates are all or nothing: with `verify-client-cert` a
//! certificate is required of every client and its organisation (O) becomes a tenant prefix
//! of every topic; without it a client CA is ignored. Terminating here gives subscribers the
//! same TLS settings as the device port (optional or required client certificates, one
//! crypto stack). rumqttd sees every fronted client as coming from the loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{Connect, Packet, Publish};
use rumqttc::mqttbytes::{self, PacketType};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::guard::{self, Refused};
use crate::auth::{Authenticator, Identity, Role};
use crate::config::BrokerConfig;
use crate::metrics::Metrics;

/// A TLS handshake, then a CONNECT, must each come within this (as rumqttd's own connection
/// timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How identities reach rumqttd through the front: the identities, and the secret that
/// stands for a password the front has verified. Made at start, kept in memory.
#[derive(Debug, Clone)]
pub struct FrontPass {
    /// The identities (the same as the device port's).
    pub ids: Arc<Authenticator>,
    /// What the front puts in a forwarded CONNECT's password.
    pub token: String,
}

/// What the screening front checks against.
#[derive(Debug)]
pub struct Guard {
    pass: FrontPass,
    /// The `[broker]` username and password: served as the `gateway` role (the gateway's own
    /// topics stay refused on the front).
    pair: Option<(String, String)>,
    metrics: Arc<Metrics>,
    /// Largest remaining length of a packet, bytes (rumqttd's own limit).
    max_packet: usize,
}

impl Guard {
    /// A guard for the broker configured by `cfg`.
    pub fn new(
        cfg: &BrokerConfig,
        pass: FrontPass,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Guard> {
        Ok(Guard {
            pass,
            pair: cfg.credentials()?,
            metrics,
            max_packet: cfg.max_packet_bytes,
        })
    }
}

/// The running fronts.
#[derive(Debug, Default)]
pub struct Fronts {
    /// The screening front on `[broker] listen` (with identities).
    pub plain: Option<SocketAddr>,
    /// The front on `tls_listen` (with `[broker] tls`).
    pub tls: Option<SocketAddr>,
    /// The accept loops; each ends, closing its connections, once `stop` turns true.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts what `cfg` asks for in front of rumqttd at `upstream`: with `guard`, a screening
/// front on `listen` and, with `tls`, one on `tls_listen`; without, a piping front on
/// `tls_listen` when `tls` is set. At most `max_connections` client connections over all
/// fronts (further ones are closed at once).
pub async fn start(
    cfg: &BrokerConfig,
    upstream: SocketAddr,
    guard: Option<Arc<Guard>>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Fronts> {
    let slots = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let mut fronts = Fronts::default();
    if guard.is_some() {
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| anyhow::anyhow!("binding the broker's listener to {}: {e}", cfg.listen))?;
        fronts.plain = Some(listener.local_addr()?);
        fronts.tasks.push(tokio::spawn(accept_loop(
            listener,
            None,
            upstream,
            guard.clone(),
            slots.clone(),
            stop.clone(),
        )));
        tracing::info!(addr = ?fronts.plain, "embedded MQTT broker listening (screened by the gateway)");
    }
    if let Some(tls) = &cfg.tls {
        let acceptor =
            crate::tls::acceptor(tls, &[]).map_err(|e| anyhow::anyhow!("[broker] tls: {e}"))?;
        if guard.is_none() && !cfg.listen.ip().is_loopback() {
            tracing::warn!(listen = %cfg.listen, "[broker] tls is set but the plaintext listener is not on the loopback: other hosts can still connect without TLS");
        }
        let listener = TcpListener::bind(cfg.tls_listen).await.map_err(|e| {
            anyhow::anyhow!(
                "binding the broker's TLS listener to {}: {e}",
                cfg.tls_listen
            )
        })?;
        fronts.tls = Some(listener.local_addr()?);
        fronts.tasks.push(tokio::spawn(accept_loop(
            listener,
            Some(acceptor),
            upstream,
            guard,
            slots,
            stop,
        )));
        tracing::info!(addr = ?fronts.tls, "embedded MQTT broker listening over TLS");
    }
    Ok(fronts)
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    upstream: SocketAddr,
    guard: Option<Arc<Guard>>,
    slots: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = crate::stop::stopped(&mut stop) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let (tls, guard) = (tls.clone(), guard.clone());
                        conns.spawn(async move {
                            serve(tcp, peer, tls, upstream, guard).await;
                            drop(slot);
                        });
                    }
                    Err(_) => tracing::warn!(%peer, "broker client refused: too many connections"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "broker front: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    // Dropping the set aborts the connections still open.
    drop(conns);
}

/// One client: the TLS handshake if any, then the connection screened or piped.
async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    upstream: SocketAddr,
    guard: Option<Arc<Guard>>,
) {
    let _ = tcp.set_nodelay(true);
    let Some(acceptor) = tls else {
        return relay(tcp, peer, upstream, guard).await;
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => relay(stream, peer, upstream, guard).await,
        Ok(Err(e)) => {
            tracing::warn!(%peer, reason = "tls", error = %e, "broker TLS client refused")
        }
        Err(_) => {
            tracing::warn!(%peer, reason = "tls", "broker TLS client refused: no handshake within 10 s")
        }
    }
}

async fn relay<S>(mut client: S, peer: SocketAddr, upstream: SocketAddr, guard: Option<Arc<Guard>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(guard) = guard else {
        let Some(mut broker) = connect_upstream(peer, upstream).await else {
            return;
        };
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut broker).await {
            tracing::debug!(%peer, error = %e, "broker connection ended");
        }
        return;
    };
    screened(client, peer, upstream, &guard).await;
}

async fn connect_upstream(peer: SocketAddr, upstream: SocketAddr) -> Option<TcpStream> {
    match TcpStream::connect(upstream).await {
        Ok(s) => {
            let _ = s.set_nodelay(true);
            Some(s)
        }
        Err(e) => {
            tracing::warn!(%peer, error = %e, "broker front: the broker is unreachable");
            None
        }
    }
}

/// Why a screened connection's client side ended.
enum End {
    /// The client closed its side.
    Closed,
    /// A refused packet.
    Refused(Refused),
    /// Not MQTT 3.1.1, a packet over the limit, a second CONNECT, or a socket error.
    Broken(String),
}

/// A connection with identities: CONNECT checked, then every packet towards the broker
/// screened; the broker's side copied back.
async fn screened<S>(client: S, peer: SocketAddr, upstream: SocketAddr, guard: &Guard)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(client);
    let mut buf = BytesMut::with_capacity(8192);
    let connect = match tokio::time::timeout(
        CONNECT_TIMEOUT,
        read_frame(&mut rd, &mut buf, guard.max_packet),
    )
    .await
    {
        Ok(Ok(Some((fh, frame)))) if fh.packet_type().ok() == Some(PacketType::Connect) => {
            match Connect::read(fh, frame) {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(%peer, error = %e, "broker client closed: unreadable CONNECT");
                    return;
                }
            }
        }
        Ok(Ok(Some(_))) => {
            tracing::info!(%peer, "broker client closed: the first packet is not a CONNECT");
            return;
        }
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            tracing::info!(%peer, error = %e, "broker client closed before CONNECT");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, "broker client closed: no CONNECT within 10 s");
            return;
        }
    };
    let client_id = connect.client_id.clone();
    let (who, forward) = match admit(guard, connect).await {
        Ok(a) => a,
        Err(why) => {
            // As rumqttd does on a refused CONNECT: closed without a CONNACK.
            tracing::warn!(%peer, %client_id, %why, "broker client refused");
            return;
        }
    };
    let Some(broker) = connect_upstream(peer, upstream).await else {
        return;
    };
    let (mut up_rd, up_wr) = broker.into_split();
    let mut up_wr = BufWriter::with_capacity(64 * 1024, up_wr);
    if up_wr.write_all(&forward).await.is_err() || up_wr.flush().await.is_err() {
        return;
    }
    let to_broker = forward_screened(&mut rd, &mut up_wr, buf, &who, guard.max_packet);
    let to_client = tokio::io::copy(&mut up_rd, &mut wr);
    tokio::pin!(to_broker, to_client);
    tokio::select! {
        end = &mut to_broker => match end {
            End::Closed => {
                // The broker closes its side once it has read the rest.
                let _ = tokio::time::timeout(CONNECT_TIMEOUT, &mut to_client).await;
            }
            End::Refused(r) => {
                guard.metrics.broker_publish_refused(r.reason);
                tracing::warn!(%peer, %client_id, identity = %who.id, topic = %r.topic, reason = r.reason, why = %r.detail, "broker client disconnected: publish refused");
            }
            End::Broken(why) => tracing::info!(%peer, %client_id, %why, "broker client closed"),
        },
        _ = &mut to_client => tracing::debug!(%peer, %client_id, "broker connection ended by the broker"),
    }
}

/// Who connects, and the CONNECT to forward (re-encoded): the `[broker]` pair as it came, or
/// an identity whose password is verified and whose client id is its own, with
/// [`FrontPass::token`] in place of its password. Its last will is screened.
async fn admit(guard: &Guard, mut connect: Connect) -> Result<(Arc<Identity>, Bytes), String> {
    let Some(login) = connect.login.as_mut() else {
        return Err("no username and password".into());
    };
    let ids = &guard.pass.ids;
    let pair = guard.pair.as_ref().filter(|(u, p)| {
        bool::from(login.username.as_bytes().ct_eq(u.as_bytes()))
            && bool::from(login.password.as_bytes().ct_eq(p.as_bytes()))
    });
    let who = match pair {
        Some((user, _)) => Arc::new(Identity {
            id: user.clone(),
            role: Role::Gateway,
            devices: Default::default(),
        }),
        None => {
            let who = ids
                .authenticate(&login.username, &login.password)
                .await
                .map_err(|r| format!("{r:?}"))?;
            // An empty client id with a clean session (mosquitto_sub without -i): the
            // broker assigns one, here in the identity's namespace, as the device port does.
            if connect.client_id.is_empty() {
                if !connect.clean_session {
                    return Err("a persistent session needs a client id".into());
                }
                let tail: String = crate::auth::secret::new_secret().chars().take(12).collect();
                connect.client_id = format!("{}-{tail}", who.id);
            }
            ids.check_client_id(&who, &connect.client_id)
                .map_err(|r| format!("{r:?}"))?;
            login.password = guard.pass.token.clone();
            who
        }
    };
    let packet = Packet::Connect(connect);
    if let Err(r) = guard::screen(&who, &packet) {
        guard.metrics.broker_publish_refused(r.reason);
        return Err(format!(
            "{} (identity {}, topic {})",
            r.detail, who.id, r.topic
        ));
    }
    let mut out = BytesMut::new();
    packet
        .write(&mut out, usize::MAX)
        .map_err(|e| format!("CONNECT: {e}"))?;
    Ok((who, out.freeze()))
}

/// Copies the client's packets to the broker as they came, each screened first; stops at the
/// first refused or unreadable one (what passed before it is forwarded).
async fn forward_screened<R, W>(
    rd: &mut R,
    up: &mut W,
    mut buf: BytesMut,
    who: &Identity,
    max: usize,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let end = loop {
            let fh = match mqttbytes::check(buf.iter(), max) {
                Ok(fh) => fh,
                Err(mqttbytes::Error::InsufficientBytes(_)) => break None,
                Err(e) => break Some(End::Broken(e.to_string())),
            };
            let frame = buf.split_to(fh.frame_length()).freeze();
            let verdict = match fh.packet_type() {
                Ok(PacketType::Publish) => match Publish::read(fh, frame.clone()) {
                    Ok(p) => guard::screen(who, &Packet::Publish(p)).map_err(End::Refused),
                    Err(e) => Err(End::Broken(e.to_string())),
                },
                Ok(PacketType::Connect) => Err(End::Broken("a second CONNECT".into())),
                Ok(_) => Ok(()),
                Err(e) => Err(End::Broken(e.to_string())),
            };
            if let Err(end) = verdict {
                break Some(end);
            }
            if let Err(e) = up.write_all(&frame).await {
                break Some(End::Broken(e.to_string()));
            }
        };
        if let Err(e) = up.flush().await {
            return End::Broken(e.to_string());
        }
        if let Some(end) = end {
            return end;
        }
        buf.reserve(8192);
        match rd.read_buf(&mut buf).await {
            Ok(0) => {
                let _ = up.shutdown().await;
                return End::Closed;
            }
            Ok(_) => {}
            Err(e) => return End::Broken(e.to_string()),
        }
    }
}

/// The first whole packet: its fixed header and bytes; `None` when the client closed first.
async fn read_frame<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    max: usize,
) -> Result<Option<(mqttbytes::FixedHeader, Bytes)>, mqttbytes::Error> {
    loop {
        match mqttbytes::check(buf.iter(), max) {
            Ok(fh) => return Ok(Some((fh, buf.split_to(fh.frame_length()).freeze()))),
            Err(mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(e) => return Err(e),
        }
        buf.reserve(8192);
        if rd.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::mqttbytes::v4::{PubAck, Subscribe};
    use rumqttc::mqttbytes::QoS;

    fn wire(packets: &[Packet]) -> Vec<u8> {
        let mut b = BytesMut::new();
        for p in packets {
            p.write(&mut b, usize::MAX).unwrap();
        }
        b.to_vec()
    }

    fn publish(topic: &str, payload: &str) -> Packet {
        let mut p = Publish::new(topic, QoS::AtLeastOnce, payload.as_bytes().to_vec());
        p.pkid = 7;
        Packet::Publish(p)
    }

    /// What reaches the broker for `input` from `who`, and why the client's side ended.
    async fn forwarded(who: &Identity, input: Vec<u8>) -> (Vec<u8>, End) {
        let (mut client, mut front_side) = tokio::io::duplex(1 << 16);
        client.write_all(&input).await.unwrap();
        drop(client);
        let mut up = Vec::new();
        let end = forward_screened(&mut front_side, &mut up, BytesMut::new(), who, 65_536).await;
        (up, end)
    }

    #[tokio::test]
    async fn packets_pass_as_they_came_until_a_refused_one() {
        let ps1 = Identity::new("ps-1", Role::Device, Default::default()).unwrap();
        let passing = wire(&[
            Packet::Subscribe(Subscribe::new("district/#", QoS::AtLeastOnce)),
            publish("district/mini/sensors/parking/ps-1", r#"{"occupied":true}"#),
            Packet::PubAck(PubAck::new(3)),
            Packet::PingReq,
        ]);
        let refused = wire(&[publish("district/mini/signs/s1", "FORGED")]);
        let after = wire(&[publish("district/mini/sensors/parking/ps-1", "after")]);

        let (up, end) = forwarded(&ps1, passing.clone()).await;
        assert_eq!(up, passing, "the original bytes, unchanged");
        assert!(matches!(end, End::Closed));

        let input = [passing.clone(), refused, after].concat();
        let (up, end) = forwarded(&ps1, input).await;
        assert_eq!(
            up, passing,
            "what came before the refused publish, nothing after"
        );
        match end {
            End::Refused(r) => assert_eq!(
                (r.reason, r.topic.as_str()),
                ("forbidden_topic", "district/mini/signs/s1")
            ),
            _ => panic!("not refused"),
        }

        let other = wire(&[publish("district/mini/sensors/parking/ps-2", "x")]);
        let (up, end) = forwarded(&ps1, other).await;
        assert!(up.is_empty());
        assert!(matches!(end, End::Refused(r) if r.reason == "not_your_topic"));
    }

    #[tokio::test]
    async fn a_second_connect_or_garbage_ends_the_connection() {
        let twin = Identity::new("twin", Role::Reader, Default::default()).unwrap();
        let (up, end) = forwarded(&twin, wire(&[Packet::Connect(Connect::new("twin"))])).await;
        assert!(up.is_empty());
        assert!(matches!(end, End::Broken(_)));
        let (up, end) = forwarded(&twin, vec![0xF0, 0x00, 1, 2]).await;
        assert!(up.is_empty());
        assert!(matches!(end, End::Broken(_)));
    }
}
