//! The validated district model: what the rest of the system reads.

mod building;
mod calendar;
mod device;
mod district;
mod lot;
mod names;
mod sign;
mod thresholds;
mod zone;

pub use building::Building;
pub use calendar::{Calendar, DayKind};
pub use device::{Device, DeviceKind, Role, Side};
pub use district::District;
pub use lot::{Bay, Level, Lot, LotCounting, LotKind};
pub use names::Names;
pub use sign::{Arrow, Sign, SignLine};
pub use thresholds::Thresholds;
pub use zone::{DensityThresholds, Zone, ZoneCounting};
