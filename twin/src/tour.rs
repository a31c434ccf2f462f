//! Where the camera looks: the big screen's automatic tour (the whole district, then each zone
//! in turn, slowly circling), and the director that flies to a new critical alert and returns
//! to the tour once the alert is acknowledged or cleared. Plain functions of time and state.

use std::collections::HashSet;

use bevy::math::{Vec2, Vec3};
use district::contract::alert::{AlertState, Severity};

use crate::model::{world, Bounds};

/// A camera placement: it looks at `focus` from `distance` away, `yaw` radians around the
/// vertical axis (0 = looking north), `pitch` radians above the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Point looked at.
    pub focus: Vec3,
    /// Distance from the focus.
    pub distance: f32,
    /// Heading around the focus.
    pub yaw: f32,
    /// Elevation angle.
    pub pitch: f32,
}

impl Pose {
    /// Camera position.
    pub fn eye(&self) -> Vec3 {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        // yaw 0: the camera stands south of the focus (+Z in Bevy is south) looking north.
        self.focus + self.distance * Vec3::new(-sy * cp, sp, cy * cp)
    }

    /// Interpolates (`t` in 0..1, eased by the caller).
    pub fn lerp(&self, o: &Pose, t: f32) -> Pose {
        Pose {
            focus: self.focus.lerp(o.focus, t),
            distance: self.distance + (o.distance - self.distance) * t,
            yaw: self.yaw + (o.yaw - self.yaw) * t,
            pitch: self.pitch + (o.pitch - self.pitch) * t,
        }
    }
}

/// Smoothstep easing.
pub fn ease(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Distance at which a circle of `radius` on the ground fills the view (vertical field of view
/// `fov_y`, width/height `aspect`), with a little margin.
pub fn fit_distance(radius: f32, fov_y: f32, aspect: f32) -> f32 {
    let half = (fov_y * 0.5).tan() * aspect.min(1.0);
    1.1 * radius.max(20.0) / half.max(1e-3)
}

/// One stop of the tour: a point and the radius of ground to frame around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    /// Local metres.
    pub at: Vec2,
    /// Radius to frame, m.
    pub radius: f32,
    /// Elevation angle.
    pub pitch: f32,
}

/// The automatic tour.
#[derive(Debug, Clone, PartialEq)]
pub struct Tour {
    /// Stops in order; the first is the whole district.
    pub stops: Vec<Stop>,
    /// Seconds looking at a stop.
    pub dwell: f32,
    /// Seconds flying between stops.
    pub travel: f32,
    /// Radians per second of slow circling.
    pub spin: f32,
}

/// The overview of a district's bounds: north up, seen from the south at 58°.
pub fn overview(b: &Bounds) -> Stop {
    Stop {
        at: b.center(),
        radius: b.size().max_element() * 0.5,
        pitch: 58f32.to_radians(),
    }
}

impl Tour {
    /// The overview, then each zone (its anchor, framed by its size); the overview again after
    /// every `zones_between` zones.
    pub fn new(bounds: &Bounds, zones: &[(Vec2, Bounds)], zones_between: usize) -> Tour {
        let o = overview(bounds);
        let mut stops = vec![o];
        for (i, (at, b)) in zones.iter().enumerate() {
            stops.push(Stop {
                at: *at,
                radius: (b.size().max_element() * 0.6).clamp(80.0, 400.0),
                pitch: 42f32.to_radians(),
            });
            if zones_between > 0 && (i + 1) % zones_between == 0 && i + 1 < zones.len() {
                stops.push(o);
            }
        }
        Tour {
            stops,
            dwell: 10.0,
            travel: 4.0,
            spin: 0.02,
        }
    }

    /// Length of one round, seconds.
    pub fn period(&self) -> f32 {
        self.stops.len() as f32 * (self.dwell + self.travel)
    }

    /// The pose `t` seconds into the tour (it repeats).
    pub fn pose(&self, t: f32, fov_y: f32, aspect: f32) -> Pose {
        let leg = self.dwell + self.travel;
        let n = self.stops.len().max(1);
        let t = t.max(0.0);
        let i = (t / leg) as usize % n;
        let into = t % leg;
        let yaw = (t * self.spin).sin() * 0.6; // swing ±34° around north-up
        let at = |s: &Stop| Pose {
            focus: world(s.at, 0.0),
            distance: fit_distance(s.radius, fov_y, aspect),
            yaw,
            pitch: s.pitch,
        };
        let Some(here) = self.stops.get(i) else {
            return Pose {
                focus: Vec3::ZERO,
                distance: 500.0,
                yaw,
                pitch: 0.9,
            };
        };
        if into <= self.dwell || n == 1 {
            at(here)
        } else {
            let next = &self.stops[(i + 1) % n];
            at(here).lerp(&at(next), ease((into - self.dwell) / self.travel))
        }
    }
}

/// An open alert as the director sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertView {
    /// Alert id.
    pub id: String,
    /// Severity now.
    pub severity: Severity,
    /// Lifecycle state.
    pub state: AlertState,
    /// Where it is (None when the twin cannot place it).
    pub at: Option<Vec3>,
}

