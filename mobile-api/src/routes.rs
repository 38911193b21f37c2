//! The route table: every public API route, the private component that serves it, and the roles
//! that may call it. The gateway enforces it before any component runs; the tests build their
//! authorization matrix from it and check that the OpenAPI document lists exactly these routes,
//! so a new route cannot be forgotten in either.

/// A route of the public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// An HTTP method, upper case.
    pub method: &'static str,
    /// A path pattern; `{}` matches one non-empty segment.
    pub pattern: &'static str,
    /// The private component that serves it.
    pub component: &'static str,
    /// The roles that may call it; none for the public routes, which need no token.
    pub roles: &'static [&'static str],
    /// How long the pattern's literal start is: all of it before the first `{}`.
    literal: usize,
}

impl Route {
    pub fn is_public(&self) -> bool {
        self.roles.is_empty()
    }

    /// Whether a member of staff still holding a password an administrator chose (a token that
    /// says `password_change_required`) may call it: only reading their own account, changing
    /// the password and signing out everywhere, until they do. Every other route answers 403
    /// `password_change_required`.
    pub fn open_before_password_change(&self) -> bool {
        matches!(
            (self.method, self.pattern),
            ("GET", "/api/v1/me")
                | ("POST", "/api/v1/me/password")
                | ("POST", "/api/v1/me/sign-out-everywhere")
        )
    }

    /// Whether it takes a photo (`POST /api/v1/photos`): a picture, or a form holding one, up to
    /// [`crate::MAX_PHOTO_UPLOAD_BYTES`]; every other body is JSON of at most 64 KiB.
    pub fn takes_photo(&self) -> bool {
        (self.method, self.pattern) == ("POST", "/api/v1/photos")
    }

    /// Whether `path` fits this route's pattern.
    ///
    /// Every request is looked up in the whole table, so most routes are ones it does not fit;
    /// they are turned away by comparing the pattern's literal start (all of it before the first
    /// `{}`, its length worked out when the table is compiled) with the path's, bytes against
    /// bytes, before either is split into segments. In the gateway, the splitting was 2% of a
    /// tracking request's instructions (callgrind), and searching each pattern for its literal
    /// start on every request another half of a percent. What follows the literal start is
    /// split alone: splitting the whole of both took a tracking request's lookup (its pattern
    /// the fourth in the table) 12 steps of `split` and about 2.5k instructions in the gateway.
    pub fn matches(&self, path: &str) -> bool {
        let literal = &self.pattern[..self.literal];
        if !path.starts_with(literal) {
            return false;
        }
        if literal.len() == self.pattern.len() {
            return path.len() == self.pattern.len();
        }
        // The literal start ends where a segment does (each `{}` is a segment of its own: the
        // table's test holds it), so only what follows it is split and compared.
        segments_match(&self.pattern[self.literal..], &path[self.literal..])
    }
}

/// Every role a token can carry.
pub const ROLES: &[&str] = &[
    "citizen",
    "operator",
    "agency_staff",
    "supervisor",
    "leader",
    "admin",
];

