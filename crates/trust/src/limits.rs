//! Limits per credential (issue 12, item 7): a token bucket of calls and a cap on concurrent
//! streams for each credential, so one misbehaving client cannot starve the others. A refused
//! call is RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` saying when to try again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How much one credential may ask.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Calls per second, sustained.
    pub rate: f64,
    /// Calls at once above the rate (the bucket's size).
    pub burst: f64,
    /// Streams (record, log and warning streams) open at once.
    pub streams: usize,
}

impl Default for Limits {
    /// High enough for a service centre's ingest and for the benchmarks: the point is that no
    /// single client can take everything, not to ration ordinary ones.
    fn default() -> Self {
        Limits {
            rate: 2_000.0,
            burst: 4_000.0,
            streams: 64,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets and stream slots of every credential seen.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
    streams: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Past this many credentials the tables start over (bounded memory).
const TABLE_MAX: usize = 10_000;

impl Limiter {
    pub fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one call from `credential`'s bucket; Err(how long until one is there) when empty.
    pub fn call(&self, credential: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= TABLE_MAX && !buckets.contains_key(credential) {
            buckets.clear();
        }
        let bucket = buckets.entry(credential.to_owned()).or_insert(Bucket {
            tokens: self.limits.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.limits.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.limits.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.limits.rate.max(f64::MIN_POSITIVE);
            Err(Duration::from_secs_f64(wait.min(60.0)))
        }
    }

    /// A slot for one more stream of `credential`, held until the stream ends; None when it
    /// has `streams` open already.
    pub fn stream(&self, credential: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
            if streams.len() >= TABLE_MAX && !streams.contains_key(credential) {
                // Only idle credentials' slots are forgotten: an open stream keeps its own.
                streams.retain(|_, s| s.available_permits() < self.limits.streams);
            }
            streams
                .entry(credential.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.streams)))
                .clone()
        };
        semaphore.try_acquire_owned().ok()
    }
}
