//! API roles and what each may do.
//!
//! | role | may |
//! |---|---|
//! | `viewer` | read: live state, history, alerts, signs, parking, reservations, NGSI-LD, the WebSocket, `/metrics` |
//! | `operator` | what a viewer may, and acknowledge and clear alerts |
//! | `parking-app` | parking reads (free spaces, signs, nearest, forecast, lots, reservations: its own only), book, and cancel its own bookings |
//! | `admin` | everything |

use std::fmt;
use std::str::FromStr;

/// What a route needs (see [`crate::api::auth::access_of`] for the table of routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Open to anyone (`/healthz`).
    Open,
    /// Parking guidance reads: free spaces, signs, nearest lots, forecasts (anonymous too
    /// with `[http] public_parking`).
    ParkingRead,
    /// Other parking reads that a parking app needs (lots, bays, reservations, NGSI-LD).
    ParkingDetail,
    /// Any other read.
    Read,
    /// Acknowledge or clear an alert.
    Operate,
    /// Book or cancel a reservation.
    Book,
    /// Anything not named above: admins only.
    Admin,
}

/// An account's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum ApiRole {
    /// Reads everything, changes nothing.
    Viewer,
    /// A viewer that also acknowledges and clears alerts.
    Operator,
    /// A parking app: parking reads, booking, and cancelling its own bookings.
    ParkingApp,
    /// Everything.
    Admin,
}

impl ApiRole {
    /// Every role, in the order `--help` lists them.
    pub const ALL: [ApiRole; 4] = [
        ApiRole::Viewer,
        ApiRole::Operator,
        ApiRole::ParkingApp,
        ApiRole::Admin,
    ];

    /// Its name in the users file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiRole::Viewer => "viewer",
            ApiRole::Operator => "operator",
            ApiRole::ParkingApp => "parking-app",
            ApiRole::Admin => "admin",
        }
    }

    /// Whether this role may use a route that needs `access`.
    pub fn may(self, access: Access) -> bool {
        use Access::*;
        match self {
            ApiRole::Admin => true,
            ApiRole::Operator => !matches!(access, Book | Admin),
            ApiRole::Viewer => !matches!(access, Operate | Book | Admin),
            ApiRole::ParkingApp => matches!(access, Open | ParkingRead | ParkingDetail | Book),
        }
    }
}

impl fmt::Display for ApiRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiRole {
    type Err = String;

    fn from_str(s: &str) -> Result<ApiRole, String> {
        ApiRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role \"{s}\" (one of viewer, operator, parking-app, admin)")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::Access::*;
    use super::*;

    #[test]
    fn each_role_may_what_the_table_says() {
        let all = [Open, ParkingRead, ParkingDetail, Read, Operate, Book, Admin];
        let may = |r: ApiRole| {
            all.iter()
                .filter(|a| r.may(**a))
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            may(ApiRole::Viewer),
            [Open, ParkingRead, ParkingDetail, Read]
        );
        assert_eq!(
            may(ApiRole::Operator),
            [Open, ParkingRead, ParkingDetail, Read, Operate]
        );
        assert_eq!(
            may(ApiRole::ParkingApp),
            [Open, ParkingRead, ParkingDetail, Book]
        );
        assert_eq!(may(ApiRole::Admin), all);
    }

    #[test]
    fn names_round_trip() {
        for r in ApiRole::ALL {
            assert_eq!(r.as_str().parse::<ApiRole>().unwrap(), r);
        }
        assert!("root"
            .parse::<ApiRole>()
            .unwrap_err()
            .contains("parking-app"));
    }
}