const CITIZEN_FACING: &[&str] = &["citizen", "operator"];
const CITIZEN: &[&str] = &["citizen"];
/// The hotline centre: operators, supervisors, administrators. They see every order, and so every
/// photo one names.
pub const CENTRE: &[&str] = &["operator", "supervisor", "admin"];
const ADMIN: &[&str] = &["admin"];
const AGENCY: &[&str] = &["agency_staff"];
const STAFF: &[&str] = &["operator", "supervisor", "admin", "agency_staff"];
/// Everyone with a staff account (a password of their own).
const STAFF_ACCOUNTS: &[&str] = &["operator", "supervisor", "leader", "admin", "agency_staff"];
/// No token needed: signing in, and what stands in for it.
const PUBLIC: &[&str] = &[];
/// Actions: the lifecycle decides which role may take which action on which order.
const ACTORS: &[&str] = &["citizen", "operator", "supervisor", "admin", "agency_staff"];
/// Everyone signed in.
const SIGNED_IN: &[&str] = ROLES;
/// Those who watch over delivery (dead letters and re-queues), keep the knowledge base and
/// schedule the leader answering days.
const OVERSIGHT: &[&str] = &["supervisor", "admin"];
/// The live board of open orders, the overdue list, the period reports, the hot spots and the risk
/// map: the centre, supervisors and city leaders.
const WATCHERS: &[&str] = &["operator", "supervisor", "leader", "admin"];
/// Circulars of criticism (督办通报): those who watch over orders, and the agencies they name.
const CIRCULATED: &[&str] = &["operator", "supervisor", "leader", "admin", "agency_staff"];
/// The KPIs: supervisors and city leaders see every group; agency staff their own agency.
const STATS: &[&str] = &["supervisor", "leader", "admin", "agency_staff"];
/// KPI appeals (考核申诉): the agencies that make them, and those who decide them.
const APPEALS: &[&str] = &["supervisor", "admin", "agency_staff"];

const fn route(
    method: &'static str,
    pattern: &'static str,
    component: &'static str,
    roles: &'static [&'static str],
) -> Route {
    Route {
        method,
        pattern,
        component,
        roles,
        literal: literal_start(pattern),
    }
}

/// How long `pattern`'s literal start is, worked out when the table is compiled.
const fn literal_start(pattern: &str) -> usize {
    let bytes = pattern.as_bytes();
    let mut length = 0;
    while length < bytes.len() && bytes[length] != b'{' {
        length += 1;
    }
    length
}

