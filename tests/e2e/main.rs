//! End-to-end tests: the real runtime serving the real components against a real PostgreSQL,
//! driven through the public gateway (and, for the runtime's own limits, the test-only probe).

mod auth;
mod backup;
mod bad_input;
mod filing;
mod identity;
mod knowledge;
mod lifecycle;
mod notifications;
mod open311;
mod photos;
mod places;
mod rating;
mod runtime;
mod search;
mod sms_sign_in;
mod special_reports;
mod supervision;
mod wechat_sign_in;