/// Flies to new critical alerts; back to the tour after acknowledgement.
#[derive(Debug, Default, Clone)]
pub struct Director {
    seen: HashSet<String>,
    focus: Option<String>,
    blend: f32,
}

impl Director {
    /// Updates from the current open alerts; returns the alert being looked at, if any.
    pub fn update(&mut self, alerts: &[AlertView], dt: f32) -> Option<&str> {
        let wants = |a: &AlertView| {
            a.severity == Severity::Critical && a.state == AlertState::Raised && a.at.is_some()
        };
        // A new critical, unacknowledged alert takes the camera.
        if let Some(new) = alerts
            .iter()
            .rev()
            .find(|a| wants(a) && !self.seen.contains(&a.id))
        {
            self.focus = Some(new.id.clone());
        }
        // The focused alert lets go once acknowledged, cleared, or downgraded; another one still
        // waiting for acknowledgement takes over.
        if let Some(f) = &self.focus {
            if !alerts.iter().any(|a| &a.id == f && wants(a)) {
                self.focus = alerts.iter().rev().find(|a| wants(a)).map(|a| a.id.clone());
            }
        }
        self.seen = alerts.iter().map(|a| a.id.clone()).collect();
        let target = if self.focus.is_some() { 1.0 } else { 0.0 };
        let step = dt / 2.5; // a flight takes 2.5 s
        self.blend = if self.blend < target {
            (self.blend + step).min(1.0)
        } else {
            (self.blend - step).max(0.0)
        };
        self.focus.as_deref()
    }

    /// How far the camera is from the tour towards the alert (eased, 0..1).
    pub fn blend(&self) -> f32 {
        ease(self.blend)
    }

