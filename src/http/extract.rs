//! Extractors shared by the API and the pages: the session (bearer token or cookie), the
//! logged-in staff member or taxpayer, and the acting [`Who`] of a request.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::domain::{Actor, Role, TaxpayerId};
use crate::error::{AppError, AppResult, Code};
use crate::service::listing::{waited, Wait};
use crate::service::store_reads::*;
use crate::service::App;
use crate::service::Subject;
use crate::service::Who;

pub const SESSION_COOKIE: &str = "fapiao_session";

fn app_of(req: &HttpRequest) -> Result<web::Data<App>, AppError> {
    req.app_data::<web::Data<App>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))
}

/// The session token of a request: `Authorization: Bearer …`, else the page cookie.
pub fn token_of(req: &HttpRequest) -> Option<String> {
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    bearer.or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()))
}

/// The page session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS.
pub fn session_cookie(token: &str, https: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(https)
        .finish()
}

pub fn clear_session_cookie(https: bool) -> Cookie<'static> {
    let mut c = session_cookie("", https);
    c.make_removal();
    c
}

/// The client certificate chain presented on a TLS connection (end entity first).
#[derive(Debug, Clone)]
pub struct PeerCerts(pub Vec<rustls::pki_types::CertificateDer<'static>>);

/// `on_connect` hook: keeps the client certificate chain of a TLS connection, if any, with
/// the connection for its requests.
pub fn remember_client_certificate(conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
    use actix_tls::accept::rustls_0_23::TlsStream;
    if let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() {
        let (_, session) = tls.get_ref();
        if let Some(certs) = session.peer_certificates() {
            if !certs.is_empty() {
                ext.insert(PeerCerts(
                    certs.iter().map(|c| c.clone().into_owned()).collect(),
                ));
            }
        }
    }
}

/// The taxpayer named by the request's client certificate: `None` without a certificate
/// (or over plain HTTP); the refusal when the certificate is not acceptable.
pub fn certificate_taxpayer(req: &HttpRequest, app: &App) -> Result<Option<TaxpayerId>, AppError> {
    let Some(certs) = req.conn_data::<PeerCerts>() else {
        return Ok(None);
    };
    let checker = req
        .app_data::<web::Data<crate::pki::checker::CertChecker>>()
        .ok_or_else(|| AppError::internal("certificate checker missing"))?;
    let now = u64::try_from(app.clock.wall().timestamp()).unwrap_or(0);
    let id = checker.identify(&certs.0, now).map_err(AppError::from)?;
    // Revoked, or (with `tls.require_bound`) not issued through this system.
    if let Some(end) = certs.0.first() {
        crate::service::office::certificates::admit(app, end.as_ref())?.map_err(AppError::from)?;
    }
    Ok(Some(id))
}

/// The SHA-256 (hex) of the request's client certificate, if any: what a certificate login's
/// session is bound to.
pub fn certificate_fingerprint(req: &HttpRequest) -> Option<String> {
    let certs = req.conn_data::<PeerCerts>()?;
    let end = certs.0.first()?;
    Some(crate::pki::issue::fingerprint(end.as_ref()))
}

/// The client's address, as the audit log and the login limit see it: the socket's peer, or
/// — when the peer is one of the configured `trusted_proxies` — what the proxies say in
/// `X-Forwarded-For` (see [`client_address`]). Nobody else is believed.
pub fn address_of(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let address = match app_of(req) {
        Ok(app) => client_address(peer, forwarded, &app.settings.trusted_proxies),
        Err(_) => peer,
    };
    Some(address.to_string())
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the last
/// address of `X-Forwarded-For` that is not a trusted proxy (each proxy appends the address it
/// saw, so the addresses left of the first untrusted one may be forged). A list that does not
/// parse stops the walk at the last address believed.
pub fn client_address(
    peer: std::net::IpAddr,
    forwarded_for: Option<&str>,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    let mut client = peer;
    if !trusted.contains(&client) {
        return client;
    }
    for hop in forwarded_for.unwrap_or("").rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// The acting party of a request, with the current times.
pub fn who(req: &HttpRequest, app: &App, actor: Actor) -> Who {
    // The request's log line names who acted (the root span has the field).
    if actor != Actor::Anonymous {
        tracing::Span::current().record("actor", tracing::field::display(&actor));
    }
    let wall = app.clock.wall();
    Who {
        actor,
        address: address_of(req),
        wall,
        now: app.clock.business_at(wall),
    }
}

/// A valid session of any kind.
#[derive(Debug, Clone)]
pub struct Session {
    pub subject: Subject,
    pub token: String,
}

impl Session {
    pub fn actor(&self) -> Actor {
        match &self.subject {
            Subject::Staff { username } => Actor::Staff {
                username: username.clone(),
            },
            Subject::Taxpayer { id } => Actor::Taxpayer { id: id.clone() },
        }
    }
}

/// The request's session (the WebSocket upgrade reads it before handing the socket over).
pub fn session_from(req: &HttpRequest) -> Result<Session, AppError> {
    session_of(req)
}

fn session_of(req: &HttpRequest) -> Result<Session, AppError> {
    let app = app_of(req)?;
    let token = token_of(req).ok_or_else(|| AppError::new(Code::NotLoggedIn))?;
    let wall = app.clock.wall().timestamp();
    let subject = crate::service::auth::authenticate(&app, &token, wall)?;
    Ok(Session { subject, token })
}

impl FromRequest for Session {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(session_of(req))
    }
}

/// A logged-in tax office staff member, with the role as currently recorded.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub token: String,
}

impl StaffUser {
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            username: self.username.clone(),
        }
    }
}

