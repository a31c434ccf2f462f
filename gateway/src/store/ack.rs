//! Where an acknowledgement goes once its row is committed: back to the external broker
//! through the gateway's ingest session, or straight to the device's connection on the device
//! port.

use std::collections::HashMap;

use rumqttc::{Publish, QoS};
use tokio::sync::mpsc;

/// An MQTT message to acknowledge once its row is durable.
#[derive(Debug)]
pub enum Ack {
    /// A message the ingest session received from a broker (acknowledged with its `pkid`).
    Broker(Publish),
    /// A message a device published on the device port.
    Device {
        /// The device's connection.
        to: DeviceAcks,
        /// Packet id to acknowledge.
        pkid: u16,
        /// QoS 1 (answered with PUBACK) or 2 (PUBREC).
        qos: QoS,
    },
}

/// The acknowledgement channel of one device connection. The connection ends its writer
/// once every clone is dropped, so acknowledgements still owed are delivered before it closes.
#[derive(Debug, Clone)]
pub struct DeviceAcks {
    /// Connection number (unique in this process).
    pub conn: u64,
    /// Packet ids and their QoS, in commit order.
    pub tx: mpsc::UnboundedSender<Vec<(u16, QoS)>>,
}

/// Sends one commit's acknowledgements: broker messages as one batch to the ingest session,
/// device messages as one batch per connection. A connection that has closed is skipped (its
/// device resends and the store drops the copy).
pub fn dispatch(acks: Vec<Ack>, broker: &mpsc::UnboundedSender<Vec<Publish>>) {
    let mut to_broker = Vec::new();
    let mut to_devices: HashMap<u64, (DeviceAcks, Vec<(u16, QoS)>)> = HashMap::new();
    for a in acks {
        match a {
            Ack::Broker(p) => to_broker.push(p),
            Ack::Device { to, pkid, qos } => {
                to_devices
                    .entry(to.conn)
                    .or_insert_with(|| (to, Vec::new()))
                    .1
                    .push((pkid, qos));
            }
        }
    }
    if !to_broker.is_empty() {
        let _ = broker.send(to_broker);
    }
    for (_, (to, ids)) in to_devices {
        let _ = to.tx.send(ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_acknowledgements_by_destination_in_order() {
        let (btx, mut brx) = mpsc::unbounded_channel();
        let (d1, mut r1) = mpsc::unbounded_channel();
        let (d2, mut r2) = mpsc::unbounded_channel();
        let dev = |tx: &mpsc::UnboundedSender<_>, conn, pkid| Ack::Device {
            to: DeviceAcks {
                conn,
                tx: tx.clone(),
            },
            pkid,
            qos: QoS::AtLeastOnce,
        };
        let mut p = Publish::new("t", QoS::AtLeastOnce, "x");
        p.pkid = 9;
        dispatch(
            vec![
                dev(&d1, 1, 5),
                Ack::Broker(p),
                dev(&d2, 2, 7),
                dev(&d1, 1, 6),
            ],
            &btx,
        );
        assert_eq!(brx.try_recv().unwrap()[0].pkid, 9);
        let q = QoS::AtLeastOnce;
        assert_eq!(r1.try_recv().unwrap(), vec![(5, q), (6, q)]);
        assert_eq!(r2.try_recv().unwrap(), vec![(7, q)]);
        assert!(r1.try_recv().is_err() && brx.try_recv().is_err());
    }
}
