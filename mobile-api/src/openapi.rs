//! The OpenAPI 3.1 document, built from the types in this crate.
//!
//! The schemas come from the types' `ToSchema` derives; the paths are listed here, beside the
//! status codes each can answer. `cargo xtask openapi` writes `mobile-api/openapi.json`, and a
//! test fails when the committed file differs from what this builds.

use crate::{
    CentreQueueCounts, CoHandlingProposal, CreateRequest, DispatchRule, DispatchRuleChange,
    DispatchRuleChangeList, DispatchRuleList, ErrorBody, ErrorEnvelope, FieldError, HistoryEntry,
    Location, LocationInput, Named, NewDispatchRule, OrderAction, PendingExtension, StaffOrder,
    StaffOrderList, StaffOrderSummary, TimelineEntry, WorkOrder, WorkOrderPage, WorkOrderSummary,
};
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "12345 政务服务便民热线 mobile API",
        description = "What the citizen app, the WeChat mini-program and agency apps call. Errors use one envelope: `{\"error\":{\"code\",\"message\",\"fields\"}}`; branch on `code`.",
        version = "1.0.0",
        license(name = "Apache-2.0")
    ),
    components(schemas(
        crate::ContactPhone,
        NewDispatchRule,
        DispatchRule,
        DispatchRuleList,
        DispatchRuleChange,
        DispatchRuleChangeList,
        OrderAction,
        HistoryEntry,
        PendingExtension,
        CoHandlingProposal,
        CentreQueueCounts,
        StaffOrder,
        StaffOrderSummary,
        StaffOrderList,
        crate::StaffOrderPage,
        crate::NewSupplement,
        crate::Supplement,
        crate::Photo,
        crate::CoHandling,
        CreateRequest,
        LocationInput,
        crate::Channel,
        WorkOrder,
        crate::OrderAnswer,
        crate::AnswerFrom,
        WorkOrderSummary,
        WorkOrderPage,
        Named,
        Location,
        TimelineEntry,
        ErrorEnvelope,
        ErrorBody,
        FieldError,
        crate::NearbyOrder,
        crate::NearbyOrderList,
        crate::Visit,
        crate::ServiceLevels,
        crate::CalendarDay,
        crate::CalendarDayList,
        crate::SetCalendarDay,
        crate::StaffSignIn,
        crate::SmsCodeRequest,
        crate::SmsCodeSent,
        crate::SmsSignIn,
        crate::WechatSignIn,
        crate::BindPhone,
        crate::RefreshTokenBody,
        crate::AccountCancelled,
        crate::MyAccount,
        crate::PasswordChange,
        crate::PasswordReset,
        crate::TokenPair,
        crate::NewStaffAccount,
        crate::StaffAccountChange,
        crate::StaffAccount,
        crate::StaffAccountList,
        crate::AuditEntry,
        crate::AuditLog,
        crate::Notification,
        crate::NotificationPage,
        crate::MarkAllRead,
        crate::MarkedRead,
        crate::NewDevice,
        crate::Device,
        crate::DeviceList,
        crate::Delivery,
        crate::DeliveryList,
        crate::NotificationTemplate,
        crate::NotificationTemplateList,
        crate::SetNotificationTemplate,
        crate::FollowUp,
        crate::FollowUpList,
        crate::Kpi,
        crate::Rank,
        crate::KpiGroup,
        crate::KpiDefinition,
        crate::KpiReport,
        crate::HealthStatus,
        crate::ComponentState,
        crate::ComponentHealth,
        crate::KpiCase,
        crate::KpiCaseList,
        crate::NewAppeal,
        crate::AppealDecision,
        crate::KpiAppeal,
        crate::KpiAppealList,
        crate::BoardCounts,
        crate::BoardGroup,
        crate::SupervisionBoard,
        crate::OverdueOrder,
        crate::OverdueOrderList,
        crate::ReportCount,
        crate::ReceivedOutcomes,
        crate::AppealCounts,
        crate::PeriodReport,
        crate::PlaceCounts,
        crate::CategoryCount,
        crate::Hotspot,
        crate::HotspotScope,
        crate::Hotspots,
        crate::RiskMapFeature,
        crate::RiskMap,
        crate::KnowledgeArticle,
        crate::KnowledgeArticleList,
        crate::KnowledgeArticleChange,
        crate::KnowledgeArticleHistory,
        crate::KnowledgeArticleInput,
        crate::LeaderDayRef,
        crate::NewLeaderDay,
        crate::LeaderDay,
        crate::LeaderDayList,
        crate::RaisedWarning,
        crate::EarlyWarning,
        crate::EarlyWarningList,
        crate::DayCount,
        crate::TopicCase,
        crate::TopicReport,
        crate::NewSpecialReport,
        crate::SpecialReport,
        crate::SpecialReportSummary,
        crate::SpecialReportList,
        crate::Withdrawal,
        crate::WithdrawIssue,
        crate::NewCircular,
        crate::CircularOrder,
        crate::CircularAgency,
        crate::CircularFigures,
        crate::Circular,
        crate::CircularSummary,
        crate::CircularList,
        crate::NewPartner,
        crate::Partner,
        crate::IssuedPartner,
        crate::PartnerList
    ))
)]
struct Schemas;

fn json(schema: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build()
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json("ErrorEnvelope"))
        .build()
}

fn ok(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", json(schema))
        .build()
}

fn query(name: &str, required: bool, description: &str) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
}

/// The `Idempotency-Key` header of the requests whose retries are safe.
fn idempotency_key() -> ParameterBuilder {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "1–128 visible ASCII characters, unique per request the client means",
        ))
}

/// The filters of staff's search of the orders, and of its export.
fn order_filters(operation: OperationBuilder) -> OperationBuilder {
    [
        ("phone", "The caller's number: a mobile number, or a landline with its area code (the centre only)"),
        ("q", "Words (up to 50 characters) in the title, the description, the address or a supplement of the order, or a tracking number; in any case, and letters, digits and signs typed in full or half width alike (ＬＥＤ finds LED)"),
        ("status", "One or more status codes, comma-separated, e.g. `dispatched,signed`"),
        ("category", "A category code; a first-level one covers its children"),
        ("district", "A district code"),
        ("agency", "An agency code: the orders it holds (agency staff: only their own, their scope already)"),
        ("channel", "app, wechat, phone, web or partner"),
        ("urgent", "true or false"),
        ("overdue", "true: open orders past their deadline; false: the others"),
        ("from", "First China day filed, `YYYY-MM-DD`"),
        ("to", "Last China day filed, `YYYY-MM-DD` (default today)"),
    ]
    .into_iter()
    .fold(operation, |operation, (name, description)| {
        operation.parameter(query(name, false, description))
    })
}

fn common_errors(responses: ResponsesBuilder) -> ResponsesBuilder {
    responses
        .response("401", error("No token, or an invalid, expired or revoked one (`unauthenticated`, `invalid_token`, `token_expired`, `token_revoked`: sign in again). `WWW-Authenticate` carries the challenge, as on every 401: `Bearer realm=\"12345\"`, with `error=\"invalid_token\"` where a token was sent and refused (RFC 6750)"))
        .response("403", error("The caller's role may not use this route (`forbidden`), or a staff password an administrator chose must be changed first (`password_change_required`)"))
        .response("500", error("Internal error (`internal`); the body is opaque"))
        .response("504", error("The request took too long (`timeout`)"))
}

/// The whole document.
pub struct ApiDoc;

impl ApiDoc {
    pub fn build() -> utoipa::openapi::OpenApi {
        let mut doc = Schemas::openapi();
        let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
        if let Some(components) = doc.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }

