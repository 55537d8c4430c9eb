//! The taxpayer portal's use cases, one module per menu item of the manual: 发票勾选
//! ([`selection`]), 批量勾选 ([`bulk`]), 确认勾选 ([`confirmation`]), 抵扣统计 and the home
//! workbench ([`statistics`]), 发票查询 ([`query`]), the profile, 回退 and the platform password
//! ([`profile`]), the spreadsheets and PDF prints ([`exports`]), 进项税额转出 ([`transfers`])
//! and the 风险提醒 ([`alerts`]).

pub mod alerts;
pub mod bulk;
pub mod confirmation;
pub mod exports;
pub mod manual;
pub mod profile;
pub mod query;
pub mod selection;
pub mod statistics;
pub mod transfers;
