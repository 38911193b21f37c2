//! The mobile API contract: what the citizen app, the WeChat mini-program and the agency apps
//! code against.
//!
//! Request and response types, the error envelope and its stable codes, the OpenAPI 3.1 document
//! generated from these types (committed as `mobile-api/openapi.json`), and, with the `client`
//! feature, a typed Rust client.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[cfg(feature = "client")]
pub mod client;
mod openapi;
pub mod routes;

pub use openapi::ApiDoc;

/// How answers write their timestamps: RFC 3339 in UTC, with as many digits of the second's
/// fraction as it has (none, 3, 6 or 9) and `Z`, e.g. `2026-11-28T09:30:00.123456Z`.
///
/// The bytes are chrono's own (`Serialize` for `DateTime` writes the same), but chrono hands its
/// text to serde_json a piece at a time (`collect_str`), and serde_json checks every piece for
/// characters to escape on its own: about sixty calls for a tracking answer's timestamps, 2% of
/// its instructions in the gateway and intake (callgrind). Here the text is made first and
/// written once.
pub mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn serialize_optional<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    #[cfg(test)]
    mod tests {
        use chrono::{DateTime, TimeZone, Utc};

        #[derive(serde::Serialize)]
        struct Ours {
            #[serde(serialize_with = "super::serialize")]
            at: DateTime<Utc>,
            #[serde(serialize_with = "super::serialize_optional")]
            maybe: Option<DateTime<Utc>>,
        }

        #[derive(serde::Serialize)]
        struct Chronos {
            at: DateTime<Utc>,
            maybe: Option<DateTime<Utc>>,
        }

        #[test]
        fn writes_what_chrono_writes() {
            let second = Utc
                .with_ymd_and_hms(2026, 11, 28, 9, 30, 0)
                .single()
                .expect("a time");
            let mut times = vec![
                second,
                Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0)
                    .single()
                    .expect("a time"),
            ];
            for nanos in [
                1,
                120_000_000,
                123_000_000,
                123_456_000,
                123_456_789,
                999_999_999,
            ] {
                times.push(second + chrono::Duration::nanoseconds(nanos));
            }
            // A leap second, which chrono keeps as a fraction past 1 000 000 000 ns.
            times.push(
                chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                    .expect("a date")
                    .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
                    .expect("a leap second")
                    .and_utc(),
            );
            for at in times {
                for maybe in [None, Some(at)] {
                    let ours = serde_json::to_string(&Ours { at, maybe }).expect("written");
                    let chronos = serde_json::to_string(&Chronos { at, maybe }).expect("written");
                    assert_eq!(ours, chronos);
                }
            }
        }
    }
}

/// The headers the gateway sets on requests it forwards to private components. Clients cannot
/// set them: the gateway drops every client header of these names.
pub mod headers {
    pub const REQUEST_ID: &str = "x-request-id";
    pub const SUBJECT: &str = "x-hotline-subject";
    pub const ROLE: &str = "x-hotline-role";
    /// For agency staff: the agency they belong to.
    pub const AGENCY: &str = "x-hotline-agency";
    pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
}

/// How a request reached the hotline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    App,
    Wechat,
    Phone,
    Web,
    /// Filed by one of the city's other systems through Open311 (`/open311/v2`); set by the
    /// platform, never chosen by a client of this API.
    Partner,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Wechat => "wechat",
            Channel::Phone => "phone",
            Channel::Web => "web",
            Channel::Partner => "partner",
        }
    }
}

/// Where the problem is. Coordinates are WGS-84; either coordinates or an address is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationInput {
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// The address as the citizen wrote it, e.g. "驿城区解放大道与交通路交叉口".
    pub address: Option<String>,
    /// A district code from the reference data, e.g. `yicheng`. With coordinates, the district
    /// they fall in is used instead; this is kept when they fall in none.
    pub district: Option<String>,
}

/// `POST /api/v1/requests`: a citizen's request (诉求).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreateRequest {
    /// A second-level category code, e.g. `urban.streetlight`.
    pub category: String,
    /// A short title, 1–100 characters.
    pub title: String,
    /// What happened, 1–2000 characters.
    pub description: String,
    pub location: LocationInput,
    /// A mainland mobile number (11 digits) or a landline with area code.
    pub contact_phone: String,
    pub channel: Channel,
    /// The fast channel (快速通道) for urgent matters.
    #[serde(default)]
    pub urgent: bool,
    /// Confidential requests (e.g. the psychological-support line) hide the citizen's identity.
    #[serde(default)]
    pub confidential: bool,
    /// Up to 9 photo links: http(s) links, or the `url` of photos the caller uploaded
    /// (`POST /api/v1/photos`).
    #[serde(default)]
    pub photo_urls: Vec<String>,
    /// Operators only, for calls: the number the call came in on, e.g. `12345` (the default) or
    /// one of the older service hotlines that now ring 12345, e.g. `12315`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotline_number: Option<String>,
    /// Operators only: the leader answering day (领导接听日) under way whose leader took the call
    /// (`GET /api/v1/supervision/leader-days`); the order is then followed up with priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_day: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub district: Option<Named>,
    /// The grid-management cell (网格) the coordinates fall in.
    pub grid: Option<Named>,
}

/// One step in a work order's history, in words a citizen understands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
    /// A stable event code, e.g. `received`.
    pub event: String,
    /// The step in Simplified Chinese, e.g. "您的诉求已受理".
    pub description: String,
}

/// A work order (工单) as its citizen sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkOrder {
    pub id: uuid::Uuid,
    /// What people quote on the phone, e.g. `ZMD-20261128-000123`.
    pub tracking_number: String,
    /// A stable status code, e.g. `received`.
    pub status: String,
    /// The status in Simplified Chinese, e.g. "已受理".
    pub status_label: String,
    pub category: Named,
    pub title: String,
    pub description: String,
    pub location: Location,
    /// The contact number with its middle digits hidden, e.g. `138****8000`; only on your own
    /// orders, not on those you follow.
    pub contact_phone_masked: Option<String>,
    pub channel: Channel,
    pub urgent: bool,
    pub confidential: bool,
    pub photo_urls: Vec<String>,
    /// True when this is someone else's order that you follow. (Absent in answers stored
    /// before following existed, e.g. idempotent replays: read as false.)
    #[serde(default)]
    pub following: bool,
    /// When this request was merged into an open duplicate (并单): that order's tracking number,
    /// which you now follow.
    pub merged_into: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The answer to the request, to read before rating it: on your own orders only (a reply is
    /// written to the one who asked), none until there is one. (Absent in answers stored before
    /// it existed, e.g. idempotent replays of a filing: read as none.)
    #[serde(default)]
    pub answer: Option<OrderAnswer>,
    /// On your own request while an agency holds it: from when you may urge it on (市民催办,
    /// `urge`), a day after your last urging, or when it was filed if you have not urged it (a
    /// time already past: now). None when urging does not apply: a request you follow, or one no
    /// agency holds. (Absent in answers stored before it existed: read as none.)
    #[serde(default, serialize_with = "timestamp::serialize_optional")]
    pub urge_from: Option<chrono::DateTime<chrono::Utc>>,
}

/// The answer a citizen reads: the agency's reply once the hotline centre checked it, or the
/// hotline's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderAnswer {
    pub text: String,
    /// `agency`: the handling agency's reply (办理结果); `hotline`: an operator answered directly,
    /// or told where to turn when it is not the government's to handle.
    pub from: AnswerFrom,
    /// When the citizen was given it.
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
    /// The photos the agency's reply carried (the streetlight working again), read with the token.
    #[serde(default)]
    pub photo_urls: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerFrom {
    Agency,
    Hotline,
}

/// A work order in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkOrderSummary {
    pub id: uuid::Uuid,
    pub tracking_number: String,
    pub status: String,
    pub status_label: String,
    pub category: Named,
    pub title: String,
    pub urgent: bool,
    /// True when this is someone else's order that you follow. (Absent in answers stored
    /// before following existed, e.g. idempotent replays: read as false.)
    #[serde(default)]
    pub following: bool,
    /// The first photo the request was filed with, small enough for a list row: its thumbnail
    /// (`…?size=thumbnail`) when it is one of the platform's photos, the link as it is when it is
    /// elsewhere; none without photos.
    pub thumbnail_url: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/requests/nearby`: an open order of the same category close by, which the citizen
/// can follow instead of filing again. Confidential orders are never listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NearbyOrder {
    pub id: uuid::Uuid,
    pub tracking_number: String,
    pub status: String,
    pub status_label: String,
    pub category: Named,
    pub title: String,
    /// Metres from the point asked about.
    pub distance_m: f64,
    /// How many citizens follow it already.
    pub followers: i64,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Nearest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NearbyOrderList {
    pub items: Vec<NearbyOrder>,
}

/// `GET /api/v1/requests`: newest first; your own orders and those you follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkOrderPage {
    pub items: Vec<WorkOrderSummary>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/orders/{id}/actions/{action}`: what an action needs. Each action reads the
