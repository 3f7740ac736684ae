//! Pages from templates: the minijinja templates compiled into the binary
//! (`templates/*.html`, HTML auto-escaped), with `t(key, name=value...)` giving the
//! visitor's language's text from the catalogues, the `path` filter for a value in a link,
//! and the frame every page shares (the user, the navigation, the CSRF token, the language
//! switch).

use std::sync::Arc;

use axum::response::{Html, IntoResponse, Response};
use fluent_bundle::FluentValue;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State};
use serde::Serialize;

use crate::i18n::{Catalogues, Lang};
use crate::session::Visitor;

const TEMPLATES: [(&str, &str); 10] = [
    (
        "cards_part.html",
        include_str!("../templates/cards_part.html"),
    ),
    ("layout.html", include_str!("../templates/layout.html")),
    ("signin.html", include_str!("../templates/signin.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("board.html", include_str!("../templates/board.html")),
    ("cards.html", include_str!("../templates/cards.html")),
    (
        "department.html",
        include_str!("../templates/department.html"),
    ),
    ("public.html", include_str!("../templates/public.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("case.html", include_str!("../templates/case.html")),
];

/// The templates, ready to render.
pub struct Pages {
    env: Environment<'static>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages").finish_non_exhaustive()
    }
}

/// What every page's frame shows of the visitor.
#[derive(Debug, Serialize)]
struct Frame<'a> {
    lang: &'static str,
    csrf: &'a str,
    path: &'a str,
    user: Option<FrameUser<'a>>,
}

#[derive(Debug, Serialize)]
struct FrameUser<'a> {
    name: &'a str,
    role: &'static str,
    scope: String,
}

/// `text` as one segment of a URL path (`/case/{{ case_no|path }}`): every byte but the
/// unreserved characters percent-encoded, so a case number with `/`, `?`, `#` or Chinese
/// stays one segment.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Pages {
    pub fn new(catalogues: Arc<Catalogues>) -> Pages {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are compiled in: one that does not parse is a build fault, which
            // the rendering tests find.
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e}"));
        }
        env.add_function(
            "t",
            move |state: &State, key: String, kwargs: Kwargs| -> Result<String, minijinja::Error> {
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().map(Lang::parse))
                    .unwrap_or_default();
                let mut args: Vec<(String, FluentValue<'static>)> = Vec::new();
                for name in kwargs.args() {
                    let value: Value = kwargs.get(name)?;
                    let value = match value.as_i64() {
                        Some(n) => FluentValue::from(n),
                        None => FluentValue::from(value.to_string()),
                    };
                    args.push((name.to_owned(), value));
                }
                let args: Vec<(&str, FluentValue<'_>)> =
                    args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                Ok(catalogues.text(lang, &key, &args))
            },
        );
        env.add_filter("path", path_segment);
        Pages { env }
    }

    /// Renders `name` for `visitor` with `context` (a serializable map) merged into the
    /// frame's values.
    pub fn render(&self, name: &str, visitor: &Visitor, context: impl Serialize) -> Response {
        self.render_status(http::StatusCode::OK, name, visitor, context)
    }

    pub fn render_status(
        &self,
        status: http::StatusCode,
        name: &str,
        visitor: &Visitor,
        context: impl Serialize,
    ) -> Response {
        let frame = Frame {
            lang: visitor.lang.tag(),
            csrf: &visitor.csrf,
            path: &visitor.path,
            user: visitor.user.as_ref().map(|u| FrameUser {
                name: &u.principal.id,
                role: u.principal.role.as_str(),
                scope: u.principal.scope.to_text(),
            }),
        };
        let ctx = minijinja::context! { ..Value::from_serialize(&frame), ..Value::from_serialize(&context) };
        let rendered = self
            .env
            .get_template(name)
            .and_then(|template| template.render(ctx));
        match rendered {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, template = name, "console: a page did not render");
                (http::StatusCode::INTERNAL_SERVER_ERROR, "page error").into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn a_case_number_stays_one_path_segment() {
        assert_eq!(path_segment("HZ-C-1"), "HZ-C-1");
        assert_eq!(path_segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
        assert_eq!(path_segment("杭"), "%E6%9D%AD");
    }
}
