//! The audit log as administrators read it (`GET /api/v1/admin/audit`): who did what, newest
//! first, over every audited table (the `audit_log` view).

/// A page of the audit log, newest first: `$1` the action (or null for every action), `$2` the
/// actor (or null for everyone), `$3` how many entries. Run after [`SETTINGS`], in its
/// transaction.
pub const PAGE: &str = "select at, actor, action, target, detail from audit_log \
     where ($1::text is null or action = $1) and ($2::text is null or actor = $2) \
     order by at desc limit $3";

/// The page's transaction is planned for the action and actor it asks for (`plan_cache_mode`),
/// not once for any (PostgreSQL's plan for a statement it has run five times on a connection):
/// with the action known, the tables that never hold it are left out, and the sign-ins are read
/// through their index by action (`auth_events_by_action`, migration 71). A plan for any action
/// read every sign-in newest first to find, say, 100 exports of orders. Planning the page costs
/// a millisecond or two; administrators read it now and then.
pub const SETTINGS: &str = "select set_config('plan_cache_mode', 'force_custom_plan', true)";