        let create = OperationBuilder::new()
            .operation_id(Some("createRequest"))
            .summary(Some("File a request (提交诉求)"))
            .description(Some(
                "Creates a work order and its first history event in one transaction. With an `Idempotency-Key`, a \
                 retry returns the first answer; the same key with a different body is a 409.",
            ))
            .parameter(idempotency_key())
            .request_body(Some(
                RequestBodyBuilder::new().content("application/json", json("CreateRequest")).required(Some(Required::True)).build(),
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("201", ok("Filed", "WorkOrder"))
                        .response("400", error("Malformed JSON or wrong types (`malformed_json`, `invalid_idempotency_key`)"))
                        .response("409", error("The idempotency key was used for a different request (`idempotency_key_reused`)"))
                        .response("413", error("Body over 64 KiB (`payload_too_large`)"))
                        .response("415", error("Body is not JSON (`unsupported_media_type`)"))
                        .response("422", error("Field-level problems (`validation_failed`, see `fields`)")),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        let list = OperationBuilder::new()
            .operation_id(Some("listRequests"))
            .summary(Some("My requests, newest first (我的诉求)"))
            .parameter(
                ParameterBuilder::new()
                    .name("cursor")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False),
            )
            .parameter(
                ParameterBuilder::new()
                    .name("limit")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some("1–100, default 20")),
            )
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("A page of work orders", "WorkOrderPage"))
                        .response(
                            "400",
                            error(
                                "Bad `cursor` or `limit` (`invalid_cursor`, `validation_failed`)",
                            ),
                        ),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        let get = OperationBuilder::new()
            .operation_id(Some("getRequest"))
            .summary(Some("One request with its timeline (诉求详情)"))
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("The work order's id or its tracking number")),
            )
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The work order", "WorkOrder"))
                        .response(
                            "404",
                            error("No such order, or not the caller's (`not_found`)"),
                        ),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();

        doc.paths
            .add_path_operation("/api/v1/requests", vec![HttpMethod::Post], create);
        doc.paths
            .add_path_operation("/api/v1/requests", vec![HttpMethod::Get], list);
        doc.paths
            .add_path_operation("/api/v1/requests/{id}", vec![HttpMethod::Get], get);
        let path_id = || {
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The work order's id or its tracking number"))
        };
        let queue = OperationBuilder::new()
            .operation_id(Some("centreQueue"))
            .summary(Some("What waits for the centre, urgent and oldest first (operators, supervisors)"))
            .parameter(
                ParameterBuilder::new()
                    .name("kind")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(
                        "dispatch (default: orders to dispatch), returns (to review), extensions (to decide), \
                         audits (replies to audit), redo (unsatisfied ratings to rule on) or co_handling \
                         (agencies' requests for another's help, 申请协办)",
                    )),
            )
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The queue", "StaffOrderList"))
                        .response("422", error("Unknown kind (`validation_failed`)")),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        let queue_counts = OperationBuilder::new()
            .operation_id(Some("centreQueueCounts"))
            .summary(Some(
                "How many orders wait in each of the centre's queues (operators, supervisors)",
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The counts, by queue", "CentreQueueCounts")),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        let tasks = OperationBuilder::new()
            .operation_id(Some("agencyTasks"))
            .summary(Some(
                "The caller's agency's open orders, soonest deadline first (agency staff)",
            ))
            .parameter(
                ParameterBuilder::new()
                    .name("status")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some("dispatched, signed, in_progress or return_requested")),
            )
            .parameter(
                ParameterBuilder::new()
                    .name("urgent")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some("true or false")),
            )
            .parameter(query(
                "due_within_hours",
                false,
                "Only orders due within this many hours (0–8760), overdue ones included",
            ))
            .parameter(query(
                "role",
                false,
                "`holder` (the default: the orders the agency holds) or `co_handling` (协办: the orders it is asked to \
                 help with and has not yet answered, by `co_reply`; their `deadline_at` is when its opinion is due, and \
                 `due_within_hours` reads it)",
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The tasks", "StaffOrderList"))
                        .response("422", error("Bad filter (`validation_failed`)")),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        let search = order_filters(OperationBuilder::new())
            .operation_id(Some("searchOrders"))
            .summary(Some("Search the orders, newest first (工单查询; the centre every order, agency staff their agency's: held, or asked to help with)"))
            .description(Some(
                "Every filter is optional and they combine. `phone` (the centre only) finds the orders of the citizen \
                 with that number and those naming it as the contact, over all time, confidential orders left out; \
                 each search by number is in the audit log (`orders_searched_by_phone`). Without \
                 `phone`, the search covers the China days `from`–`to`: by default the last 30, at most 366.",
            ))
            .parameter(query("cursor", false, "`next_cursor` of the page before"))
            .parameter(query("limit", false, "1–100, default 20"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The orders found", "StaffOrderPage"))
                        .response("400", error("A cursor this API did not give (`invalid_cursor`)"))
                        .response("403", error("`phone` from agency staff, or another agency (`forbidden`)"))
                        .response(
                            "422",
                            error(
                                "A bad filter (`validation_failed`: e.g. `invalid_phone`, `too_long`, `invalid_value`, \
                                 `unknown`, `invalid_date`, `before_from`, `range_too_long`)",
                            ),
                        ),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        let staff_order = OperationBuilder::new()
            .operation_id(Some("staffOrder"))
            .summary(Some("One order with its full history (the centre; agency staff for their agency's orders)"))
            .parameter(path_id())
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The order", "StaffOrder"))
                        .response("404", error("No such order, or another agency's (`not_found`)")),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        let act = OperationBuilder::new()
            .operation_id(Some("orderAction"))
            .summary(Some("Take one lifecycle action on an order"))
            .description(Some(
                "Actions: dispatch, reassign, close_direct (an `answer`, or the knowledge-base `article` answered from), hand_over, inform, merge, sign, contact, visit, reply, \
                 request_return, refuse_return, request_extension, approve_extension, refuse_extension, pass_audit, \
                 fail_audit, rate, start_redo, archive, remind (催办; with `agency`, of an agency asked to help), supervise (督办), key_supervise (重点督办), rule_unreasonable, not_reached (a \
                 follow-up call that did not reach the citizen, with a `note`; the third archives the order unrated), \
                 withdraw (撤回, before dispatch: the citizen who filed it, or the centre with a `reason`), \
                 ask_co_handling, co_reply, cancel_co_handling, propose_co_handling (申请协办: the holder asks the centre), \
                 refuse_co_handling (协办), urge (市民催办: the citizen who filed it, \
                 while an agency holds it, once in 24 hours, a `note` optional; the third puts it under supervision). \
                 A citizen rates within `rating_window_days` of the reply passing audit; the centre records a rating \
                 taken by phone at any time while one is awaited. Who may take which action, and \
                 when, is the lifecycle's rule; \
                 a refused action changes nothing and writes no history.",
            ))
            .parameter(path_id())
            .parameter(ParameterBuilder::new().name("action").parameter_in(ParameterIn::Path).required(Required::True))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json("OrderAction"))
                    .required(Some(Required::False))
                    .build(),
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Staff: the order afterwards", "StaffOrder"))
                        .response("204", ResponseBuilder::new().description("Citizens (rate, withdraw, urge): done"))
                        .response("400", error("Malformed JSON (`malformed_json`)"))
                        .response("404", error("No such order or action, or not the caller's (`not_found`, `unknown_action`)"))
                        .response(
                            "409",
                            error(
                                "The order's state does not allow it; the code says why, e.g. `order_not_signed`, \
                                 `citizen_not_contacted`, `return_limit_reached`, `extension_pending`, `deadline_passed`, \
                                 `order_not_replied`, `order_closed`; a merge into the same order, a closed or a \
                                 confidential one is `merge_target_invalid`; withdrawing an order others were merged \
                                 into is `merged_orders_depend`; co-handling (协办): a reply while an agency asked to \
                                 help has not answered is `co_handling_pending`, asking one twice `already_co_handling`, \
                                 a sixth `too_many_co_handlers`, answering twice, taking back or urging one not \
                                 awaited `no_co_handling`, a second request for help while one waits `co_handling_proposal_pending`, \
                                 refusing one not waiting `no_co_handling_proposal`; a citizen urging again within 24 hours \
                                 `urged_recently`",
                            ),
                        )
                        .response(
                            "422",
                            error(
                                "A missing or invalid field (`validation_failed`); a blank reason (`text_required`); a \
                                 deadline not later than the current one or in the past (`deadline_not_later`, \
                                 `deadline_in_past`); the agency holding the order named to take it over or to help \
                                 with it (`same_agency`)",
                            ),
                        ),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        doc.paths
            .add_path_operation("/api/v1/centre/queue", vec![HttpMethod::Get], queue);
        doc.paths.add_path_operation(
            "/api/v1/centre/queue/counts",
            vec![HttpMethod::Get],
            queue_counts,
        );
        doc.paths
            .add_path_operation("/api/v1/tasks", vec![HttpMethod::Get], tasks);
        doc.paths
            .add_path_operation("/api/v1/orders", vec![HttpMethod::Get], search);
        let export = order_filters(OperationBuilder::new())
            .operation_id(Some("exportOrders"))
            .summary(Some("Export a search of the orders as CSV (导出; the same filters, up to 10000 orders)"))
            .description(Some(
                "UTF-8 with a byte-order mark; columns 工单编号, 受理时间 (China time), 状态, 类别, 标题, 紧急, 承办单位, \
                 办理时限. A cell a spreadsheet would read as a formula starts with `'`. Each export is in the audit log \
                 (`orders_exported`); one by number is a lookup by number too.",
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response(
                            "200",
                            ResponseBuilder::new()
                                .description("The orders found, newest first")
                                .content("text/csv", ContentBuilder::new().build()),
                        )
                        .response("403", error("`phone` from agency staff, or another agency (`forbidden`)"))
                        .response(
                            "422",
                            error(
                                "A bad filter, as in the search; `cursor` or `limit` (`not_allowed`); more than 10000 \
                                 orders (`too_many_to_export`)",
                            ),
                        ),
                )
                .build(),
            )
            .security(bearer.clone())
            .build();
        doc.paths
            .add_path_operation("/api/v1/orders/export", vec![HttpMethod::Get], export);
        doc.paths
            .add_path_operation("/api/v1/orders/{id}", vec![HttpMethod::Get], staff_order);
        doc.paths.add_path_operation(
            "/api/v1/orders/{id}/actions/{action}",
            vec![HttpMethod::Post],
            act,
        );

        let admin_only = |id: &str, summary: &str, responses: ResponsesBuilder| {
            OperationBuilder::new()
                .operation_id(Some(id))
                .summary(Some(summary))
                .responses(common_errors(responses).build())
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
        };
        let rules = admin_only(
            "dispatchRules",
            "The dispatch catalogue (administrators)",
            ResponsesBuilder::new().response("200", ok("The rules", "DispatchRuleList")),
        )
        .build();
        let create_rule = admin_only(
            "createDispatchRule",
            "Add a rule to the dispatch catalogue (administrators); the change is logged",
            ResponsesBuilder::new()
                .response("201", ok("The rule", "DispatchRule"))
                .response("400", error("Malformed JSON (`malformed_json`)"))
                .response(
                    "409",
                    error("A rule for this category and district exists (`rule_exists`)"),
                )
                .response(
                    "422",
                    error("Unknown category, district or agency (`validation_failed`)"),
                ),
        )
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json("NewDispatchRule"))
                .required(Some(Required::True))
                .build(),
        ))
        .build();
        let delete_rule = admin_only(
            "deleteDispatchRule",
            "Remove a rule from the dispatch catalogue (administrators); the change is logged",
            ResponsesBuilder::new()
                .response("204", ResponseBuilder::new().description("Removed"))
                .response("404", error("No such rule (`not_found`)")),
        )
        .parameter(
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True),
        )
        .build();
        let rule_changes = admin_only(
            "dispatchRuleChanges",
            "Every change to the dispatch catalogue, newest first (administrators)",
            ResponsesBuilder::new().response("200", ok("The changes", "DispatchRuleChangeList")),
        )
        .build();
        doc.paths
            .add_path_operation("/api/v1/admin/dispatch-rules", vec![HttpMethod::Get], rules);
        doc.paths.add_path_operation(
            "/api/v1/admin/dispatch-rules",
            vec![HttpMethod::Post],
            create_rule,
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/dispatch-rules/{id}",
            vec![HttpMethod::Delete],
            delete_rule,
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/dispatch-rules/changes",
            vec![HttpMethod::Get],
            rule_changes,
        );

        let reveal = OperationBuilder::new()
            .operation_id(Some("contactPhone"))
            .summary(Some("The citizen's phone number; every call is recorded (staff)"))
            .description(Some(
                "Agency staff only on orders their agency holds, or is asked to help with (协办) until it has given its \
                 opinion (404 otherwise); the centre on any order. A \
                 confidential order's number goes only to the staff member who signed for it (403 `confidential`).",
            ))
            .parameter(path_id())
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The number", "ContactPhone"))
                        .response("404", error("No such order, or another agency's (`not_found`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/orders/{id}/contact-phone",
            vec![HttpMethod::Post],
            reveal,
        );

        let nearby = OperationBuilder::new()
            .operation_id(Some("nearbyRequests"))
            .summary(Some("Open requests of a category nearby, before filing (附近的相同诉求)"))
            .description(Some(
                "Open, non-confidential orders of the category within the radius, nearest first (at most 20), \
                 so that the citizen can follow one instead of filing again.",
            ))
            .parameter(query("lat", true, "WGS-84 latitude"))
            .parameter(query("lng", true, "WGS-84 longitude"))
            .parameter(query("category", true, "A category code"))
            .parameter(query("radius", false, "Metres, 1–2000, default 100"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Nearest first", "NearbyOrderList"))
                        .response("422", error("Missing or out-of-range parameters, unknown category (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths
            .add_path_operation("/api/v1/requests/nearby", vec![HttpMethod::Get], nearby);
        let follow = OperationBuilder::new()
            .operation_id(Some("followRequest"))
            .summary(Some("Follow someone else's open request (关注)"))
            .description(Some(
                "The order then appears in the caller's list with `following: true`, without its citizen's contact. \
                 Following again changes nothing.",
            ))
            .parameter(path_id())
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The order as a follower sees it", "WorkOrder"))
                        .response("404", error("No such order, or a confidential one (`not_found`)"))
                        .response("409", error("The caller's own order, or a closed one (`cannot_follow`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        let unfollow = OperationBuilder::new()
            .operation_id(Some("unfollowRequest"))
            .summary(Some("Stop following a request"))
            .parameter(path_id())
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response(
                            "204",
                            ResponseBuilder::new().description("Not following it (any more)"),
                        )
                        .response("404", error("No such order (`not_found`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/requests/{id}/follow",
            vec![HttpMethod::Post],
            follow,
        );
        let supplement = OperationBuilder::new()
            .operation_id(Some("supplementRequest"))
            .summary(Some("Add to a request after filing it (补充说明): the citizen who filed it, or an operator for a caller"))
            .description(Some(
                "Until the order is finished, at most 20 times. The supplement, its `supplemented` history event and \
                 the notice to the holding agency's staff (`task_supplemented`) commit together; staff read it in the \
                 order's `supplements`. With an `Idempotency-Key`, a retry gets the first answer.",
            ))
            .parameter(path_id())
            .parameter(idempotency_key())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json("NewSupplement"))
                    .required(Some(Required::True))
                    .build(),
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("201", ok("The supplement as recorded", "Supplement"))
                        .response("400", error("Malformed JSON or Idempotency-Key (`malformed_json`, `invalid_idempotency_key`)"))
                        .response("404", error("No such order, or not the citizen's own (`not_found`)"))
                        .response(
                            "409",
                            error(
                                "The order is finished (`order_closed`), has 20 supplements (`too_many_supplements`), \
                                 or the Idempotency-Key came with another request (`idempotency_key_reused`)",
                            ),
                        )
                        .response("422", error("Empty or too long text, or bad photo links (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/requests/{id}/supplements",
            vec![HttpMethod::Post],
            supplement,
        );
        doc.paths.add_path_operation(
            "/api/v1/requests/{id}/follow",
            vec![HttpMethod::Delete],
            unfollow,
        );
        // A picture's bytes, as the body of an upload or the answer to a read.
        let binary = || {
            ContentBuilder::new()
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .content_media_type("application/octet-stream"),
                ))
                .build()
        };
        let form = ContentBuilder::new()
            .schema(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .property(
                        "file",
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::String)
                            .content_media_type("application/octet-stream")
                            .description(Some("The picture")),
                    )
                    .required("file"),
            ))
            .build();
        let upload = OperationBuilder::new()
            .operation_id(Some("uploadPhoto"))
            .summary(Some("Upload a photo, to name it in the photo_urls of a filing, a supplement, a visit or a reply"))
            .description(Some(
                "The picture as the body (its media type as `Content-Type`), or a `multipart/form-data` form holding it \
                 in the part named `file` (what the mini-program's `wx.uploadFile` sends, with `name: 'file'`). \
                 JPEG, PNG or WebP, as its bytes say (not the `Content-Type`), at most 2 MiB: scale the picture down \
                 first (1920 pixels on its long side is a fifth to a half of that). It is kept without what the camera \
                 wrote about it (a JPEG's Exif but its orientation, its XMP, IPTC and comments, and anything after its end; \
                 a PNG's text, eXIf and time; a WebP's XMP and its Exif but the orientation), so `size` may be less \
                 than what was sent. Its `thumbnail_url` gives a 400-pixel JPEG of it for lists. The answer's `url` \
                 (`/api/v1/photos/{id}`, relative to the API's address) goes in `photo_urls`; only the one who \
                 uploaded it may name it there (else 422 `unknown_photo` on `photo_urls`). A photo nobody names \
                 within a day is removed. The same bytes uploaded again by the same person answer 200 with the photo \
                 they made. At most 100 uploads in 24 hours each.",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("image/jpeg", binary())
                    .content("image/png", binary())
                    .content("image/webp", binary())
                    .content("multipart/form-data", form)
                    .required(Some(Required::True))
                    .build(),
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("201", ok("The photo as kept", "Photo"))
                        .response("200", ok("The same bytes uploaded before: that photo", "Photo"))
                        .response("400", error("A form that is not parts between its boundary (`malformed_form`)"))
                        .response("408", error("The picture took longer to arrive than the server allows a body (`body_timeout`; 120 s by default): upload again on a better signal"))
                        .response("413", error("Over 2 MiB (`payload_too_large`)"))
                        .response("415", error("Not a JPEG, PNG or WebP picture, nor a form holding one (`unsupported_media_type`)"))
                        .response("422", error("A form with no `file` part (`validation_failed`), or a picture whose structure does not read, cut off or damaged (`damaged_photo`)"))
                        .response("429", error("100 photos uploaded in the last 24 hours (`photo_quota_exceeded`), or the rate limit (`rate_limited`)"))
                        .response("503", error("Busy with other photos (`server_busy`): each server takes a few at a time and the rest wait their turn, up to 5 s; upload again after the seconds `Retry-After` gives")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths
            .add_path_operation("/api/v1/photos", vec![HttpMethod::Post], upload);
        let text_header = |description: &str| {
            utoipa::openapi::header::HeaderBuilder::new()
                .schema(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String),
                )
                .description(Some(description))
                .build()
        };
        // A photo never changes: a device keeps it, and asks again with its tag.
        let etag = || {
            text_header(
                "The tag of what is answered, to send as `If-None-Match` when reading it again: the picture's, or its \
                            thumbnail's (a thumbnail link answers the picture, with the picture's tag, until there is a thumbnail)",
            )
        };
        let kept = || {
            text_header(
                "`private, max-age=604800, immutable`: a device may keep the photo a week without asking \
                 (every other answer is `no-store`)",
            )
        };
        let picture = ResponseBuilder::new()
            .description("The picture, with its media type")
            .header("ETag", etag())
            .header("Cache-Control", kept())
            .content("image/jpeg", binary())
            .content("image/png", binary())
            .content("image/webp", binary())
            .build();
        let unchanged = ResponseBuilder::new()
            .description("`If-None-Match` named the photo's tag (or was `*`): the photo is the one kept, sent again without its bytes")
            .header("ETag", etag())
            .header("Cache-Control", kept())
            .build();
        let read_photo = OperationBuilder::new()
            .operation_id(Some("readPhoto"))
            .summary(Some(
                "A photo, by the link a filing, supplement, visit or reply names it by (its uploader, and those shown \
                 an order naming it: the centre, the agency holding it or asked to help, the citizen who filed it; \
                 anyone else 404)",
            ))
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("The photo's id, as its `url` gives it")),
            )
            .parameter(
                ParameterBuilder::new()
                    .name("size")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(
                        "`thumbnail`: a JPEG whose long side is 400 pixels, upright, for lists and timelines (the picture \
                         itself where there is none: one that does not decode, or one kept before thumbnails were made, \
                         until the platform has made its own); `original` (the default): the picture \
                         as kept. Another value is 422 on `size`",
                    )),
            )
            .parameter(
                ParameterBuilder::new()
                    .name("If-None-Match")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "The `ETag` of an earlier read of this photo: 304 without its bytes while the photo exists",
                    )),
            )
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", picture)
                        .response("304", unchanged)
                        .response("422", error("`size` is neither `thumbnail` nor `original` (`validation_failed`)"))
                        .response("404", error("No such photo (`not_found`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths
            .add_path_operation("/api/v1/photos/{id}", vec![HttpMethod::Get], read_photo);
        let body_of = |schema: &str| {
            Some(
                RequestBodyBuilder::new()
                    .content("application/json", json(schema))
                    .required(Some(Required::True))
                    .build(),
            )
        };
        let public_errors = |responses: ResponsesBuilder| {
            responses
                .response("400", error("Malformed JSON (`malformed_json`)"))
                .response("422", error("Missing fields (`validation_failed`)"))
                .response("500", error("Internal error (`internal`)"))
        };
        let sign_in = OperationBuilder::new()
            .operation_id(Some("staffSignIn"))
            .summary(Some("Staff sign in with a username and password (no token needed)"))
            .description(Some(
                "Five failed sign-ins for one username within 15 minutes refuse further tries until the oldest \
                 is 15 minutes old (429 with Retry-After). Every sign-in and failed sign-in is in the audit log. \
                 A password an administrator chose answers `password_change_required`: until it is changed \
                 (`POST /api/v1/me/password`), the token opens only that, `GET /api/v1/me` and signing out everywhere (403 \
                 `password_change_required` elsewhere).",
            ))
            .request_body(body_of("StaffSignIn"))
            .responses(
                public_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Signed in", "TokenPair"))
                        .response("401", error("Wrong username or password (`invalid_credentials`)"))
                        .response("403", error("The account is disabled (`account_disabled`)"))
                        .response("429", error("Too many failed sign-ins (`too_many_attempts`)")),
                )
                .build(),
            )
            .build();
        let refresh = OperationBuilder::new()
            .operation_id(Some("refreshTokens"))
            .summary(Some("Trade a refresh token for a new pair (no token needed)"))
            .description(Some(
                "The refresh token is spent. Presenting a spent one again revokes its whole family \
                 (`refresh_token_reused`), and the access tokens issued in it answer `token_revoked`: \
                 sign in again.",
            ))
            .request_body(body_of("RefreshTokenBody"))
            .responses(
                public_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The next pair", "TokenPair"))
                        .response(
                            "401",
                            error("Unknown, expired or revoked (`invalid_refresh_token`), or reused (`refresh_token_reused`)"),
                        ),
                )
                .build(),
            )
            .build();
        let sign_out = OperationBuilder::new()
            .operation_id(Some("signOut"))
            .summary(Some(
                "Sign out: revoke the refresh token and its family (no token needed)",
            ))
            .description(Some(
                "The access tokens issued in the family are refused from then on (`token_revoked`).",
            ))
            .request_body(body_of("RefreshTokenBody"))
            .responses(
                public_errors(ResponsesBuilder::new().response(
                    "204",
                    ResponseBuilder::new().description("Signed out (also for an unknown token)"),
                ))
                .build(),
            )
            .build();
        doc.paths.add_path_operation(
            "/api/v1/auth/staff/sign-in",
            vec![HttpMethod::Post],
            sign_in,
        );
        let sms_code = OperationBuilder::new()
            .operation_id(Some("smsCode"))
            .summary(Some("Send a citizen a sign-in code by SMS (no token needed)"))
            .description(Some(
                "One code a minute and ten a day per number, twenty an hour per address. The code lives five \
                 minutes and dies after five wrong tries. A code the provider did not accept is not counted.",
            ))
            .request_body(body_of("SmsCodeRequest"))
            .responses(
                public_errors(
                    ResponsesBuilder::new()
                        .response("202", ok("Sent", "SmsCodeSent"))
                        .response("429", error("Too many codes; see Retry-After (`too_many_codes`)"))
                        .response("503", error("The SMS provider cannot send now (`sms_unavailable`)")),
                )
                .build(),
            )
            .build();
        let sms_sign_in = OperationBuilder::new()
            .operation_id(Some("smsSignIn"))
            .summary(Some("A citizen signs in with their number and the code (no token needed)"))
            .description(Some(
                "The citizen is the one with this number: requests an operator filed for it are in their history.",
            ))
            .request_body(body_of("SmsSignIn"))
            .responses(
                public_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Signed in", "TokenPair"))
                        .response(
                            "401",
                            error("Wrong, expired or used code (`invalid_code`), or five wrong tries (`code_locked`)"),
                        ),
                )
                .build(),
            )
            .build();
        doc.paths
            .add_path_operation("/api/v1/auth/sms/code", vec![HttpMethod::Post], sms_code);
        let wechat_sign_in = OperationBuilder::new()
            .operation_id(Some("wechatSignIn"))
            .summary(Some("A citizen in the WeChat mini-program signs in with the wx.login() code (no token needed)"))
            .description(Some(
                "The code is exchanged server-side (jscode2session); WeChat's session_key never leaves the server.",
            ))
            .request_body(body_of("WechatSignIn"))
            .responses(
                public_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Signed in", "TokenPair"))
                        .response("401", error("Invalid, expired or used code: 40029, 40163 (`invalid_wechat_code`)"))
                        .response("403", error("WeChat flags the user as high-risk: 40226 (`wechat_user_blocked`)"))
                        .response("429", error("WeChat is busy or rate-limits: -1, 45011 (`wechat_busy`)"))
                        .response("503", error("WeChat unreachable or misconfigured (`wechat_unavailable`)")),
                )
                .build(),
            )
            .build();
        let bind_phone = OperationBuilder::new()
            .operation_id(Some("bindPhone"))
            .summary(Some("A WeChat citizen binds a phone number, proved with an SMS code"))
            .description(Some(
                "If the number already has a citizen (calls filed for it, or an SMS sign-in), the two become one: \
                 the answer's tokens are for that citizen, whose history now holds both.",
            ))
            .request_body(body_of("BindPhone"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Bound; tokens for the merged citizen", "TokenPair"))
                        .response("401", error("Wrong or used code (`invalid_code`, `code_locked`)"))
                        .response(
                            "409",
                            error("Not a WeChat citizen (`not_a_wechat_citizen`), or the number is bound to another WeChat account (`phone_bound_elsewhere`)"),
                        )
                        .response("422", error("Not a mainland mobile number (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/auth/wechat/sign-in",
            vec![HttpMethod::Post],
            wechat_sign_in,
        );
        doc.paths.add_path_operation(
            "/api/v1/auth/wechat/bind-phone",
            vec![HttpMethod::Post],
            bind_phone,
        );
        doc.paths.add_path_operation(
            "/api/v1/auth/sms/sign-in",
            vec![HttpMethod::Post],
            sms_sign_in,
        );
        doc.paths
            .add_path_operation("/api/v1/auth/refresh", vec![HttpMethod::Post], refresh);
        doc.paths
            .add_path_operation("/api/v1/auth/sign-out", vec![HttpMethod::Post], sign_out);
        let cancel_account = OperationBuilder::new()
            .operation_id(Some("cancelAccount"))
            .summary(Some("A citizen cancels their account (注销账号)"))
            .description(Some(
                "In one transaction: the phone number and WeChat openid the account had, its phones (push tokens), \
                 refresh tokens and follows are removed, and its inbox is set aside with it. The requests it filed \
                 stay on record and are still handled; news of them goes by SMS to the contact number each was \
                 filed with. Signing in again with the number starts a new account that sees none of them. \
                 Access tokens already issued are refused from then on (`token_revoked`).",
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Cancelled", "AccountCancelled"))
                        .response("404", error("No such account, or cancelled already (`not_found`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths
            .add_path_operation("/api/v1/me", vec![HttpMethod::Delete], cancel_account);
        let my_account = OperationBuilder::new()
            .operation_id(Some("myAccount"))
            .summary(Some("The caller's account as the platform holds it (我的)"))
            .description(Some(
                "Citizens: the number and WeChat account bound, phones registered, requests filed and followed. \
                 Staff: name, agency, and whether the password is one an administrator chose.",
            ))
            .responses(
                common_errors(ResponsesBuilder::new().response("200", ok("The account", "MyAccount")))
                    .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths
            .add_path_operation("/api/v1/me", vec![HttpMethod::Get], my_account);
        let sign_out_everywhere = OperationBuilder::new()
            .operation_id(Some("signOutEverywhere"))
            .summary(Some("Sign out on every phone and computer, this one too (退出所有设备)"))
            .description(Some(
                "For a lost phone or a computer left signed in: every refresh token of the caller is revoked and \
                 every access token issued until now is refused (`token_revoked`), in one transaction with its \
                 audit-log entry (`signed_out`). Sign in again afterwards.",
            ))
            .responses(
                common_errors(ResponsesBuilder::new().response(
                    "204",
                    ResponseBuilder::new().description("Signed out everywhere"),
                ))
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/me/sign-out-everywhere",
            vec![HttpMethod::Post],
            sign_out_everywhere,
        );
        let username_param = || {
            ParameterBuilder::new()
                .name("username")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
        };
        let staff_list = OperationBuilder::new()
            .operation_id(Some("staffAccounts"))
            .summary(Some("Staff accounts (administrators)"))
            .responses(
                common_errors(
                    ResponsesBuilder::new().response("200", ok("By username", "StaffAccountList")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        let staff_create = OperationBuilder::new()
            .operation_id(Some("createStaffAccount"))
            .summary(Some("Add a staff account (administrators); logged"))
            .request_body(body_of("NewStaffAccount"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("201", ok("Added", "StaffAccount"))
                        .response("400", error("Malformed JSON (`malformed_json`)"))
                        .response("409", error("The username is taken (`username_taken`)"))
                        .response("422", error("Bad fields, unknown agency or a weak password (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        let staff_change = |id: &str, summary: &str| {
            OperationBuilder::new()
                .operation_id(Some(id))
                .summary(Some(summary))
                .parameter(username_param())
                .responses(
                    common_errors(
                        ResponsesBuilder::new()
                            .response("200", ok("The account afterwards", "StaffAccount"))
                            .response("404", error("No such account (`not_found`)"))
                            .response(
                                "422",
                                error("Disabling one's own account (`validation_failed`)"),
                            ),
                    )
                    .build(),
                )
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .build()
        };
        doc.paths
            .add_path_operation("/api/v1/admin/staff", vec![HttpMethod::Get], staff_list);
        doc.paths
            .add_path_operation("/api/v1/admin/staff", vec![HttpMethod::Post], staff_create);
        // An administrator's write to one account with a body: its answers are the account
        // afterwards or why not (`refused`, the 422's words).
        let account_write =
            |id: &str, summary: &str, description: &str, body: &str, refused: &str| {
                OperationBuilder::new()
                    .operation_id(Some(id))
                    .summary(Some(summary))
                    .description(Some(description))
                    .parameter(username_param())
                    .request_body(body_of(body))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The account afterwards", "StaffAccount"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("404", error("No such account (`not_found`)"))
                                .response("422", error(refused)),
                        )
                        .build(),
                    )
                    .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                    .build()
            };
        let staff_edit = account_write(
            "changeStaffAccount",
            "Change an account's name, role or agency (administrators); logged",
            "The whole of it as it is to be. A new role or agency ends the account's sessions (its \
             tokens carry both): its holder signs in again. Not one's own role or agency.",
            "StaffAccountChange",
            "Bad fields, an unknown agency, or one's own role or agency (`validation_failed`)",
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/staff/{username}",
            vec![HttpMethod::Put],
            staff_edit,
        );
        let staff_sign_out = OperationBuilder::new()
            .operation_id(Some("signOutStaffAccount"))
            .summary(Some(
                "End every session of an account without disabling it (强制下线; administrators); logged",
            ))
            .description(Some(
                "For a phone reported lost by someone with no other device to sign out from: every refresh \
                 token of the account is revoked and every access token issued until now is refused \
                 (`token_revoked`). Its holder signs in again.",
            ))
            .parameter(username_param())
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("204", ResponseBuilder::new().description("Signed out"))
                        .response("404", error("No such account (`not_found`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/admin/staff/{username}/sign-out",
            vec![HttpMethod::Post],
            staff_sign_out,
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/staff/{username}/disable",
            vec![HttpMethod::Post],
            staff_change(
                "disableStaffAccount",
                "Disable an account and revoke its refresh tokens (administrators); logged",
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/staff/{username}/enable",
            vec![HttpMethod::Post],
            staff_change(
                "enableStaffAccount",
                "Enable an account again (administrators); logged",
            ),
        );
        let password_reset = account_write(
            "resetStaffPassword",
            "Set a new password for someone who lost theirs (administrators); logged",
            "Every refresh token of the account is revoked. Until its holder changes it, signing in \
             answers `password_change_required`.",
            "PasswordReset",
            "A weak password, or one's own account (`validation_failed`)",
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/staff/{username}/password",
            vec![HttpMethod::Post],
            password_reset,
        );
        let password_change = OperationBuilder::new()
            .operation_id(Some("changePassword"))
            .summary(Some("Staff change their own password; logged"))
            .description(Some(
                "Needs the current password; a wrong one counts as a failed sign-in, under the same limit. \
                 Every refresh token of the account is revoked, and the answer is a new pair for this device.",
            ))
            .request_body(body_of("PasswordChange"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Changed; new tokens", "TokenPair"))
                        .response("400", error("Malformed JSON (`malformed_json`)"))
                        .response(
                            "422",
                            error("The current password is wrong, or the new one weak or the same (`validation_failed`)"),
                        )
                        .response("429", error("Too many wrong passwords: wait (`too_many_attempts`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/me/password",
            vec![HttpMethod::Post],
            password_change,
        );
        let audit = OperationBuilder::new()
            .operation_id(Some("auditLog"))
            .summary(Some("The audit log, newest first (administrators)"))
            .description(Some(
                "Sign-ins and failed sign-ins, refresh-token reuse, staff account changes, dispatch catalogue \
                 and calendar changes, and every showing of a citizen's phone number.",
            ))
            .parameter(query("action", false, "Only this action, e.g. `sign_in_failed`"))
            .parameter(query("actor", false, "Only this actor"))
            .parameter(query("limit", false, "1–500, default 100"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("Newest first", "AuditLog"))
                        .response("422", error("Bad limit (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths
            .add_path_operation("/api/v1/admin/audit", vec![HttpMethod::Get], audit);
        let day_param = || {
            ParameterBuilder::new()
                .name("day")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("A date, YYYY-MM-DD"))
        };
        let calendar = OperationBuilder::new()
            .operation_id(Some("calendar"))
            .summary(Some(
                "The business calendar's holidays and 调休 working days (administrators)",
            ))
            .parameter(query("year", false, "Only this year (2000–2100)"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("In date order", "CalendarDayList"))
                        .response("422", error("Bad year (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        let set_day = OperationBuilder::new()
            .operation_id(Some("setCalendarDay"))
            .summary(Some(
                "Make a day a holiday or a working day (administrators); logged",
            ))
            .description(Some(
                "Deadlines computed afterwards count it; deadlines already set do not move.",
            ))
            .parameter(day_param())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json("SetCalendarDay"))
                    .required(Some(Required::True))
                    .build(),
            ))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("200", ok("The day as set", "CalendarDay"))
                        .response("400", error("Malformed JSON (`malformed_json`)"))
                        .response("422", error("Bad date, kind or name (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        let delete_day = OperationBuilder::new()
            .operation_id(Some("deleteCalendarDay"))
            .summary(Some("Make a day ordinary again (administrators); logged"))
            .parameter(day_param())
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response("204", ResponseBuilder::new().description("Deleted"))
                        .response("404", error("The day has no entry (`not_found`)"))
                        .response("422", error("Bad date (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths
            .add_path_operation("/api/v1/admin/calendar", vec![HttpMethod::Get], calendar);
        doc.paths.add_path_operation(
            "/api/v1/admin/calendar/{day}",
            vec![HttpMethod::Put],
            set_day,
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/calendar/{day}",
            vec![HttpMethod::Delete],
            delete_day,
        );
        let duplicates = OperationBuilder::new()
            .operation_id(Some("orderDuplicates"))
            .summary(Some(
                "Open orders of the same category near this one, for a merge (并单) (the centre)",
            ))
            .parameter(path_id())
            .parameter(query("radius", false, "Metres, 1–2000, default 100"))
            .responses(
                common_errors(
                    ResponsesBuilder::new()
                        .response(
                            "200",
                            ok(
                                "Nearest first; none for an order without coordinates",
                                "NearbyOrderList",
                            ),
                        )
                        .response("404", error("No such order (`not_found`)"))
                        .response("422", error("Bad radius (`validation_failed`)")),
                )
                .build(),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build();
        doc.paths.add_path_operation(
            "/api/v1/orders/{id}/duplicates",
            vec![HttpMethod::Get],
            duplicates,
        );

        let named_path = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(description))
        };
        let body_of = |schema: &str| {
            RequestBodyBuilder::new()
                .content("application/json", json(schema))
                .required(Some(Required::True))
                .build()
        };
        let secured = |operation: OperationBuilder| {
            operation
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .build()
        };
        doc.paths.add_path_operation(
            "/api/v1/notifications",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("notifications"))
                    .summary(Some("The caller's notifications, newest first (everyone signed in)"))
                    .description(Some(
                        "Everything pushed to the caller's phones (or sent by WeChat or SMS) is here too, so nothing \
                         depends on the push alone. `unread` counts all unread ones.",
                    ))
                    .parameter(query("cursor", false, "`next_cursor` of the previous page"))
                    .parameter(query("limit", false, "1–100, default 20"))
                    .parameter(query("unread", false, "`true`: only unread ones"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("A page", "NotificationPage"))
                                .response("400", error("Bad cursor (`invalid_cursor`)"))
                                .response("422", error("Bad limit or unread (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/notifications/read",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("markAllNotificationsRead"))
                    .summary(Some("Mark the caller's notifications read, all of them or up to the newest the app showed (全部已读)"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .content("application/json", json("MarkAllRead"))
                            .required(Some(Required::True))
                            .build(),
                    ))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("How many were marked, and how many are still unread", "MarkedRead"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response(
                                    "404",
                                    error("`through` is not one of the caller's notifications (`not_found`)"),
                                ),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/notifications/{id}/read",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("markNotificationRead"))
                    .summary(Some("Mark one of the caller's notifications read"))
                    .parameter(named_path("id", "The notification's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The notification, read", "Notification"))
                                .response(
                                    "404",
                                    error(
                                        "Not the caller's, or no such notification (`not_found`)",
                                    ),
                                ),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/devices",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("devices"))
                    .summary(Some("The caller's phones that receive pushes"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Last seen first", "DeviceList")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/devices",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("registerDevice"))
                    .summary(Some("This phone receives the caller's pushes (FCM or Huawei Push Kit)"))
                    .description(Some(
                        "Register at every start of the app: a known token answers 200 and moves to the caller (what \
                         was still on its way to someone else through it is dropped). A person keeps at most 10 \
                         phones; the one seen longest ago goes.",
                    ))
                    .request_body(Some(body_of("NewDevice")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("201", ok("Registered", "Device"))
                                .response("200", ok("Known already; now the caller's", "Device"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("422", error("Bad platform, token or app_version (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/devices/{id}",
            vec![HttpMethod::Delete],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("removeDevice"))
                    .summary(Some("Stop pushing to this phone (signing out on it)"))
                    .parameter(named_path("id", "The device's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("204", ResponseBuilder::new().description("Removed"))
                                .response("404", error("Not the caller's (`not_found`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/deliveries",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("deliveries"))
                    .summary(Some("Deliveries by status, newest first; dead letters by default (supervisors, administrators)"))
                    .parameter(query("status", false, "`dead` (default), `pending`, `sent` or `dropped`"))
                    .parameter(query("limit", false, "1–500, default 100"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Newest first", "DeliveryList"))
                                .response("422", error("Bad status or limit (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/deliveries/{id}/requeue",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("requeueDelivery"))
                    .summary(Some(
                        "Send a dead delivery again, with a fresh set of attempts; logged",
                    ))
                    .parameter(named_path("id", "The delivery's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Pending again", "Delivery"))
                                .response("404", error("No such delivery (`not_found`)"))
                                .response("409", error("The delivery is not dead (`not_dead`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/notification-templates",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("notificationTemplates"))
                    .summary(Some("What each kind of notification says (administrators)"))
                    .responses(
                        common_errors(ResponsesBuilder::new().response(
                            "200",
                            ok("Staff kinds, then citizens'", "NotificationTemplateList"),
                        ))
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/notification-templates/{kind}",
            vec![HttpMethod::Put],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("setNotificationTemplate"))
                    .summary(Some("Change what a kind of notification says (administrators); logged"))
                    .description(Some(
                        "Notifications made afterwards use it. The body may use only the kind's placeholders \
                         (`placeholders` of the template): `{tracking_number}`, `{title}`, `{deadline}`, and for the \
                         staff kinds whose notices come of an event with a note (a reason, what is asked, an \
                         opinion) `{note}`.",
                    ))
                    .parameter(named_path("kind", "E.g. `task_new`"))
                    .request_body(Some(body_of("SetNotificationTemplate")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The template as saved", "NotificationTemplate"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("404", error("No such kind (`not_found`)"))
                                .response("422", error("Bad title, body, placeholder or template id (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/follow-ups",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("followUps"))
                    .summary(Some("The follow-up (回访) queue: orders not rated within the window, longest-waiting first (the centre)"))
                    .description(Some(
                        "Call the citizen, then record the outcome with the order's `rate` action (by phone) or \
                         `not_reached`. An order whose call did not get through comes back after \
                         `follow_up_retry_minutes`; the third such call archives it unrated.",
                    ))
                    .parameter(query("cursor", false, "`next_cursor` of the previous page"))
                    .parameter(query("limit", false, "1–200, default 50"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Waiting longest first", "FollowUpList"))
                                .response("400", error("Bad cursor (`invalid_cursor`)"))
                                .response("422", error("Bad limit (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/stats/kpis",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("kpis"))
                    .summary(Some("On-time completion, response, resolution and satisfaction rates, with their counts and formulas"))
                    .description(Some(
                        "Supervisors, leaders and administrators see any grouping; agency staff see their own agency, \
                         ranked among all agencies (any grouping but `agency` is `forbidden` to them). A rate over no \
                         cases is null (`无数据`). `definitions` says in words what each numerator and denominator \
                         count; `/api/v1/stats/kpis/orders` lists the cases.",
                    ))
                    .parameter(query("from", false, "First day counted, YYYY-MM-DD in China Standard Time; default the first of `to`'s month"))
                    .parameter(query("to", false, "Last day counted, inclusive; default today. At most 366 days"))
                    .parameter(query("group_by", false, "`agency`, `district`, `category` (top level) or `channel`; none for the city only"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The figures", "KpiReport"))
                                .response("422", error("Bad date, period or grouping (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/stats/kpis/orders",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("kpiCases"))
                    .summary(Some("The cases behind one figure, so it can be checked by hand"))
                    .parameter(query("kpi", true, "`on_time_completion`, `response`, `resolution`, `satisfaction` or `co_handling_on_time`"))
                    .parameter(query("part", false, "`numerator`, `denominator`, `excluded`, `appealed` (of the excluded, those an approved appeal took out) or `all` (default)"))
                    .parameter(query("from", false, "As for the report"))
                    .parameter(query("to", false, "As for the report"))
                    .parameter(query("group_by", false, "As for the report"))
                    .parameter(query("group", false, "The group's key, e.g. an agency code (needs `group_by`)"))
                    .parameter(query("cursor", false, "`next_cursor` of the previous page"))
                    .parameter(query("limit", false, "1–500, default 100"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("By tracking number, then round", "KpiCaseList"))
                                .response("400", error("Bad cursor (`invalid_cursor`)"))
                                .response("422", error("Bad figure, part, date, period or grouping (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/orders/{id}/appeals",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("fileAppeal"))
                    .summary(Some("Appeal a KPI case that counts against the agency (考核申诉; the holding agency's staff, or those of an agency asked to help)"))
                    .description(Some(
                        "One case of the order, as the KPIs count it: the holder's `on_time_completion` (past its deadline), `response` \
                         (the citizen contacted late, or not yet and too late), `satisfaction` or `resolution` (the latest \
                         rating); an agency asked to help's `co_handling_on_time` (its latest request on the order answered late, \
                         or not yet and past its time; 404 for an agency that neither holds nor helps). \
                         Within `appeal_window_days` (7 by default) of the case being settled (rated, replied, contacted, answered), or while it lasts; \
                         one appeal per case. The appeal and its `appeal_filed` history event commit together; a \
                         supervisor decides it (`/api/v1/appeals`).",
                    ))
                    .parameter(named_path("id", "The work order's id or its tracking number"))
                    .request_body(Some(body_of("NewAppeal")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("201", ok("The appeal, pending", "KpiAppeal"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("404", error("No such order, or not held by the caller's agency (`not_found`)"))
                                .response(
                                    "409",
                                    error(
                                        "The case does not count against the agency (`nothing_to_appeal`), was appealed \
                                         already (`already_appealed`), or the days to appeal are over (`appeal_window_closed`)",
                                    ),
                                )
                                .response("422", error("Unknown figure, empty or too long reason (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/appeals",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("appeals"))
                    .summary(Some("KPI appeals (考核申诉): waiting ones oldest first, decided ones newest first (supervisors; agency staff their own)"))
                    .parameter(query("status", false, "`pending` (default), `approved` or `refused`"))
                    .parameter(query("agency", false, "An agency code (supervisors); agency staff see their own agency's"))
                    .parameter(query("cursor", false, "`next_cursor` of the previous page"))
                    .parameter(query("limit", false, "1–200, default 50"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The appeals", "KpiAppealList"))
                                .response("400", error("Bad cursor (`invalid_cursor`)"))
                                .response("422", error("Bad status or limit (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/appeals/{id}/decision",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("decideAppeal"))
                    .summary(Some("Approve or refuse a KPI appeal, with the reason (supervisors)"))
                    .description(Some(
                        "Approved, the case leaves its figure (counted as excluded; the KPI drill-down names the appeal). \
                         The decision, its history event and the notice to the agency's staff (`appeal_approved`, \
                         `appeal_refused`) commit together.",
                    ))
                    .parameter(named_path("id", "The appeal's id"))
                    .request_body(Some(body_of("AppealDecision")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The appeal, decided", "KpiAppeal"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("404", error("No such appeal (`not_found`)"))
                                .response("409", error("Decided already (`appeal_decided`)"))
                                .response("422", error("Empty or too long note (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );

        doc.paths.add_path_operation(
            "/api/v1/supervision/board",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("supervisionBoard"))
                    .summary(Some("The city's open orders as they stand: open, overdue, due within 24 hours, urgent, supervised (and key-supervised) and returns pending, by agency or district"))
                    .description(Some(
                        "For the centre, supervisors, city leaders and administrators. Counted at the moment of the \
                         request (`as_of`); groups with open orders only, most overdue first. \
                         `/api/v1/supervision/overdue` lists the overdue orders.",
                    ))
                    .parameter(query("group_by", false, "`agency` (default) or `district`"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The board", "SupervisionBoard"))
                                .response("422", error("Bad grouping (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/overdue",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("overdueOrders"))
                    .summary(Some("Open orders past their deadline, longest overdue first, with their supervision and urgings"))
                    .parameter(query("agency", false, "Only this agency's, by code"))
                    .parameter(query("district", false, "Only this district's, by code"))
                    .parameter(query("cursor", false, "`next_cursor` of the previous page"))
                    .parameter(query("limit", false, "1–500, default 100"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Longest overdue first", "OverdueOrderList"))
                                .response("400", error("Bad cursor (`invalid_cursor`)"))
                                .response("422", error("Bad limit (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );

        doc.paths.add_path_operation(
            "/api/v1/supervision/report",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("periodReport"))
                    .summary(Some("A day's, week's or month's report: requests received and what became of them, by channel, the hot issues and districts against the period before, the city's KPIs, the KPI appeals filed, and a paragraph for leaders"))
                    .parameter(query("period", false, "`day` (default), `week` (Monday to Sunday) or `month`"))
                    .parameter(query("date", false, "A day in the period, YYYY-MM-DD in China Standard Time; default yesterday"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The report", "PeriodReport"))
                                .response("422", error("Bad period or date, or a date after today (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );

        doc.paths.add_path_operation(
            "/api/v1/knowledge",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("searchKnowledge"))
                    .summary(Some("Search the knowledge base (知识库): operators answer calls from it, citizens read it before they file"))
                    .description(Some(
                        "With `q`, the live articles that share at least half of the question's terms (pairs of Chinese \
                         characters, words of letters and digits), best first, title and keywords counting twice; \
                         without it, the latest changed. Everyone signed in.",
                    ))
                    .parameter(query("q", false, "The question in the caller's words, at most 200 characters"))
                    .parameter(query("category", false, "Only articles of this category or under it"))
                    .parameter(query("limit", false, "1–50, default 10"))
                    .parameter(query("cursor", false, "Without `q`: the `next_cursor` of the page before"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Best first", "KnowledgeArticleList"))
                                .response("400", error("A cursor that is not one (`invalid_cursor`)"))
                                .response("422", error("A question with nothing to search by, too long, a bad limit, an unknown category, or a cursor with a question (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/knowledge/{id}",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("knowledgeArticle"))
                    .summary(Some("One live knowledge-base article"))
                    .parameter(named_path("id", "The article's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The article", "KnowledgeArticle"))
                                .response(
                                    "404",
                                    error("No such article, or a retired one (`not_found`)"),
                                ),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/knowledge",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("createKnowledgeArticle"))
                    .summary(Some("Add an article to the knowledge base (supervisors and administrators); logged"))
                    .request_body(Some(body_of("KnowledgeArticleInput")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("201", ok("The article", "KnowledgeArticle"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("422", error("Missing or too long title or answer, bad keywords, unknown category or agency (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/knowledge/{id}",
            vec![HttpMethod::Put],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("updateKnowledgeArticle"))
                    .summary(Some(
                        "Rewrite a live article (supervisors and administrators); logged",
                    ))
                    .parameter(named_path("id", "The article's id"))
                    .request_body(Some(body_of("KnowledgeArticleInput")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response(
                                    "200",
                                    ok("The article as it now reads", "KnowledgeArticle"),
                                )
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response(
                                    "404",
                                    error("No such article, or a retired one (`not_found`)"),
                                )
                                .response("422", error("As for adding one (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/knowledge/{id}/retire",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("retireKnowledgeArticle"))
                    .summary(Some("Stop giving an article (its rule changed); kept for the orders answered from it; logged"))
                    .parameter(named_path("id", "The article's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The article, retired", "KnowledgeArticle"))
                                .response("404", error("No such article, or retired already (`not_found`)")),
                        )
                        .build(),
                    ),
            ),
        );

        doc.paths.add_path_operation(
            "/api/v1/admin/knowledge/{id}/restore",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("restoreKnowledgeArticle"))
                    .summary(Some(
                        "Give a retired article again (supervisors and administrators); logged",
                    ))
                    .parameter(named_path("id", "The article's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The article, live again", "KnowledgeArticle"))
                                .response(
                                    "404",
                                    error("No such article, or a live one (`not_found`)"),
                                ),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/knowledge/retired",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("retiredKnowledgeArticles"))
                    .summary(Some("The retired articles, latest retired first, a page at a time (supervisors and administrators)"))
                    .parameter(query("limit", false, "1–50, default 50"))
                    .parameter(query("cursor", false, "The `next_cursor` of the page before"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Latest retired first", "KnowledgeArticleList"))
                                .response("400", error("A cursor that is not one (`invalid_cursor`)"))
                                .response("422", error("A bad limit (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/knowledge/{id}/history",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("knowledgeArticleHistory"))
                    .summary(Some("Every change to an article, oldest first, each with the article as it stood after (supervisors and administrators)"))
                    .parameter(named_path("id", "The article's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Oldest first", "KnowledgeArticleHistory"))
                                .response("404", error("No such article (`article_not_found`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/leader-days",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("leaderDays"))
                    .summary(Some("The leader answering days (领导接听日), latest first, each with what became of the requests its leader took"))
                    .description(Some(
                        "For the centre, supervisors, city leaders and administrators; operators find the day under way \
                         (`active`) to name as `leader_day` when they file a call its leader took. Such an order is \
                         under supervision from its dispatch.",
                    ))
                    .responses(
                        common_errors(ResponsesBuilder::new().response("200", ok("Latest first", "LeaderDayList")))
                            .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/leader-days",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("scheduleLeaderDay"))
                    .summary(Some("Schedule a leader answering day (supervisors and administrators)"))
                    .request_body(Some(body_of("NewLeaderDay")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("201", ok("The day", "LeaderDay"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("409", error("The same leader already has a day (not cancelled) in that span (`leader_day_overlaps`)"))
                                .response("422", error("Missing name or title, a span not within a day, a day already over, an unknown agency (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );

        doc.paths.add_path_operation(
            "/api/v1/supervision/early-warnings",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("earlyWarnings"))
                    .summary(Some("Early warnings (预警): problems surging in a district, latest first, with the rule"))
                    .description(Some(
                        "Raised every five minutes when a top-level category's requests in a district over the last 24 \
                         hours are at least 5 and at least three times its daily average over the 7 days before; once a \
                         China day for each category and district; every supervisor is told. At most 200; `more` \
                         says when more match.",
                    ))
                    .parameter(query("from", false, "The first China day a warning was raised on, YYYY-MM-DD"))
                    .parameter(query("to", false, "The last China day, YYYY-MM-DD; not before `from`"))
                    .parameter(query("district", false, "A district's code"))
                    .parameter(query("category", false, "A top-level category's code"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Latest first", "EarlyWarningList"))
                                .response("422", error("Bad dates, `to` before `from`, an unknown district or category (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/topic-report",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("topicReport"))
                    .summary(Some("What citizens said about one matter in a span of days: the data of a special public-opinion report (舆情专报)"))
                    .description(Some(
                        "The requests whose title, description, address or supplements (补充说明) hold one of the keywords (in any case and width: ＰＭ２.５ is PM2.5), or of the category \
                         (a top-level one takes those under it), or both: how many against the span before and against \
                         all the hotline received, day by day, by district, category and channel, what became of them, \
                         their ratings, the cases most citizens raised (none confidential), and a paragraph for leaders.",
                    ))
                    .parameter(query("keywords", false, "Up to ten words of 1–20 characters, separated by `,`, `，` or `、`"))
                    .parameter(query("category", false, "A category code; keywords or a category are required"))
                    .parameter(query("from", false, "The first day, YYYY-MM-DD (China Standard Time); default 29 days before `to`"))
                    .parameter(query("to", false, "The last day, not after today; default today. At most 366 days in all"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The report", "TopicReport"))
                                .response("422", error("No keywords nor category, too many or too long keywords, an unknown category, bad dates, a span past today or over 366 days (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/special-reports",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("issueSpecialReport"))
                    .summary(Some("Issue a special public-opinion report (舆情专报) under the year's next number (supervisors and administrators)"))
                    .description(Some(
                        "Computes the topic report and keeps it as issued, with the title and the centre's commentary; every \
                         leader and supervisor (but the issuer) is told in their inbox and on their phones, in the same \
                         transaction. With an `Idempotency-Key`, a retry returns the first answer.",
                    ))
                    .parameter(idempotency_key())
                    .request_body(Some(body_of("NewSpecialReport")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("201", ok("The issue", "SpecialReport"))
                                .response("400", error("Malformed JSON (`malformed_json`, `invalid_idempotency_key`)"))
                                .response("409", error("The idempotency key was used for a different request (`idempotency_key_reused`)"))
                                .response("422", error("Missing or too long title, too long commentary, and as for the topic report (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/special-reports",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("specialReports"))
                    .summary(Some("The special reports issued, latest first (at most 200; `more` says when more match)"))
                    .parameter(query("year", false, "Only the issues of this year (China Standard Time), e.g. 2026"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Latest first", "SpecialReportList"))
                                .response("422", error("A year that is not one (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/circulars",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("issueCircular"))
                    .summary(Some("Issue a circular of criticism (督办通报) naming, agency by agency, the open orders long past their deadline (supervisors and administrators); logged"))
                    .description(Some(
                        "Names every open order at least `overdue_days` (default 3) past its deadline now, up to 20 an \
                         agency (all counted), under the year's next number (督办通报 2026年第2期), kept as issued; the \
                         named agencies' staff, every leader and supervisor (but the issuer) are told, in the same \
                         transaction. An `Idempotency-Key` makes retries safe.",
                    ))
                    .parameter(idempotency_key())
                    .request_body(Some(body_of("NewCircular")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("201", ok("Issued", "Circular"))
                                .response("400", error("Malformed JSON (`malformed_json`) or a bad `Idempotency-Key` (`invalid_idempotency_key`)"))
                                .response("409", error("The `Idempotency-Key` was used for another request (`idempotency_key_reused`)"))
                                .response("422", error("Bad title, commentary or days, or no order that overdue to name (`validation_failed`: `none_overdue`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/circulars",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("circulars"))
                    .summary(Some("The circulars of criticism issued, latest first (at most 200; `more` says when more match); agency staff too"))
                    .parameter(query("year", false, "Only the circulars of this year (China Standard Time), e.g. 2026"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("Latest first", "CircularList"))
                                .response("422", error("A year that is not one (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/circulars/{id}",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("circular"))
                    .summary(Some(
                        "One circular of criticism, as issued; agency staff too",
                    ))
                    .parameter(named_path("id", "The circular's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("As issued", "Circular"))
                                .response("404", error("No such circular (`not_found`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/circulars/{id}/withdraw",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("withdrawCircular"))
                    .summary(Some("Withdraw a circular of criticism (撤回) with the reason (supervisors and administrators)"))
                    .description(Some(
                        "It stays on the list and can be read, marked as withdrawn; everyone told of it (the named agencies' \
                         staff, the leaders and supervisors, but the one who withdraws it) is told, in the same transaction. \
                         Withdrawing a withdrawn circular answers it as it is.",
                    ))
                    .parameter(named_path("id", "The circular's id"))
                    .request_body(Some(body_of("WithdrawIssue")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The circular, withdrawn", "Circular"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("404", error("No such circular (`not_found`)"))
                                .response("422", error("A missing or too long reason (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/admin/special-reports/{id}/withdraw",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("withdrawSpecialReport"))
                    .summary(Some("Withdraw a special report (撤回) with the reason (supervisors and administrators)"))
                    .description(Some(
                        "It stays on the list and can be read, marked as withdrawn; every leader and supervisor (but the \
                         one who withdraws it) is told, in the same transaction. Withdrawing a withdrawn report answers it \
                         as it is.",
                    ))
                    .parameter(named_path("id", "The report's id"))
                    .request_body(Some(body_of("WithdrawIssue")))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The report, withdrawn", "SpecialReport"))
                                .response("400", error("Malformed JSON (`malformed_json`)"))
                                .response("404", error("No such report (`not_found`)"))
                                .response("422", error("A missing or too long reason (`validation_failed`)")),
                        )
                        .build(),
                    ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/special-reports/{id}",
            vec![HttpMethod::Get],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("specialReport"))
                    .summary(Some("One special report, with its figures as issued"))
                    .parameter(named_path("id", "The report's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The issue", "SpecialReport"))
                                .response("404", error("No such report (`not_found`)")),
                        )
                        .build(),
                    ),
            ),
        );

        doc.paths.add_path_operation(
            "/api/v1/admin/leader-days/{id}/cancel",
            vec![HttpMethod::Post],
            secured(
                OperationBuilder::new()
                    .operation_id(Some("cancelLeaderDay"))
                    .summary(Some("Cancel a leader answering day before it ends, while no call names it (supervisors and administrators); logged"))
                    .description(Some(
                        "The day stays on the list with `cancelled_at`; operators can no longer name it. Cancelling a \
                         cancelled day again answers it as it is.",
                    ))
                    .parameter(named_path("id", "The day's id"))
                    .responses(
                        common_errors(
                            ResponsesBuilder::new()
                                .response("200", ok("The day, cancelled", "LeaderDay"))
                                .response("404", error("No such day (`not_found`)"))
                                .response("409", error("The day is over, or calls name it (`leader_day_in_use`)")),
                        )
                        .build(),
                    ),
            ),
        );

        let hotspot_parameters = |operation: OperationBuilder| {
            operation
                .parameter(query(
                    "by",
                    false,
                    "`grid` (default; 网格) or `district` (区县)",
                ))
                .parameter(query(
                    "days",
                    false,
                    "The period: the last 1–90 days, default 7",
                ))
                .parameter(query(
                    "category",
                    false,
                    "Only requests of this category or under it, by code",
                ))
        };
        doc.paths.add_path_operation(
            "/api/v1/supervision/hotspots",
            vec![HttpMethod::Get],
            secured(
                hotspot_parameters(
                    OperationBuilder::new()
                        .operation_id(Some("hotspots"))
                        .summary(Some("Where requests gather and orders go unresolved: each grid's or district's requests in the period against the period before, its open and overdue orders, its top categories, and its risk level by the stated formula"))
                        .description(Some(
                            "For the centre, supervisors, city leaders and administrators. Places with a request in the \
                             period or an open order, highest level first; `unplaced` counts what falls in no place.",
                        )),
                )
                .responses(
                    common_errors(
                        ResponsesBuilder::new()
                            .response("200", ok("Highest level first", "Hotspots"))
                            .response("422", error("Bad grouping, period or category (`validation_failed`)")),
                    )
                    .build(),
                ),
            ),
        );
        doc.paths.add_path_operation(
            "/api/v1/supervision/risk-map",
            vec![HttpMethod::Get],
            secured(
                hotspot_parameters(
                    OperationBuilder::new()
                        .operation_id(Some("riskMap"))
                        .summary(Some("The city risk map: every grid or district with its boundary and risk level, as a GeoJSON FeatureCollection for a map to colour")),
                )
                .responses(
                    common_errors(
                        ResponsesBuilder::new()
                            .response(
                                "200",
                                ResponseBuilder::new()
                                    .description("GeoJSON (RFC 7946); the scope's fields are foreign members")
                                    .content("application/geo+json", json("RiskMap"))
                                    .build(),
                            )
                            .response("422", error("Bad grouping, period or category (`validation_failed`)")),
                    )
                    .build(),
                ),
            ),
        );

        let live = OperationBuilder::new()
            .operation_id(Some("health"))
            .summary(Some("Liveness of the gateway; no token needed"))
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "200",
                        ResponseBuilder::new().description("`{\"status\":\"ok\"}`"),
                    )
                    .build(),
            )
            .build();
        let components = OperationBuilder::new()
            .operation_id(Some("componentHealth"))
            .summary(Some(
                "Whether every private component answers through the gateway; no token needed",
            ))
            .parameter(query(
                "component",
                false,
                "Only this component, e.g. `intake`",
            ))
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "200",
                        ok("Every component asked answered", "ComponentHealth"),
                    )
                    .response(
                        "503",
                        ok(
                            "Some component is failing: `\"status\":\"degraded\"`",
                            "ComponentHealth",
                        ),
                    )
                    .response("404", error("No component of that id (`not_found`)"))
                    .build(),
            )
            .build();
        doc.paths
            .add_path_operation("/health", vec![HttpMethod::Get], live);
        doc.paths
            .add_path_operation("/health/components", vec![HttpMethod::Get], components);
        partner_paths(&mut doc);
        open311_paths(&mut doc);
        database_unavailable(&mut doc);
        doc
    }

    /// The document as committed: pretty JSON with a final newline.
    pub fn to_pretty_json() -> String {
        let mut text = ApiDoc::build()
            .to_pretty_json()
            .expect("the document serialises");
        text.push('\n');
        text
    }
}

/// Every operation that can fail inside (a 500) answers 503 `database_unavailable` while the
/// database cannot serve it: added beside its 500, in the same shape (the envelope, or
/// Open311's error list), or to the words of a 503 it has already.
fn database_unavailable(doc: &mut utoipa::openapi::OpenApi) {
    const WORDS: &str = "the database cannot serve the request for a moment \
                         (`database_unavailable`: its server starting again, say, or the \
                         request's transaction ended to break a deadlock with another's): \
                         nothing was written; send the same request again after the seconds \
                         `Retry-After` gives";
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            let Some(RefOr::T(internal)) = responses.get("500").cloned() else {
                continue;
            };
            match responses.get_mut("503") {
                Some(RefOr::T(busy)) => {
                    busy.description = format!("{}; or {WORDS}", busy.description)
                }
                _ => {
                    let mut unavailable = internal;
                    unavailable.description =
                        format!("The service is briefly unavailable: {WORDS}");
                    responses.insert("503".to_owned(), RefOr::T(unavailable));
                }
            }
        }
    }
}

/// Administrators' management of partner systems and their Open311 keys.
fn partner_paths(doc: &mut utoipa::openapi::OpenApi) {
    let partner_id = || {
        ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The partner's id"))
    };
    let admin = |operation: OperationBuilder, responses: ResponsesBuilder| {
        operation
            .responses(common_errors(responses).build())
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .build()
    };
    doc.paths.add_path_operation(
        "/api/v1/admin/partners",
        vec![HttpMethod::Get],
        admin(
            OperationBuilder::new()
                .operation_id(Some("partners"))
                .summary(Some("Partner systems (对接系统) and whether their keys are revoked (administrators)")),
            ResponsesBuilder::new().response("200", ok("By id", "PartnerList")),
        ),
    );
    doc.paths.add_path_operation(
        "/api/v1/admin/partners",
        vec![HttpMethod::Post],
        admin(
            OperationBuilder::new()
                .operation_id(Some("createPartner"))
                .summary(Some("Add a partner system and issue its Open311 `api_key`, shown this once (administrators); logged"))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .content("application/json", json("NewPartner"))
                        .required(Some(Required::True))
                        .build(),
                )),
            ResponsesBuilder::new()
                .response("201", ok("Added, with its key", "IssuedPartner"))
                .response("400", error("Malformed JSON (`malformed_json`)"))
                .response("409", error("The id is taken, by a revoked partner too (`partner_exists`)"))
                .response("422", error("Bad id or name (`validation_failed`)")),
        ),
    );
    doc.paths.add_path_operation(
        "/api/v1/admin/partners/{id}/key",
        vec![HttpMethod::Post],
        admin(
            OperationBuilder::new()
                .operation_id(Some("newPartnerKey"))
                .summary(Some("Issue a partner a new `api_key`, shown this once: the old one opens nothing from now on, and a revoked partner is restored (administrators); logged"))
                .parameter(partner_id()),
            ResponsesBuilder::new()
                .response("200", ok("The partner, with its new key", "IssuedPartner"))
                .response("404", error("No such partner (`not_found`)")),
        ),
    );
    doc.paths.add_path_operation(
        "/api/v1/admin/partners/{id}/revoke",
        vec![HttpMethod::Post],
        admin(
            OperationBuilder::new()
                .operation_id(Some("revokePartner"))
                .summary(Some("Revoke a partner's key: it opens nothing from the next request on (administrators); logged"))
                .parameter(partner_id()),
            ResponsesBuilder::new()
                .response("200", ok("The partner, revoked (again: unchanged)", "Partner"))
                .response("404", error("No such partner (`not_found`)")),
        ),
    );
}

/// Open311 GeoReport v2, as the specification defines its resources and shapes
/// (<http://wiki.open311.org/GeoReport_v2>); listed here for where it is and what this hotline
/// asks beyond the specification.
fn open311_paths(doc: &mut utoipa::openapi::OpenApi) {
    let format = || {
        ParameterBuilder::new()
            .name("format")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("`json` or `xml`: the answer's format, errors too"))
    };
    let id = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(description))
    };
    let key = || {
        query(
            "api_key",
            true,
            "The partner's key (in a POST, in the form or the query)",
        )
    };
    let answer = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().build())
            .content("text/xml", ContentBuilder::new().build())
            .build()
    };
    let errors = |responses: ResponsesBuilder| {
        responses
            .response("404", answer("No such resource (`not_found`), in Open311's error list: `[{\"code\":404,\"description\":\"not_found: …\"}]`"))
            .response("429", answer("Too many requests (`rate_limited`); see `Retry-After`"))
            .response("500", answer("Internal error (`internal`)"))
            .build()
    };
    let keyed = |responses: ResponsesBuilder| {
        errors(
            responses
                .response(
                    "400",
                    answer("Bad parameters (`validation_failed`), each named as Open311 names it"),
                )
                .response(
                    "403",
                    answer("No `api_key`, or an unknown or revoked one (`invalid_api_key`)"),
                ),
        )
    };
    let operation = |id: &str, summary: &str| {
        OperationBuilder::new()
            .operation_id(Some(id))
            .summary(Some(summary))
            .tag("Open311")
    };
    doc.paths.add_path_operation(
        "/open311/v2/discovery.{format}",
        vec![HttpMethod::Get],
        operation(
            "open311Discovery",
            "Open311 service discovery: the endpoint, its formats and changeset",
        )
        .parameter(format())
        .responses(errors(
            ResponsesBuilder::new().response("200", answer("`discovery`")),
        ))
        .build(),
    );
    doc.paths.add_path_operation(
        "/open311/v2/services.{format}",
        vec![HttpMethod::Get],
        operation("open311Services", "Open311 services: every second-level category (`group` its first level); no key needed")
            .parameter(format())
            .responses(errors(ResponsesBuilder::new().response("200", answer("`services`"))))
            .build(),
    );
    doc.paths.add_path_operation(
        "/open311/v2/services/{service_code}.{format}",
        vec![HttpMethod::Get],
        operation(
            "open311ServiceDefinition",
            "Open311 service definition: no service has attributes of its own; no key needed",
        )
        .parameter(id(
            "service_code",
            "A category code, e.g. `urban.streetlight`",
        ))
        .parameter(format())
        .responses(errors(
            ResponsesBuilder::new().response("200", answer("`service_definition`")),
        ))
        .build(),
    );
    doc.paths.add_path_operation(
        "/open311/v2/requests.{format}",
        vec![HttpMethod::Post],
        operation("open311File", "Open311: file a request (form-encoded), for the citizen `phone` names")
            .description(Some(
                "`application/x-www-form-urlencoded`: `api_key`, `service_code`, `lat` and `long` or `address_string`, \
                 `description` (required here: the title is its first line), `phone` (required here: the agency calls \
                 back), `media_url`; names, e-mail, device and account ids and attributes are not kept. Filed at once on \
                 the `partner` channel: the answer names the `service_request_id` (the tracking number). An \
                 `Idempotency-Key` header makes retries safe, as on the app's API.",
            ))
            .parameter(format())
            .parameter(idempotency_key())
            .responses(keyed(
                ResponsesBuilder::new()
                    .response("201", answer("`service_requests`: one, with `service_request_id` and `service_notice`"))
                    .response("409", answer("The `Idempotency-Key` was used for another request (`idempotency_key_reused`)"))
                    .response("415", answer("Not a form (`unsupported_media_type`)")),
            ))
            .build(),
    );
    doc.paths.add_path_operation(
        "/open311/v2/requests.{format}",
        vec![HttpMethod::Get],
        operation(
            "open311Requests",
            "Open311: the requests this partner filed, newest first, at most 1000",
        )
        .parameter(key())
        .parameter(format())
        .parameter(query(
            "service_request_id",
            false,
            "Tracking numbers, comma-separated (at most 100); the other filters then do not apply",
        ))
        .parameter(query(
            "service_code",
            false,
            "Category codes, comma-separated",
        ))
        .parameter(query(
            "start_date",
            false,
            "ISO 8601 with a zone; default 90 days before `end_date`",
        ))
        .parameter(query(
            "end_date",
            false,
            "ISO 8601 with a zone; default now; at most 90 days after `start_date`",
        ))
        .parameter(query(
            "status",
            false,
            "`open`, `closed` or both, comma-separated",
        ))
        .responses(keyed(
            ResponsesBuilder::new().response("200", answer("`service_requests`")),
        ))
        .build(),
    );
    doc.paths.add_path_operation(
        "/open311/v2/requests/{service_request_id}.{format}",
        vec![HttpMethod::Get],
        operation(
            "open311Request",
            "Open311: one request this partner filed (another's is 404)",
        )
        .parameter(id("service_request_id", "The tracking number"))
        .parameter(key())
        .parameter(format())
        .responses(keyed(
            ResponsesBuilder::new().response("200", answer("`service_requests`: the one")),
        ))
        .build(),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_lists_exactly_the_route_table() {
        let doc = serde_json::to_value(crate::ApiDoc::build()).expect("json");
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            if !path.starts_with("/api/") && !path.starts_with("/open311/") {
                continue;
            }
            // `{id}` in the document is `{}` in the table.
            let pattern = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "{}"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for method in item.as_object().expect("operations").keys() {
                documented.push((method.to_uppercase(), pattern.clone()));
            }
        }
        let mut routed: Vec<(String, String)> = crate::routes::ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.pattern.to_owned()))
            .chain(
                crate::routes::OPEN311
                    .iter()
                    .map(|(method, pattern)| ((*method).to_owned(), (*pattern).to_owned())),
            )
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }

    #[test]
    fn the_committed_document_is_current() {
        let committed = include_str!("../openapi.json");
        assert!(
            committed == super::ApiDoc::to_pretty_json(),
            "mobile-api/openapi.json is stale: run `cargo xtask openapi` and commit the result"
        );
    }
}
