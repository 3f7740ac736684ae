//! The seams between the front hall's pieces (docs/design.md §5): what the TLS acceptor learns
//! of a peer, and how an audited act leaves the authorization layer. Authentication and policy
//! live in their own crate, the audit log's storage in the store; both meet here so that
//! neither depends on the other.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::error::Refusal;

/// The subject of a client's verified TLS certificate (mutual TLS), put in each request's
/// extensions by the acceptor, so authentication can map it to a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate's subject common name (or, without one, its first DNS name).
    pub subject: String,
}

/// One act for the audit log: a state-changing call (whatever its outcome) or a refused one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Who: the authenticated principal's id, or "anonymous".
    pub principal: String,
    /// The principal's role ("admin", "supervisor", ...), or "" when unauthenticated.
    pub role: String,
    /// What: the RPC's full method name, e.g. "/egov.supervision.v1.SupervisionService/CloseWarning".
    pub action: String,
    /// On what: the target the call names (a warning id, a case, a hook), "" when none.
    pub target: String,
    /// How it ended: "OK" or the gRPC code's name ("PERMISSION_DENIED", ...).
    pub outcome: String,
    /// The peer's socket address, when known.
    pub peer: Option<String>,
    /// When the call was decided (wall clock).
    pub at: DateTime<Utc>,
}

/// Where audited acts go. The front hall awaits `record` before answering, so an act that
/// changed state is in the log when its caller learns of it.
pub trait AuditSink: Send + Sync + 'static {
    fn record(&self, event: AuditEvent) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// What a principal is (docs/design.md §4a): decides which policy rules apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The platform's operators: catalogue, rules, registry, webhooks, credentials, periods.
    Admin,
    /// A department's or hall's system: pushes records, reads its cases.
    ServiceCentre,
    /// A department's staff: acknowledges and answers its department's cards.
    Department,
    /// A supervision office (a region): reads its subtree, closes and escalates what it holds.
    Supervisor,
    /// Leaders and analysts: scores, rankings and statistics of a subtree.
    Analyst,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::ServiceCentre,
        Role::Department,
        Role::Supervisor,
        Role::Analyst,
    ];

    /// The name the policy, the credentials table and the command line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ServiceCentre => "service_centre",
            Role::Department => "department",
            Role::Supervisor => "supervisor",
            Role::Analyst => "analyst",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a principal may act: the whole tree, a region's subtree, or some departments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everywhere (admins).
    All,
    /// The subtree of this region code ("3301": the city and everything below it).
    Region(String),
    /// These department codes, wherever their cases are.
    Departments(Vec<String>),
}

impl Scope {
    /// The stored and printed form: "*", "region:3301" or "departments:D1,D2".
    pub fn to_text(&self) -> String {
        match self {
            Scope::All => "*".to_owned(),
            Scope::Region(r) => format!("region:{r}"),
            Scope::Departments(d) => format!("departments:{}", d.join(",")),
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        if text == "*" {
            return Some(Scope::All);
        }
        if let Some(r) = text.strip_prefix("region:") {
            return (!r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Scope::Region(r.to_owned()));
        }
        let list = text.strip_prefix("departments:")?;
        let departments: Vec<String> = list
            .split(',')
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect();
        (!departments.is_empty()).then_some(Scope::Departments(departments))
    }
}

/// Who is calling, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// Its name: the actor of its workflow moves, the source of its records, the audit's who.
    pub id: String,
    pub role: Role,
    pub scope: Scope,
}

/// The name reserved for the platform's own acts (the rules' escalations, the timers): no
/// principal may carry it (docs/design.md §4a).
pub const SYSTEM: &str = "system";

/// What a call acts on, placed in the region tree so that the policy can ask "within the
/// principal's scope?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The call itself, before its target is known (the front hall's check of every call).
    Call,
    /// A region's subtree (a list or stream narrowed to it).
    Region(String),
    /// A department (a list or stream narrowed to it).
    Department(String),
    /// A case or a record of it: its department and region.
    Case { department: String, region: String },
    /// A warning: its case's department and region, and the region of the office holding it.
    Warning {
        department: String,
        region: String,
        office: String,
    },
    /// A complaint: the department complained about, its subject's region, and the region of
    /// the office holding it.
    Complaint {
        department: String,
        region: String,
        office: String,
    },
}

/// The one policy decision point (the Cedar policy, `crates/trust`).
pub trait Authorize: Send + Sync + 'static {
    /// Whether `principal` may do `action` (the RPC's method name, e.g. "CloseWarning") on
    /// `target`.
    fn allows(&self, principal: &Principal, action: &str, target: &Target) -> bool;
}

