//! Air quality: China's AQI (HJ 633-2012) and the live state of each monitor.

pub mod aqi;
mod monitor;

pub use monitor::MonitorState;
