//! Certificates: the server's TLS configuration, the local training CA and the client
//! certificates it issues, and the check of a taxpayer's client certificate at login.

pub mod checker;
pub mod issue;
pub mod tls;