/// fields it names and ignores the rest:
/// `dispatch` {agency} · `reassign` {agency} · `close_direct` {answer, or article} · `hand_over` {to: 110|119|120|122} ·
/// `inform` {reason} · `merge` {into: tracking number} · `sign` · `contact` ·
/// `visit` {note, photo_urls?, lat?, lng?} ·
/// `reply` {result, photo_urls?} · `request_return` {reason} · `refuse_return` {reason} ·
/// `request_extension` {until, reason} · `approve_extension` · `refuse_extension` {reason} ·
/// `pass_audit` · `fail_audit` {reason} · `rate` {satisfaction, solved, comment?} (the citizen in
/// the app, or an operator who called them; within `rating_window_days` of the audit) ·
/// `start_redo` · `archive` ·
/// `remind` {note, agency?} (催办, the centre; with `agency`, an agency asked to help whose
/// opinion is awaited is urged on instead, and its staff told, else 409 `no_co_handling`) ·
/// `supervise` {note} (督办, supervisors) · `key_supervise` {note} (重点督办, supervisors; orders
/// long overdue are put there by the escalation sweep); all three notify the holding agency's
/// staff · `rule_unreasonable` {reason} (supervisors: after an unsatisfied
/// rating, instead of a redo; closes the order; in the audit log) · `withdraw` {reason?} (撤回,
/// before dispatch: the citizen who filed it, a reason optional; the centre at a caller's word,
/// with the reason; not once other requests were merged into it) ·
/// `urge` {note?} (市民催办: the citizen who filed it, while an agency holds it, once in 24 hours,
/// else 409 `urged_recently`; the holder's staff are told; the third time, the order comes under
/// supervision, 督办) ·
/// `ask_co_handling` {agency, note} (协办, the centre, while an agency holds the order: another
/// agency, at most five, is asked to help, `note` saying with what; its staff are told) ·
/// `co_reply` {result} (协办意见: staff of an agency asked to help, once; the holder's staff are
/// told; the holder cannot `reply` until every agency asked has answered: 409
/// `co_handling_pending`) · `cancel_co_handling` {agency, reason} (the centre takes back a request
/// not yet answered; that agency's staff are told) · `propose_co_handling` {agency, note} (申请协办:
/// the holder's staff ask the centre to have that agency help, one request at a time, else 409
/// `co_handling_proposal_pending`; it waits in the centre's queue, `kind=co_handling`) ·
/// `refuse_co_handling` {reason} (the centre declines it; the holder's staff are told; asking
/// that agency, `ask_co_handling`, is agreeing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderAction {
    pub agency: Option<String>,
    pub answer: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    pub into: Option<String>,
    pub note: Option<String>,
    pub result: Option<String>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// `rate`: `satisfied`, `basically_satisfied` or `unsatisfied`.
    pub satisfaction: Option<String>,
    /// `rate`: whether the problem is solved: `yes`, `partly` or `no`.
    #[serde(default)]
    pub solved: Option<String>,
    /// `rate`: the citizen's words, at most 500 characters.
    #[serde(default)]
    pub comment: Option<String>,
    /// `visit` and `reply`: up to 9 photo links: http(s) links, or the `url` of photos the caller
    /// uploaded. A reply's go with it to the audit and, once it passes, to the citizen.
    pub photo_urls: Option<Vec<String>>,
    /// `visit`: where the visit took place (WGS-84), both or neither.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// `close_direct`: the knowledge-base article the operator answered from (`GET
    /// /api/v1/knowledge`); `answer` may then be left out, and is the article's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<i64>,
}

/// A visit on site as agency staff recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Visit {
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub note: String,
    pub photo_urls: Vec<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// The fast channel's promises for an urgent order (快速通道), each with when it was kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceLevels {
    /// Citizen contacted within 30 minutes of dispatch.
    #[serde(serialize_with = "timestamp::serialize")]
    pub contact_due_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub contacted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Someone on site within 2 hours of dispatch.
    #[serde(serialize_with = "timestamp::serialize")]
    pub on_site_due_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub visited_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Reported back within 6 hours: the order's deadline.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub report_due_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One step in a work order's history as staff see it, with its note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub event: String,
    /// Who acted (the principal's subject).
    pub actor: String,
    pub note: Option<String>,
    /// The deadline this step replaced, for extensions, reassignments and redos.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub previous_deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// The agency the step was addressed to when not the one holding the order: an agency asked
    /// to help (协办), for its request, its urging and its request taken back.
    #[serde(default)]
    pub agency: Option<Named>,
    /// The photos the step carried: an agency's reply (办理结果), for the audit.
    #[serde(default)]
    pub photo_urls: Vec<String>,
}

/// A pending request for more time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingExtension {
    #[serde(serialize_with = "timestamp::serialize")]
    pub until: chrono::DateTime<chrono::Utc>,
    pub reason: String,
}

/// The holding agency's request for another agency's help (申请协办), waiting for the centre:
/// it agrees with `ask_co_handling` for that agency, or refuses with `refuse_co_handling`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CoHandlingProposal {
    pub agency: Named,
    /// What the holder needs it for.
    pub note: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A work order as the centre and the holding agency see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffOrder {
    pub id: uuid::Uuid,
    pub tracking_number: String,
    pub status: String,
    pub status_label: String,
    pub category: Named,
    pub title: String,
    pub description: String,
    /// The photos the request was filed with: http(s) links, and uploaded photos' links
    /// (`/api/v1/photos/{id}`, read with the token).
    pub photo_urls: Vec<String>,
    pub location: Location,
    pub channel: Channel,
    /// For calls: the number the call came in on.
    pub hotline_number: Option<String>,
    pub urgent: bool,
    pub confidential: bool,
    /// The open order this one was merged into (并单), by tracking number.
    pub merged_into: Option<String>,
    pub agency: Option<Named>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub dispatched_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub deadline_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Seconds until the deadline; negative when overdue.
    pub seconds_left: Option<i64>,
    pub returns_count: i32,
    /// Redos (重办) so far: 0 in the first handling.
    pub redo_count: i32,
    /// Under supervision (督办) since then: put there by a supervisor, or by a redo.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub supervised_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Under key supervision (重点督办) since then: by a supervisor, or escalated when long overdue.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub key_supervised_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The knowledge-base article an operator answered it from (`close_direct`), if any.
    pub answered_from_article: Option<i64>,
    /// How many times its citizen urged it on (市民催办, `urge`), the latest when.
    #[serde(default)]
    pub citizen_urgings: i32,
    #[serde(default, serialize_with = "timestamp::serialize_optional")]
    pub citizen_urged_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Taken by a leader on their answering day (领导接听日): who.
    pub leader_day: Option<LeaderDayRef>,
    pub extension: Option<PendingExtension>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub contacted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Urgent orders since their dispatch: the fast channel's promises.
    pub service_levels: Option<ServiceLevels>,
    /// Visits on site, oldest first.
    pub visits: Vec<Visit>,
    /// What the citizen added after filing (补充说明), oldest first.
    pub supplements: Vec<Supplement>,
    /// The agencies asked to help the holder (协办), in the order asked, those taken back too.
    pub co_handling: Vec<CoHandling>,
    /// The holder's request for another agency's help, while the centre has not decided.
    /// (Absent in answers stored before it existed: read as none.)
    #[serde(default)]
    pub co_handling_proposal: Option<CoHandlingProposal>,
    /// For an order waiting to be dispatched: the agency the dispatch catalogue names, else its
    /// district's government (the backstop, 兜底); none when the order has no district.
    pub suggested_agency: Option<Named>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The holding agency's appeals (考核申诉) against its KPI cases on this order, oldest first;
    /// shown to the centre and to the agency that made them. (Absent in answers stored before
    /// appeals existed: read as none.)
    #[serde(default)]
    pub appeals: Vec<KpiAppeal>,
    /// Oldest first.
    pub history: Vec<HistoryEntry>,
}

