//! The server: start-up (build the app, bind, run until stopped), the background jobs, the
//! middleware, logging, and the embedded TURN relay — a network server of its own.

pub mod jobs;
pub mod metrics;
pub mod middleware;
pub mod startup;
pub mod telemetry;
pub mod turn;

pub use startup::{run_until_stopped, start, Running};
