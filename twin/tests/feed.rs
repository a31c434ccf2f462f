//! The live feed's MQTT thread against a real broker (rumqttd): it keeps retrying while no
//! broker listens, connects once one does, subscribes, and receives the retained live state of
//! its district only.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{Client, MqttOptions, QoS};
use twin::feed::{spawn_mqtt, Inbox, Msg};

/// The gateway's embedded rumqttd, listening on `addr`.
fn start_broker(addr: SocketAddr) {
    let cfg = gateway::config::BrokerConfig {
        listen: addr,
        max_packet_bytes: 1 << 20,
        ..Default::default()
    };
    gateway::broker::start_embedded(&cfg, None).expect("embedded broker");
}

fn publish_retained(addr: SocketAddr, topic: &str, payload: &str) {
    let (client, mut conn) = Client::new(
        MqttOptions::new("pub", addr.ip().to_string(), addr.port()),
        10,
    );
    client
        .publish(topic, QoS::AtLeastOnce, true, payload.as_bytes().to_vec())
        .unwrap();
    for ev in conn.iter() {
        if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = ev {
            break;
        }
        ev.unwrap();
    }
}

fn wait(what: &str, inbox: &Arc<Mutex<Inbox>>, done: impl Fn(&Inbox) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(&inbox.lock().unwrap()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn retries_until_a_broker_listens_then_receives_retained_state() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    spawn_mqtt(&addr.to_string(), &Default::default(), "d", inbox.clone()).unwrap();
    // Nobody listens yet: it fails, counts, and keeps trying.
    wait("a failed attempt", &inbox, |i| i.reconnects >= 1);
    assert!(!inbox.lock().unwrap().connected);

    start_broker(addr);
    let zone = r#"{"zone":"z1","ts":"2026-11-23T06:00:00Z","people":120,"density":0.4,"level":"normal","in_per_min":3,"out_per_min":2,"capacity":1000,"area_m2":300.0,"visits_today":900,"stale":false}"#;
    publish_retained(addr, "district/d/live/zones/z1", zone);
    publish_retained(
        addr,
        "district/other/live/zones/z9",
        &zone.replace("z1", "z9"),
    );
    wait("the retained zone", &inbox, |i| {
        i.connected && i.latest.contains_key("district/d/live/zones/z1")
    });
    let i = inbox.lock().unwrap();
    match &i.latest["district/d/live/zones/z1"] {
        Msg::Zone(z) => assert_eq!((z.people, z.zone.as_str()), (120, "z1")),
        m => panic!("{m:?}"),
    }
    assert!(
        !i.latest.keys().any(|k| k.contains("/other/")),
        "another district's topics are not subscribed"
    );
    assert_eq!(i.rejected, 0);
}
