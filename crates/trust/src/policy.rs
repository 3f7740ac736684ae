//! The one policy decision point (docs/design.md "Trust"): the Cedar policy of
//! `deploy/policy.cedar` (built in, or a city's own file), checked against its schema
//! (`deploy/policy.cedarschema`) at start, and asked about every call and every target the
//! services load. The region tree is the scope hierarchy: a region's entity has its ancestors
//! as parents, read off its code (`330106 -> 3301 -> 33`, docs/design.md §4a).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use egov_domain::jurisdiction::parent_region;
use egov_runtime::access::{Authorize, Principal, Scope, Target};

/// The built-in policy.
pub const DEFAULT_POLICY: &str = include_str!("../../../deploy/policy.cedar");
/// The shapes every policy is checked against.
pub const SCHEMA: &str = include_str!("../../../deploy/policy.cedarschema");

/// Why a policy cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy does not parse: {0}")]
    Parse(String),
    #[error("the policy does not fit the schema: {0}")]
    Invalid(String),
}

/// The policy in force, with its schema.
#[derive(Debug)]
pub struct Policy {
    policies: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
    /// The action of every RPC, by method name (names kept for the process's lifetime: the
    /// callers hold them, and a process parses its policy once).
    actions: HashMap<&'static str, EntityUid>,
}

fn uid(kind: &str, id: &str) -> EntityUid {
    // The type names are this file's own constants: they parse.
    let kind = EntityTypeName::from_str(kind).expect("a known entity type");
    EntityUid::from_type_name_and_id(kind, EntityId::new(id))
}

/// The region `code` and its ancestors, each with its parent.
fn region_chain(code: &str, entities: &mut Vec<Entity>) -> EntityUid {
    let mut current = code;
    while let Some(parent) = parent_region(current) {
        entities.push(Entity::new_no_attrs(
            uid("Region", current),
            HashSet::from([uid("Region", parent)]),
        ));
        current = parent;
    }
    entities.push(Entity::new_no_attrs(uid("Region", current), HashSet::new()));
    uid("Region", code)
}