/// In matching order: where two patterns match a path, the first with the request's method wins
/// (`/api/v1/requests/nearby` before `/api/v1/requests/{}`).
pub const ROUTES: &[Route] = &[
    route("POST", "/api/v1/requests", "intake", CITIZEN_FACING),
    route("GET", "/api/v1/requests", "intake", CITIZEN_FACING),
    route("GET", "/api/v1/requests/nearby", "intake", CITIZEN_FACING),
    route("GET", "/api/v1/requests/{}", "intake", CITIZEN_FACING),
    route("POST", "/api/v1/requests/{}/follow", "intake", CITIZEN),
    route(
        "POST",
        "/api/v1/requests/{}/supplements",
        "intake",
        CITIZEN_FACING,
    ),
    route("DELETE", "/api/v1/requests/{}/follow", "intake", CITIZEN),
    route("POST", "/api/v1/photos", "intake", ACTORS),
    route("GET", "/api/v1/photos/{}", "intake", SIGNED_IN),
    route("GET", "/api/v1/knowledge", "intake", SIGNED_IN),
    route("GET", "/api/v1/knowledge/{}", "intake", SIGNED_IN),
    route("POST", "/api/v1/admin/knowledge", "intake", OVERSIGHT),
    route("PUT", "/api/v1/admin/knowledge/{}", "intake", OVERSIGHT),
    route(
        "GET",
        "/api/v1/admin/knowledge/{}/history",
        "intake",
        OVERSIGHT,
    ),
    route(
        "GET",
        "/api/v1/admin/knowledge/retired",
        "intake",
        OVERSIGHT,
    ),
    route(
        "POST",
        "/api/v1/admin/knowledge/{}/restore",
        "intake",
        OVERSIGHT,
    ),
    route(
        "POST",
        "/api/v1/admin/knowledge/{}/retire",
        "intake",
        OVERSIGHT,
    ),
    route("GET", "/api/v1/centre/queue", "routing", CENTRE),
    route("GET", "/api/v1/centre/queue/counts", "routing", CENTRE),
    route("GET", "/api/v1/tasks", "routing", AGENCY),
    route("GET", "/api/v1/orders", "routing", STAFF),
    route("GET", "/api/v1/orders/export", "routing", STAFF),
    route("GET", "/api/v1/orders/{}", "routing", STAFF),
    route("GET", "/api/v1/orders/{}/duplicates", "routing", CENTRE),
    route("POST", "/api/v1/orders/{}/actions/{}", "routing", ACTORS),
    route("POST", "/api/v1/orders/{}/contact-phone", "routing", STAFF),
    route("POST", "/api/v1/orders/{}/appeals", "routing", AGENCY),
    route("GET", "/api/v1/appeals", "routing", APPEALS),
    route("POST", "/api/v1/appeals/{}/decision", "routing", OVERSIGHT),
    route("GET", "/api/v1/admin/dispatch-rules", "routing", ADMIN),
    route("POST", "/api/v1/admin/dispatch-rules", "routing", ADMIN),
    route(
        "GET",
        "/api/v1/admin/dispatch-rules/changes",
        "routing",
        ADMIN,
    ),
    route(
        "DELETE",
        "/api/v1/admin/dispatch-rules/{}",
        "routing",
        ADMIN,
    ),
    route("GET", "/api/v1/admin/calendar", "routing", ADMIN),
    route("PUT", "/api/v1/admin/calendar/{}", "routing", ADMIN),
    route("DELETE", "/api/v1/admin/calendar/{}", "routing", ADMIN),
    route("POST", "/api/v1/auth/staff/sign-in", "gateway", PUBLIC),
    route("POST", "/api/v1/auth/sms/code", "gateway", PUBLIC),
    route("POST", "/api/v1/auth/sms/sign-in", "gateway", PUBLIC),
    route("POST", "/api/v1/auth/wechat/sign-in", "gateway", PUBLIC),
    route("POST", "/api/v1/auth/wechat/bind-phone", "gateway", CITIZEN),
    route("POST", "/api/v1/auth/refresh", "gateway", PUBLIC),
    route("POST", "/api/v1/auth/sign-out", "gateway", PUBLIC),
    route("GET", "/api/v1/me", "gateway", SIGNED_IN),
    route("DELETE", "/api/v1/me", "gateway", CITIZEN),
    route("POST", "/api/v1/me/password", "gateway", STAFF_ACCOUNTS),
    route(
        "POST",
        "/api/v1/me/sign-out-everywhere",
        "gateway",
        SIGNED_IN,
    ),
    route("GET", "/api/v1/admin/staff", "gateway", ADMIN),
    route("POST", "/api/v1/admin/staff", "gateway", ADMIN),
    route("PUT", "/api/v1/admin/staff/{}", "gateway", ADMIN),
    route("POST", "/api/v1/admin/staff/{}/disable", "gateway", ADMIN),
    route("POST", "/api/v1/admin/staff/{}/enable", "gateway", ADMIN),
    route("POST", "/api/v1/admin/staff/{}/password", "gateway", ADMIN),
    route("POST", "/api/v1/admin/staff/{}/sign-out", "gateway", ADMIN),
    route("GET", "/api/v1/admin/audit", "gateway", ADMIN),
    route("GET", "/api/v1/admin/partners", "gateway", ADMIN),
    route("POST", "/api/v1/admin/partners", "gateway", ADMIN),
    route("POST", "/api/v1/admin/partners/{}/key", "gateway", ADMIN),
    route("POST", "/api/v1/admin/partners/{}/revoke", "gateway", ADMIN),
    route("GET", "/api/v1/follow-ups", "rating", CENTRE),
    route("GET", "/api/v1/stats/kpis", "rating", STATS),
    route("GET", "/api/v1/stats/kpis/orders", "rating", STATS),
    route("GET", "/api/v1/supervision/board", "supervision", WATCHERS),
    route("GET", "/api/v1/supervision/report", "supervision", WATCHERS),
    route(
        "GET",
        "/api/v1/supervision/hotspots",
        "supervision",
        WATCHERS,
    ),
    route(
        "GET",
        "/api/v1/supervision/risk-map",
        "supervision",
        WATCHERS,
    ),
    route(
        "GET",
        "/api/v1/supervision/leader-days",
        "supervision",
        WATCHERS,
    ),
    route(
        "POST",
        "/api/v1/admin/leader-days",
        "supervision",
        OVERSIGHT,
    ),
    route(
        "POST",
        "/api/v1/admin/leader-days/{}/cancel",
        "supervision",
        OVERSIGHT,
    ),
    route(
        "GET",
        "/api/v1/supervision/early-warnings",
        "supervision",
        WATCHERS,
    ),
    route(
        "GET",
        "/api/v1/supervision/topic-report",
        "supervision",
        WATCHERS,
    ),
    route(
        "GET",
        "/api/v1/supervision/special-reports",
        "supervision",
        WATCHERS,
    ),
    route(
        "GET",
        "/api/v1/supervision/special-reports/{}",
        "supervision",
        WATCHERS,
    ),
    route(
        "POST",
        "/api/v1/admin/special-reports",
        "supervision",
        OVERSIGHT,
    ),
    route(
        "POST",
        "/api/v1/admin/special-reports/{}/withdraw",
        "supervision",
        OVERSIGHT,
    ),
    route(
        "GET",
        "/api/v1/supervision/circulars",
        "supervision",
        CIRCULATED,
    ),
    route(
        "GET",
        "/api/v1/supervision/circulars/{}",
        "supervision",
        CIRCULATED,
    ),
    route("POST", "/api/v1/admin/circulars", "supervision", OVERSIGHT),
    route(
        "POST",
        "/api/v1/admin/circulars/{}/withdraw",
        "supervision",
        OVERSIGHT,
    ),
    route(
        "GET",
        "/api/v1/supervision/overdue",
        "supervision",
        WATCHERS,
    ),
    route("GET", "/api/v1/notifications", "notifications", SIGNED_IN),
    route(
        "POST",
        "/api/v1/notifications/read",
        "notifications",
        SIGNED_IN,
    ),
    route(
        "POST",
        "/api/v1/notifications/{}/read",
        "notifications",
        SIGNED_IN,
    ),
    route("GET", "/api/v1/devices", "notifications", SIGNED_IN),
    route("POST", "/api/v1/devices", "notifications", SIGNED_IN),
    route("DELETE", "/api/v1/devices/{}", "notifications", SIGNED_IN),
    route(
        "GET",
        "/api/v1/admin/deliveries",
        "notifications",
        OVERSIGHT,
    ),
    route(
        "POST",
        "/api/v1/admin/deliveries/{}/requeue",
        "notifications",
        OVERSIGHT,
    ),
    route(
        "GET",
        "/api/v1/admin/notification-templates",
        "notifications",
        ADMIN,
    ),
    route(
        "PUT",
        "/api/v1/admin/notification-templates/{}",
        "notifications",
        ADMIN,
    ),
];

