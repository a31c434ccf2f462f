//! Identities, their roles, and what each may publish.
//!
//! | role | publishes | subscribes (external mosquitto) |
//! |---|---|---|
//! | `device` | `district/+/sensors/+/{id}` and `district/+/vision/{id}/#` (its own health) | nothing |
//! | `bridge` | the same for each of its declared devices, and `district/+/sim/#` | nothing |
//! | `reader` | nothing | `district/#` |
//! | `gateway` | everything | everything |
//!
//! [`Identity::may_publish`] decides on the device port; [`Identity::write_filters`] renders
//! the same rules as MQTT topic filters for mosquitto's ACL file, and a test checks that the
//! two agree topic by topic.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::AuthError;

/// What an identity is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Role {
    /// One device: publishes its own readings only.
    Device,
    /// Publishes for a declared list of devices (the simulator, a LoRaWAN network server, a
    /// protocol gateway).
    Bridge,
    /// Subscribes only (the twin, signs, dashboards); publishes nothing.
    Reader,
    /// The gateway's own sessions.
    Gateway,
}

impl Role {
    /// Every role, in the order `--help` lists them.
    pub const ALL: [Role; 4] = [Role::Device, Role::Bridge, Role::Reader, Role::Gateway];

    /// Its name in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Device => "device",
            Role::Bridge => "bridge",
            Role::Reader => "reader",
            Role::Gateway => "gateway",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role \"{s}\" (device, bridge, reader or gateway)"))
    }
}

/// One identity: the MQTT username, its role and (bridges) the devices it publishes for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The id: the MQTT username, and the prefix of the client ids it may use.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// The devices a bridge publishes for (empty for the other roles).
    pub devices: BTreeSet<String>,
}

/// Why a publish was refused (the dead letter's detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Identity {
    /// A checked identity: a valid id, and devices given only with (and always with) the
    /// `bridge` role.
    pub fn new(id: &str, role: Role, devices: BTreeSet<String>) -> Result<Identity, AuthError> {
        check_id(id)?;
        for d in &devices {
            check_id(d)?;
        }
        match (role, devices.is_empty()) {
            (Role::Bridge, true) => {
                return Err(AuthError::Role(format!(
                    "bridge \"{id}\" needs the devices it publishes for (--devices a,b,c)"
                )))
            }
            (Role::Device | Role::Reader | Role::Gateway, false) => {
                return Err(AuthError::Role(format!(
                    "only a bridge takes a device list (\"{id}\" is a {role}; a device publishes for itself)"
                )))
            }
            _ => {}
        }
        Ok(Identity {
            id: id.to_string(),
            role,
            devices,
        })
    }

    /// Whether this identity publishes readings for device `device`.
    pub fn publishes_for(&self, device: &str) -> bool {
        match self.role {
            Role::Device => self.id == device,
            Role::Bridge => self.devices.contains(device),
            Role::Reader => false,
            Role::Gateway => true,
        }
    }

    /// Whether this identity may publish on `topic`; the refusal says why.
    pub fn may_publish(&self, topic: &str) -> Result<(), Denied> {
        match self.role {
            Role::Gateway => return Ok(()),
            Role::Reader => {
                return Err(Denied(format!(
                    "\"{}\" is a reader: it publishes nothing",
                    self.id
                )))
            }
            Role::Device | Role::Bridge => {}
        }
        let parts: Vec<&str> = topic.split('/').collect();
        let allowed = match parts.as_slice() {
            ["district", _, "sensors", _, device] => Some(*device),
            ["district", _, "vision", device, ..] => Some(*device),
            ["district", _, "sim", ..] if self.role == Role::Bridge => return Ok(()),
            _ => None,
        };
        match allowed {
            Some(device) if self.publishes_for(device) => Ok(()),
            Some(device) => Err(Denied(format!(
                "{} \"{}\" does not publish for device \"{device}\"",
                self.role, self.id
            ))),
            None => Err(Denied(format!(
                "{} \"{}\" may not publish on this topic",
                self.role, self.id
            ))),
        }
    }

    /// The topics this identity may publish on, as MQTT topic filters (mosquitto's ACL).
    pub fn write_filters(&self) -> Vec<String> {
        let per_device = |d: &str| {
            [
                format!("district/+/sensors/+/{d}"),
                format!("district/+/vision/{d}/#"),
            ]
        };
        match self.role {
            Role::Device => per_device(&self.id).into(),
            Role::Bridge => {
                let mut f: Vec<String> = self.devices.iter().flat_map(|d| per_device(d)).collect();
                f.push("district/+/sim/#".into());
                f
            }
            Role::Reader => Vec::new(),
            Role::Gateway => vec!["#".into()],
        }
    }

    /// The topics this identity may subscribe to on an external broker.
    pub fn read_filters(&self) -> Vec<String> {
        match self.role {
            Role::Reader => vec!["district/#".into()],
            Role::Gateway => vec!["#".into()],
            Role::Device | Role::Bridge => Vec::new(),
        }
    }
}

