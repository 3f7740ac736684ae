//! The one redaction of database URLs for messages and logs: the password of the user info
//! and any `password=` parameter become `***`, even when the password holds unencoded
//! `/ ? # @ :` (which a URL parser would read as the path, query, fragment or host).

/// `url` with its password masked, for messages and logs.
///
/// The user info is everything between `://` and the LAST `@`: a password may hold an
/// unencoded `@`, `/`, `?` or `#`, and the host never holds an `@`. An `@` further on (in a
/// query parameter, say) makes the mask reach further than needed, never less far.
pub fn redact_url(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(scheme_end);
    let mut out = String::from(head);
    let after_user = match rest.rfind('@') {
        Some(at) => {
            let user_info = &rest[..at];
            match user_info.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(user_info),
            }
            &rest[at..]
        }
        None => rest,
    };
    let (base, fragment) = match after_user.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (after_user, None),
    };
    match base.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(base),
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A database password given apart from the URL (a container secret's file), so it appears
/// neither in the process list nor in any URL. `Debug` masks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }

    /// The password itself: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_with_unencoded_delimiters_are_masked() {
        for (url, shown) in [
            ("postgres://u:secret@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h:5432/db", "postgres://u@h:5432/db"),
            ("postgres://h/db", "postgres://h/db"),
            (
                "postgres://u:se/cret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgres://u:se?cret@h/db", "postgres://u:***@h/db"),
            ("postgres://u:se#cret@h/db", "postgres://u:***@h/db"),
            ("postgres://u:se@cr:et@h/db", "postgres://u:***@h/db"),
            ("postgres://u:/?#@:@h/db?x=1", "postgres://u:***@h/db?x=1"),
            (
                "postgres://u@h/db?sslmode=require&password=secret",
                "postgres://u@h/db?sslmode=require&password=***",
            ),
            (
                "postgres://u@h/db?PASSWORD=secret#frag",
                "postgres://u@h/db?PASSWORD=***#frag",
            ),
            (
                "sqlite://./egov-data/egov.db",
                "sqlite://./egov-data/egov.db",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
            assert!(!redact_url(url).contains("secret"), "{url}");
            assert!(!redact_url(url).contains("cret"), "{url}");
        }
    }
}
