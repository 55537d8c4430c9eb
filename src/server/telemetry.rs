//! Logging: one line per request when its span closes (request id, route, status, latency),
//! as text or JSON.

/// Installs the global subscriber (once; later calls do nothing).
pub fn init_logging(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // One line per request when its span closes (request id, route, status, latency).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, never into a file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE);
    let _ = if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The request's root span: method, path and query, client address, request id, `actor`
/// (who is acting, recorded once the request's session is known, see `http::extract::who`),
/// and the status and error tracing-actix-web records at the end.
///
/// Fewer fields than tracing-actix-web's own root span: that one also matched the request's
/// route a second time (for `http.route`), read the host, scheme and user agent and built an
/// OpenTelemetry name, each formatted into the span on every request (the span and its line
/// were about 8 % of the serving time of 发票勾选 queries under load); nothing here exports
/// to OpenTelemetry.
pub struct Spans;

impl tracing_actix_web::RootSpanBuilder for Spans {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        let info = request.connection_info();
        let span = tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %request.uri().path_and_query().map_or("", |p| p.as_str()),
            http.client_ip = %info.realip_remote_addr().unwrap_or(""),
            request_id = tracing::field::Empty,
            actor = tracing::field::Empty,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        );
        if let Some(id) = request.extensions().get::<tracing_actix_web::RequestId>() {
            span.record("request_id", tracing::field::display(id));
        }
        span
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::Spans;

    /// A log destination the test reads back.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    /// One line per request as it ends: method, path and query, request id, the actor the
    /// handler recorded, and the status.
    #[test]
    fn a_request_logs_one_line_with_its_actor_and_status() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            actix_web::rt::System::new().block_on(async {
                let app = actix_web::test::init_service(
                    actix_web::App::new()
                        .wrap(tracing_actix_web::TracingLogger::<Spans>::new())
                        .route(
                            "/x",
                            actix_web::web::get().to(|| async {
                                tracing::Span::current().record(
                                    "actor",
                                    tracing::field::display("taxpayer:91350100M000100Y43"),
                                );
                                actix_web::HttpResponse::NotFound().finish()
                            }),
                        ),
                )
                .await;
                let req = actix_web::test::TestRequest::get()
                    .uri("/x?page=2")
                    .to_request();
                let resp = actix_web::test::call_service(&app, req).await;
                assert_eq!(resp.status(), 404);
            });
        });
        let out = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let closes: Vec<&str> = out.lines().filter(|l| l.contains("close")).collect();
        assert_eq!(closes.len(), 1, "{out}");
        for want in [
            "http.method=GET",
            "http.target=/x?page=2",
            "request_id=",
            "actor=taxpayer:91350100M000100Y43",
            "http.status_code=404",
        ] {
            assert!(closes[0].contains(want), "{want} missing: {out}");
        }
    }
}
