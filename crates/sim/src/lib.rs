//! A living city for egov (issue 6): a seeded simulator of service centres pushing records,
//! departments handling cases fast, slowly or carelessly, and supervisors working the
//! correction workflow, driving the REAL platforms over gRPC only (`UpsertMatters`,
//! `SubmitRecords`, `StreamRecords`; `StreamWarnings` and the workflow RPCs). It never touches
//! the database behind the platforms' back; the one thing it reads in process is whether the
//! platforms have settled (see [`platforms`]).
//!
//! Two ways to run it, both behind the `egov` command line (their `--help` is there):
//! - **`egov demo`** ([`demo`]): both platforms in this process on a fresh SQLite file, on a
//!   clock the simulator owns. Simulated time moves in ticks (15 minutes); before each tick the
//!   simulator sends every record that happened up to it and waits until the platforms have
//!   settled, so each run of a seed raises the same warnings at the same simulated times. Ticks
//!   are paced by the wall clock (`--speed 3600`: an hour a second). This clock exists only in
//!   the demo: `egov up` and the `serve` commands always run on the wall clock.
//! - **`egov simulate`** ([`load`]): the same traffic against platforms already running
//!   (PostgreSQL), on the wall clock (`occurred_at` is now), at a chosen rate, for load tests.
//!
//! Map of the modules:
//! - [`city`]: regions, departments with their [`city::Profile`], the matter catalogue.
//! - [`worktime`]: office hours on the statutory calendar.
//! - [`plan`]: one case's records, planned from its department's behaviour; the table of
//!   which behaviour breaks which rule is there.
//! - [`traffic`]: the period's applications and their records, in time order.
//! - [`react`]: how departments and supervisors answer warnings (the correction workflow).
//! - [`platforms`]: both platforms in process on the simulator's clock, and "settled".
//! - [`registry`]: the city's regions and departments, and the final ranking, on the wire.
//! - [`demo`]: the tick loop, its progress events and its [`demo::Report`].
//! - [`load`]: the wall-clock load generator.
//!
//! Determinism: everything random comes from [`rng_for`]`(seed, stream, n)`, one generator
//! per purpose and item (a day's arrivals, a case, a warning's handling), so a change in one
//! draw does not shift all the others.

#![forbid(unsafe_code)]

pub mod city;
pub mod demo;
pub mod load;
pub mod plan;
pub mod platforms;
pub mod react;
pub mod registry;
pub mod traffic;
pub mod worktime;

use rand::SeedableRng;

/// The generator of every draw: small, fast and the same on every platform.
pub type Rng = rand::rngs::Xoshiro256PlusPlus;

/// The generator for item `n` of `stream` under `seed`: independent streams from one seed.
pub fn rng_for(seed: u64, stream: &str, n: u64) -> Rng {
    // FNV-1a of the stream's name, then SplitMix64 to spread the three over the state.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut x = seed ^ h.rotate_left(17) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    Rng::seed_from_u64(x ^ (x >> 31))
}

/// A stable number for a text (FNV-1a), to pick a generator by a warning's identity.
pub fn hash_text(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
