//! Whether the gateway may start: its own MQTT listeners (the device port and the embedded
//! broker) refuse anonymous clients unless the operator's config says otherwise.

/// What the config says about the gateway's own MQTT listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listeners {
    /// The device port is served (`[devices] enabled`).
    pub device_port: bool,
    /// The broker is the embedded one (`[broker] mode = "embedded"`).
    pub embedded_broker: bool,
    /// `[devices] credentials` is set: each client connects with its own identity.
    pub identities: bool,
    /// `[broker]` has a username: every client of those listeners must give that pair.
    pub shared_password: bool,
    /// `[devices] allow_anonymous = true`.
    pub allow_anonymous: bool,
}

/// How the listeners will take clients, once [`check`] let the gateway start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Nothing of the gateway's own listens for MQTT clients (an external broker and no
    /// device port): the external broker decides.
    NoListener,
    /// Each client with its own identity.
    Identities,
    /// One username and password for every client (`[broker]`): not bound to a device.
    SharedPassword,
    /// Anyone, as the config asked (`allow_anonymous`); logged as a warning at every start.
    Anonymous,
}

/// Why the gateway refuses to start: anonymous MQTT without the operator saying so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the gateway's MQTT listeners ({which}) would accept anyone: no [devices] credentials and no \
[broker] username are set. Create identities, for example\n  \
gateway credentials --file devices.passwd add sensor-1 --role device\n  \
gateway credentials --file devices.passwd add twin --role reader\n\
and set `[devices] credentials = \"devices.passwd\"` (or run `gateway demo`, which makes its \
own); or accept anonymous clients on a closed network with `[devices] allow_anonymous = true`"
)]
pub struct AnonymousRefused {
    /// The listeners concerned, for the message.
    pub which: &'static str,
}

/// Decides how the gateway's own MQTT listeners take clients, or refuses to start.
pub fn check(l: Listeners) -> Result<Admission, AnonymousRefused> {
    let which = match (l.device_port, l.embedded_broker) {
        (false, false) => return Ok(Admission::NoListener),
        (true, false) => "the device port",
        (false, true) => "the embedded broker",
        (true, true) => "the device port and the embedded broker",
    };
    if l.identities {
        Ok(Admission::Identities)
    } else if l.shared_password {
        Ok(Admission::SharedPassword)
    } else if l.allow_anonymous {
        Ok(Admission::Anonymous)
    } else {
        Err(AnonymousRefused { which })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listeners() -> Listeners {
        Listeners {
            device_port: true,
            embedded_broker: true,
            identities: false,
            shared_password: false,
            allow_anonymous: false,
        }
    }

    #[test]
    fn the_default_config_refuses_to_start_and_says_how_to_fix_it() {
        let e = check(listeners()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("the device port and the embedded broker"),
            "{text}"
        );
        assert!(text.contains("gateway credentials"), "{text}");
        assert!(text.contains("allow_anonymous = true"), "{text}");
    }

    #[test]
    fn identities_win_over_a_shared_password_and_anonymity() {
        let l = Listeners {
            identities: true,
            shared_password: true,
            allow_anonymous: true,
            ..listeners()
        };
        assert_eq!(check(l), Ok(Admission::Identities));
        let l = Listeners {
            shared_password: true,
            allow_anonymous: true,
            ..listeners()
        };
        assert_eq!(check(l), Ok(Admission::SharedPassword));
        let l = Listeners {
            allow_anonymous: true,
            ..listeners()
        };
        assert_eq!(check(l), Ok(Admission::Anonymous));
    }

    #[test]
    fn an_external_broker_without_a_device_port_is_its_own_business() {
        let l = Listeners {
            device_port: false,
            embedded_broker: false,
            ..listeners()
        };
        assert_eq!(check(l), Ok(Admission::NoListener));
        let l = Listeners {
            device_port: false,
            ..listeners()
        };
        assert_eq!(
            check(l).unwrap_err().which,
            "the embedded broker",
            "the embedded broker alone still needs identities"
        );
    }
}
