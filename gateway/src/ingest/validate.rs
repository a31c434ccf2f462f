//! From an MQTT message to a reading of a known device, or a reject with a reason.

use district::contract::reading::{
    decode, decode_fire_alarm_at, DecodeError, FireState, Measurement, Reading,
};
use district::contract::topic::Topic;
use district::DeviceKind;

use crate::shared::Shared;
use crate::state::shape_fits;

/// Why a message was refused. [`Reject::reason`] is the stable code counted in metrics and
/// written to dead letters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Reject {
    /// Not `district/{d}/sensors/{kind}/{device}`.
    #[error("topic is not district/{{d}}/sensors/{{kind}}/{{device}}")]
    BadTopic,
    /// A district this gateway does not serve.
    #[error("district \"{0}\" is not served by this gateway")]
    UnknownDistrict(String),
    /// A kind segment that is not footfall, parking, air, energy or fire.
    #[error("kind \"{0}\" is not one of footfall, parking, air, energy, fire")]
    UnknownKind(String),
    /// A device the district file does not declare.
    #[error("device \"{0}\" is not declared in the district")]
    UnknownDevice(String),
    /// The device exists under another kind.
    #[error("device \"{device}\" is a {actual} device, but published on the {topic} topic")]
    WrongKind {
        /// Device id.
        device: String,
        /// Its kind.
        actual: &'static str,
        /// The kind in the topic.
        topic: String,
    },
    /// The payload did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Stamped too far ahead of the gateway clock.
    #[error("ts is {ahead_s} s ahead of the gateway clock (limit {limit_s} s)")]
    ClockSkew {
        /// Seconds ahead.
        ahead_s: i64,
        /// Limit.
        limit_s: i64,
    },
    /// Older than the late-data window.
    #[error("ts is {behind_s} s behind the gateway clock (limit {limit_s} s)")]
    TooLate {
        /// Seconds behind.
        behind_s: i64,
        /// Limit.
        limit_s: i64,
    },
    /// The shape does not fit the device (line counter sending an area count...).
    #[error("{0}")]
    WrongShape(String),
}

impl Reject {
    /// Stable reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::BadTopic => "bad_topic",
            Reject::UnknownDistrict(_) => "unknown_district",
            Reject::UnknownKind(_) => "unknown_kind",
            Reject::UnknownDevice(_) => "unknown_device",
            Reject::WrongKind { .. } => "wrong_kind",
            Reject::Decode(e) => e.reason(),
            Reject::ClockSkew { .. } => "clock_skew",
            Reject::TooLate { .. } => "too_late",
            Reject::WrongShape(_) => "wrong_shape",
        }
    }
}

/// A message that passed every check but the store's: whether it is new (its identity is
/// not in the store yet) is decided there, and before lateness, so that an old redelivery
/// counts as a duplicate rather than a late reading.
#[derive(Debug)]
pub struct Valid {
    /// District index in `Shared::districts`.
    pub district: usize,
    /// Device index in the district.
    pub device: usize,
    /// The reading.
    pub reading: Reading,
    /// [`Reject::TooLate`] when the reading is older than the late-data window: it is a
    /// dead letter unless the store already holds it.
    pub late: Option<Reject>,
    /// A fire alarm whose own time was implausible, missing or unreadable: taken at arrival
    /// time; why.
    pub clock_untrusted: Option<String>,
}

/// Validation limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most ms ahead of the clock.
    pub max_future_ms: i64,
    /// Most ms ahead of the clock for state reports (fire detector states other than
    /// `alarm`, bay occupancy).
    pub max_future_state_ms: i64,
    /// Most ms behind the clock.
    pub max_late_ms: i64,
}

/// Checks one message against the served districts: topic, device, payload, shape and clock
/// skew, and marks it late when it is older than the late-data window. On a reject, also
/// returns the district index when the topic named a served district (so the dead letter
/// goes to its topic).
pub fn validate(
    shared: &Shared,
    limits: Limits,
    topic: &str,
    payload: &[u8],
    now_ms: i64,
) -> Result<Valid, (Option<usize>, Reject)> {
    let Some(Topic::Sensor {
        district,
        kind,
        kind_segment,
        device,
    }) = Topic::parse(topic)
    else {
        return Err((None, Reject::BadTopic));
    };
    let Some(&di) = shared.index.get(district) else {
        return Err((None, Reject::UnknownDistrict(district.to_string())));
    };
    let fail = |r: Reject| (Some(di), r);
    let Some(kind) = kind else {
        return Err(fail(Reject::UnknownKind(kind_segment.to_string())));
    };
    let model = &shared.districts[di].model;
    let Some(dev) = model.device_idx(device) else {
        return Err(fail(Reject::UnknownDevice(device.to_string())));
    };
    let actual = model.devices[dev].kind;
    if actual != kind {
        return Err(fail(Reject::WrongKind {
            device: device.to_string(),
            actual: actual.as_str(),
            topic: kind_segment.to_string(),
        }));
    }
    let mut clock_untrusted = None;
    let mut reading = match decode(kind, payload) {
        Ok(r) => r,
        // A fire alarm is never refused for its clock (cheap detectors have bad ones).
        Err(e @ (DecodeError::Missing("ts") | DecodeError::BadTimestamp(_)))
            if kind == DeviceKind::Fire =>
        {
            let r = decode_fire_alarm_at(payload, now_ms).ok_or_else(|| fail(e.clone().into()))?;
            clock_untrusted = Some(e.to_string());
            r
        }
        Err(e) => return Err(fail(e.into())),
    };
    shape_fits(&model.devices[dev], &reading.value).map_err(|m| fail(Reject::WrongShape(m)))?;
    let mut delta = reading.ts_ms.saturating_sub(now_ms);
    let alarm = matches!(
        reading.value,
        Measurement::Fire {
            state: FireState::Alarm
        }
    );
    if alarm && (delta > limits.max_future_ms || delta.saturating_neg() > limits.max_late_ms) {
        clock_untrusted = Some(format!(
            "the detector's time is {} s {} the gateway clock",
            delta.unsigned_abs() / 1000,
            if delta > 0 { "ahead of" } else { "behind" }
        ));
        reading.ts_ms = now_ms;
        delta = 0;
    }
    let state_report = matches!(
        reading.value,
        Measurement::Fire { .. } | Measurement::Bay { .. }
    );
    let limit = if state_report {
        limits.max_future_state_ms.min(limits.max_future_ms)
    } else {
        limits.max_future_ms
    };
    if delta > limit {
        return Err(fail(Reject::ClockSkew {
            ahead_s: delta / 1000,
            limit_s: limit / 1000,
        }));
    }
    let late = (delta.saturating_neg() > limits.max_late_ms).then(|| Reject::TooLate {
        behind_s: delta.saturating_neg() / 1000,
        limit_s: limits.max_late_ms / 1000,
    });
    Ok(Valid {
        district: di,
        device: dev,
        reading,
        late,
        clock_untrusted,
    })
}
