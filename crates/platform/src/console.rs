//! The web console's port (`--console-addr`, `crates/console`): bound with the platforms'
//! port, so a taken address is a start-up error; given its own credential for the public
//! lookup; and served from the root's tracked tasks over the platforms' router behind the
//! front hall (in process), drained with the rest at shutdown.

use std::sync::Arc;

use egov_console::{Console, ConsoleSettings, Platform};
use egov_runtime::access::{Principal, Role, Scope};
use egov_runtime::clock::SharedClock;
use egov_runtime::shutdown::Shutdown;
use egov_store::Store;

use crate::BuildError;

/// The principal of the console's public lookup. The public has no credential; the console
/// reads the case with this one and shows only the lookup's fields.
pub const PUBLIC_PRINCIPAL: &str = "console-public";

/// The console, bound and not yet serving, with its credential.
#[derive(Debug)]
pub(crate) struct ConsolePort {
    console: Console,
    public_token: String,
}

impl ConsolePort {
    pub async fn bind(settings: ConsoleSettings, store: &Store) -> Result<ConsolePort, BuildError> {
        let listen = settings.listen;
        let console = Console::bind(settings)
            .await
            .map_err(|e| BuildError::Bind(listen, e))?;
        // Reading any case needs a scope over every region; no role but the operators' has
        // one (a role limited to GetCase would be the least privilege: a policy change).
        let principal = Principal {
            id: PUBLIC_PRINCIPAL.to_owned(),
            role: Role::Admin,
            scope: Scope::All,
        };
        let issued = egov_trust::issue(store, &principal, "token", chrono::Utc::now(), None)
            .await
            .map_err(|e| BuildError::Console(e.to_string()))?;
        Ok(ConsolePort {
            console,
            public_token: issued.token,
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.console.addr()
    }

    pub async fn serve(
        self,
        channel: egov_console::Channel,
        policy: Arc<dyn egov_runtime::access::Authorize>,
        clock: SharedClock,
        tls: bool,
        shutdown: Shutdown,
    ) {
        let platform = Platform {
            channel,
            policy,
            public_token: self.public_token,
            clock,
            tls,
        };
        self.console.serve(platform, shutdown).await;
    }
}
