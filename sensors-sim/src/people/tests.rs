//! People model tests: how arrivals reach zones, surges, and never emptying a zone below zero.

use super::*;
use crate::random::{rng, Stream};
use crate::testing::small;

fn people() -> (People, district::District, Vec<u32>) {
    let d = small();
    let mut slot = vec![u32::MAX; d.devices.len()];
    let p = People::new(&d, &mut slot, &mut rng(1, 0, Stream::Layout));
    (p, d, slot)
}

#[test]
fn a_zone_without_an_entrance_is_reached_through_its_neighbour() {
    let (p, d, slot) = people();
    let line = |id: &str| slot[d.device_idx(id).unwrap()];
    let (west, east, plaza, yard) = (0, 1, 2, 3);
    let entrances = |z: usize| {
        p.paths[z]
            .iter()
            .map(|x| (x.entrance, x.via.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(entrances(west), vec![(line("fc-1"), vec![west as u32])]);
    assert_eq!(
        entrances(plaza),
        vec![(line("fc-3"), vec![east as u32, plaza as u32])]
    );
    assert!(p.zones[yard].direct && !p.zones[plaza].direct);
    assert_eq!(p.outside_share[yard], 1.0);
    // West's exits: out through fc-1 to outside, in through fc-2 to east.
    assert_eq!(p.exits[west].len(), 2);
}

#[test]
fn arrivals_cross_every_counter_on_their_way() {
    let (mut p, d, slot) = people();
    p.arrive(2, 0, 5, &mut rng(1, 0, Stream::People));
    assert_eq!(p.pop(2), 5);
    assert_eq!(p.pop(1), 0, "passed through east within the step");
    assert_eq!(
        p.take_line(slot[d.device_idx("fc-3").unwrap()] as usize),
        (5, 0)
    );
    assert_eq!(
        p.take_line(slot[d.device_idx("fc-4").unwrap()] as usize),
        (5, 0)
    );
}

#[test]
fn surges_ramp_hold_and_ramp_down() {
    let s = Surge {
        zone: 0,
        start_ms: 0,
        ramp_ms: 100,
        hold_ms: 200,
        size: SurgeSize::People(10),
    };
    let f: Vec<f64> = [-1, 0, 50, 100, 250, 300, 350, 400, 401]
        .iter()
        .map(|&t| s.factor(t))
        .collect();
    assert_eq!(f, vec![0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]);
}

#[test]
fn a_crowded_zone_never_goes_negative_when_the_night_drains_it() {
    let (mut p, _, _) = people();
    let mut r = rng(2, 0, Stream::People);
    for z in 0..4 {
        p.zones[z].pop = 3000;
    }
    for t in 0..4 * 3600 {
        p.step(t * 1000, 1.0, 0.0, &mut r);
    }
    assert!(
        (0..4).all(|z| p.pop(z) == 0),
        "{:?}",
        (0..4).map(|z| p.pop(z)).collect::<Vec<_>>()
    );
}
