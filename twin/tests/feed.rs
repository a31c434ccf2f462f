//! The live feed's MQTT thread against a real broker (rumqttd): it keeps retrying while no
//! broker listens, connects once one does, subscribes, and receives the retained live state of
//! its district only.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{Client, MqttOptions, QoS};
use twin::feed::{spawn_mqtt, Inbox, Msg};

fn start_broker(addr: SocketAddr) {
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: 1 << 20,
        max_inflight_count: 1000,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = rumqttd::ServerSettings {
        name: "v4".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 16,
            max_outgoing_packet_count: 1000,
            max_segment_size: 1 << 20,
            max_segment_count: 4,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = rumqttd::Broker::new(config);
    std::thread::spawn(move || broker.start().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "broker did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
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
    spawn_mqtt(&addr.to_string(), "d", inbox.clone()).unwrap();
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
