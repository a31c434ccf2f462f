//! Live-feed plugin: drains the [`Inbox`] once a frame into the [`Live`] resource the overlays
//! read, and keeps the feed's health (link, gateway status, silence) for stale detection.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use district::contract::alert::{ActiveAlerts, AlertMsg};
use district::contract::live::{
    AirLive, BaysLive, EnergyLive, LotLive, LotStatus, Summary, ZoneLive,
};

use crate::feed::{Inbox, Msg, SharedInbox};
use crate::stale::{FeedHealth, Freshness, StalePolicy, StaleReason};

/// Where live data comes from.
#[derive(Resource, Clone)]
pub struct FeedSource(pub SharedInbox);

/// The latest live state of the district.
#[derive(Resource, Default)]
pub struct Live {
    /// Per zone id.
    pub zones: HashMap<String, ZoneLive>,
    /// Per lot id.
    pub lots: HashMap<String, LotLive>,
    /// Per lot id, with a revision bumped on each change.
    pub bays: HashMap<String, (BaysLive, u64)>,
    /// Per air monitor id.
    pub air: HashMap<String, AirLive>,
    /// Per building id.
    pub energy: HashMap<String, EnergyLive>,
    /// District KPIs.
    pub summary: Option<Summary>,
    /// Open alerts.
    pub alerts: Option<ActiveAlerts>,
    /// The most recent alert transitions, newest last (at most 20).
    pub transitions: VecDeque<AlertMsg>,
    /// Feed health now.
    pub health: FeedHealth,
    /// Feed-wide stale reason now.
    pub feed_stale: Option<StaleReason>,
    /// When the health is judged.
    pub policy: StalePolicy,
    /// Whether the gateway's status topic says offline.
    pub gateway_offline: bool,
    /// Messages received in total, and rejected.
    pub received: u64,
    /// Messages that did not decode.
    pub rejected: u64,
    /// When the first message arrived.
    pub first_message: Option<Instant>,
    revision: u64,
}

impl Live {
    /// A zone's freshness.
    pub fn zone_freshness(&self, id: &str) -> Freshness {
        let z = self.zones.get(id);
        self.policy
            .item(&self.health, z.is_some(), z.is_some_and(|z| z.stale))
    }

    /// A lot's freshness.
    pub fn lot_freshness(&self, id: &str) -> Freshness {
        let l = self.lots.get(id);
        self.policy.item(
            &self.health,
            l.is_some(),
            l.is_some_and(|l| l.status == LotStatus::Stale),
        )
    }

    /// Freshness of anything else received (`received`) with no stale flag of its own.
    pub fn freshness(&self, received: bool) -> Freshness {
        self.policy.item(&self.health, received, false)
    }

    /// Applies one message.
    pub fn apply(&mut self, m: Msg) {
        self.revision += 1;
        match m {
            Msg::Zone(z) => {
                self.zones.insert(z.zone.clone(), z);
            }
            Msg::Lot(l) => {
                self.lots.insert(l.lot.clone(), l);
            }
            Msg::Bays(b) => {
                self.bays.insert(b.lot.clone(), (b, self.revision));
            }
            Msg::Air(a) => {
                self.air.insert(a.device.clone(), a);
            }
            Msg::Energy(e) => {
                self.energy.insert(e.building.clone(), e);
            }
            Msg::Summary(s) => self.summary = Some(s),
            Msg::Active(a) => self.alerts = Some(a),
            Msg::Status(s) => self.gateway_offline = s.state == "offline",
        }
    }
}

/// Drains the inbox; marks [`Live`] changed only when something changed.
fn drain(source: Res<FeedSource>, mut live: ResMut<Live>, mut scratch: Local<Inbox>) {
    {
        let mut inbox = source.0.lock().unwrap();
        std::mem::swap(&mut scratch.latest, &mut inbox.latest);
        scratch.transitions.extend(inbox.transitions.drain(..));
        scratch.connected = inbox.connected;
        scratch.since = inbox.since;
        scratch.last_message = inbox.last_message;
        scratch.received = inbox.received;
        scratch.rejected = inbox.rejected;
    }
    let now = Instant::now();
    let health = FeedHealth {
        connected: scratch.connected,
        down_for: if scratch.connected {
            Duration::ZERO
        } else {
            scratch.since.map(|s| now - s).unwrap_or(Duration::MAX)
        },
        gateway_offline: live.gateway_offline,
        since_last_message: scratch.last_message.map(|t| now - t),
    };
    let feed_stale = live.policy.feed(&health);
    let something = !scratch.latest.is_empty() || !scratch.transitions.is_empty();
    if !something && feed_stale == live.feed_stale && health.connected == live.health.connected {
        // Keep the health current without waking every overlay.
        live.bypass_change_detection().health = health;
        return;
    }
    let live = live.as_mut();
    for (_, m) in scratch.latest.drain() {
        live.apply(m);
    }
    for t in scratch.transitions.drain(..) {
        if live.transitions.len() >= 20 {
            live.transitions.pop_front();
        }
        live.transitions.push_back(t);
    }
    live.health = FeedHealth {
        gateway_offline: live.gateway_offline,
        ..health
    };
    live.feed_stale = live.policy.feed(&live.health);
    live.received = scratch.received;
    live.rejected = scratch.rejected;
    if live.first_message.is_none() && scratch.received > 0 {
        live.first_message = Some(now);
    }
}

/// The live-feed plugin.
pub struct LiveFeedPlugin {
    /// The inbox a feed thread fills.
    pub inbox: SharedInbox,
    /// Stale policy.
    pub policy: StalePolicy,
}

impl Plugin for LiveFeedPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(FeedSource(self.inbox.clone()))
            .insert_resource(Live {
                policy: self.policy,
                ..default()
            })
            .add_systems(PreUpdate, drain);
    }
}