    /// The pose for looking at an alert at `at`.
    pub fn alert_pose(at: Vec3, yaw: f32) -> Pose {
        Pose {
            focus: at,
            distance: 320.0,
            yaw,
            pitch: 38f32.to_radians(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(w: f32) -> Bounds {
        Bounds {
            min: Vec2::splat(-w),
            max: Vec2::splat(w),
        }
    }

    fn tour() -> Tour {
        let zones = vec![
            (Vec2::new(100.0, 0.0), bounds(50.0)),
            (Vec2::new(-100.0, 0.0), bounds(50.0)),
        ];
        Tour::new(&bounds(500.0), &zones, 0)
    }

    #[test]
    fn the_tour_starts_on_the_overview_and_visits_every_zone() {
        let t = tour();
        let (fov, aspect) = (0.8, 16.0 / 9.0);
        assert_eq!(t.stops.len(), 3);
        let p0 = t.pose(0.0, fov, aspect);
        assert_eq!(p0.focus, Vec3::ZERO);
        assert!(p0.distance > 1000.0);
        let p1 = t.pose(t.dwell + t.travel + 1.0, fov, aspect);
        assert_eq!(p1.focus, Vec3::new(100.0, 0.0, 0.0));
        assert!(p1.distance < p0.distance);
        // It repeats.
        let again = t.pose(t.period() + 1.0, fov, aspect);
        assert!((again.focus - t.pose(1.0, fov, aspect).focus).length() < 1e-3);
    }

    #[test]
    fn the_tour_moves_smoothly() {
        let t = tour();
        let mut prev = t.pose(0.0, 0.8, 1.7);
        let mut s = 0.0;
        while s < t.period() * 2.0 {
            s += 0.05;
            let p = t.pose(s, 0.8, 1.7);
            assert!((p.eye() - prev.eye()).length() < 60.0, "jump at {s}");
            prev = p;
        }
    }

    #[test]
    fn eye_is_south_of_and_above_the_focus_at_yaw_zero() {
        let p = Pose {
            focus: Vec3::ZERO,
            distance: 100.0,
            yaw: 0.0,
            pitch: 0.5,
        };
        let e = p.eye();
        assert!(e.z > 0.0 && e.y > 0.0 && e.x.abs() < 1e-4);
        assert!((e.length() - 100.0).abs() < 1e-3);
    }

    #[test]
    fn fitting_a_larger_area_needs_more_distance() {
        assert!(fit_distance(500.0, 0.8, 1.7) > fit_distance(100.0, 0.8, 1.7));
        assert!(
            fit_distance(100.0, 0.8, 0.5) > fit_distance(100.0, 0.8, 1.0),
            "portrait needs more"
        );
    }

    fn alert(id: &str, s: Severity, st: AlertState) -> AlertView {
        AlertView {
            id: id.into(),
            severity: s,
            state: st,
            at: Some(Vec3::new(1.0, 0.0, 2.0)),
        }
    }

    #[test]
    fn director_flies_to_a_new_critical_alert_and_returns_after_ack() {
        let mut d = Director::default();
        assert_eq!(d.update(&[], 0.1), None);
        // A high alert does not take the camera.
        assert_eq!(
            d.update(&[alert("a", Severity::High, AlertState::Raised)], 0.1),
            None
        );
        let fire = alert("fire-b05", Severity::Critical, AlertState::Raised);
        assert_eq!(d.update(&[fire.clone()], 0.1), Some("fire-b05"));
        for _ in 0..40 {
            d.update(&[fire.clone()], 0.1);
        }
        assert_eq!(d.blend(), 1.0);
        // Acknowledged: back to the tour, and it does not come back for the same alert.
        let acked = alert("fire-b05", Severity::Critical, AlertState::Acknowledged);
        assert_eq!(d.update(&[acked.clone()], 0.1), None);
        for _ in 0..40 {
            d.update(&[acked.clone()], 0.1);
        }
        assert_eq!(d.blend(), 0.0);
    }

    #[test]
    fn an_unplaceable_alert_does_not_take_the_camera_and_a_waiting_one_takes_over() {
        let mut d = Director::default();
        let mut nowhere = alert("x", Severity::Critical, AlertState::Raised);
        nowhere.at = None;
        assert_eq!(d.update(&[nowhere], 0.1), None);
        let a = alert("a", Severity::Critical, AlertState::Raised);
        let b = alert("b", Severity::Critical, AlertState::Raised);
        assert_eq!(d.update(&[a.clone()], 0.1), Some("a"));
        assert_eq!(
            d.update(&[a.clone(), b.clone()], 0.1),
            Some("b"),
            "the newest takes the camera"
        );
        let b_acked = alert("b", Severity::Critical, AlertState::Acknowledged);
        assert_eq!(
            d.update(&[a.clone(), b_acked.clone()], 0.1),
            Some("a"),
            "a still waits for ack"
        );
        assert_eq!(d.update(&[b_acked], 0.1), None, "a cleared");
    }
}