/// A work order in a staff list (an agency's tasks, the operators' queue, a search).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffOrderSummary {
    pub id: uuid::Uuid,
    pub tracking_number: String,
    pub status: String,
    pub status_label: String,
    pub category: Named,
    pub title: String,
    pub urgent: bool,
    pub agency: Option<Named>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub deadline_at: Option<chrono::DateTime<chrono::Utc>>,
    pub seconds_left: Option<i64>,
    /// The first photo the request was filed with, small enough for a list row: its thumbnail
    /// (`…?size=thumbnail`) when it is one of the platform's photos, the link as it is when it is
    /// elsewhere; none without photos.
    pub thumbnail_url: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/centre/queue/counts`: how many orders wait in each of the centre's queues, for
/// the console's badges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CentreQueueCounts {
    /// Waiting to be dispatched.
    pub dispatch: i64,
    /// Returns to review.
    pub returns: i64,
    /// Extensions to decide.
    pub extensions: i64,
    /// Replies to audit.
    pub audits: i64,
    /// Unsatisfied ratings to rule on.
    pub redo: i64,
    /// Agencies' requests for another's help (申请协办).
    pub co_handling: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffOrderList {
    pub items: Vec<StaffOrderSummary>,
}

/// The largest photo the platform keeps: 2 MiB. A phone's picture scaled to 1920 pixels on its long
/// side (`wx.compressImage`, or the app's own) is a fifth to a half of it.
pub const MAX_PHOTO_BYTES: usize = 2 << 20;

/// The longest body `POST /api/v1/photos` takes: a photo and what a form wraps it in.
pub const MAX_PHOTO_UPLOAD_BYTES: usize = MAX_PHOTO_BYTES + 16 * 1024;

/// How many photos one person may upload in a day (the 24 hours before the upload).
pub const MAX_PHOTOS_PER_DAY: i64 = 100;

/// `POST /api/v1/photos`: a photo as kept. Its `url` goes in the `photo_urls` of a filing, a
/// supplement, a visit or a reply; its uploader reads it (`GET` on the link, with the token), and
/// so do those shown an order that names it: the centre, the agency holding the order or asked
/// to help with it, the citizen who filed it. Anyone else is answered 404.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Photo {
    pub id: uuid::Uuid,
    /// `/api/v1/photos/{id}`, relative to the API's address.
    pub url: String,
    /// `/api/v1/photos/{id}?size=thumbnail`: a JPEG whose long side is 400 pixels, upright, for
    /// lists and timelines (the picture itself, and its tag, where there is none). Any of the
    /// platform's photo links in `photo_urls` gives its thumbnail with `?size=thumbnail` added.
    pub thumbnail_url: String,
    /// `image/jpeg`, `image/png` or `image/webp`, as the bytes say.
    pub content_type: String,
    /// In bytes.
    pub size: i64,
    #[serde(serialize_with = "timestamp::serialize")]
    pub uploaded_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /api/v1/requests/{id}/supplements`: more about a request after filing it (补充说明) —
/// what the citizen has learnt since, a photo taken later. The agency holding it is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewSupplement {
    /// 1–2000 characters.
    pub text: String,
    /// Up to 9 photo links: http(s) links, or the `url` of photos the caller uploaded.
    #[serde(default)]
    pub photo_urls: Vec<String>,
}

/// A supplement as recorded, oldest first on the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Supplement {
    pub id: i64,
    pub text: String,
    pub photo_urls: Vec<String>,
    /// `citizen` (in the app), or `operator` (taken on the phone).
    pub by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
}

/// An agency asked to help the one holding an order (协办): what it was asked, its opinion once
/// given, or when the centre took the request back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CoHandling {
    pub agency: Named,
    /// What it was asked to do.
    pub request: String,
    pub asked_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub asked_at: chrono::DateTime<chrono::Utc>,
    /// When its opinion is due: `co_handling_working_days` working days after it was asked (3
    /// unless the city sets another), or at the order's deadline if that comes first and is still
    /// ahead; while awaited, worked out again the same way when the order's deadline moves (an
    /// extension, a reassignment, a redo). Past it unanswered, its staff are told once
    /// (`co_handling_overdue`).
    #[serde(serialize_with = "timestamp::serialize")]
    pub due_at: chrono::DateTime<chrono::Utc>,
    /// Its opinion (协办意见); none while it is awaited.
    pub opinion: Option<String>,
    pub answered_by: Option<String>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub answered_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the centre took the request back (or `改由该单位主办` when the agency came to hold the
    /// order); none while it stands.
    pub cancel_reason: Option<String>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How many times the centre urged it on (`remind` with `agency`) while its opinion was awaited.
    #[serde(default)]
    pub reminders: i32,
}

/// `GET /api/v1/orders`: the orders a search found, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffOrderPage {
    pub items: Vec<StaffOrderSummary>,
    /// Pass as `cursor` (with the same filters) to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/orders/{id}/contact-phone`: the citizen's number, recorded as seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactPhone {
    pub contact_phone: String,
}

/// `POST /api/v1/admin/dispatch-rules`: a rule of the dispatch catalogue (派单目录).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewDispatchRule {
    /// A category code; a first-level category covers its children.
    pub category: String,
    /// A district code; absent (with no grid) for the whole city.
    pub district: Option<String>,
    /// A grid code (网格), instead of a district.
    pub grid: Option<String>,
    /// The rule applies only when the title or description contains one of these (1–20 words;
    /// in any case, and letters and digits typed in full or half width alike).
    pub keywords: Option<Vec<String>>,
    pub agency: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DispatchRule {
    pub id: i64,
    pub category: Named,
    pub district: Option<Named>,
    pub grid: Option<Named>,
    pub keywords: Option<Vec<String>>,
    pub agency: Named,
    pub created_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DispatchRuleList {
    pub items: Vec<DispatchRule>,
}

/// One change to the catalogue, from its append-only log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DispatchRuleChange {
    pub rule_id: i64,
    /// `created` or `deleted`.
    pub change: String,
    pub actor: String,
    /// The rule as it was created or deleted: `{category, district, grid, keywords, agency}`.
    pub rule: serde_json::Value,
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DispatchRuleChangeList {
    pub items: Vec<DispatchRuleChange>,
}

/// A day of the business calendar that is not ordinary: a public holiday on a weekday, or a
/// weekend day made a working day (调休).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalendarDay {
    pub day: chrono::NaiveDate,
    /// `holiday` or `workday`.
    pub kind: String,
    /// E.g. "春节" or "春节调休".
    pub name: String,
}

/// `PUT /api/v1/admin/calendar/{day}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SetCalendarDay {
    /// `holiday` or `workday`.
    pub kind: String,
    /// 1–50 characters.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalendarDayList {
    pub items: Vec<CalendarDay>,
}

/// `POST /api/v1/auth/staff/sign-in`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffSignIn {
    pub username: String,
    pub password: String,
}

/// `POST /api/v1/auth/sms/code`: send a sign-in code to this number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SmsCodeRequest {
    /// A mainland mobile number, 11 digits.
    pub phone: String,
}

/// The code is on its way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SmsCodeSent {
    /// Seconds the code stays valid.
    pub expires_in: i64,
    /// Seconds before another code can be asked for this number.
    pub resend_after: i64,
}

/// `POST /api/v1/auth/sms/sign-in`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SmsSignIn {
    pub phone: String,
    /// The six digits from the message.
    pub code: String,
}

/// `POST /api/v1/auth/wechat/sign-in`: the code from the mini-program's `wx.login()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WechatSignIn {
    pub code: String,
}