impl Policy {
    /// The policy of `text`, checked against the schema: every rule must name known actions
    /// and attributes, so a typo does not silently permit or deny.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA)
            .map_err(|e| PolicyError::Invalid(format!("the schema: {e}")))?;
        let policies = PolicySet::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !validation.validation_passed() {
            let errors: Vec<String> = validation
                .validation_errors()
                .map(ToString::to_string)
                .collect();
            return Err(PolicyError::Invalid(errors.join("; ")));
        }
        let actions = schema
            .actions()
            .map(|a| {
                let name: &'static str = Box::leak(a.id().unescaped().to_owned().into_boxed_str());
                (name, a.clone())
            })
            .collect();
        Ok(Policy {
            policies,
            schema,
            authorizer: Authorizer::new(),
            actions,
        })
    }

    /// The built-in policy.
    pub fn builtin() -> Policy {
        Policy::parse(DEFAULT_POLICY).expect("the built-in policy fits its schema")
    }

    /// The names of the actions the schema declares (the RPC method names).
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().copied()
    }

    /// The action named `method`, if the schema declares it.
    pub(crate) fn action(&self, method: &str) -> Option<&'static str> {
        self.actions.get_key_value(method).map(|(k, _)| *k)
    }

    /// Whether a call of `action` without any credential is allowed: only an action whose
    /// schema names `Anonymous` among its principals can be (signing in, the health probes and
    /// reflection in the built-in policy); every other call needs a credential.
    pub fn allows_anonymous(&self, action: &str) -> bool {
        let Some(action) = self.actions.get(action) else {
            return false;
        };
        let api = uid("Api", "egov");
        let Ok(entities) = Entities::from_entities(
            [
                Entity::new_no_attrs(uid("Anonymous", "anonymous"), HashSet::new()),
                Entity::new_no_attrs(api.clone(), HashSet::new()),
            ],
            None,
        ) else {
            return false;
        };
        // The schema refuses the request when the action does not apply to `Anonymous`.
        let Ok(request) = Request::new(
            uid("Anonymous", "anonymous"),
            action.clone(),
            api,
            Context::empty(),
            Some(&self.schema),
        ) else {
            return false;
        };
        self.authorizer
            .is_authorized(&request, &self.policies, &entities)
            .decision()
            == Decision::Allow
    }

    fn principal_entity(principal: &Principal, entities: &mut Vec<Entity>) -> EntityUid {
        let (regions, departments): (Vec<&str>, Vec<&str>) = match &principal.scope {
            Scope::All => (Vec::new(), Vec::new()),
            Scope::Region(r) => (vec![r.as_str()], Vec::new()),
            Scope::Departments(d) => (Vec::new(), d.iter().map(String::as_str).collect()),
        };
        let me = uid("User", &principal.id);
        let attrs = HashMap::from([
            (
                "role".to_owned(),
                RestrictedExpression::new_string(principal.role.as_str().to_owned()),
            ),
            (
                "regions".to_owned(),
                RestrictedExpression::new_set(
                    regions
                        .iter()
                        .map(|r| RestrictedExpression::new_entity_uid(uid("Region", r))),
                ),
            ),
            (
                "departments".to_owned(),
                RestrictedExpression::new_set(
                    departments
                        .iter()
                        .map(|d| RestrictedExpression::new_entity_uid(uid("Department", d))),
                ),
            ),
        ]);
        if let Ok(entity) = Entity::new(me.clone(), attrs, HashSet::new()) {
            entities.push(entity);
        }
        me
    }

    fn resource_entity(target: &Target, entities: &mut Vec<Entity>) -> EntityUid {
        match target {
            Target::Call => {
                entities.push(Entity::new_no_attrs(uid("Api", "egov"), HashSet::new()));
                uid("Api", "egov")
            }
            Target::Region(r) => region_chain(r, entities),
            Target::Department(d) => {
                entities.push(Entity::new_no_attrs(uid("Department", d), HashSet::new()));
                uid("Department", d)
            }
            Target::Case { department, region } => {
                let region = region_chain(region, entities);
                let department = uid("Department", department);
                entities.push(Entity::new_no_attrs(department.clone(), HashSet::new()));
                let case = uid("Case", "target");
                entities.push(Entity::new_no_attrs(
                    case.clone(),
                    HashSet::from([department, region]),
                ));
                case
            }
            // A warning and a complaint are held alike: by an office, about a department in
            // a region.
            target @ (Target::Warning {
                department,
                region,
                office,
            }
            | Target::Complaint {
                department,
                region,
                office,
            }) => {
                let kind = match target {
                    Target::Complaint { .. } => "Complaint",
                    _ => "Warning",
                };
                let region = region_chain(region, entities);
                let office = region_chain(office, entities);
                let department = uid("Department", department);
                entities.push(Entity::new_no_attrs(department.clone(), HashSet::new()));
                let held = uid(kind, "target");
                if let Ok(entity) = Entity::new(
                    held.clone(),
                    HashMap::from([(
                        "office".to_owned(),
                        RestrictedExpression::new_entity_uid(office),
                    )]),
                    HashSet::from([department, region]),
                ) {
                    entities.push(entity);
                }
                held
            }
        }
    }
}

impl Authorize for Policy {
    fn allows(&self, principal: &Principal, action: &str, target: &Target) -> bool {
        let Some(action) = self.actions.get(action) else {
            return false;
        };
        let mut entities = Vec::new();
        let principal = Self::principal_entity(principal, &mut entities);
        let resource = Self::resource_entity(target, &mut entities);
        // Regions reached twice (a warning's region and its office share ancestors).
        let mut seen = HashSet::new();
        entities.retain(|e| seen.insert(e.uid()));
        let Ok(entities) = Entities::from_entities(entities, None) else {
            return false;
        };
        let Ok(request) = Request::new(
            principal,
            action.clone(),
            resource,
            Context::empty(),
            Some(&self.schema),
        ) else {
            return false;
        };
        self.authorizer
            .is_authorized(&request, &self.policies, &entities)
            .decision()
            == Decision::Allow
    }
}