/// Checks an identity or device id: 1–128 printable ASCII characters other than space,
/// `:` (the password file's separator), `,` (lists), `/`, `+`, `#` (MQTT topic levels and
/// wildcards) and `$`; not starting with `#` (a comment).
pub fn check_id(id: &str) -> Result<(), AuthError> {
    let why = if id.is_empty() {
        Some("empty")
    } else if id.len() > 128 {
        Some("longer than 128 characters")
    } else if !id.bytes().all(|b| b.is_ascii_graphic()) {
        Some("only printable ASCII without spaces")
    } else if id.contains([':', ',', '/', '+', '#', '$']) {
        Some("none of : , / + # $")
    } else {
        None
    };
    match why {
        Some(why) => Err(AuthError::InvalidId {
            id: id.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(id: &str, role: Role, devices: &[&str]) -> Identity {
        Identity::new(id, role, devices.iter().map(|d| d.to_string()).collect()).unwrap()
    }

    /// MQTT topic filter matching (`+` one level, `#` this level and below).
    fn matches(filter: &str, topic: &str) -> bool {
        let (mut f, mut t) = (filter.split('/'), topic.split('/'));
        loop {
            match (f.next(), t.next()) {
                (Some("#"), _) => return true,
                (Some("+"), Some(_)) => {}
                (Some(a), Some(b)) if a == b => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }

    #[test]
    fn a_device_publishes_only_for_itself() {
        let a = ident("ps-1", Role::Device, &[]);
        assert!(a.may_publish("district/mini/sensors/parking/ps-1").is_ok());
        assert!(a.may_publish("district/mini/vision/ps-1/health").is_ok());
        let e = a
            .may_publish("district/mini/sensors/parking/ps-2")
            .unwrap_err();
        assert_eq!(e.0, "device \"ps-1\" does not publish for device \"ps-2\"");
        assert!(a.may_publish("district/mini/sim/truth").is_err());
        assert!(a.may_publish("weather/now").is_err());
    }

    #[test]
    fn a_bridge_publishes_for_its_devices_and_a_reader_for_none() {
        let b = ident("lns", Role::Bridge, &["ps-1", "ps-2"]);
        assert!(b.may_publish("district/mini/sensors/parking/ps-2").is_ok());
        assert!(b.may_publish("district/mini/sensors/parking/ps-3").is_err());
        assert!(b.may_publish("district/mini/sim/truth").is_ok());
        let r = ident("twin", Role::Reader, &[]);
        assert!(r
            .may_publish("district/mini/sensors/parking/ps-1")
            .unwrap_err()
            .0
            .contains("reader"));
        assert!(ident("gw", Role::Gateway, &[])
            .may_publish("anything")
            .is_ok());
    }

    #[test]
    fn the_acl_filters_say_what_the_device_port_enforces() {
        let ids = [
            ident("ps-1", Role::Device, &[]),
            ident("lns", Role::Bridge, &["ps-1", "fc-2"]),
            ident("twin", Role::Reader, &[]),
            ident("gw", Role::Gateway, &[]),
        ];
        let topics = [
            "district/mini/sensors/parking/ps-1",
            "district/mini/sensors/parking/ps-2",
            "district/mini/sensors/footfall/fc-2",
            "district/mini/sensors/parking/ps-1/extra",
            "district/mini/sensors/ps-1",
            "district//sensors/parking/ps-1",
            "district/mini/vision/ps-1/health",
            "district/mini/vision/ps-1",
            "district/mini/vision/fc-2/health",
            "district/mini/vision/ps-2/health",
            "district/mini/sim/truth",
            "district/mini/sim",
            "district/mini/live/zones/west",
            "district/mini/alerts",
            "district/ps-1",
            "weather/now",
            "ps-1",
        ];
        for id in &ids {
            for t in topics {
                let acl = id.write_filters().iter().any(|f| matches(f, t));
                assert_eq!(id.may_publish(t).is_ok(), acl, "{} on {t}", id.id);
            }
        }
    }

    #[test]
    fn roles_take_devices_only_as_bridges() {
        assert!(Identity::new("lns", Role::Bridge, BTreeSet::new()).is_err());
        assert!(Identity::new("ps-1", Role::Device, ["x".to_string()].into()).is_err());
        assert_eq!("reader".parse::<Role>(), Ok(Role::Reader));
        assert!("admin"
            .parse::<Role>()
            .unwrap_err()
            .contains("unknown role"));
    }

    #[test]
    fn ids_that_would_break_files_or_topics_are_refused() {
        for bad in ["", "a:b", "a b", "a/b", "a+", "#a", "a,b", "$SYS", "é"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        for good in ["ps-1", "fc_2.a", "LNS-01"] {
            assert!(check_id(good).is_ok(), "{good}");
        }
    }
}
