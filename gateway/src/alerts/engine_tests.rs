//! Lifecycle tests with explicit time.

use std::collections::BTreeMap;

use district::contract::alert::{AlertState, Severity};
use serde_json::json;

use super::*;

const S: i64 = 1000;
const MIN: i64 = 60 * S;

fn policy() -> Policy {
    Policy {
        raise_after: MIN,
        clear_after: 5 * MIN,
        escalate_after: Some(5 * MIN),
        max_escalation: 2,
        cooldown: 15 * MIN,
        update_every: 30 * S,
        manual_clear: false,
    }
}

fn engine() -> Engine {
    Engine::new(
        "d",
        BTreeMap::from([
            (
                "crowd",
                Policy {
                    escalate_after: None,
                    ..policy()
                },
            ),
            (
                "fire",
                Policy {
                    raise_after: 0,
                    clear_after: MIN,
                    ..policy()
                },
            ),
        ]),
    )
}

fn cond(rule: &'static str, subject: &str, sev: Severity, people: u32) -> Condition {
    Condition {
        rule,
        subject: subject.into(),
        severity: Some(sev),
        context: json!({ "people": people }),
        text: "t".into(),
    }
}

fn kinds(ts: &[Transition]) -> Vec<&'static str> {
    ts.iter().map(|t| t.kind).collect()
}

#[test]
fn raises_only_after_the_minimum_duration_and_blips_do_not_flap() {
    let mut e = engine();
    let rules = ["crowd"];
    // A blip of 30 s: nothing.
    assert!(e
        .update(0, &rules, vec![cond("crowd", "z", Severity::Medium, 1)])
        .is_empty());
    assert!(e.update(30 * S, &rules, vec![]).is_empty());
    assert!(e
        .update(
            40 * S,
            &rules,
            vec![cond("crowd", "z", Severity::Medium, 1)]
        )
        .is_empty());
    // Held for a minute: raised once.
    let t = e.update(
        100 * S,
        &rules,
        vec![cond("crowd", "z", Severity::Medium, 1)],
    );
    assert_eq!(kinds(&t), ["raised"]);
    assert_eq!(t[0].alert.id, "d:crowd:z:100000");
    // Hovering around the threshold (condition on and off every 20 s) does not clear or re-raise.
    for i in 0..20 {
        let now = 100 * S + i * 20 * S;
        let holding = if i % 2 == 0 {
            vec![cond("crowd", "z", Severity::Medium, 1)]
        } else {
            vec![]
        };
        assert!(e.update(now, &rules, holding).is_empty(), "step {i}");
    }
}

#[test]
fn each_level_is_established_by_the_minimum_duration_and_falls_after_holding_lower() {
    let mut e = engine();
    let r = ["crowd"];
    e.update(0, &r, vec![cond("crowd", "z", Severity::Medium, 1)]);
    // Medium has held a minute, High only half a minute: raised at medium.
    e.update(30 * S, &r, vec![cond("crowd", "z", Severity::High, 2)]);
    let t = e.update(MIN, &r, vec![cond("crowd", "z", Severity::High, 2)]);
    assert_eq!(
        (kinds(&t), t[0].alert.severity),
        (vec!["raised"], Severity::Medium)
    );
    let t = e.update(90 * S, &r, vec![cond("crowd", "z", Severity::Critical, 3)]);
    assert_eq!(
        (kinds(&t), t[0].alert.severity),
        (vec!["severity"], Severity::High)
    );
    let t = e.update(150 * S, &r, vec![cond("crowd", "z", Severity::Critical, 3)]);
    assert_eq!(
        (kinds(&t), t[0].alert.severity),
        (vec!["severity"], Severity::Critical)
    );
    // A one-tick spike does not establish a level.
    assert!(e
        .update(3 * MIN, &r, vec![cond("crowd", "z", Severity::High, 2)])
        .is_empty());
    let t = e.update(8 * MIN, &r, vec![cond("crowd", "z", Severity::High, 2)]);
    assert_eq!(
        (kinds(&t), t[0].alert.severity),
        (vec!["severity"], Severity::High)
    );
}

#[test]
fn a_spike_shorter_than_the_minimum_duration_raises_nothing() {
    let mut e = engine();
    let r = ["crowd"];
    assert!(e
        .update(0, &r, vec![cond("crowd", "z", Severity::Critical, 9)])
        .is_empty());
    assert!(e
        .update(50 * S, &r, vec![cond("crowd", "z", Severity::Critical, 9)])
        .is_empty());
    assert!(e.update(55 * S, &r, vec![]).is_empty());
    assert!(e.update(2 * MIN, &r, vec![]).is_empty());
}

