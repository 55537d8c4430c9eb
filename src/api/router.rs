//! The route table of the API, written once: each module adds its routes to a [`Routes`],
//! which either registers them with actix or only lists them (method and full path), so that
//! a test can compare what is served with what the OpenAPI document describes.

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder, Route};

enum Sink<'a> {
    Serve(&'a mut web::ServiceConfig),
    List(&'a mut Vec<(Method, String)>),
}

/// Where routes go: into actix (`serve`) or into a list (`list`).
pub struct Routes<'a> {
    prefix: String,
    sink: Sink<'a>,
}

impl<'a> Routes<'a> {
    pub fn serve(cfg: &'a mut web::ServiceConfig) -> Routes<'a> {
        Routes {
            prefix: String::new(),
            sink: Sink::Serve(cfg),
        }
    }

    pub fn list(out: &'a mut Vec<(Method, String)>) -> Routes<'a> {
        Routes {
            prefix: String::new(),
            sink: Sink::List(out),
        }
    }

    pub fn get<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, handler)
    }

    pub fn post<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, handler)
    }

    pub fn put<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::PUT, path, handler)
    }

    pub fn delete<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::DELETE, path, handler)
    }

    /// `handler` for `method` on `path`, as `cfg.route(path, web::method().to(handler))`.
    fn add<F, Args>(&mut self, method: Method, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        match &mut self.sink {
            Sink::Serve(cfg) => {
                cfg.route(path, web::route().method(method).to(handler));
            }
            Sink::List(out) => out.push((method, format!("{}{path}", self.prefix))),
        }
        self
    }

    /// Several methods on one resource whose request bodies may be up to `limit` bytes.
    pub fn limited(&mut self, path: &str, limit: usize, methods: Methods) -> &mut Self {
        match &mut self.sink {
            Sink::Serve(cfg) => {
                let mut resource = web::resource(path)
                    .app_data(web::PayloadConfig::new(limit))
                    .app_data(crate::http::json_config(limit));
                for (_, route) in methods.0 {
                    resource = resource.route(route);
                }
                cfg.service(resource);
            }
            Sink::List(out) => {
                for (method, _) in methods.0 {
                    out.push((method, format!("{}{path}", self.prefix)));
                }
            }
        }
        self
    }

    /// The routes `add` makes under the path prefix `path` (an actix scope).
    pub fn scope(&mut self, path: &str, add: impl FnOnce(&mut Routes<'_>)) -> &mut Self {
        let prefix = format!("{}{path}", self.prefix);
        match &mut self.sink {
            Sink::Serve(cfg) => {
                cfg.service(web::scope(path).configure(|cfg| {
                    add(&mut Routes {
                        prefix,
                        sink: Sink::Serve(cfg),
                    })
                }));
            }
            Sink::List(out) => add(&mut Routes {
                prefix,
                sink: Sink::List(out),
            }),
        }
        self
    }
}

/// The methods of one resource (see [`Routes::limited`]).
#[derive(Default)]
pub struct Methods(Vec<(Method, Route)>);

impl Methods {
    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.with(Method::GET, handler)
    }

    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.with(Method::POST, handler)
    }

    pub fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.with(Method::DELETE, handler)
    }

    fn with<F, Args>(mut self, method: Method, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::route().method(method.clone()).to(handler);
        self.0.push((method, route));
        self
    }
}