/// `POST /api/v1/auth/wechat/bind-phone`: a WeChat citizen proves a phone number with an SMS code
/// (from `/api/v1/auth/sms/code`); requests filed under that number become theirs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BindPhone {
    pub phone: String,
    pub code: String,
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/sign-out`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RefreshTokenBody {
    pub refresh_token: String,
}

/// What a sign-in or a refresh gives: a short-lived access token for `Authorization: Bearer`,
/// and a refresh token that can be used once, for the next pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds until the refresh token expires, unless used or revoked first.
    pub refresh_token_expires_in: i64,
    /// Who the tokens are for.
    pub subject: String,
    pub role: String,
    pub agency: Option<String>,
    /// At a staff sign-in or refresh: the password is one an administrator chose (at the
    /// account's creation or a reset). Until its holder changes it (`POST /api/v1/me/password`,
    /// which answers with a new pair), the access token opens only that, `GET /api/v1/me` and
    /// `POST /api/v1/me/sign-out-everywhere`; every other route answers 403
    /// `password_change_required`.
    #[serde(default)]
    pub password_change_required: bool,
}

/// `POST /api/v1/me/password`: a staff member changes their own password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    /// 12–128 characters, not the username, not the current one.
    pub new_password: String,
}

/// `POST /api/v1/admin/staff/{username}/password`: an administrator sets a new password for
/// someone who lost theirs, to tell them in person; they are asked to change it when they sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PasswordReset {
    /// 12–128 characters, not the username.
    pub password: String,
}

/// `GET /api/v1/me`: the caller's account as the platform holds it (the app's 我的 page; for a
/// citizen, what the Personal Information Protection Law lets them look up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MyAccount {
    pub subject: String,
    pub role: String,
    /// Staff: the name colleagues see.
    pub display_name: Option<String>,
    /// Agency staff: their agency.
    pub agency: Option<Named>,
    /// Citizens: the phone number they signed in or bound with, if any.
    pub phone: Option<String>,
    /// Citizens: whether a WeChat account is bound.
    pub wechat_bound: bool,
    /// Phones registered for pushes.
    pub devices: i64,
    /// Citizens: the requests they filed (an operator's filings for their number too), and those
    /// they follow.
    pub requests: i64,
    pub following: i64,
    /// Staff: the password is one an administrator chose; change it (`POST /api/v1/me/password`).
    pub password_change_required: bool,
    /// Since when the platform has known them (none before a citizen's first sign-in or request).
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// `DELETE /api/v1/me`: a citizen's account cancelled (注销账号). Their phone number, WeChat
/// openid, phones, sign-ins and follows are gone; their requests stay on record and are still
/// handled. Signing in again with the number starts a new account that sees none of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountCancelled {
    /// The requests they filed, which stay on record.
    pub requests_kept: i64,
    /// What happened, in Chinese, for the app to show.
    pub notice: String,
}

/// `POST /api/v1/admin/staff`: a staff account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewStaffAccount {
    /// 3–64 characters: lower-case letters, digits, `.`, `_`, `-`; the sign-in name, never changed.
    pub username: String,
    /// The person's name as colleagues see it, 1–50 characters.
    pub display_name: String,
    /// `operator`, `agency_staff`, `supervisor`, `leader` or `admin`.
    pub role: String,
    /// Agency staff only: their agency.
    pub agency: Option<String>,
    /// 12–128 characters.
    pub password: String,
}

/// `PUT /api/v1/admin/staff/{username}`: the account's name, role and agency as they are to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffAccountChange {
    /// 1–50 characters.
    pub display_name: String,
    /// `operator`, `agency_staff`, `supervisor`, `leader` or `admin`.
    pub role: String,
    /// Agency staff only: their agency.
    pub agency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffAccount {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub agency: Option<Named>,
    pub disabled: bool,
    pub created_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffAccountList {
    pub items: Vec<StaffAccount>,
}

/// `POST /api/v1/admin/partners`: one of the city's other systems (对接系统: digital city
/// management, the governance and environmental grids), given an API key for Open311.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewPartner {
    /// 2–40 characters: lower-case letters, digits and `-`, starting with a letter or digit;
    /// never changed. What the partner files is recorded as filed by `partner:<id>`.
    pub id: String,
    /// The system's name as staff see it, 1–100 characters, e.g. "驿城区数字城管系统".
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub created_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When its key was revoked; a revoked partner's key opens nothing.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A partner with a new API key (when created, or given a new one): shown this once and stored
/// only as a hash, so it cannot be shown again; `POST /api/v1/admin/partners/{id}/key` replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IssuedPartner {
    pub partner: Partner,
    /// The `api_key` the partner sends to `/open311/v2`.
    pub api_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PartnerList {
    pub items: Vec<Partner>,
}

/// One entry of the audit log: sign-ins and failed sign-ins, staff account changes, dispatch
/// catalogue and calendar changes, and every showing of a citizen's phone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    /// E.g. `signed_in`, `sign_in_failed`, `staff_created`, `dispatch_rule_created`,
    /// `calendar_set`, `contact_phone_revealed`, `notification_template_changed`,
    /// `delivery_requeued`, `complaint_ruled_unreasonable`, `knowledge_article_created` (also
    /// `_updated`, `_retired`), `leader_day_scheduled`, `special_report_issued`,
    /// `partner_created`, `partner_key_issued`, `partner_revoked`, `circular_issued`,
    /// `circular_withdrawn`,
    /// `orders_searched_by_phone` (the number as target; the role and how many orders were shown),
    /// `orders_exported` (the filters as target; the role and how many orders the file held),
    /// `account_cancelled` (a citizen's, under the subject it was given, `cancelled:<id>`; how
    /// many requests stayed on record), `password_changed` (by its holder), `password_reset` (by
    /// an administrator, the account as target), `staff_changed` (its name, role or agency, before
    /// and after), `kpi_appeal_approved` and `kpi_appeal_refused`
    /// (a supervisor's decision on an agency's appeal, 考核申诉: the order as target; the appeal,
    /// figure, round, agency and reason).
    pub action: String,
    /// What it concerns: an account, a rule id, a date, a tracking number, an article id, a
    /// leader day's or special report's id.
    pub target: Option<String>,
    pub detail: Option<serde_json::Value>,
}

/// Newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    pub items: Vec<AuditEntry>,
}

/// The error envelope of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable English identifier, e.g. `validation_failed`; see [`codes`].
    pub code: String,
    /// For people; may change.
    pub message: String,
    /// Per-field problems, for `validation_failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `location.lat`.
    pub field: String,
    /// A stable English identifier, e.g. `too_long`.
    pub code: String,
    pub message: String,
}

/// One notification in a person's inbox (`GET /api/v1/notifications`): everything that was
/// pushed is here too, so nothing depends on the push alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: uuid::Uuid,
    /// The template it was made from, e.g. `task_new`, `citizen_replied`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub work_order_id: Option<uuid::Uuid>,
    pub tracking_number: Option<String>,
    /// The special report (舆情专报) a `special_report` notice is about: open it at
    /// `/api/v1/supervision/special-reports/{id}`.
    #[serde(default)]
    pub special_report_id: Option<i64>,
    /// The early warning (预警) an `early_warning` notice is about (in
    /// `/api/v1/supervision/early-warnings`).
    #[serde(default)]
    pub early_warning_id: Option<i64>,
    /// The circular of criticism (督办通报) a `circular` notice is about: open it at
    /// `/api/v1/supervision/circulars/{id}`.
    #[serde(default)]
    pub circular_id: Option<i64>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<Notification>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// How many of the caller's notifications are unread (all pages).
    pub unread: i64,
}

/// `POST /api/v1/notifications/read`: the caller has seen their notifications (全部已读).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarkAllRead {
    /// The newest notification the app showed: it and every older one are marked read, and
    /// those that came after it stay unread. Absent: every one there is now.
    #[serde(default)]
    pub through: Option<uuid::Uuid>,
}

/// What `POST /api/v1/notifications/read` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarkedRead {
    /// How many were unread and are now read.
    pub marked: i64,
    /// How many of the caller's notifications are still unread (those that came after `through`).
    pub unread: i64,
}

/// `POST /api/v1/devices`: this phone can receive pushes for the signed-in person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewDevice {
    /// `fcm` (Firebase), `apns` (iPhones; the token in hex) or `hms` (Huawei Push Kit).
    pub platform: String,
    /// The push token the platform's SDK gave the app (8–4096 characters).
    pub token: String,
    /// The app's version, for support (at most 40 characters).
    #[serde(default)]
    pub app_version: Option<String>,
}

/// A registered phone. The token itself is not shown again, only its last characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub id: uuid::Uuid,
    pub platform: String,
    pub token_suffix: String,
    pub app_version: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<Device>,
}

/// One message on its way to one channel (`GET /api/v1/admin/deliveries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: uuid::Uuid,
    pub notification_id: uuid::Uuid,
    /// Whom it is for: a staff username or a citizen's subject.
    pub recipient: String,
    pub kind: String,
    pub title: String,
    /// `fcm`, `hms`, `apns`, `wechat` or `sms`.
    pub channel: String,
    /// `pending`, `sent`, `dead` (attempts used up, or refused for good) or `dropped` (the
    /// address was invalid and has been removed).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub dedupe_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub items: Vec<Delivery>,
}

/// What a kind of notification says (`/api/v1/admin/notification-templates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotificationTemplate {
    pub kind: String,
    /// `staff` (the agency's staff: the one an event is addressed to, else the holder's),
    /// `holder` (the staff of the agency holding the order, of an event addressed to another:
    /// an agency asked to help it), `citizen` (the one who filed the order and those who follow
    /// it) or `follower` (only those who follow it).
    pub audience: String,
    pub title: String,
    /// With placeholders `{tracking_number}`, `{title}` and `{deadline}` (China time: the order's
    /// deadline; for `citizen_rating_reminder`, when the time to rate ends), and for the kinds
    /// whose every notice comes of an event with a note (a reason, what is asked, an opinion),
    /// `{note}`: its first 100 characters (staff kinds only: notes are never shown to citizens).
    pub body: String,
    /// The placeholders `body` may use, e.g. `["{tracking_number}", "{title}", "{deadline}"]`.
    pub placeholders: Vec<String>,
    /// The approved WeChat subscribe template for citizens without the app, if any.
    pub wechat_template_id: Option<String>,
    /// The approved SMS template (Aliyun TemplateCode / Tencent TemplateId) for citizens without
    /// the app or WeChat, if any; it gets the parameter `number` (the tracking number).
    pub sms_template: Option<String>,
    /// Whether citizens without the app hear of it by WeChat or SMS.
    pub fallback: bool,
    pub updated_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotificationTemplateList {
    pub items: Vec<NotificationTemplate>,
}

/// `PUT /api/v1/admin/notification-templates/{kind}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SetNotificationTemplate {
    /// 1–40 characters.
    pub title: String,
    /// 1–300 characters; only the kind's placeholders (`{tracking_number}`, `{title}`,
    /// `{deadline}`, and for some staff kinds `{note}`: see `NotificationTemplate.placeholders`).
    pub body: String,
    #[serde(default)]
    pub wechat_template_id: Option<String>,
    #[serde(default)]
    pub sms_template: Option<String>,
    pub fallback: bool,
}