#[test]
fn escalates_until_acknowledged() {
    let mut e = engine();
    let r = ["fire"];
    let c = || vec![cond("fire", "b1", Severity::Critical, 10)];
    let t = e.update(0, &r, c());
    assert_eq!(kinds(&t), ["raised"]);
    let id = t[0].alert.id.clone();
    assert!(e.update(4 * MIN, &r, c()).is_empty());
    let t = e.update(5 * MIN, &r, c());
    assert_eq!((kinds(&t), t[0].alert.escalation), (vec!["escalated"], 1));
    let t = e.acknowledge(&id, "王工", "on my way", 6 * MIN).unwrap();
    assert_eq!(t.alert.state, AlertState::Acknowledged);
    assert_eq!(
        e.acknowledge(&id, "x", "", 6 * MIN),
        Err(ActionError::AlreadyAcknowledged(id.clone()))
    );
    assert!(
        e.update(20 * MIN, &r, c()).is_empty(),
        "no escalation after the acknowledgement"
    );
    let msg = t.to_msg();
    assert_eq!(msg.context["acknowledged_by"], "王工");
}

#[test]
fn escalation_stops_at_the_last_step() {
    let mut e = engine();
    let r = ["fire"];
    let c = || vec![cond("fire", "b1", Severity::Critical, 10)];
    e.update(0, &r, c());
    let steps: Vec<_> = (1..10)
        .flat_map(|i| e.update(i * 5 * MIN, &r, c()))
        .collect();
    assert_eq!(kinds(&steps), ["escalated", "escalated"]);
}

#[test]
fn clears_after_a_quiet_spell_and_reopens_within_the_cooldown() {
    let mut e = engine();
    let r = ["fire"];
    let t = e.update(0, &r, vec![cond("fire", "b1", Severity::Critical, 1)]);
    let id = t[0].alert.id.clone();
    assert!(e.update(30 * S, &r, vec![]).is_empty());
    let t = e.update(90 * S, &r, vec![]);
    assert_eq!(
        (kinds(&t), t[0].alert.state),
        (vec!["cleared"], AlertState::Cleared)
    );
    assert!(e.open().is_empty());
    let t = e.update(
        10 * MIN,
        &r,
        vec![cond("fire", "b1", Severity::Critical, 1)],
    );
    assert_eq!(kinds(&t), ["reopened"]);
    assert_eq!(t[0].alert.id, id, "the same alert comes back");
    // After the cooldown, a new alert.
    e.update(11 * MIN, &r, vec![]);
    let t = e.update(12 * MIN, &r, vec![]);
    assert_eq!(kinds(&t), ["cleared"]);
    let t = e.update(
        40 * MIN,
        &r,
        vec![cond("fire", "b1", Severity::Critical, 1)],
    );
    assert_eq!(kinds(&t), ["raised"]);
    assert_ne!(t[0].alert.id, id);
}

#[test]
fn context_updates_are_rate_limited() {
    let mut e = engine();
    let r = ["fire"];
    e.update(0, &r, vec![cond("fire", "b1", Severity::Critical, 1)]);
    assert!(e
        .update(10 * S, &r, vec![cond("fire", "b1", Severity::Critical, 2)])
        .is_empty());
    let t = e.update(31 * S, &r, vec![cond("fire", "b1", Severity::Critical, 3)]);
    assert_eq!(
        (kinds(&t), t[0].alert.context["people"].as_u64()),
        (vec!["updated"], Some(3))
    );
}

#[test]
fn manual_clear_only_where_the_rule_allows_and_not_raised_again_while_it_holds() {
    let mut e = Engine::new(
        "d",
        BTreeMap::from([
            (
                "device_offline",
                Policy {
                    raise_after: 0,
                    manual_clear: true,
                    ..policy()
                },
            ),
            (
                "fire",
                Policy {
                    raise_after: 0,
                    ..policy()
                },
            ),
        ]),
    );
    let r = ["device_offline", "fire"];
    let t = e.update(
        0,
        &r,
        vec![
            cond("device_offline", "fc-1", Severity::Low, 0),
            cond("fire", "b1", Severity::Critical, 0),
        ],
    );
    let (off, fire) = (t[0].alert.id.clone(), t[1].alert.id.clone());
    assert!(matches!(
        e.clear(&fire, "op", MIN),
        Err(ActionError::NotClearable(_))
    ));
    assert_eq!(e.clear(&off, "op", MIN).unwrap().kind, "cleared");
    let t = e.update(
        2 * MIN,
        &r,
        vec![
            cond("device_offline", "fc-1", Severity::Low, 0),
            cond("fire", "b1", Severity::Critical, 0),
        ],
    );
    assert!(
        t.iter().all(|t| t.alert.rule != "device_offline"),
        "suppressed while still offline"
    );
    e.update(3 * MIN, &r, vec![cond("fire", "b1", Severity::Critical, 0)]);
    let t = e.update(
        4 * MIN,
        &r,
        vec![
            cond("device_offline", "fc-1", Severity::Low, 0),
            cond("fire", "b1", Severity::Critical, 0),
        ],
    );
    assert_eq!(kinds(&t), ["reopened"], "offline again after coming back");
}
