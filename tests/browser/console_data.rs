//! Browser walks of the console pages (to be written).

#[allow(unused_imports)]
use super::*;
