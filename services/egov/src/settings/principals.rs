//! `--client-principals FILE`: which principal each mutual-TLS client certificate subject is
//! (docs/design.md §8), read and checked before the port is bound.

use super::{ConfigError, invalid};

/// The principals of client certificate subjects: `SUBJECT PRINCIPAL ROLE SCOPE` a line.
pub(super) fn load_client_principals(
    path: &std::path::Path,
) -> Result<std::collections::HashMap<String, egov_runtime::access::Principal>, ConfigError> {
    use egov_runtime::access::{Principal, Role, Scope};
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(format!(
            "--client-principals {}: cannot read it: {e}",
            path.display()
        ))
    })?;
    let mut map = std::collections::HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let bad = || {
            invalid(format!(
                "--client-principals {} line {}: expected SUBJECT PRINCIPAL ROLE SCOPE",
                path.display(),
                n + 1
            ))
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [subject, id, role, scope] = fields.as_slice() else {
            return Err(bad());
        };
        let principal = Principal {
            id: (*id).to_owned(),
            role: Role::parse(role).ok_or_else(bad)?,
            scope: Scope::parse(scope).ok_or_else(bad)?,
        };
        if principal.id == egov_runtime::access::SYSTEM {
            return Err(bad());
        }
        map.insert((*subject).to_owned(), principal);
    }
    Ok(map)
}