/// An order whose citizen has not rated it within the window: the operators' follow-up (回访)
/// queue, `GET /api/v1/follow-ups`. The operator calls, then records the outcome with the order's
/// `rate` action (by phone) or `not_reached`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FollowUp {
    pub id: uuid::Uuid,
    pub tracking_number: String,
    pub title: String,
    pub category: Named,
    pub agency: Option<Named>,
    /// 1 for the first handling, 2 after the first redo, ...
    pub round: u32,
    /// When the reply passed audit and the citizen was asked to rate.
    #[serde(serialize_with = "timestamp::serialize")]
    pub awaiting_rating_since: chrono::DateTime<chrono::Utc>,
    /// Calls of this round that did not reach the citizen (the order is archived unrated after 3).
    pub attempts: u32,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub last_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub contact_phone_masked: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpList {
    /// Waiting longest first.
    pub items: Vec<FollowUp>,
    pub next_cursor: Option<String>,
}

/// One figure: a rate with the counts it is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Kpi {
    pub numerator: u64,
    pub denominator: u64,
    /// numerator ÷ denominator, rounded to four places; null over zero cases (no data, never
    /// 0% or 100%).
    pub rate: Option<f64>,
    /// For people: `95.63%`, or `无数据`.
    pub display: String,
    /// Cases in the period that count in neither part, as the definition says: not yet (e.g.
    /// open orders whose deadline has not come), or not at all (an approved appeal, 考核申诉).
    pub excluded: u64,
    /// Of `excluded`, the cases an approved appeal (考核申诉) took out of the figure, so that a
    /// rate helped by exemptions says so. (Absent in answers stored before appeals existed.)
    #[serde(default)]
    pub appealed: u64,
    /// Among agencies with data, when grouped by agency: 1 is best; equal rates share a place.
    pub rank: Option<Rank>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rank {
    pub position: u32,
    /// Agencies with data for this figure.
    pub of: u32,
}

/// The figures of one group (an agency, district, category or channel; or the whole city).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiGroup {
    /// The agency, district or category code, or the channel; `city` for the whole city.
    pub key: String,
    pub name: String,
    /// 按期办结率.
    pub on_time_completion: Kpi,
    /// 响应率.
    pub response: Kpi,
    /// 解决率.
    pub resolution: Kpi,
    /// 满意率.
    pub satisfaction: Kpi,
    /// 协办按时反馈率: of the requests for help (协办) due in the period, those whose opinion
    /// came by the due time; grouped by agency, the agency asked (not the holder).
    pub co_handling_on_time: Kpi,
}

/// How a figure is computed, in words, beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiDefinition {
    /// `on_time_completion`, `response`, `resolution`, `satisfaction` or `co_handling_on_time`.
    pub kpi: String,
    pub name: String,
    pub formula: String,
    pub numerator: String,
    pub denominator: String,
    pub excluded: String,
}

/// Whether the platform answers, as a whole (`GET /health/components`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Every component asked answered, and the database if it was asked.
    Ok,
    /// At least one did not: the answer is 503, and `components` and `database` say which.
    Degraded,
}

/// Whether one private component answered the gateway's `GET /health` by service chaining, or
/// the database a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Ok,
    /// No answer, or not a 200, within the request time limit (the database: no connection, or
    /// an error for `select 1`).
    Failing,
}

/// `GET /health/components` (200 when every component asked answers, and without `?component=`
/// the database too; 503 when one does not): for load balancers and the people on call. No token
/// needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ComponentHealth {
    pub status: HealthStatus,
    /// Each component asked, by id: `intake`, `notifications`, `rating`, `routing` and
    /// `supervision`, or the one `?component=` names.
    pub components: std::collections::BTreeMap<String, ComponentState>,
    /// Whether the database answered a statement from the gateway: asked only when every
    /// component is (no `?component=`), and left out otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<ComponentState>,
}

/// `GET /api/v1/stats/kpis`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiReport {
    /// The first day counted (China Standard Time).
    pub from: chrono::NaiveDate,
    /// The last day counted, inclusive.
    pub to: chrono::NaiveDate,
    /// `agency`, `district`, `category` or `channel`; null for the whole city only.
    pub group_by: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub computed_at: chrono::DateTime<chrono::Utc>,
    pub definitions: Vec<KpiDefinition>,
    /// The whole city.
    pub total: KpiGroup,
    /// Each group with cases in the period, by key. An agency's staff see their own agency only.
    pub groups: Vec<KpiGroup>,
}

/// One case behind a figure (`GET /api/v1/stats/kpis/orders`): an order, or for satisfaction
/// and resolution one rating (or follow-up that never reached the citizen) of an order, or for
/// `co_handling_on_time` one request for help (协办) on an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiCase {
    pub id: uuid::Uuid,
    pub tracking_number: String,
    pub title: String,
    pub status: String,
    pub agency: Option<Named>,
    /// Whether it counts in the numerator.
    pub in_numerator: bool,
    /// Whether it counts in the denominator (false for the excluded).
    pub in_denominator: bool,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub dispatched_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The deadline, extensions and redos included.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub deadline_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The latest reply.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub replied_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the citizen was to be contacted by (response).
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub response_due_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub contacted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The round rated (satisfaction, resolution); for `co_handling_on_time`, the request's
    /// number on its order (1 for the first agency asked).
    pub round: Option<u32>,
    /// `satisfied`, `basically_satisfied`, `unsatisfied`; null for a follow-up not reached.
    pub satisfaction: Option<String>,
    /// `yes`, `partly`, `no`.
    pub solved: Option<String>,
    /// When it was rated, or archived unreached.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub rated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `co_handling_on_time`: the request for help, its agency, due time and opinion.
    #[serde(default)]
    pub co_handling: Option<CoHandling>,
    /// The approved appeal (考核申诉) that takes the case out of the figure: `in_denominator` is
    /// false. (Absent in answers stored before appeals existed: read as none.)
    #[serde(default)]
    pub appeal: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiCaseList {
    /// By tracking number, then round.
    pub items: Vec<KpiCase>,
    pub next_cursor: Option<String>,
}

/// `POST /api/v1/orders/{id}/appeals` (agency staff: of the holding agency, or of one asked to
/// help with the order): an appeal (考核申诉) against one case that counts against the agency in
/// the KPIs, for a supervisor to decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewAppeal {
    /// The figure: `on_time_completion` (the order past its deadline), `response` (the citizen
    /// contacted late, or not yet and too late), `satisfaction` or `resolution` (the citizen's
    /// latest rating: unsatisfied, or not solved), the holder's; or `co_handling_on_time` (the
    /// opinion asked of the agency, its latest request on the order, given late or not yet and
    /// past its time), the agency asked's.
    pub kpi: String,
    /// Why the agency holds the case should not count against it, 1 to 2000 characters.
    pub reason: String,
}

/// `POST /api/v1/appeals/{id}/decision` (supervisors): approve or refuse an appeal, with the
/// reason the agency reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppealDecision {
    pub approve: bool,
    /// The supervisor's reason (审核意见), 1 to 2000 characters.
    pub note: String,
}

/// An agency's appeal (考核申诉) against one KPI case, and the supervisor's decision on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiAppeal {
    pub id: i64,
    pub tracking_number: String,
    pub title: String,
    /// `on_time_completion`, `response`, `satisfaction`, `resolution` or `co_handling_on_time`.
    pub kpi: String,
    /// For satisfaction and resolution, the rating's round (1 for the first handling); for
    /// co-handling, the request for help's number on the order (1 for the first asked).
    pub round: Option<u32>,
    /// The agency that appealed: the order's holder when it did, or the agency asked to help.
    pub agency: Named,
    pub reason: String,
    pub filed_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub filed_at: chrono::DateTime<chrono::Utc>,
    /// `pending`, `approved` or `refused`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `GET /api/v1/appeals?status=&agency=&cursor=&limit=`: pending ones oldest first (the order to
/// decide them in), decided ones newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiAppealList {
    pub items: Vec<KpiAppeal>,
    pub next_cursor: Option<String>,
}

/// How the open orders of a group (or the whole city) stand right now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardCounts {
    /// Orders an agency holds: dispatched, signed, in progress, or asked to be returned.
    pub open: i64,
    /// Of those, past their deadline (超期).
    pub overdue: i64,
    /// Due within the next 24 hours, not yet overdue.
    pub due_soon: i64,
    /// Urgent (the fast channel).
    pub urgent: i64,
    /// Under supervision (督办: by a supervisor, or redone after an unsatisfied rating).
    pub supervised: i64,
    /// Of those, under key supervision (重点督办: by a supervisor, or escalated when long overdue).
    pub key_supervised: i64,
    /// Asked to be returned, waiting for the centre (退单申请).
    pub return_requested: i64,
    /// The earliest missed deadline among them: how long the longest overdue order has been.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub overdue_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Requests for help (协办) still awaited: from the agency (by agency), or on the district's
    /// orders (by district). Each keeps the order's holder from replying.
    pub co_handling_awaited: i64,
    /// Of those, past the time their opinion was due (协办超期).
    pub co_handling_overdue: i64,
}

