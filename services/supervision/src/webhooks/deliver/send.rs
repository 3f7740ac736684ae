//! The sender: due deliveries claimed per hook within the slots it has, each attempt on a
//! task of its own in the platform's tracked set, its outcome recorded before its lease ends.

use super::*;

/// One life of the sender: returns on shutdown (after the attempts in flight ended), or with
/// the first error (attempts in flight go on; they run on tasks of their own, in the
/// platform's tracked set, which shutdown drains after the workers).
pub(crate) async fn send(s: &Supervision) -> Result<(), WorkerError> {
    let store = s.store();
    let d = s.deliverer();
    let clock = s.clock();
    let mut shutdown = s.shutdown();
    loop {
        if shutdown.is_triggered() {
            break;
        }
        let pass = d.passes.fetch_add(1, Ordering::SeqCst) + 1;
        let now = clock.now();
        let mut started = 0;
        for hook in store.webhooks().await?.into_iter().filter(|h| h.active) {
            let busy = lock(&d.per_hook).get(&hook.id).copied().unwrap_or(0);
            let free = PER_HOOK
                .saturating_sub(busy)
                .min(d.slots.available_permits());
            if free == 0 {
                continue;
            }
            // Taken before the claim, so this end of the lease is never later than the store's.
            let lease_ends = tokio::time::Instant::now() + LEASE;
            let claimed = store
                .claim_deliveries(hook.id, now, free as u32, LEASE)
                .await?;
            let hook = Arc::new(hook);
            for delivery in claimed {
                // Only this loop takes slots, and it asked for no more than are free.
                let Ok(permit) = d.slots.clone().try_acquire_owned() else {
                    break;
                };
                *lock(&d.per_hook).entry(hook.id).or_default() += 1;
                let slot = Slot {
                    permit: Some(permit),
                    hook_id: hook.id,
                    per_hook: d.per_hook.clone(),
                    supervision: s.clone(),
                };
                let (owner, hook) = (s.clone(), hook.clone());
                s.tasks().spawn(async move {
                    attempt(&owner, &hook, delivery, lease_ends).await;
                    drop(slot);
                });
                started += 1;
            }
        }
        if started == 0 && d.in_flight() == 0 {
            d.idle_through.send_replace(Some((pass, now)));
        }
        let next = store.next_delivery_due().await?;
        let sleep = async {
            match next {
                // Due now but not claimed: its hook's slots are all taken; an attempt
                // ending wakes the loop.
                Some(at) if at > now => clock.sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = shutdown.wait() => break,
            () = d.kick.notified() => {}
            () = sleep => {}
            () = tokio::time::sleep(s.options().fallback_poll) => {}
        }
    }
    // Every slot free again means every attempt in flight ended (each within TIMEOUT).
    let drained = tokio::time::timeout(
        TIMEOUT + Duration::from_secs(5),
        d.slots.acquire_many(IN_FLIGHT as u32),
    )
    .await;
    if drained.is_err() {
        tracing::warn!("webhook attempts still in flight at shutdown; they are retried later");
    }
    Ok(())
}

/// An attempt's hold on the sender's slots, released when the attempt ends.
struct Slot {
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    hook_id: i64,
    per_hook: Arc<Mutex<HashMap<i64, usize>>>,
    supervision: Supervision,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Everything released before the sender is woken, so it sees the slot free.
        drop(self.permit.take());
        let mut per_hook = lock(&self.per_hook);
        if let Some(n) = per_hook.get_mut(&self.hook_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_hook.remove(&self.hook_id);
            }
        }
        drop(per_hook);
        self.supervision.deliverer().kick.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes attempt `delivery.attempts` of `delivery` and records its outcome before its claim's
/// lease ends at `lease_ends`.
async fn attempt(
    s: &Supervision,
    hook: &WebhookRow,
    delivery: DeliveryRow,
    lease_ends: tokio::time::Instant,
) {
    let store = s.store();
    let warning = match store.get_warning(delivery.warning_id).await {
        Ok(Some(warning)) => warning,
        Ok(None) => {
            tracing::error!(
                delivery = delivery.id,
                "the warning of a delivery is missing"
            );
            return;
        }
        Err(error) => {
            // Not attempted: the lease runs out and the delivery is claimed again.
            tracing::warn!(delivery = delivery.id, %error, "cannot read the warning to deliver");
            return;
        }
    };
    let result = post(&s.deliverer().client, hook, &delivery, &warning).await;
    let now = s.clock().now();
    let outcome = match result {
        Ok(()) => DeliveryOutcome::Delivered { at: now },
        Err(error) if delivery.attempts >= hook.max_attempts => {
            tracing::warn!(
                hook = hook.id,
                delivery = delivery.id,
                attempts = delivery.attempts,
                %error,
                "webhook delivery given up"
            );
            DeliveryOutcome::GaveUp { error }
        }
        Err(error) => {
            let random = std::collections::hash_map::RandomState::new()
                .hash_one((delivery.id, delivery.attempts));
            let delay = signature::retry_delay(delivery.attempts, random);
            tracing::debug!(
                hook = hook.id,
                delivery = delivery.id,
                attempts = delivery.attempts,
                %error,
                retry_in = ?delay,
                "webhook delivery failed"
            );
            DeliveryOutcome::Retry {
                at: now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX),
                error,
            }
        }
    };
    let label = match &outcome {
        DeliveryOutcome::Delivered { .. } => "delivered",
        DeliveryOutcome::Retry { .. } => "retry",
        DeliveryOutcome::GaveUp { .. } => "failed",
    };
    metrics::counter!(egov_runtime::metrics::WEBHOOK_DELIVERIES, "outcome" => label).increment(1);
    // A lost outcome makes the lease run out and the delivery go again: a delivered one would
    // reach its receiver twice. So a failing database is tried again, with growing pauses,
    // for as long as the lease holds the delivery.
    let deadline = lease_ends.checked_sub(FINISH_MARGIN).unwrap_or(lease_ends);
    let recorded = until_ok(deadline, FINISH_BACKOFF, || async {
        let result = store
            .finish_delivery(delivery.id, delivery.attempts, &outcome)
            .await;
        if let Err(error) = &result {
            tracing::warn!(delivery = delivery.id, %error, "cannot record a webhook outcome");
        }
        result
    })
    .await;
    match recorded {
        Ok(true) => {}
        Ok(false) => tracing::debug!(
            delivery = delivery.id,
            "webhook outcome not recorded: the delivery was cancelled or taken over"
        ),
        Err(error) if matches!(outcome, DeliveryOutcome::Delivered { .. }) => tracing::error!(
            hook = hook.id,
            delivery = delivery.id,
            %error,
            "a delivered webhook could not be recorded as such before its lease ends: \
             it will be sent again (receivers deduplicate by Egov-Delivery)"
        ),
        Err(error) => tracing::error!(
            hook = hook.id,
            delivery = delivery.id,
            %error,
            "a failed webhook attempt could not be recorded before its lease ends; \
             it is attempted again after the lease"
        ),
    }
}
