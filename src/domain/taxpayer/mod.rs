//! The taxpayer aggregate: the taxpayer ID (纳税人识别号) and the province it belongs to, the
//! credit rating, and the record the office keeps with its contact, enterprise information and
//! platform password.

mod rating;
mod record;
pub mod region;
pub mod taxpayer_id;

pub use rating::{CreditRating, RatingChange};
pub use record::{
    Contact, Enterprise, PasswordFailures, PlatformPassword, ProfileChange, Taxpayer,
};
pub use region::Region;
pub use taxpayer_id::{credit_code_check_char, TaxpayerId, TaxpayerIdKind};