/// One agency's or district's line on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoardGroup {
    /// The agency or district (`unknown` for orders filed without a district).
    pub group: Named,
    pub counts: BoardCounts,
}

/// `GET /api/v1/supervision/board`: the city's open orders as they stand, for those who watch
/// over them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupervisionBoard {
    /// `agency` or `district`.
    pub group_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// The whole city.
    pub total: BoardCounts,
    /// Orders waiting for the centre to dispatch them (the operators' queue).
    pub waiting_dispatch: i64,
    /// Every group with open orders: most overdue first, then most open.
    pub groups: Vec<BoardGroup>,
}

/// An order past its deadline, in the supervisors' list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OverdueOrder {
    pub id: uuid::Uuid,
    pub tracking_number: String,
    pub status: String,
    pub status_label: String,
    pub category: Named,
    pub title: String,
    pub urgent: bool,
    pub agency: Named,
    pub district: Option<Named>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub deadline_at: chrono::DateTime<chrono::Utc>,
    /// How long past the deadline, in seconds.
    pub overdue_seconds: i64,
    /// When it came under supervision (督办), if it has.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub supervised_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it came under key supervision (重点督办), if it has.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub key_supervised_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How many times the centre has urged the agency on (催办).
    pub reminders: i64,
    /// How many times its citizen has urged it on (市民催办).
    #[serde(default)]
    pub citizen_urgings: i32,
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub dispatched_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The agencies asked to help (协办) whose opinion is still awaited, in the order asked: while
    /// there are any, the holder cannot reply, so the delay may be theirs.
    pub co_handling_awaited: Vec<Named>,
}

/// `GET /api/v1/supervision/overdue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OverdueOrderList {
    /// Longest overdue first.
    pub items: Vec<OverdueOrder>,
    pub next_cursor: Option<String>,
}

/// A count of one kind, with how many the period before had (the same length, just before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportCount {
    /// The channel, top-level category or district (`unknown` for orders filed without one).
    pub group: Named,
    pub count: i64,
    pub count_before: i64,
}

/// The KPI appeals (考核申诉) agencies filed in a period, by what became of them as they stand
/// when the report is made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppealCounts {
    pub filed: i64,
    /// Approved: each took its case out of one figure.
    pub approved: i64,
    pub refused: i64,
    /// Not decided yet.
    pub pending: i64,
}

/// What became of the requests received in the period, as they stand when the report is made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReceivedOutcomes {
    /// Answered by the centre itself: closed directly from the knowledge base, handed to
    /// 110/119/120/122, or told it is outside the government's remit.
    pub closed_by_centre: i64,
    /// Merged into an open request about the same problem.
    pub merged: i64,
    /// Withdrawn before dispatch, by the citizen or at the caller's word.
    pub withdrawn: i64,
    /// Still waiting for the centre to dispatch them.
    pub waiting_dispatch: i64,
    /// With an agency, not yet answered.
    pub with_agency: i64,
    /// Answered by the agency (in audit, awaiting the citizen's rating, or done).
    pub answered: i64,
}

/// `GET /api/v1/supervision/report`: a day's, week's or month's report (日报、周报、月报).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PeriodReport {
    /// `day`, `week` (Monday to Sunday) or `month`.
    pub period: String,
    /// The first day (China Standard Time).
    pub from: chrono::NaiveDate,
    /// The last day, inclusive.
    pub to: chrono::NaiveDate,
    /// The period as people write it: `12月1日`, `11月23日至11月29日`, `2026年11月`.
    pub title: String,
    /// False while the period is still going on: its figures grow until it ends.
    pub complete: bool,
    #[serde(serialize_with = "timestamp::serialize")]
    pub computed_at: chrono::DateTime<chrono::Utc>,
    /// Requests received (filed) in the period, merged duplicates included.
    pub received: i64,
    /// Received in the period before, of the same length.
    pub received_before: i64,
    pub outcomes: ReceivedOutcomes,
    /// Of those closed by the centre, answered from the knowledge base (知识库直接解答).
    pub answered_from_knowledge: i64,
    /// Of the period's requests, those a leader took on an answering day (领导接听日).
    pub on_leader_days: i64,
    /// Orders that came under key supervision (重点督办) in the period, whenever filed.
    pub key_supervised: i64,
    /// The same in the period before.
    pub key_supervised_before: i64,
    /// The early warnings (预警) raised in the period, most requests first: `驿城区城市管理`.
    pub early_warnings: Vec<RaisedWarning>,
    /// By channel, most first.
    pub by_channel: Vec<ReportCount>,
    /// The top-level categories citizens raised most (at most five), most first: the hot issues.
    pub top_categories: Vec<ReportCount>,
    /// The districts most requests came from (at most five), most first.
    pub top_districts: Vec<ReportCount>,
    /// The city's figures for the period, as `GET /api/v1/stats/kpis` gives them.
    pub kpis: KpiGroup,
    /// The KPI appeals filed in the period.
    pub appeals: AppealCounts,
    /// The report in a paragraph, for leaders to read (Simplified Chinese).
    pub summary: String,
}

/// A place's requests and orders, on the hot-spot list and the risk map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlaceCounts {
    /// Requests received (filed) in the period, merged duplicates included.
    pub received: i64,
    /// Received in the period of the same length just before.
    pub received_before: i64,
    /// Orders an agency holds now, as on the board.
    pub open: i64,
    /// Of those, past their deadline now.
    pub overdue: i64,
}

/// A category and how many requests it had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    pub category: Named,
    pub count: i64,
}

/// A grid or district, on the hot-spot list and (as a feature's properties) the risk map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hotspot {
    pub place: Named,
    /// A grid's district; none for a district.
    pub district: Option<Named>,
    /// A point inside the place, for a marker (WGS-84); none if its boundary is not known.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub counts: PlaceCounts,
    /// `received + 3 × overdue`: see `formula`.
    pub score: i64,
    /// `high`, `medium` or `low`, by `formula`.
    pub level: String,
    /// 高风险, 中风险 or 低风险.
    pub level_label: String,
    /// The categories it received most in the period (at most three), most first: its hot issues.
    pub top_categories: Vec<CategoryCount>,
}

/// What the hot spots and the risk map are of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HotspotScope {
    /// `grid` (网格) or `district` (区县).
    pub by: String,
    /// The period: the last `days` days, up to `to`.
    pub days: u32,
    #[serde(serialize_with = "timestamp::serialize")]
    pub from: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub to: chrono::DateTime<chrono::Utc>,
    /// Only requests of this category (or under it), if one was asked for.
    pub category: Option<Named>,
    /// How the score and the level are reckoned, in words (Simplified Chinese).
    pub formula: String,
}

/// `GET /api/v1/supervision/hotspots`: where requests gather and orders go unresolved (热点).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Hotspots {
    #[serde(flatten)]
    pub scope: HotspotScope,
    /// The whole city.
    pub city: PlaceCounts,
    /// In no grid (or no district): filed without coordinates, or outside every grid.
    pub unplaced: PlaceCounts,
    /// The places with a request in the period or an open order: highest level first, then
    /// highest score.
    pub places: Vec<Hotspot>,
}

/// One place on the risk map: a GeoJSON Feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskMapFeature {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The place's code.
    pub id: String,
    /// The place's boundary (a GeoJSON Polygon or MultiPolygon, WGS-84, simplified to about 10 m);
    /// null if it is not known.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<serde_json::Value>,
    pub properties: Hotspot,
}

/// `GET /api/v1/supervision/risk-map`: every grid or district with its level, as a GeoJSON
/// FeatureCollection (RFC 7946; the scope's fields are foreign members) for a map to colour
/// (一张城市风险地图).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskMap {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub scope: HotspotScope,
    /// Every place, in the order of the hot-spot list.
    pub features: Vec<RiskMapFeature>,
}

/// An answer in the knowledge base (知识库), which operators answer calls from and citizens read
/// before they file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeArticle {
    pub id: i64,
    /// The question as citizens put it, e.g. 社保卡丢失如何补办.
    pub title: String,
    pub answer: String,
    pub category: Option<Named>,
    /// The agency whose rules the answer states.
    pub agency: Option<Named>,
    pub keywords: Vec<String>,
    pub updated_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When it stopped being given (its rule changed); none while it is.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub retired_at: Option<chrono::DateTime<chrono::Utc>>,
    /// For staff only (内部口径): citizens never see it, and an operator answers from it only in
    /// their own words.
    #[serde(default)]
    pub internal: bool,
}

