//! People signing in through the city's identity provider (docs/design.md §8): a JWT in the
//! bearer header, signed by a key of the provider's JWKS (a file), with the configured issuer
//! and audience; its claims name the principal (`sub`), its role and its scope (claim names
//! set by configuration).

use egov_runtime::access::{Principal, Role, SYSTEM, Scope};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};

/// How JWTs are checked and mapped.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// The `iss` every token must carry.
    pub issuer: String,
    /// The `aud` every token must carry (this deployment).
    pub audience: String,
    /// The provider's signing keys.
    pub keys: JwkSet,
    /// The claim holding the role name (`admin`, `supervisor`, ...).
    pub role_claim: String,
    /// The claim holding the scope (`*`, `region:3301`, `departments:market`).
    pub scope_claim: String,
}

impl JwtSettings {
    /// The settings of a JWKS file's text, with the default claim names `egov_role` and
    /// `egov_scope`.
    pub fn from_jwks(issuer: &str, audience: &str, jwks: &str) -> Result<JwtSettings, String> {
        let keys: JwkSet =
            serde_json::from_str(jwks).map_err(|e| format!("not a JWKS document: {e}"))?;
        if keys.keys.is_empty() {
            return Err("the JWKS holds no key".to_owned());
        }
        Ok(JwtSettings {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            keys,
            role_claim: "egov_role".to_owned(),
            scope_claim: "egov_scope".to_owned(),
        })
    }

    /// The principal of a valid `token`, or why not.
    pub(crate) fn principal(&self, token: &str) -> Result<Principal, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        let jwk = match &header.kid {
            Some(kid) => self.keys.find(kid),
            None => self.keys.keys.first(),
        }
        .ok_or("no key of the provider signs it")?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| e.to_string())?
            .claims;
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
        };
        let id = text("sub").to_owned();
        if id.is_empty() || id == SYSTEM || id == "anonymous" {
            return Err("the subject is empty or reserved".to_owned());
        }
        let role = Role::parse(text(&self.role_claim)).ok_or("no known role claim")?;
        let scope = Scope::parse(text(&self.scope_claim)).ok_or("no known scope claim")?;
        if (role == Role::Admin) != (scope == Scope::All) {
            return Err("the scope does not fit the role".to_owned());
        }
        Ok(Principal { id, role, scope })
    }
}
