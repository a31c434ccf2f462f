//! Starting and stopping the whole gateway: broker, store, replay, ingest, publisher, API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use anyhow::Context;
use district::clock::Clock;
use district::contract::topic;
use district::District;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{BrokerMode, GatewayConfig};
use crate::ingest::commit::apply_verdicts;
use crate::ingest::deadletter::DeadLetters;
use crate::ingest::Limits;
use crate::metrics::Metrics;
use crate::owner::{DistrictCore, OwnerConfig};
use crate::publish::PublishSettings;
use crate::shared::{DistrictHandle, Shared};
use crate::state::DistrictState;
use crate::store::{self, Reader};

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    /// Shared state (for the API, tests and the demo).
    pub shared: Arc<Shared>,
    /// The MQTT broker (embedded or external): live topics for subscribers, and readings of
    /// devices that publish to it.
    pub mqtt_addr: String,
    /// The embedded broker's TLS listener (`[broker] tls`), if any.
    pub mqtt_tls_addr: Option<SocketAddr>,
    /// The device port, where devices publish readings acknowledged after commit (`None` when
    /// `[devices] enabled = false`).
    pub device_addr: Option<SocketAddr>,
    /// Where the API listens.
    pub http_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    stop_ingest: watch::Sender<bool>,
    /// What brings readings in: the broker session, its pipeline, the device port. Stopped
    /// and drained first.
    ingest: Vec<JoinHandle<()>>,
    /// The district owners: stopped after ingest has drained, each with a last tick.
    owners: Vec<JoinHandle<()>>,
    /// Everything else: outbox, webhook worker, forwarders, API.
    tasks: Vec<JoinHandle<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Gateway {
    /// Starts everything. `districts` are already loaded (and replicated for `--scale`).
    pub async fn start(
        cfg: GatewayConfig,
        districts: Vec<District>,
        clock: Clock,
    ) -> anyhow::Result<Gateway> {
        anyhow::ensure!(
            !districts.is_empty(),
            "no district to serve: list district files in the config or give --district"
        );
        let mut seen = std::collections::HashSet::new();
        for d in &districts {
            anyhow::ensure!(
                seen.insert(d.id.clone()),
                "district \"{}\" is given twice",
                d.id
            );
        }
        let mut cfg = cfg;
        anyhow::ensure!(
            cfg.broker.tls.is_none() || cfg.broker.mode == BrokerMode::Embedded,
            "[broker] tls applies to the embedded broker only (an external broker has its own)"
        );
        let admission = cfg.mqtt_admission()?;
        if admission == crate::auth::required::Admission::Anonymous {
            tracing::warn!("[devices] allow_anonymous = true: the device port and the embedded broker accept anyone without a password; anyone who reaches them may publish as any device (a fire alarm included) and read everything");
        }
        let (host, port, front_pass) = match cfg.broker.mode {
            BrokerMode::Embedded => {
                // With device identities, subscribers of the embedded broker connect with
                // them too, through the gateway's front (which screens what they publish);
                // rumqttd then listens on a loopback port of its own, and the gateway's own
                // sessions use an internal secret unless the config gives them a username
                // and password.
                let identities = match &cfg.devices.credentials {
                    Some(path) => {
                        if cfg.broker.username.is_none() {
                            cfg.broker.username = Some(cfg.broker.client_id.clone());
                            cfg.broker.password = Some(crate::auth::secret::new_secret());
                            cfg.broker.password_file = None;
                        }
                        Some(Arc::new(
                            crate::auth::Authenticator::open(path).with_context(|| {
                                format!("reading the device credentials {}", path.display())
                            })?,
                        ))
                    }
                    None => None,
                };
                let front_pass = identities.map(|ids| crate::broker::front::FrontPass {
                    ids,
                    token: crate::auth::secret::new_secret(),
                });
                let b = crate::broker::start_embedded(&cfg.broker, front_pass.clone())?;
                (b.addr.ip().to_string(), b.addr.port(), front_pass)
            }
            BrokerMode::External => (cfg.broker.host.clone(), cfg.broker.port, None),
        };
        // Read now, so that a broken certificate or key stops the start with its file.
        let http_tls = match &cfg.http.tls {
            Some(t) => Some(
                crate::tls::acceptor(&t.as_tls(), &[b"http/1.1"])
                    .map_err(|e| anyhow::anyhow!("[http] tls: {e}"))?,
            ),
            None => None,
        };
        let metrics = Arc::new(Metrics::default());
        crate::forward::check(&cfg.forward)?;
        let unknown = cfg.alerts.unknown_rules();
        anyhow::ensure!(
            unknown.is_empty(),
            "[alerts.rules] names unknown rule(s) {unknown:?}; known: {:?}",
            crate::alerts::config::RULES
        );
        let owner_cfg = Arc::new(crate::owner::OwnerConfig {
            alerts: cfg.alerts.clone(),
            parking: cfg.parking.clone(),
            ticks: crate::owner::TickSettings {
                min_interval_ms: cfg.publish.min_interval_ms,
                rollup_grace_ms: cfg.publish.rollup_grace.as_millis() as i64,
                rollup_close_after_ms: cfg.publish.rollup_close_after.as_millis() as i64,
            },
        });
        let now = clock.now_ms();
        // Each district as the store holds it, read on the blocking pool.
        let dir = cfg.store.data_dir.clone();
        let load_cfg = owner_cfg.clone();
        let (conn, reader, cores, replayed) =
            tokio::task::spawn_blocking(move || load(&dir, districts, &load_cfg, now))
                .await
                .context("loading the districts from the store")??;
        metrics.replayed.store(replayed, Relaxed);
        if replayed > 0 {
            tracing::info!(readings = replayed, "live state rebuilt from the store");
        }
        let index: HashMap<String, usize> = cores
            .iter()
            .enumerate()
            .map(|(i, c)| (c.state.district.id.clone(), i))
            .collect();
        // Each district moves into its owner; the rest of the gateway holds a handle.
        let mut owners = Vec::new();
        let handles: Vec<DistrictHandle> = cores
            .into_iter()
            .map(|core| {
                let model = core.state.district.clone();
                let (owner, handle) = crate::owner::new(core);
                owners.push(owner);
                DistrictHandle {
                    id: model.id.as_str().into(),
                    device_ids: model
                        .devices
                        .iter()
                        .map(|d| Arc::from(d.id.as_str()))
                        .collect(),
                    owner: handle,
                    model,
                }
            })
            .collect();
        let (live, _) = broadcast::channel(4096);
        let alert_db = Arc::new(
            crate::alerts::db::AlertDb::open(&cfg.store.data_dir)
                .context("opening the alert tables")?,
        );
        let shared = Arc::new(Shared {
            clock,
            districts: handles,
            index,
            metrics: metrics.clone(),
            reader: Arc::new(reader),
            live,
            instance: cfg.instance.clone(),
            alert_db: alert_db.clone(),
            device_port: Default::default(),
        });

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        // The embedded broker's fronts: TLS (`[broker] tls`), and with identities the
        // screening front on `[broker] listen` as well.
        let fronts = match cfg.broker.mode {
            BrokerMode::Embedded => {
                let guard = match front_pass {
                    Some(pass) => Some(Arc::new(
                        crate::broker::front::Guard::new(&cfg.broker, pass, metrics.clone())
                            .context("[broker] password_file")?,
                    )),
                    None => None,
                };
                let upstream = SocketAddr::new(host.parse()?, port);
                crate::broker::front::start(&cfg.broker, upstream, guard, shutdown_rx.clone())
                    .await?
            }
            BrokerMode::External => Default::default(),
        };
        tasks.extend(fronts.tasks);
        let mqtt_tls_addr = fronts.tls;
        let mqtt_addr = match fronts.plain {
            Some(a) => a.to_string(),
            None => format!("{host}:{port}"),
        };
        // Ingest stops first, so that the pipeline has drained before the publisher's last
        // tick closes the minutes and the other tasks stop.
        let (stop_ingest, stop_ingest_rx) = watch::channel(false);
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let (dl_tx, dl_rx) = mpsc::channel(1024);
        let deadletters = Arc::new(DeadLetters::new(
            dl_tx,
            cfg.ingest.deadletter_per_sec,
            metrics.clone(),
        ));
        let (store_tx, writer) = store::start_writer(
            conn,
            cfg.store.batch_rows,
            cfg.ingest.queue,
            metrics.clone(),
            ack_tx,
            apply_verdicts(shared.clone(), deadletters.clone()),
        );
        let (ingest_tx, ingest_rx) = mpsc::channel(cfg.ingest.queue.max(1));
        let mut ingest = Vec::new();
        let mut owners_tasks = Vec::new();

        let ingest_opts =
            crate::broker::client_options(&cfg.broker, &host, port, &cfg.broker.client_id)?;
        let (subscribed_tx, mut subscribed) = watch::channel(false);
        ingest.push(tokio::spawn(crate::ingest::source::run(
            ingest_opts,
            topic::ALL_SENSORS.to_string(),
            ingest_tx,
            ack_rx,
            metrics.clone(),
            subscribed_tx,
            stop_ingest_rx.clone(),
        )));
        let limits = Limits {
            max_future_ms: cfg.ingest.max_future.as_millis() as i64,
            max_future_state_ms: cfg.ingest.max_future_state.as_millis() as i64,
            max_late_ms: cfg.ingest.max_late.as_millis() as i64,
        };
        let admission = crate::ingest::admit::Admission {
            shared: shared.clone(),
            deadletters,
            limits,
        };
        ingest.push(tokio::spawn(crate::ingest::pipeline::run(
            admission.clone(),
            ingest_rx,
            store_tx.clone(),
        )));
        let device_addr = if cfg.devices.enabled {
            let devices = crate::transport::start(
                &cfg.devices,
                admission,
                store_tx.clone(),
                cfg.broker.credentials()?,
                cfg.broker.max_packet_bytes,
                Some(crate::publish::spawn_session(
                    crate::broker::client_options(
                        &cfg.broker,
                        &host,
                        port,
                        &format!("{}-relay", cfg.broker.client_id),
                    )?,
                    10_000,
                )),
                stop_ingest_rx.clone(),
            )
            .await
            .with_context(|| format!("binding the device port to {}", cfg.devices.listen))?;
            ingest.push(devices.task);
            let _ = shared.device_port.set(devices.addr);
            Some(devices.addr)
        } else {
            None
        };
        let pub_opts = crate::broker::client_options(
            &cfg.broker,
            &host,
            port,
            &format!("{}-live", cfg.broker.client_id),
        )?;
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        for owner in owners {
            let outlets = crate::owner::Outlets {
                clock: shared.clock,
                metrics: metrics.clone(),
                reader: shared.reader.clone(),
                outbox: outbox.clone(),
                store: store_tx.clone(),
            };
            owners_tasks.push(tokio::spawn(owner.run(outlets, shutdown_rx.clone())));
        }
        drop(outbox);
        let settings = PublishSettings {
            raw_retention_ms: cfg.store.raw_retention.as_millis() as i64,
            rollup_retention_ms: cfg.store.rollup_retention.as_millis() as i64,
            last_will: cfg.broker.mode == BrokerMode::External,
        };
        let deliver_wake = Arc::new(tokio::sync::Notify::new());
        tasks.push(tokio::spawn(crate::alerts::delivery::run(
            cfg.alerts.webhooks.clone(),
            alert_db,
            store_tx.clone(),
            deliver_wake.clone(),
            metrics.clone(),
            shutdown_rx.clone(),
        )));
        let forwarders = crate::forward::spawn(
            &cfg.forward,
            &shared,
            &cfg.store.data_dir,
            &store_tx,
            shutdown_rx.clone(),
        )?;
        tasks.push(tokio::spawn(crate::publish::run(
            shared.clone(),
            pub_opts,
            settings,
            store_tx,
            outbox_rx,
            dl_rx,
            deliver_wake,
        )));
        // Store-and-forward: one task per [[forward]] target, stopped with the others.
        tasks.extend(forwarders);
        // The API (and so /healthz) answers once readings flow: the ingest session has
        // subscribed. With the embedded broker, a reading published before that has no
        // subscriber; an unreachable external broker is waited for only so long (the session
        // keeps retrying, and /healthz says "degraded" meanwhile).
        let waited = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            subscribed.wait_for(|s| *s),
        )
        .await;
        if waited.is_err() {
            tracing::warn!(broker = %format!("{host}:{port}"), "the ingest session has not subscribed after 10 s; starting the API anyway");
        }
        let guard = Arc::new(
            crate::api::auth::Guard::new(&cfg.http, &cfg.store.data_dir)
                .context("the API's accounts")?,
        );
        let listener = tokio::net::TcpListener::bind(cfg.http.listen)
            .await
            .with_context(|| format!("binding the API to {}", cfg.http.listen))?;
        let http_addr = listener.local_addr()?;
        let api_shared = shared.clone();
        let api_shutdown = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) =
                crate::api::serve(api_shared, guard, listener, http_tls, api_shutdown).await
            {
                tracing::error!(error = %e, "API server stopped");
            }
        }));
        tracing::info!(mqtt = %mqtt_addr, mqtt_tls = ?mqtt_tls_addr, https = cfg.http.tls.is_some(), devices = ?device_addr, http = %http_addr, districts = shared.districts.len(), "gateway running");
        Ok(Gateway {
            shared,
            mqtt_addr,
            mqtt_tls_addr,
            device_addr,
            http_addr,
            shutdown,
            stop_ingest,
            ingest,
            owners: owners_tasks,
            tasks,
            writer: Some(writer),
        })
    }

    /// Test hook: makes district `id`'s owner panic inside its next step, as a bug would
    /// (it rebuilds the district from the store and goes on). `false` for an unknown id.
    #[doc(hidden)]
    pub fn inject_panic(&self, id: &str) -> bool {
        match self.shared.district(id) {
            Some(h) => {
                h.owner.send(crate::owner::Input::Panic);
                true
            }
            None => false,
        }
    }

    /// Graceful shutdown: stop ingest, drain the pipeline, publish a last time and `offline`,
    /// commit everything to the store.
    pub async fn shutdown(mut self) {
        let _ = self.stop_ingest.send(true);
        for t in self.ingest.drain(..) {
            let _ = t.await;
        }
        let _ = self.shutdown.send(true);
        for t in self.owners.drain(..) {
            let _ = t.await;
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if let Some(w) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        tracing::info!("gateway stopped; store flushed");
    }
}