/// `GET /api/v1/knowledge`: the best answers to a question, or the latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeArticleList {
    pub items: Vec<KnowledgeArticle>,
    /// The latest changed (no `q`) and the retired come in pages: pass this as `cursor` for the
    /// next; absent on the last page, and for a question's answers, which are the best few.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One change to a knowledge-base article: who made it, when, and the article as it stood after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeArticleChange {
    /// `created`, `updated`, `retired` or `restored`.
    pub change: String,
    pub actor: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub title: String,
    pub answer: String,
    /// The category's code, if the article has one.
    pub category: Option<String>,
    /// The agency's code, if the article has one.
    pub agency: Option<String>,
    pub keywords: Vec<String>,
    /// For staff only (changes logged before there were internal articles read false).
    #[serde(default)]
    pub internal: bool,
}

/// `GET /api/v1/admin/knowledge/{id}/history`: every change to an article, oldest first (who
/// changed the answer citizens are given, and what it said before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeArticleHistory {
    pub items: Vec<KnowledgeArticleChange>,
}

/// `POST /api/v1/admin/knowledge`, and `PUT /api/v1/admin/knowledge/{id}` (the whole article).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeArticleInput {
    /// 1–100 characters.
    pub title: String,
    /// 1–4000 characters.
    pub answer: String,
    /// A category code.
    #[serde(default)]
    pub category: Option<String>,
    /// An agency code.
    #[serde(default)]
    pub agency: Option<String>,
    /// Up to 20 words of up to 20 characters that citizens use for it.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// For staff only (内部口径); false by default.
    #[serde(default)]
    pub internal: bool,
}

/// A leader answering day, as an order names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeaderDayRef {
    pub id: i64,
    pub leader_name: String,
    /// E.g. 市长, 市住房和城乡建设局局长.
    pub leader_title: String,
}

/// `POST /api/v1/admin/leader-days`: a leader answering day (领导接听日) to schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewLeaderDay {
    /// 1–50 characters.
    pub leader_name: String,
    /// 1–100 characters, e.g. 市长.
    pub leader_title: String,
    /// A department head's or county head's own agency, by code.
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// After `starts_at`, at most a day later, and not past.
    #[serde(serialize_with = "timestamp::serialize")]
    pub ends_at: chrono::DateTime<chrono::Utc>,
}

/// A leader answering day with what became of the requests its leader took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeaderDay {
    pub id: i64,
    pub leader_name: String,
    pub leader_title: String,
    pub agency: Option<Named>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub starts_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub ends_at: chrono::DateTime<chrono::Utc>,
    /// Under way now (and not cancelled): operators may name it when filing.
    pub active: bool,
    /// When it was cancelled, and by whom, if it was.
    #[serde(serialize_with = "timestamp::serialize_optional")]
    pub cancelled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub cancelled_by: Option<String>,
    /// Requests its leader took.
    pub received: i64,
    pub outcomes: ReceivedOutcomes,
    /// Of those with an agency, past their deadline now.
    pub overdue: i64,
    pub created_by: String,
}

/// `GET /api/v1/supervision/leader-days`: the latest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeaderDayList {
    pub items: Vec<LeaderDay>,
}

/// An early warning raised in a report's period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RaisedWarning {
    /// The district's name and the category's: `驿城区城市管理`.
    pub what: String,
    /// Requests in the 24 hours before it was raised.
    pub received: i64,
}

/// An early warning (预警): a top-level category surging in a district.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EarlyWarning {
    pub id: i64,
    pub category: Named,
    pub district: Named,
    /// The China day it was raised on (once a day for each category and district).
    pub warned_on: chrono::NaiveDate,
    /// Requests in the 24 hours before it was raised.
    pub received: i64,
    /// Requests in the 7 days before those.
    pub received_before: i64,
    #[serde(serialize_with = "timestamp::serialize")]
    pub raised_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/supervision/early-warnings`: the latest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EarlyWarningList {
    /// When a warning is raised, in words (Simplified Chinese).
    pub rule: String,
    pub items: Vec<EarlyWarning>,
    /// More warnings match than the list holds (200): ask for a shorter span.
    pub more: bool,
}

/// One day's count of requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DayCount {
    pub date: chrono::NaiveDate,
    pub count: i64,
}

/// A request named in a topic report: among those most citizens raised, no confidential ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TopicCase {
    pub tracking_number: String,
    pub title: String,
    pub category: Named,
    pub district: Option<Named>,
    /// A stable status code, e.g. `in_progress`.
    pub status: String,
    /// The status in Simplified Chinese.
    pub status_label: String,
    /// The citizen who filed it and those who follow it (among them merged duplicates').
    pub citizens: i64,
    #[serde(serialize_with = "timestamp::serialize")]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/supervision/topic-report`: what citizens said about one matter in a span of days
/// — the data of a special public-opinion report (舆情专报).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TopicReport {
    /// The words a request's title, description, address or supplements (补充说明) contain one of
    /// (any case); may be empty when a category names the topic.
    pub keywords: Vec<String>,
    /// The category the requests are of (or under), if one names the topic.
    pub category: Option<Named>,
    /// The first day (China Standard Time).
    pub from: chrono::NaiveDate,
    /// The last day, inclusive.
    pub to: chrono::NaiveDate,
    /// False while the span is still going on.
    pub complete: bool,
    #[serde(serialize_with = "timestamp::serialize")]
    pub computed_at: chrono::DateTime<chrono::Utc>,
    /// Requests on the topic received in the span, merged duplicates included.
    pub received: i64,
    /// On the topic in the span of the same length just before.
    pub received_before: i64,
    /// Every request the hotline received in the span, for the topic's share.
    pub received_all: i64,
    /// The topic's requests day by day, every day of the span until today.
    pub daily: Vec<DayCount>,
    /// By district, most first (`unknown` for requests without one).
    pub by_district: Vec<ReportCount>,
    /// By category (the categories requests are filed under), most first, at most ten.
    pub by_category: Vec<ReportCount>,
    /// By channel, most first.
    pub by_channel: Vec<ReportCount>,
    pub outcomes: ReceivedOutcomes,
    /// Of those with an agency, past their deadline now.
    pub overdue: i64,
    /// Rated by their citizens (the latest rating of each).
    pub rated: i64,
    /// Of those, satisfied or basically satisfied.
    pub satisfied: i64,
    /// At most ten requests, most citizens first, then newest; no confidential ones.
    pub cases: Vec<TopicCase>,
    /// The report in a paragraph, for leaders to read (Simplified Chinese).
    pub summary: String,
}

/// `POST /api/v1/admin/special-reports`: issue a special public-opinion report (舆情专报) on a
/// topic; its figures are computed then and kept as issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewSpecialReport {
    /// 1–100 characters, e.g. 关于供暖问题的舆情专报.
    pub title: String,
    /// Up to ten words of 1–20 characters; at least one keyword or a category.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A category by code (a top-level one takes those under it).
    #[serde(default)]
    pub category: Option<String>,
    /// The span: at most 366 days, not after today; as for the topic report, the 30 days to `to`
    /// and today by default.
    #[serde(default)]
    pub from: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub to: Option<chrono::NaiveDate>,
    /// The centre's analysis and suggestions, up to 2000 characters.
    #[serde(default)]
    pub commentary: Option<String>,
}

/// An issued special report, as its readers got it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpecialReport {
    pub id: i64,
    /// The year it was issued in (China Standard Time) and its number in that year.
    pub year: i32,
    pub issue: i32,
    /// E.g. `舆情专报 2026年第3期`.
    pub heading: String,
    pub title: String,
    pub commentary: Option<String>,
    pub issued_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// Set once it is withdrawn (撤回): it is not to be cited.
    #[serde(default)]
    pub withdrawn: Option<Withdrawal>,
    /// The figures as they stood when it was issued.
    pub report: TopicReport,
}

/// Who withdrew a special report or a circular, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Withdrawal {
    #[serde(serialize_with = "timestamp::serialize")]
    pub at: chrono::DateTime<chrono::Utc>,
    pub by: String,
    pub reason: String,
}

/// `POST /api/v1/admin/special-reports/{id}/withdraw`, `POST /api/v1/admin/circulars/{id}/withdraw`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WithdrawIssue {
    /// 1–500 characters, e.g. 第二部分数据统计口径有误，将更正后重新印发。
    pub reason: String,
}

/// An issued special report on the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpecialReportSummary {
    pub id: i64,
    pub heading: String,
    pub title: String,
    pub keywords: Vec<String>,
    pub category: Option<Named>,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// Requests on the topic, as issued.
    pub received: i64,
    pub issued_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub issued_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub withdrawn: Option<Withdrawal>,
}

/// `GET /api/v1/supervision/special-reports`: the latest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpecialReportList {
    pub items: Vec<SpecialReportSummary>,
    /// More issues match than the list holds (200): ask for one year.
    pub more: bool,
}