fn staff_of(req: &HttpRequest) -> Result<StaffUser, AppError> {
    let s = session_of(req)?;
    let Subject::Staff { username } = s.subject else {
        return Err(AppError::new(Code::Forbidden).with_message("该功能仅限税务人员使用"));
    };
    let app = app_of(req)?;
    let reader = app.store.read()?;
    let staff = reader
        .staff(&username)?
        .filter(|st| !st.disabled)
        .ok_or_else(|| AppError::new(Code::NotLoggedIn))?;
    // The role matrix: this route's area must allow the role.
    super::access::check(req, staff.role)?;
    // A password reset by an administrator: only changing it (or logging out) until then.
    super::access::check_password_change(req, reader.staff_meta(&username)?.must_change_password)?;
    Ok(StaffUser {
        username,
        display_name: staff.display_name,
        role: staff.role,
        token: s.token,
    })
}

impl FromRequest for StaffUser {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(staff_of(req))
    }
}

/// A logged-in taxpayer.
#[derive(Debug, Clone)]
pub struct TaxpayerUser {
    pub id: TaxpayerId,
    pub token: String,
}

impl TaxpayerUser {
    pub fn actor(&self) -> Actor {
        Actor::Taxpayer {
            id: self.id.clone(),
        }
    }
}

fn taxpayer_of(req: &HttpRequest) -> Result<TaxpayerUser, AppError> {
    let s = session_of(req)?;
    match s.subject {
        Subject::Taxpayer { id } => {
            let app = app_of(req)?;
            let confirmed = app
                .store
                .read()?
                .taxpayer(&id)?
                .is_none_or(|t| t.first_login_done);
            super::access::check_first_login(req, confirmed)?;
            Ok(TaxpayerUser { id, token: s.token })
        }
        Subject::Staff { .. } => {
            Err(AppError::new(Code::Forbidden).with_message("该功能仅限纳税人使用"))
        }
    }
}

impl FromRequest for TaxpayerUser {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(taxpayer_of(req))
    }
}

/// A logged-in person a handler can act as: the taxpayer or the staff member.
pub trait Person: Sized + Clone + Send + 'static {
    fn from_request(req: &HttpRequest) -> Result<Self, AppError>;
    fn actor(&self) -> Actor;
}

impl Person for TaxpayerUser {
    fn from_request(req: &HttpRequest) -> Result<Self, AppError> {
        taxpayer_of(req)
    }
    fn actor(&self) -> Actor {
        TaxpayerUser::actor(self)
    }
}

impl Person for StaffUser {
    fn from_request(req: &HttpRequest) -> Result<Self, AppError> {
        staff_of(req)
    }
    fn actor(&self) -> Actor {
        StaffUser::actor(self)
    }
}

