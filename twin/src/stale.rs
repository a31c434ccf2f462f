//! Is what the screen shows still true? Per zone and per lot, from the gateway's own verdict
//! (a zone's `stale` flag, a lot's `stale` status), the MQTT link, the gateway's status topic,
//! and the silence of the whole feed. The screen must never show an old number as if it were
//! live.
//!
//! The gateway publishes a topic only when its payload changes, so the silence of one zone's
//! topic proves nothing (a quiet zone at night is not stale); the silence of the whole feed
//! does, because the summary and the clock-driven snapshots keep moving while the gateway runs.

use std::time::Duration;

/// What an item on screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Live data.
    Live,
    /// Nothing received for it yet.
    NoData,
    /// The data is old: the reason says why.
    Stale(StaleReason),
}

/// Why data is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleReason {
    /// The gateway says so (its devices stopped reporting).
    Gateway,
    /// The MQTT connection to the broker is down.
    LinkDown,
    /// The gateway announced it is offline.
    GatewayOffline,
    /// Nothing at all has arrived for too long.
    FeedSilent,
}

impl Freshness {
    /// Short bilingual label.
    pub fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Freshness::Live, _) => "",
            (Freshness::NoData, true) => "无数据",
            (Freshness::NoData, false) => "NO DATA",
            (Freshness::Stale(StaleReason::Gateway), true) => "数据过期",
            (Freshness::Stale(StaleReason::Gateway), false) => "STALE",
            (Freshness::Stale(StaleReason::LinkDown), true) => "连接中断",
            (Freshness::Stale(StaleReason::LinkDown), false) => "LINK DOWN",
            (Freshness::Stale(StaleReason::GatewayOffline), true) => "网关离线",
            (Freshness::Stale(StaleReason::GatewayOffline), false) => "GATEWAY OFFLINE",
            (Freshness::Stale(StaleReason::FeedSilent), true) => "数据中断",
            (Freshness::Stale(StaleReason::FeedSilent), false) => "NO UPDATES",
        }
    }

    /// Whether the value may be shown as current.
    pub fn is_live(self) -> bool {
        self == Freshness::Live
    }
}

/// The state of the feed as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FeedHealth {
    /// Whether the MQTT session is up.
    pub connected: bool,
    /// How long it has been down (zero while up).
    pub down_for: Duration,
    /// Whether the gateway's status topic says `offline`.
    pub gateway_offline: bool,
    /// Time since the last message of any kind (None: never).
    pub since_last_message: Option<Duration>,
}

/// When the feed as a whole counts as stale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StalePolicy {
    /// A link down for longer than this makes everything stale (short blips are ridden out).
    pub link_grace: Duration,
    /// No message at all for longer than this makes everything stale.
    pub feed_silence: Duration,
}

impl Default for StalePolicy {
    fn default() -> Self {
        StalePolicy {
            link_grace: Duration::from_secs(5),
            feed_silence: Duration::from_secs(120),
        }
    }
}

impl StalePolicy {
    /// The feed-wide reason everything is stale, if any.
    pub fn feed(&self, h: &FeedHealth) -> Option<StaleReason> {
        if h.gateway_offline {
            Some(StaleReason::GatewayOffline)
        } else if !h.connected && h.down_for > self.link_grace {
            Some(StaleReason::LinkDown)
        } else if h.since_last_message.is_some_and(|s| s > self.feed_silence) {
            Some(StaleReason::FeedSilent)
        } else {
            None
        }
    }

    /// The freshness of one item: `received` whether anything arrived for it, `flagged` whether
    /// the gateway marks it stale.
    pub fn item(&self, h: &FeedHealth, received: bool, flagged: bool) -> Freshness {
        if !received {
            Freshness::NoData
        } else if let Some(r) = self.feed(h) {
            Freshness::Stale(r)
        } else if flagged {
            Freshness::Stale(StaleReason::Gateway)
        } else {
            Freshness::Live
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> FeedHealth {
        FeedHealth {
            connected: true,
            down_for: Duration::ZERO,
            gateway_offline: false,
            since_last_message: Some(Duration::from_secs(1)),
        }
    }

    #[test]
    fn live_unless_something_says_otherwise() {
        let p = StalePolicy::default();
        assert_eq!(p.item(&healthy(), true, false), Freshness::Live);
        assert_eq!(p.item(&healthy(), false, false), Freshness::NoData);
        assert_eq!(
            p.item(&healthy(), true, true),
            Freshness::Stale(StaleReason::Gateway)
        );
    }

    #[test]
    fn a_short_link_blip_is_ridden_out_a_long_one_is_not() {
        let p = StalePolicy::default();
        let mut h = healthy();
        h.connected = false;
        h.down_for = Duration::from_secs(2);
        assert_eq!(p.item(&h, true, false), Freshness::Live);
        h.down_for = Duration::from_secs(6);
        assert_eq!(
            p.item(&h, true, false),
            Freshness::Stale(StaleReason::LinkDown)
        );
        // Nothing received stays "no data", not "stale".
        assert_eq!(p.item(&h, false, false), Freshness::NoData);
    }

    #[test]
    fn gateway_offline_and_silence_make_everything_stale() {
        let p = StalePolicy::default();
        let mut h = healthy();
        h.gateway_offline = true;
        assert_eq!(
            p.item(&h, true, false),
            Freshness::Stale(StaleReason::GatewayOffline)
        );
        let mut h = healthy();
        h.since_last_message = Some(Duration::from_secs(121));
        assert_eq!(
            p.item(&h, true, false),
            Freshness::Stale(StaleReason::FeedSilent)
        );
        assert_eq!(p.feed(&healthy()), None);
    }

    #[test]
    fn labels_are_bilingual() {
        assert_eq!(Freshness::NoData.label(true), "无数据");
        assert_eq!(
            Freshness::Stale(StaleReason::LinkDown).label(false),
            "LINK DOWN"
        );
        assert!(Freshness::Live.label(true).is_empty());
    }
}