/// `POST /api/v1/admin/circulars`: a circular of criticism (督办通报) naming the orders left open
/// long past their deadline, agency by agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewCircular {
    /// 1–100 characters, e.g. 关于超期未办结工单的督办通报.
    pub title: String,
    /// Open orders at least this many days past their deadline are named: 1–90, default 3 (as
    /// key supervision begins).
    #[serde(default)]
    pub overdue_days: Option<i32>,
    /// The centre's words to the agencies (what to put right, by when), up to 2000 characters.
    #[serde(default)]
    pub commentary: Option<String>,
}

/// One order a circular names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CircularOrder {
    pub tracking_number: String,
    /// Absent for a confidential request, whose words the circular does not repeat.
    pub title: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    pub deadline_at: chrono::DateTime<chrono::Utc>,
    /// Whole days past the deadline when the circular was issued.
    pub overdue_days: i64,
    /// Under key supervision (重点督办) when it was issued.
    pub key_supervised: bool,
}

/// One agency a circular names, with its orders (the longest overdue first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CircularAgency {
    pub agency: Named,
    /// How many of its open orders were overdue enough.
    pub orders: i64,
    pub longest_overdue_days: i64,
    /// Up to 20 of them, the longest overdue first; `orders` counts them all.
    pub named: Vec<CircularOrder>,
}

/// What a circular named, as it stood when it was issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CircularFigures {
    #[serde(serialize_with = "timestamp::serialize")]
    pub as_of: chrono::DateTime<chrono::Utc>,
    pub overdue_days: i32,
    /// Open orders at least `overdue_days` past their deadline, city-wide.
    pub orders: i64,
    /// The agencies with any, the most first.
    pub agencies: Vec<CircularAgency>,
    /// The paragraph the circular opens with, in Chinese.
    pub summary: String,
}

/// An issued circular, as its readers got it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Circular {
    pub id: i64,
    pub year: i32,
    pub issue: i32,
    /// E.g. `督办通报 2026年第2期`.
    pub heading: String,
    pub title: String,
    pub commentary: Option<String>,
    pub issued_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// Set once it is withdrawn (撤回): it is still read, marked so.
    pub withdrawn: Option<Withdrawal>,
    pub figures: CircularFigures,
}

/// A circular in the list: what it named, in short.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CircularSummary {
    pub id: i64,
    pub heading: String,
    pub title: String,
    pub overdue_days: i32,
    pub orders: i64,
    /// The agencies it named.
    pub agencies: Vec<Named>,
    pub issued_by: String,
    #[serde(serialize_with = "timestamp::serialize")]
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub withdrawn: Option<Withdrawal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CircularList {
    /// The latest first.
    pub items: Vec<CircularSummary>,
    /// More circulars match than the list holds (200): ask for one year.
    pub more: bool,
}

/// The stable error codes. Clients branch on these, never on messages.
pub mod codes {
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const INVALID_TOKEN: &str = "invalid_token";
    pub const TOKEN_EXPIRED: &str = "token_expired";
    /// The token was issued before its holder's sessions were ended (an account disabled or
    /// cancelled, a password changed or reset), or its own session was (signed out, or its
    /// refresh token used twice): sign in again.
    pub const TOKEN_REVOKED: &str = "token_revoked";
    pub const FORBIDDEN: &str = "forbidden";
    /// The password is one an administrator chose (at creation or a reset): change it
    /// (`POST /api/v1/me/password`) before anything else.
    pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const MALFORMED_JSON: &str = "malformed_json";
    /// A `multipart/form-data` body that is not parts between its boundary.
    pub const MALFORMED_FORM: &str = "malformed_form";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
    pub const INVALID_IDEMPOTENCY_KEY: &str = "invalid_idempotency_key";
    pub const INVALID_CURSOR: &str = "invalid_cursor";
    pub const TIMEOUT: &str = "timeout";
    pub const SERVER_BUSY: &str = "server_busy";
    /// The database cannot serve the request for a moment (its server starting again, say, or
    /// the request's transaction ended to break a deadlock with another's): nothing was written;
    /// send the same request again after `Retry-After` (with its `Idempotency-Key`).
    pub const DATABASE_UNAVAILABLE: &str = "database_unavailable";
    pub const INTERNAL: &str = "internal";
    pub const UNKNOWN_ACTION: &str = "unknown_action";
    pub const RULE_EXISTS: &str = "rule_exists";
    pub const CONFIDENTIAL: &str = "confidential";
    /// A merge into an order that is closed, merged itself, or the same order.
    pub const MERGE_TARGET_INVALID: &str = "merge_target_invalid";
    /// The order is finished: nothing more can be added to it or done with it.
    pub const ORDER_CLOSED: &str = "order_closed";
    /// A request that has had as many supplements as one may have (20).
    pub const TOO_MANY_SUPPLEMENTS: &str = "too_many_supplements";
    /// As many photos uploaded in the last 24 hours as one may ([`crate::MAX_PHOTOS_PER_DAY`]).
    pub const PHOTO_QUOTA_EXCEEDED: &str = "photo_quota_exceeded";
    /// A picture whose structure does not read: cut off on its way, or damaged.
    pub const DAMAGED_PHOTO: &str = "damaged_photo";
    /// A withdrawal of an order that other citizens' requests were merged into.
    pub const MERGED_ORDERS_DEPEND: &str = "merged_orders_depend";
    /// Following your own order, a confidential one, or one that is closed.
    pub const CANNOT_FOLLOW: &str = "cannot_follow";
    /// A wrong username or password (which of the two is not said).
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const ACCOUNT_DISABLED: &str = "account_disabled";
    /// Too many failed sign-ins; see `Retry-After`.
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    /// Unknown, expired, revoked or malformed.
    pub const INVALID_REFRESH_TOKEN: &str = "invalid_refresh_token";
    /// A refresh token used twice: its whole family is revoked, with the access tokens issued
    /// in it; sign in again.
    pub const REFRESH_TOKEN_REUSED: &str = "refresh_token_reused";
    pub const USERNAME_TAKEN: &str = "username_taken";
    /// Too many requests from this principal or address this minute; see `Retry-After`.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// A wrong, expired or used sign-in code.
    pub const INVALID_CODE: &str = "invalid_code";
    /// Five wrong tries: the code is dead; ask for a new one.
    pub const CODE_LOCKED: &str = "code_locked";
    /// Too many codes for this number or from this address; see `Retry-After`.
    pub const TOO_MANY_CODES: &str = "too_many_codes";
    /// The SMS provider cannot send now (or is not configured); try again later.
    pub const SMS_UNAVAILABLE: &str = "sms_unavailable";
    pub const INVALID_PHONE: &str = "invalid_phone";
    /// WeChat refused the login code: invalid or expired (40029) or already used (40163).
    pub const INVALID_WECHAT_CODE: &str = "invalid_wechat_code";
    /// WeChat flags the user as high-risk (40226).
    pub const WECHAT_USER_BLOCKED: &str = "wechat_user_blocked";
    /// WeChat is busy or rate-limits the app (-1, 45011); see `Retry-After`.
    pub const WECHAT_BUSY: &str = "wechat_busy";
    /// WeChat cannot be used now (unreachable, or the app's id or secret is wrong).
    pub const WECHAT_UNAVAILABLE: &str = "wechat_unavailable";
    /// The phone number is bound to another WeChat account.
    pub const PHONE_BOUND_ELSEWHERE: &str = "phone_bound_elsewhere";
    /// Only a citizen signed in through WeChat binds a phone number.
    pub const NOT_A_WECHAT_CITIZEN: &str = "not_a_wechat_citizen";
    /// A rating after the rating window closed.
    pub const RATING_WINDOW_CLOSED: &str = "rating_window_closed";
    /// An appeal against a case that does not count against the agency (not yet, or not at all).
    pub const NOTHING_TO_APPEAL: &str = "nothing_to_appeal";
    /// The case was appealed already (one appeal per case).
    pub const ALREADY_APPEALED: &str = "already_appealed";
    /// The days to appeal a case are over.
    pub const APPEAL_WINDOW_CLOSED: &str = "appeal_window_closed";
    /// The appeal was decided already.
    pub const APPEAL_DECIDED: &str = "appeal_decided";
    /// A dead-letter re-queue of a delivery that is not dead.
    pub const NOT_DEAD: &str = "not_dead";
    /// Cancelling a leader answering day that is over or that calls name.
    pub const LEADER_DAY_IN_USE: &str = "leader_day_in_use";
    /// Scheduling a leader answering day over another (not cancelled) of the same leader's.
    pub const LEADER_DAY_OVERLAPS: &str = "leader_day_overlaps";
    /// A partner id already in use (revoked ones too).
    pub const PARTNER_EXISTS: &str = "partner_exists";
    /// Open311: no `api_key`, or one that is unknown or revoked.
    pub const INVALID_API_KEY: &str = "invalid_api_key";
}