/// The opening every handler shares, as one extractor: the app, the logged-in person `U` and
/// the acting [`Who`] of the request (with the current times) for the audit log.
#[derive(Clone)]
pub struct Acting<U> {
    pub app: Arc<App>,
    pub who: Who,
    pub user: U,
}

impl<U: Person> Acting<U> {
    /// Runs service work on the blocking pool (inside the request's span) with the app, the
    /// acting `Who` and the person.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&App, &Who, &U) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let Acting { app, who, user } = self.clone();
        super::blocking(move || f(&app, &who, &user)).await
    }

    /// [`Acting::run`] answering 200 with the result as JSON, written on the blocking thread
    /// that made it: a page's strings are freed by the thread that allocated them, and the
    /// body starts at the size of a usual page instead of growing from empty.
    pub async fn run_json<T: serde::Serialize + 'static>(
        &self,
        f: impl FnOnce(&App, &Who, &U) -> AppResult<T> + Send + 'static,
    ) -> AppResult<actix_web::HttpResponse> {
        let body = self
            .run(move |app, who, user| json_body(&f(app, who, user)?))
            .await?;
        Ok(json_answer(body))
    }

    /// A read answered as JSON on the HTTP worker itself, without the blocking pool's two
    /// thread switches: `f` runs first with [`Wait::Not`] — it only reads and never waits on
    /// the store's writers, which would stall every connection the worker holds — and when
    /// it stops there (`None`: the taxpayer must be settled or the index caught up with the
    /// store), again on the blocking pool with [`Wait::Allowed`], as [`Acting::run_json`].
    pub async fn read_json<T: serde::Serialize + 'static>(
        &self,
        f: impl Fn(&App, &Who, &U, Wait) -> AppResult<Option<T>> + Send + 'static,
    ) -> AppResult<actix_web::HttpResponse> {
        if let Some(value) = f(&self.app, &self.who, &self.user, Wait::Not)? {
            return Ok(json_answer(json_body(&value)?));
        }
        self.run_json(move |app, who, user| f(app, who, user, Wait::Allowed)?.ok_or_else(waited))
            .await
    }
}

/// A value as a JSON body, starting at the size of a usual page instead of growing from empty.
fn json_body<T: serde::Serialize>(value: &T) -> AppResult<Vec<u8>> {
    let mut body = Vec::with_capacity(JSON_BODY_START);
    serde_json::to_writer(&mut body, value).map_err(AppError::internal)?;
    Ok(body)
}

/// 200 with a JSON body.
fn json_answer(body: Vec<u8>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body)
}

/// The starting size of a JSON answer's body: a 发票勾选 page of 50 is about 14 KB.
const JSON_BODY_START: usize = 16 * 1024;

impl<U: Person> FromRequest for Acting<U> {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| -> Result<Self, AppError> {
            let app = app_of(req)?.into_inner();
            let user = U::from_request(req)?;
            let who = who(req, &app, user.actor());
            Ok(Acting { app, who, user })
        })())
    }
}

/// A JSON request body that must be an object: `web::Json` would also read a struct from an
/// array (serde's sequence form), so `[]` passed as an empty request. Everything else is as
/// `web::Json` (the size limit and the error answers of the route's `JsonConfig`).
#[derive(Debug)]
pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonObject<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            if !value.is_object() {
                return Err(AppError::new(Code::InvalidValue)
                    .with_message("请求内容应为 JSON 对象")
                    .into());
            }
            serde_json::from_value(value).map(JsonObject).map_err(|e| {
                AppError::new(Code::InvalidValue)
                    .with_message(format!("请求内容不正确：{e}"))
                    .into()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        let trusted = [proxy, ip("10.0.0.2")];
        // Not a proxy: its header is ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // A proxy: the last untrusted hop is the client; what is left of it may be forged.
        assert_eq!(
            client_address(proxy, Some("6.6.6.6, 198.51.100.7, 10.0.0.2"), &trusted),
            ip("198.51.100.7")
        );
        // A proxy without the header, or with garbage: the last address believed.
        assert_eq!(client_address(proxy, None, &trusted), proxy);
        assert_eq!(
            client_address(proxy, Some("evil, 10.0.0.2"), &trusted),
            ip("10.0.0.2")
        );
        // No proxies configured: nobody is believed.
        assert_eq!(client_address(proxy, Some("1.2.3.4"), &[]), proxy);
    }
}
