//! The follower: the warning stream read by its persisted cursor, one delivery enqueued per
//! matching active hook in the transaction that moves the cursor.

use egov_runtime::follow::{self, Follower, Wake};

use super::*;

/// Whether `warning` passes the filters of `hook` (department, region subtree, lowest level).
pub fn matches(hook: &WebhookRow, warning: &WarningRow) -> bool {
    let department = hook
        .department
        .as_deref()
        .is_none_or(|d| d == warning.department);
    let region = hook
        .region_prefix
        .as_deref()
        .is_none_or(|p| jurisdiction::is_within(&warning.region, p));
    let level = match hook.min_level.as_deref().map(Level::parse) {
        None => true,
        Some(Some(min)) => Level::parse(&warning.level).is_some_and(|l| l >= min),
        // A stored filter this build does not know: send rather than drop silently.
        Some(None) => true,
    };
    hook.active && department && region && level
}

/// The persisted position, or, on the first run, the head of the warning stream (persisted
/// at once): a first start on a large database does not read its whole history. Creating a
/// hook stores the position first if no follower ran yet, so a follower that starts late (the
/// platform serves RPCs as soon as it is bound, before its workers ran) still matches the
/// warnings raised after the hook against it; see `egov_store::webhooks`.
pub(super) async fn cursor(store: &Store) -> Result<WarningPosition, WorkerError> {
    let token = store.start_deliveries_cursor().await?;
    token.parse().map_err(|_| WorkerError::Cursor(token))
}

/// What the follower does next.
#[derive(Debug)]
pub(super) enum Step {
    /// No active hook: move the cursor to this head of the stream without reading it.
    Skip(WarningPosition),
    /// The warnings after the cursor (none: nothing readable yet) and the active hooks read
    /// AFTER them, to match them against.
    Batch {
        rows: Vec<WarningRow>,
        hooks: Vec<WebhookRow>,
    },
}

/// The follower's reads for one pass from `after`. `hooks_read` runs once the hooks were
/// first read (production passes a ready future; a test makes changes there, to land between
/// the reads).
///
/// The order of the reads is what keeps a new hook from missing warnings:
/// - With no active hook: the head before the hooks. A warning up to that head was stored
///   before the hooks were read, so before any hook created since: none is owed it.
/// - With hooks: the batch of warnings, then the hooks again. A hook created before the
///   batch was read is matched against all of it; one created later is owed none of it (all
///   of it was stored before the hook existed). Reading the hooks first would let a hook
///   created between the two reads miss every warning stored meanwhile, for good: the
///   cursor moves past them.
pub(super) async fn next_step(
    store: &Store,
    after: WarningPosition,
    all: &WarningFilter,
    hooks_read: impl Future<Output = ()>,
) -> Result<Step, WorkerError> {
    let head = store.warnings_head().await?;
    let any_hook = !active_hooks(store).await?.is_empty();
    hooks_read.await;
    if !any_hook {
        if head > after {
            return Ok(Step::Skip(head));
        }
        return Ok(Step::Batch {
            rows: Vec::new(),
            hooks: Vec::new(),
        });
    }
    let rows = store.read_warnings(after, all, BATCH).await?;
    let hooks = if rows.is_empty() {
        Vec::new()
    } else {
        active_hooks(store).await?
    };
    Ok(Step::Batch { rows, hooks })
}

async fn active_hooks(store: &Store) -> Result<Vec<WebhookRow>, WorkerError> {
    Ok(store
        .webhooks()
        .await?
        .into_iter()
        .filter(|h| h.active)
        .collect())
}

/// The webhook follower's state between steps: its position, persisted with each batch.
struct Enqueuer<'a> {
    s: &'a Supervision,
    after: WarningPosition,
    all: WarningFilter,
}

impl Enqueuer<'_> {
    /// Records that the follower enqueued through `position` (and persisted it).
    fn moved_to(&mut self, position: WarningPosition) {
        self.after = position;
        self.s
            .deliverer()
            .followed_through
            .send_replace(Some(position));
    }
}

impl Follower for Enqueuer<'_> {
    type Error = WorkerError;

    async fn step(&mut self) -> Result<follow::Step, WorkerError> {
        let (s, store) = (self.s, self.s.store());
        let (rows, hooks) =
            match next_step(store, self.after, &self.all, std::future::ready(())).await? {
                Step::Skip(head) => {
                    // Nothing to enqueue: skip the warnings instead of reading them (most
                    // platforms have no hook, and the due loop's bursts need the database).
                    store
                        .enqueue_deliveries(CONSUMER, &head.to_string(), &[], s.clock().now())
                        .await?;
                    self.moved_to(head);
                    return Ok(follow::Step::Read);
                }
                Step::Batch { rows, hooks } => (rows, hooks),
            };
        let Some(last) = rows.last().map(|w| w.position) else {
            return Ok(follow::Step::Empty);
        };
        // A warning read withdrawn is owed as a withdrawal: beside its raise when the hook got
        // that earlier, alone when it was raised and withdrawn before this follower read it.
        let pairs: Vec<(i64, i64, &str)> = rows
            .iter()
            .flat_map(|w| {
                let event = if w.state == WarningState::Withdrawn.as_str() {
                    EVENT_WITHDRAWN
                } else {
                    EVENT_RAISED
                };
                hooks
                    .iter()
                    .filter(|h| matches(h, w))
                    .map(move |h| (h.id, w.id, event))
            })
            .collect();
        let added = store
            .enqueue_deliveries(CONSUMER, &last.to_string(), &pairs, s.clock().now())
            .await?;
        self.moved_to(last);
        if added > 0 {
            s.deliverer().kick.notify_one();
        }
        tracing::debug!(
            warnings = rows.len(),
            added,
            position = %last,
            "webhook deliveries enqueued"
        );
        Ok(follow::Step::Read)
    }

    /// Warnings held back behind an open transaction (PostgreSQL) are read again soon.
    async fn pending(&mut self) -> Result<bool, WorkerError> {
        Ok(self
            .s
            .store()
            .warnings_pending(self.after, &self.all)
            .await?)
    }
}

/// One life of the follower: returns on shutdown, or with the first error.
pub(crate) async fn follow(s: &Supervision) -> Result<(), WorkerError> {
    let d = s.deliverer();
    // Subscribed before the first read, so a warning stored meanwhile still wakes it.
    let wake = Wake::new()
        .pulse(s.warnings_pulse().await?)
        .kick(&d.follow_kick);
    let mut enqueuer = Enqueuer {
        s,
        after: WarningPosition::START,
        all: WarningFilter::default(),
    };
    enqueuer.moved_to(cursor(s.store()).await?);
    follow::follow(&mut enqueuer, wake, s.shutdown(), s.options().fallback_poll).await
}