/// The Open311 GeoReport v2 interface for partner systems (`/open311/v2`), served apart from the
/// table above: its routes end in a format (`.json` or `.xml`), take an `api_key` instead of a
/// token, take form-encoded bodies and answer errors in Open311's own shape. The gateway serves
/// them (`components/gateway/src/open311.rs`) and intake answers them; the OpenAPI document lists
/// them, which its test holds against this list. `{}` stands for an id with the format after it.
pub const OPEN311: &[(&str, &str)] = &[
    ("GET", "/open311/v2/discovery.{format}"),
    ("GET", "/open311/v2/services.{format}"),
    ("GET", "/open311/v2/services/{}"),
    ("GET", "/open311/v2/requests.{format}"),
    ("POST", "/open311/v2/requests.{format}"),
    ("GET", "/open311/v2/requests/{}"),
];

/// Whether `path` fits `pattern`, segment by segment: `{}` stands for one non-empty segment.
fn segments_match(pattern: &str, path: &str) -> bool {
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return true,
            (Some("{}"), Some(segment)) if !segment.is_empty() => {}
            (Some(expected), Some(segment)) if expected == segment => {}
            _ => return false,
        }
    }
}

/// What the table says of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(&'static Route),
    /// The path exists, with other methods.
    WrongMethod,
    NoSuchPath,
}