/// The authenticated caller of one RPC, put in the request's extensions by the front hall:
/// the services ask it about the targets they load (a warning's office, a case's department)
/// and narrow their lists and streams to its scope.
#[derive(Clone)]
pub struct Caller {
    pub principal: std::sync::Arc<Principal>,
    /// The RPC's method name (the policy's action).
    pub action: &'static str,
    authorizer: std::sync::Arc<dyn Authorize>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("principal", &self.principal)
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

impl Caller {
    pub fn new(
        principal: std::sync::Arc<Principal>,
        action: &'static str,
        authorizer: std::sync::Arc<dyn Authorize>,
    ) -> Caller {
        Caller {
            principal,
            action,
            authorizer,
        }
    }

    /// The caller of `request`; UNAUTHENTICATED when the front hall put none there (a service
    /// reached around it answers nothing).
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Caller, tonic::Status> {
        request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| tonic::Status::unauthenticated("no credential"))
    }

    /// Whether the caller may do its call's action on `target`.
    pub fn may(&self, target: &Target) -> bool {
        self.authorizer.allows(&self.principal, self.action, target)
    }

    /// [`Caller::may`] as a result: PERMISSION_DENIED naming the action when not.
    pub fn check(&self, target: &Target) -> Result<(), tonic::Status> {
        if self.may(target) {
            Ok(())
        } else {
            Err(Refusal::new(
                "POLICY_DENIED",
                format!("{} may not {} here", self.principal.id, self.action),
            )
            .with("principal", self.principal.id.clone())
            .with("action", self.action.to_string())
            .status(tonic::Code::PermissionDenied))
        }
    }

    /// Narrows a list's or stream's `department` and `region` filters to the caller's scope
    /// (docs/design.md §4a): an empty filter becomes the scope, a filter outside it is
    /// PERMISSION_DENIED, and the narrowed target is checked against the policy.
    pub fn narrow(
        &self,
        department: &mut String,
        region: &mut String,
    ) -> Result<(), tonic::Status> {
        let outside = || {
            Refusal::new(
                "OUTSIDE_SCOPE",
                format!(
                    "{} may only see its own scope ({})",
                    self.principal.id,
                    self.principal.scope.to_text()
                ),
            )
            .with("principal", self.principal.id.clone())
            .with("scope", self.principal.scope.to_text())
            .status(tonic::Code::PermissionDenied)
        };
        match &self.principal.scope {
            Scope::All => {}
            Scope::Region(root) => {
                if region.is_empty() {
                    region.clone_from(root);
                } else if !region.starts_with(root.as_str()) {
                    return Err(outside());
                }
            }
            Scope::Departments(own) => {
                if department.is_empty() {
                    match own.as_slice() {
                        [only] => department.clone_from(only),
                        _ => {
                            return Err(Refusal::new(
                                "DEPARTMENT_REQUIRED",
                                "name one of your departments in the filter",
                            )
                            .with("principal", self.principal.id.clone())
                            .status(tonic::Code::PermissionDenied));
                        }
                    }
                } else if !own.contains(department) {
                    return Err(outside());
                }
            }
        }
        // Both set: the cases of that department within that subtree, placed under both.
        let target = if !department.is_empty() && !region.is_empty() {
            Target::Case {
                department: department.clone(),
                region: region.clone(),
            }
        } else if !department.is_empty() {
            Target::Department(department.clone())
        } else if !region.is_empty() {
            Target::Region(region.clone())
        } else {
            Target::Call
        };
        self.check(&target)
    }
}

/// A client's credential: adds `authorization: Bearer <token>` to every call of a client
/// built `with_interceptor(channel, Bearer::new(token))`.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// A credential of `token` (a token that is no valid header value sends nothing, and the
    /// call is then UNAUTHENTICATED).
    pub fn new(token: &str) -> Bearer {
        Bearer(format!("Bearer {token}").parse().ok())
    }

    /// No credential: calls are anonymous.
    pub fn none() -> Bearer {
        Bearer(None)
    }
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(..)")
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel whose calls carry a [`Bearer`] credential: what every client of the platforms
/// is built on.
pub type Authed =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>;

/// `channel` with `credential` on every call.
pub fn authed(channel: tonic::transport::Channel, credential: Bearer) -> Authed {
    tonic::service::interceptor::InterceptedService::new(channel, credential)
}
