//! One owner per district: the task that alone holds a district's live state, its alerts and
//! its parking (reservations, signs), and the one ordered inbox through which everything
//! reaches them.
//!
//! - [`core`]: what an owner holds ([`DistrictCore`]) and its pure steps: apply readings,
//!   evaluate the alert rules, tick the parking desk, build the changed snapshots.
//! - [`task`]: the owner's task: takes its inbox in order, ticks, and sends what the steps
//!   return to the store (rollups, alert transitions, reservations, audit) and the outbox
//!   ([`crate::publish`]: MQTT, WebSocket). A panic in a step rebuilds that district from the
//!   store; the other districts never notice.
//!
//! Others hold an [`OwnerHandle`]: readings the store committed go in with
//! [`OwnerHandle::send`]; the API asks ([`OwnerHandle::ask`]), acts on alerts
//! ([`OwnerHandle::act`]) and books ([`OwnerHandle::reserve`]) through it. Questions and
//! actions take the urgent inbox, ahead of a backlog of readings, as do fire detectors'
//! readings. No lock is shared between tasks, so nothing can be poisoned.

pub mod core;
pub mod out;
pub mod task;

use district::contract::alert::AlertMsg;
use district::contract::reading::Reading;
use tokio::sync::{mpsc, oneshot};

pub use self::core::{DistrictCore, OwnerConfig};
pub use self::out::{AlertsOut, Out};
pub use self::task::{load_desks, new, Outlets, Owner};
use crate::alerts::desk::Action;
use crate::alerts::ActionError;
use crate::parking::desk::ReserveError;
use crate::parking::reservation::Reservation;
use crate::store::WriteError;

/// A question for an owner: run on its state, between two steps.
pub type Question = Box<dyn FnOnce(&DistrictCore, i64) + Send>;

/// A change or question for one district's owner.
pub enum Input {
    /// Readings the store committed as new, in commit order: (device index, reading, row id).
    Committed(Vec<(usize, Reading, i64)>),
    /// A question about the district now (the API, tests).
    Ask(Question),
    /// An operator action on an alert.
    Alert {
        /// What.
        action: Action,
        /// Alert id.
        id: String,
        /// Who acts (the audit trail).
        who: String,
        /// Note.
        note: String,
        /// The alert after the action, once stored and published.
        reply: oneshot::Sender<Result<AlertMsg, Refused<ActionError>>>,
    },
    /// A booking.
    Reserve {
        /// Lot index.
        lot: usize,
        /// Plate.
        plate: String,
        /// Window, clock ms.
        window: (i64, i64),
        /// The API account booking it.
        owner: Option<String>,
        /// The reservation, once stored.
        reply: oneshot::Sender<Result<Reservation, Refused<ReserveError>>>,
    },
    /// A cancellation.
    Cancel {
        /// Lot id.
        lot: String,
        /// Reservation id.
        id: String,
        /// Only if this account booked it (a `parking-app`); None: any (an admin).
        own_only: Option<String>,
        /// The reservation, once stored.
        reply: oneshot::Sender<Result<Reservation, Refused<ReserveError>>>,
    },
    /// Forecasts of the district's lots, computed from the store on the blocking pool.
    Forecasts(Vec<Option<serde_json::Value>>),
    /// Test hook: panic inside the step, as a bug would.
    #[doc(hidden)]
    Panic,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Input::Committed(r) => return write!(f, "Committed({} readings)", r.len()),
            Input::Ask(_) => "Ask",
            Input::Alert { .. } => "Alert",
            Input::Reserve { .. } => "Reserve",
            Input::Cancel { .. } => "Cancel",
            Input::Forecasts(_) => "Forecasts",
            Input::Panic => "Panic",
        };
        f.write_str(name)
    }
}

/// Why a request to an owner did not go through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refused<E> {
    /// The district refused it (the rule, the book).
    #[error(transparent)]
    Refused(E),
    /// It was done but could not be stored, so it is not published either.
    #[error(transparent)]
    Store(#[from] WriteError),
    /// The owner has stopped (the gateway is shutting down).
    #[error("the district's owner has stopped")]
    Stopped,
}

/// Timing of the owner's ticks and minute closing.
#[derive(Debug, Clone, Copy)]
pub struct TickSettings {
    /// Tick of the live topics, wall ms (no live topic is published more often).
    pub min_interval_ms: u64,
    /// A minute closes once readings are this far past it (event ms).
    pub rollup_grace_ms: i64,
    /// ...or once the clock is this far past it.
    pub rollup_close_after_ms: i64,
}

impl Default for TickSettings {
    fn default() -> Self {
        TickSettings {
            min_interval_ms: 1000,
            rollup_grace_ms: 5_000,
            rollup_close_after_ms: 120_000,
        }
    }
}

/// The parts of a district's owner that others hold: its inboxes.
#[derive(Debug, Clone)]
pub struct OwnerHandle {
    inbox: mpsc::UnboundedSender<Input>,
    urgent: mpsc::UnboundedSender<Input>,
}

impl OwnerHandle {
    /// Queues an input (dropped if the owner has stopped: the gateway is shutting down).
    pub fn send(&self, input: Input) {
        let _ = self.inbox.send(input);
    }

    /// Queues an input that must not wait behind the inbox (fire detectors' readings,
    /// questions, operator actions): the owner takes it first.
    pub fn send_urgent(&self, input: Input) {
        let _ = self.urgent.send(input);
    }

    /// Asks the district: `f` runs on the owner's state at the owner's `now` (clock ms)
    /// between two steps, and its answer comes back. `None` if the owner has stopped.
    pub async fn ask<T: Send + 'static>(
        &self,
        f: impl FnOnce(&DistrictCore, i64) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.send_urgent(Input::Ask(Box::new(move |core, now| {
            let _ = tx.send(f(core, now));
        })));
        rx.await.ok()
    }

    /// An operator action on alert `id`: the alert after it, once stored and published.
    pub async fn act(
        &self,
        action: Action,
        id: String,
        who: String,
        note: String,
    ) -> Result<AlertMsg, Refused<ActionError>> {
        let (reply, rx) = oneshot::channel();
        self.send_urgent(Input::Alert {
            action,
            id,
            who,
            note,
            reply,
        });
        rx.await.unwrap_or(Err(Refused::Stopped))
    }

    /// Books a space in lot `lot` for `window` (clock ms) on behalf of API account `owner`:
    /// the reservation, once stored.
    pub async fn reserve(
        &self,
        lot: usize,
        plate: String,
        window: (i64, i64),
        owner: Option<String>,
    ) -> Result<Reservation, Refused<ReserveError>> {
        let (reply, rx) = oneshot::channel();
        self.send_urgent(Input::Reserve {
            lot,
            plate,
            window,
            owner,
            reply,
        });
        rx.await.unwrap_or(Err(Refused::Stopped))
    }

    /// Cancels reservation `id` of lot `lot` (with `own_only`, only if that account booked
    /// it; another's is not found): the reservation, once stored.
    pub async fn cancel(
        &self,
        lot: String,
        id: String,
        own_only: Option<String>,
    ) -> Result<Reservation, Refused<ReserveError>> {
        let (reply, rx) = oneshot::channel();
        self.send_urgent(Input::Cancel {
            lot,
            id,
            own_only,
            reply,
        });
        rx.await.unwrap_or(Err(Refused::Stopped))
    }
}
