//! # gateway: the smart-district gateway
//!
//! ## One reading, end to end
//! 1. A device publishes `district/{d}/sensors/{kind}/{device}` on the device port
//!    ([`transport::session`]), or on a broker whose messages the ingest session takes
//!    ([`ingest::source`] → [`ingest::pipeline`]).
//! 2. [`ingest::admit`] validates it against the district ([`ingest::validate`]): a
//!    candidate reading, or a dead letter with its reason.
//! 3. The store writer ([`store::writer`], one thread) commits it in a group commit; the
//!    store's identity key decides whether it is new; only then is its PUBACK sent
//!    ([`store::ack`]).
//! 4. [`ingest::commit`] hands what is new to the district's owner ([`owner`]), the one task
//!    that holds the district: its live state ([`state`]), its alert desk
//!    ([`alerts::desk`]) and its parking desk ([`parking::desk`]). The owner applies the
//!    reading ([`owner::core`]), and on its ticks closes minutes (rollups to the store),
//!    evaluates the alert rules (at once after a fire detector's reading) and ticks the
//!    reservations and signs.
//! 5. What the owner's steps return goes to the outbox ([`publish`]): changed live snapshots
//!    and sign frames, retained on MQTT; alert transitions once the store has committed them
//!    (jobs of the same store writer, [`store::Write`]), then to webhooks
//!    ([`alerts::delivery`]); the same to WebSocket clients.
//! 6. The API ([`api`]) asks the owner for the live state and sends it operator actions and
//!    bookings; forwarders ([`forward`]) copy stored readings and rollups to InfluxDB.
//!
//! ## Layout
//! - [`transport`]: the device port: devices publish here, acknowledged after commit; their
//!   other topics relayed to the broker.
//! - [`auth`]: device identity on the device port and the embedded broker: the credentials
//!   file (mosquitto's password format and a roles file), who may connect with which client
//!   id, what each identity may publish, `gateway credentials`, and the refusal to start
//!   with anonymous MQTT unless the config says so ([`auth::required`]).
//! - [`broker`]: the embedded rumqttd broker (live topics for subscribers) behind the
//!   gateway's front, which screens every client's publishes with the same identity rules
//!   ([`broker::guard`]); or the client options for an external one.
//! - [`ingest`]: admission (validation, dead letters) shared by both paths, the broker
//!   session and its pipeline, and the store's verdicts handed to the owners.
//! - [`owner`]: one task per district, alone in holding its state, alerts and parking; one
//!   ordered inbox; a panic rebuilds that district from the store.
//! - [`state`]: the live district state, pure: zones, lots, air (AQI), energy, fire, devices,
//!   minute rollups.
//! - [`store`]: SQLite (WAL), one versioned schema and one writer thread for every table,
//!   group commits, replay.
//! - [`publish`]: the outbox: retained live topics and sign frames, alert transitions once
//!   stored, dead letters, the gateway status.
//! - [`alerts`]: the alert engine, its rules, each district's alert desk, webhook delivery
//!   and the alert history.
//! - [`parking`]: parking guidance: each district's parking desk (reservations, signs, flow),
//!   forecasts, FIWARE output.
//! - [`forward`]: store-and-forward to InfluxDB: one task per `[[forward]]` target, each with
//!   its own persisted cursor, batches, retries and metrics.
//! - [`api`]: the HTTP API (live, history, WebSocket, alerts, parking, `/metrics`), every
//!   call but `/healthz` and the login authenticated by a bearer token, a JWT of the city's
//!   identity provider or a browser session with its CSRF token ([`api::auth`]), rate-limited per
//!   account ([`api::limit`]), cross-site origins refused ([`api::origin`]).
//! - [`tls`]: TLS for the device port, the broker's TLS front and the API; `gateway certs`,
//!   a local CA for trying it out.
//! - [`users`]: the API's accounts: roles, tokens stored as SHA-256, the users file, and
//!   `gateway users`.
//! - [`config`], [`metrics`], [`shared`], [`run`] ([`Gateway`]): configuration, counters, what
//!   the tasks share (read-only handles), and start/stop in order.
//! - [`cli`], [`check`], [`demo`], [`demo_tour`], [`demo_twin`], [`demo_twin_build`]: the
//!   command line, `check-config`, and the one-command demo (its guided first look, and the 3D
//!   twin as a child process that joins when its background build is done).
pub mod api;
pub mod auth;
pub mod broker;
pub mod config;
pub mod duration;
pub mod forward;
pub mod ingest;
pub mod metrics;
pub mod owner;
pub mod parking;
pub mod publish;
pub mod run;
pub mod shared;
pub mod state;
pub mod stop;
pub mod store;
pub mod tls;
pub mod transport;
pub mod users;

pub use run::Gateway;
pub mod alerts;
pub mod check;
pub mod cli;
pub mod demo;
pub mod demo_tour;
pub mod demo_twin;
pub mod demo_twin_build;
