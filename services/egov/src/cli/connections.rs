//! The server commands' limits on clients' connections: how many one address may hold, how
//! long a silent or idle one is kept, how often a quiet one is checked.

use clap::Args;

/// Limits on the clients' connections of a server process.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// The most connections one client address may hold open at once; more are closed as soon
    /// as they are accepted, so that idle sockets of one peer cannot lock out the others.
    #[arg(
        long,
        env = "EGOV_MAX_CONNECTIONS_PER_PEER",
        default_value_t = 64,
        value_name = "N"
    )]
    pub max_connections_per_peer: usize,
    /// How long a new connection may send nothing before it is closed, in seconds.
    #[arg(
        long,
        env = "EGOV_HANDSHAKE_TIMEOUT",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    pub handshake_timeout: u64,
    /// How often HTTP/2 pings check that a client is still there, in seconds; one that does
    /// not answer within 10 s is closed.
    #[arg(
        long,
        env = "EGOV_KEEPALIVE",
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub keepalive: u64,
    /// How long a client's connection may have no call in flight before it is closed, in
    /// seconds (0: never); a client connects again for its next call. An open stream (a
    /// board's warning stream) is a call in flight however quiet it is.
    #[arg(
        long,
        env = "EGOV_IDLE_TIMEOUT",
        default_value_t = 300,
        value_name = "SECONDS"
    )]
    pub idle_timeout: u64,
}