pub fn lookup(method: &str, path: &str) -> Lookup {
    let mut path_exists = false;
    for route in ROUTES {
        if route.matches(path) {
            if route.method == method {
                return Lookup::Found(route);
            }
            path_exists = true;
        }
    }
    if path_exists {
        Lookup::WrongMethod
    } else {
        Lookup::NoSuchPath
    }
}

/// The methods the table has for `path`, each once, in the table's order: a 405's `Allow`, and
/// what a CORS preflight allows.
pub fn methods(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = Vec::new();
    for route in ROUTES.iter().filter(|route| route.matches(path)) {
        if !methods.contains(&route.method) {
            methods.push(route.method);
        }
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern_matches(pattern: &'static str, path: &str) -> bool {
        route("GET", pattern, "intake", PUBLIC).matches(path)
    }

    #[test]
    fn patterns_match_whole_segments() {
        assert!(pattern_matches("/api/v1/requests", "/api/v1/requests"));
        assert!(pattern_matches(
            "/api/v1/requests/{}",
            "/api/v1/requests/ZMD-20261128-000001"
        ));
        assert!(!pattern_matches("/api/v1/requests/{}", "/api/v1/requests/"));
        assert!(!pattern_matches(
            "/api/v1/requests/{}",
            "/api/v1/requests/a/b"
        ));
        assert!(!pattern_matches("/api/v1/requests", "/api/v1/requestsx"));
    }

    #[test]
    fn the_literal_start_only_turns_away_what_the_segments_would() {
        let mut paths = vec![
            "/".to_owned(),
            "".to_owned(),
            "/api".to_owned(),
            "/api/v1/".to_owned(),
            "/api/v1/requests//rate".to_owned(),
        ];
        for route in ROUTES {
            for filler in ["ZMD-20261128-000001", "", "a/b", "{}"] {
                let path = route.pattern.replace("{}", filler);
                paths.extend([
                    format!("{path}/"),
                    format!("{path}x"),
                    path.trim_end_matches(|c| c != '/').to_owned(),
                    path,
                ]);
            }
        }
        for route in ROUTES {
            let literal = route.pattern.find('{').unwrap_or(route.pattern.len());
            assert_eq!(route.literal, literal, "{}", route.pattern);
            // A placeholder is a whole segment, so the literal start ends where a segment does.
            assert!(
                route
                    .pattern
                    .split('/')
                    .all(|segment| segment == "{}" || !segment.contains(['{', '}'])),
                "{}",
                route.pattern
            );
            for path in &paths {
                assert_eq!(
                    route.matches(path),
                    segments_match(route.pattern, path),
                    "{} against {path}",
                    route.pattern
                );
            }
        }
    }

    #[test]
    fn the_more_specific_route_is_listed_first() {
        assert_eq!(
            lookup("GET", "/api/v1/requests/nearby"),
            Lookup::Found(&ROUTES[2])
        );
        assert_eq!(lookup("PATCH", "/api/v1/requests"), Lookup::WrongMethod);
        assert_eq!(lookup("GET", "/api/v2/requests"), Lookup::NoSuchPath);
    }

    #[test]
    fn a_paths_methods_are_named_once_each() {
        assert_eq!(methods("/api/v1/requests"), ["POST", "GET"]);
        // Two patterns (`nearby`, and any number) with one method.
        assert_eq!(methods("/api/v1/requests/nearby"), ["GET"]);
        assert!(methods("/api/v2/requests").is_empty());
    }

    #[test]
    fn every_route_names_known_roles_and_no_route_is_listed_twice() {
        for (i, route) in ROUTES.iter().enumerate() {
            // Only the gateway's own sign-in routes are public.
            assert!(
                !route.is_public() || route.pattern.starts_with("/api/v1/auth/"),
                "{route:?}"
            );
            assert!(route.roles.iter().all(|r| ROLES.contains(r)), "{route:?}");
            assert!(
                ROUTES[..i]
                    .iter()
                    .all(|earlier| (earlier.method, earlier.pattern)
                        != (route.method, route.pattern)),
                "{route:?}"
            );
        }
    }
}
