//! Trace context across the platforms (docs/design.md §5, "one trace"): a call joins the W3C trace
//! its client sent (`traceparent`), the ingest writes its context on the cases it touched, and
//! the warnings raised later, by another process and perhaps days later, are spans of that
//! same trace. Only the context crosses the store, as the W3C header text; exporting the spans
//! is the binary's business (`services/egov/src/logging.rs`). Without an exporter every
//! function here does nothing and costs next to nothing: no span has a valid context then.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C headers of a trace context, as the propagator reads and writes them.
const HEADERS: [&str; 2] = ["traceparent", "tracestate"];

/// The current span's context as a W3C `traceparent`, when the span is being exported.
pub fn current() -> Option<String> {
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the context that `traceparent` names (a W3C header's text). An
/// absent or malformed one leaves the span where it was: a trace is a help, never a reason to
/// refuse work.
pub fn adopt(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(text) = traceparent {
        adopt_from(
            span,
            HashMap::from([("traceparent".to_owned(), text.to_owned())]),
        );
    }
}

/// [`adopt`] with the context a call's headers carry (`traceparent` and `tracestate`).
pub fn adopt_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    let carrier: HashMap<String, String> = HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect();
    if !carrier.is_empty() {
        adopt_from(span, carrier);
    }
}

/// Marks a warning raised with a span of its own, a child of `parent` (the context its case
/// was last written in, perhaps by another process) or, without one, of the current span.
pub fn warning_raised(
    parent: Option<&str>,
    case_no: &str,
    rule: &str,
    level: &str,
    warning_id: Option<i64>,
) {
    let span = tracing::info_span!("warning raised", case_no, rule, level, warning_id);
    adopt(&span, parent);
    // Closed at once: it marks the moment the warning was stored.
}

fn adopt_from(span: &tracing::Span, carrier: HashMap<String, String>) {
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        // Refused only when no OpenTelemetry layer is installed: nothing is exported then.
        let _ = span.set_parent(context);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;

    const SENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// Runs `f` under a subscriber that gives spans OpenTelemetry contexts (no exporter).
    fn traced<T>(f: impl FnOnce() -> T) -> T {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, f)
    }

    fn trace_id(traceparent: &str) -> &str {
        traceparent.split('-').nth(1).expect("a trace id")
    }

    #[test]
    fn a_span_joins_the_trace_its_caller_sent_and_hands_it_on() {
        let carried = traced(|| {
            let span = tracing::info_span!("a call");
            adopt(&span, Some(SENT));
            span.in_scope(current)
        })
        .expect("a traced span has a context");
        assert_eq!(trace_id(&carried), trace_id(SENT));
        assert_ne!(carried, SENT, "the span is a child, with an id of its own");

        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", http::HeaderValue::from_static(SENT));
        let from_headers = traced(|| {
            let span = tracing::info_span!("a call");
            adopt_headers(&span, &headers);
            span.in_scope(current)
        })
        .expect("a context");
        assert_eq!(trace_id(&from_headers), trace_id(SENT));
    }

    #[test]
    fn a_malformed_traceparent_starts_a_trace_of_its_own() {
        let carried = traced(|| {
            let span = tracing::info_span!("a call");
            adopt(&span, Some("00-zz-zz-01"));
            span.in_scope(current)
        })
        .expect("a context");
        assert_ne!(trace_id(&carried), trace_id(SENT));
        assert_eq!(carried.len(), SENT.len(), "{carried}");
    }

    #[test]
    fn without_an_exporter_nothing_is_carried() {
        let span = tracing::info_span!("a call");
        adopt(&span, Some(SENT));
        assert_eq!(span.in_scope(current), None);
    }
}