/// The store opened (created or upgraded) for its writer, and every district as it holds
/// them: the live state replayed from the last day of readings (one pass over the store), the
/// open alerts and the reservations; with a store reader and the number of readings
/// replayed. Blocking.
fn load(
    dir: &std::path::Path,
    districts: Vec<District>,
    cfg: &Arc<OwnerConfig>,
    now: i64,
) -> anyhow::Result<(rusqlite::Connection, Reader, Vec<DistrictCore>, u64)> {
    let conn = store::schema::open(dir).context("opening the store")?;
    let reader = Reader::open(dir)?;
    let mut states: Vec<DistrictState> = districts
        .into_iter()
        .map(|d| DistrictState::new(Arc::new(d), now))
        .collect();
    let index: HashMap<String, usize> = states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.district.id.clone(), i))
        .collect();
    // What is a duplicate is the store's business, whatever the age.
    let replayed = reader.replay(now - 86_400_000, |r| {
        if let Some(&di) = index.get(&r.district) {
            let st = &mut states[di];
            if let Some(dev) = st.district.device_idx(&r.device) {
                st.apply(dev, &r.reading);
            }
        }
    })?;
    let mut cores = Vec::with_capacity(states.len());
    for st in states {
        let (alerts, parking) =
            crate::owner::load_desks(&reader, &st, cfg, now).with_context(|| {
                format!(
                    "loading district \"{}\"'s alerts and reservations",
                    st.district.id
                )
            })?;
        cores.push(DistrictCore::new(st, alerts, parking, cfg.clone()));
    }
    Ok((conn, reader, cores, replayed))
}
