//! The names of every metric the platforms record (through the `metrics` facade), with their
//! help text, in one table: the services record them where the thing happens, and the
//! composition root exports them in Prometheus format on `--metrics-addr` (without it no
//! recorder is installed and recording costs next to nothing). `deploy/grafana/egov.json`
//! shows them.

/// Records answered by the approval platform, by `outcome`: stored, duplicate, rejected.
pub const RECORDS: &str = "egov_records_total";
/// Seconds from a batch of records arriving to its answer (a `SubmitRecords` call, or one
/// batch of a record stream).
pub const INGEST_SECONDS: &str = "egov_ingest_batch_seconds";
/// Seconds from a due instant to the warning the due loop raised for it, on the platform's
/// clock: how late warnings come.
pub const WARNING_DELAY_SECONDS: &str = "egov_warning_delay_seconds";
/// Warnings raised by this process's workers, by `rule` and `level`.
pub const WARNINGS_RAISED: &str = "egov_warnings_raised_total";
/// Due instants stored and not yet fired (read from the database at each scrape).
pub const DUE_PENDING: &str = "egov_due_instants_pending";
/// Rows each follower of the record log or the warning stream stands behind its head, by
/// `cursor` (read from the database at each scrape; on PostgreSQL an estimate).
pub const FOLLOWER_LAG: &str = "egov_follower_lag_rows";
/// Webhook delivery attempts, by `outcome`: delivered, retry, failed (given up).
pub const WEBHOOK_DELIVERIES: &str = "egov_webhook_deliveries_total";
/// Database connections of this process's pool, by `state`: idle, in_use.
pub const DB_POOL_CONNECTIONS: &str = "egov_db_pool_connections";
/// The most database connections this process's pool opens.
pub const DB_POOL_MAX: &str = "egov_db_pool_max_connections";
/// Streams open now (record and warning streams, health watches, reflection), by `rpc`.
pub const STREAM_SUBSCRIBERS: &str = "egov_stream_subscribers";
/// Calls refused by the front hall, by `code` (UNAUTHENTICATED, PERMISSION_DENIED,
/// RESOURCE_EXHAUSTED).
pub const CALLS_REFUSED: &str = "egov_calls_refused_total";

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric: its name, its kind and its help text.
pub const ALL: [(&str, Kind, &str); 11] = [
    (
        RECORDS,
        Kind::Counter,
        "Records answered by the approval platform, by outcome (stored, duplicate, rejected).",
    ),
    (
        INGEST_SECONDS,
        Kind::Histogram,
        "Seconds from a batch of records arriving to its answer.",
    ),
    (
        WARNING_DELAY_SECONDS,
        Kind::Histogram,
        "Seconds from a due instant to the warning raised for it (platform clock).",
    ),
    (
        WARNINGS_RAISED,
        Kind::Counter,
        "Warnings raised by this process's workers, by rule and level.",
    ),
    (
        DUE_PENDING,
        Kind::Gauge,
        "Due instants stored and not yet fired.",
    ),
    (
        FOLLOWER_LAG,
        Kind::Gauge,
        "Rows each follower (cursor) stands behind the head of the stream it follows.",
    ),
    (
        WEBHOOK_DELIVERIES,
        Kind::Counter,
        "Webhook delivery attempts, by outcome (delivered, retry, failed).",
    ),
    (
        DB_POOL_CONNECTIONS,
        Kind::Gauge,
        "Database connections of this process's pool, by state (idle, in_use).",
    ),
    (
        DB_POOL_MAX,
        Kind::Gauge,
        "The most database connections this process's pool opens.",
    ),
    (STREAM_SUBSCRIBERS, Kind::Gauge, "Streams open now, by RPC."),
    (
        CALLS_REFUSED,
        Kind::Counter,
        "Calls refused by the front hall, by gRPC code.",
    ),
];

/// Gives every metric its help text in the recorder installed (the root calls it once, after
/// installing one).
pub fn describe() {
    for (name, kind, help) in ALL {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => {
                metrics::describe_histogram!(name, metrics::Unit::Seconds, help);
            }
        }
    }
}

/// Counts an open stream in [`STREAM_SUBSCRIBERS`] until dropped.
#[derive(Debug)]
pub struct Subscriber {
    gauge: metrics::Gauge,
}

impl Subscriber {
    pub fn open(rpc: &'static str) -> Subscriber {
        let gauge = metrics::gauge!(STREAM_SUBSCRIBERS, "rpc" => rpc);
        gauge.increment(1.0);
        Subscriber { gauge }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}
