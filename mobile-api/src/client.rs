//! A typed client for the mobile API (native only: reqwest does not build for wasm32-wasip2).

use crate::{
    AccountCancelled, AuditLog, BindPhone, CalendarDay, CalendarDayList, CreateRequest,
    DispatchRule, DispatchRuleChangeList, DispatchRuleList, ErrorEnvelope, MyAccount,
    NearbyOrderList, NewDispatchRule, NewStaffAccount, OrderAction, PasswordChange, PasswordReset,
    RefreshTokenBody, SetCalendarDay, SmsCodeRequest, SmsCodeSent, SmsSignIn, StaffAccount,
    StaffAccountChange, StaffAccountList, StaffOrder, StaffOrderList, StaffSignIn, TokenPair,
    WechatSignIn, WorkOrder, WorkOrderPage, headers,
};
use crate::{
    DeliveryList, Device, DeviceList, NewDevice, Notification, NotificationPage,
    NotificationTemplate, NotificationTemplateList, SetNotificationTemplate,
};

/// A query string with nothing in it.
const NO_QUERY: [(&str, &str); 0] = [];

/// An answer's `Retry-After`, in seconds (the server sends only seconds, never a date).
fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// What a call can end with, besides success.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with the error envelope.
    #[error("{status}: {} ({})", .envelope.error.code, .envelope.error.message)]
    Api {
        status: u16,
        envelope: ErrorEnvelope,
        /// The seconds the server asked the client to wait before sending the request again
        /// (`Retry-After`: a 429, or a 503 such as `database_unavailable`), if it gave them.
        retry_after: Option<u64>,
    },
    /// The server answered with something that is not the envelope.
    #[error("{status}: unexpected body {body:?}")]
    Unexpected { status: u16, body: String },
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
}

impl ClientError {
    /// The stable error code, when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { envelope, .. } => Some(&envelope.error.code),
            _ => None,
        }
    }

    /// The fields a 422 names (`validation_failed`); none otherwise.
    pub fn fields(&self) -> &[crate::FieldError] {
        match self {
            ClientError::Api { envelope, .. } => &envelope.error.fields,
            _ => &[],
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Transport(_) => None,
        }
    }
}

/// A photo read (`Client::photo_unless`): its media type, its bytes, and what lets a device keep
/// it: the `etag` to send when reading it again, and how long it may be kept (`cache-control`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoFile {
    pub content_type: String,
    pub etag: Option<String>,
    pub cache_control: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client for the gateway at `base` (e.g. `http://127.0.0.1:3000`).
    pub fn new(base: impl Into<String>) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
            token: None,
        }
    }

    /// The same client, calling with `token` as its bearer token.
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn parse<T: serde::de::DeserializeOwned>(
        response: reqwest::Response,
    ) -> Result<T, ClientError> {
        Self::parse_answer(response, |status| (200..300).contains(&status)).await
    }

    /// The answer's JSON when `is_answer` says its status carries one; otherwise the error
    /// envelope.
    async fn parse_answer<T: serde::de::DeserializeOwned>(
        response: reqwest::Response,
        is_answer: impl Fn(u16) -> bool,
    ) -> Result<T, ClientError> {
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        let body = response.text().await?;
        if is_answer(status) {
            return serde_json::from_str(&body)
                .map_err(|_| ClientError::Unexpected { status, body });
        }
        match serde_json::from_str::<ErrorEnvelope>(&body) {
            Ok(envelope) => Err(ClientError::Api {
                status,
                envelope,
                retry_after,
            }),
            Err(_) => Err(ClientError::Unexpected { status, body }),
        }
    }

    /// `POST /api/v1/requests`.
    pub async fn create_request(
        &self,
        request: &CreateRequest,
        idempotency_key: Option<&str>,
    ) -> Result<WorkOrder, ClientError> {
        self.post_json_keyed("/api/v1/requests", request, idempotency_key)
            .await
    }

    /// `GET /api/v1/requests`.
    pub async fn list_requests(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<WorkOrderPage, ClientError> {
        let mut query = Vec::new();
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        self.get_json("/api/v1/requests", &query).await
    }

    /// `GET /api/v1/requests/{id or tracking number}`.
    pub async fn get_request(&self, id_or_tracking_number: &str) -> Result<WorkOrder, ClientError> {
        let path = format!("/api/v1/requests/{id_or_tracking_number}");
        Self::parse(self.request(reqwest::Method::GET, &path).send().await?).await
    }

    /// `GET /api/v1/centre/queue` (operators, supervisors): orders to dispatch.
    pub async fn queue(&self) -> Result<StaffOrderList, ClientError> {
        self.centre_queue("dispatch").await
    }

    /// `GET /api/v1/centre/queue?kind=` (dispatch, returns, extensions, audits, redo,
    /// co_handling).
    pub async fn centre_queue(&self, kind: &str) -> Result<StaffOrderList, ClientError> {
        let request = self
            .request(reqwest::Method::GET, "/api/v1/centre/queue")
            .query(&[("kind", kind)]);
        Self::parse(request.send().await?).await
    }

    /// `GET /api/v1/centre/queue/counts` (operators, supervisors): how many wait in each queue.
    pub async fn centre_queue_counts(&self) -> Result<crate::CentreQueueCounts, ClientError> {
        let request = self.request(reqwest::Method::GET, "/api/v1/centre/queue/counts");
        Self::parse(request.send().await?).await
    }

    /// `GET /api/v1/tasks` (agency staff), optionally one status only.
    pub async fn tasks(&self, status: Option<&str>) -> Result<StaffOrderList, ClientError> {
        let query: Vec<(&str, &str)> = status.map(|s| vec![("status", s)]).unwrap_or_default();
        self.get_json("/api/v1/tasks", &query).await
    }

    /// `GET /api/v1/orders` (staff): a search, with e.g. `("phone", "13800138000")`,
    /// `("q", "路灯")`, `("status", "dispatched,signed")`, `("from", "2026-11-01")`, `("cursor", …)`.
    pub async fn search_orders(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::StaffOrderPage, ClientError> {
        self.get_json("/api/v1/orders", query).await
    }

    /// `GET /api/v1/orders/export` (staff): the same search whole, as the CSV file's text.
    pub async fn export_orders(&self, query: &[(&str, &str)]) -> Result<String, ClientError> {
        let response = self
            .request(reqwest::Method::GET, "/api/v1/orders/export")
            .query(query)
            .send()
            .await?;
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        let body = response.text().await?;
        if status == 200 {
            return Ok(body);
        }
        Err(match serde_json::from_str(&body) {
            Ok(envelope) => ClientError::Api {
                status,
                envelope,
                retry_after,
            },
            Err(_) => ClientError::Unexpected { status, body },
        })
    }

    /// `GET /api/v1/orders/{id}` (staff).
    pub async fn order(&self, id: &str) -> Result<StaffOrder, ClientError> {
        Self::parse(
            self.request(reqwest::Method::GET, &format!("/api/v1/orders/{id}"))
                .send()
                .await?,
        )
        .await
    }

    /// `POST /api/v1/orders/{id}/actions/{action}` as staff: the order afterwards.
    pub async fn act(
        &self,
        id: &str,
        action: &str,
        body: &OrderAction,
    ) -> Result<StaffOrder, ClientError> {
        let path = format!("/api/v1/orders/{id}/actions/{action}");
        self.post_json(&path, body).await
    }

    /// `POST /api/v1/orders/{id}/actions/rate` as the citizen (no body in the answer).
    pub async fn rate(
        &self,
        id: &str,
        satisfaction: &str,
        solved: &str,
        comment: Option<&str>,
    ) -> Result<(), ClientError> {
        let body = OrderAction {
            satisfaction: Some(satisfaction.to_owned()),
            solved: Some(solved.to_owned()),
            comment: comment.map(str::to_owned),
            ..OrderAction::default()
        };
        self.citizen_action(id, "rate", &body).await
    }

    /// `POST /api/v1/orders/{id}/actions/{action}` as a citizen, whose answer has no body.
    async fn citizen_action(
        &self,
        id: &str,
        action: &str,
        body: &OrderAction,
    ) -> Result<(), ClientError> {
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/orders/{id}/actions/{action}"),
            )
            .json(body)
            .send()
            .await?;
        Self::no_content(response).await
    }

    /// `POST /api/v1/requests/{id}/supplements` (the citizen who filed it, or an operator); a
    /// retry under the same `idempotency_key` gets the first answer.
    pub async fn supplement(
        &self,
        id: &str,
        supplement: &crate::NewSupplement,
        idempotency_key: Option<&str>,
    ) -> Result<crate::Supplement, ClientError> {
        self.post_json_keyed(
            &format!("/api/v1/requests/{id}/supplements"),
            supplement,
            idempotency_key,
        )
        .await
    }

    /// `POST /api/v1/photos`: uploads `bytes` sent as they are, with `content_type` (a picture's
    /// media type, or `multipart/form-data; boundary=...` for a form holding one in its `file`
    /// part). The same bytes again give the photo they made before.
    pub async fn upload_photo(
        &self,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<crate::Photo, ClientError> {
        let response = self
            .request(reqwest::Method::POST, "/api/v1/photos")
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await?;
        Self::parse(response).await
    }

    /// `GET` on a photo's `url` (`/api/v1/photos/{id}`): its media type and bytes.
    pub async fn photo(&self, url: &str) -> Result<(String, Vec<u8>), ClientError> {
        let read = self
            .photo_unless(url, None)
            .await?
            .ok_or(ClientError::Unexpected {
                status: 304,
                body: String::new(),
            })?;
        Ok((read.content_type, read.bytes))
    }

    /// `GET` on a photo's `url` with `If-None-Match: etag` (the `etag` of an earlier read):
    /// `None` when the photo is the one read then (304, without its bytes), which, as a photo
    /// never changes, is whenever it still exists.
    pub async fn photo_unless(
        &self,
        url: &str,
        etag: Option<&str>,
    ) -> Result<Option<PhotoFile>, ClientError> {
        let mut request = self.request(reqwest::Method::GET, url);
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        let response = request.send().await?;
        match response.status().as_u16() {
            200 => {}
            304 => return Ok(None),
            _ => {
                return Self::parse_answer::<()>(response, |_| false)
                    .await
                    .map(|()| None);
            }
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let etag = header("etag");
        let cache_control = header("cache-control");
        Ok(Some(PhotoFile {
            content_type,
            etag,
            cache_control,
            bytes: response.bytes().await?.to_vec(),
        }))
    }

    /// `POST /api/v1/orders/{id}/actions/withdraw` as the citizen who filed it (no body in the
    /// answer): the request is no longer wanted, before dispatch.
    pub async fn withdraw(&self, id: &str, reason: Option<&str>) -> Result<(), ClientError> {
        let body = OrderAction {
            reason: reason.map(str::to_owned),
            ..OrderAction::default()
        };
        self.citizen_action(id, "withdraw", &body).await
    }

    /// `POST /api/v1/orders/{id}/actions/urge` as the citizen who filed it (no body in the
    /// answer): 市民催办, once a day while an agency holds it; the agency's staff are told.
    pub async fn urge(&self, id: &str, note: Option<&str>) -> Result<(), ClientError> {
        let body = OrderAction {
            note: note.map(str::to_owned),
            ..OrderAction::default()
        };
        self.citizen_action(id, "urge", &body).await
    }

    /// `GET /api/v1/follow-ups` (the centre): the first page of the follow-up queue.
    pub async fn follow_ups(&self) -> Result<crate::FollowUpList, ClientError> {
        self.get_json("/api/v1/follow-ups", &[] as &[(&str, &str)])
            .await
    }

    /// `GET /health/components` (no token needed), for every private component or the one named.
    /// A 503 is an answer too: its body says which component is failing.
    pub async fn component_health(
        &self,
        only: Option<&str>,
    ) -> Result<crate::ComponentHealth, ClientError> {
        let query: Vec<(&str, &str)> = only.map(|id| ("component", id)).into_iter().collect();
        let response = self
            .request(reqwest::Method::GET, "/health/components")
            .query(&query)
            .send()
            .await?;
        Self::parse_answer(response, |status| {
            (200..300).contains(&status) || status == 503
        })
        .await
    }

    /// `GET /api/v1/stats/kpis`, with query parameters such as `("from", "2026-11-01")`.
    pub async fn kpis(&self, query: &[(&str, &str)]) -> Result<crate::KpiReport, ClientError> {
        self.get_json("/api/v1/stats/kpis", query).await
    }

    /// `GET /api/v1/stats/kpis/orders`: the cases behind a figure (one page).
    pub async fn kpi_cases(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::KpiCaseList, ClientError> {
        self.get_json("/api/v1/stats/kpis/orders", query).await
    }

    /// `POST /api/v1/orders/{id}/appeals` (agency staff): appeal one KPI case (考核申诉).
    pub async fn file_appeal(
        &self,
        id: &str,
        appeal: &crate::NewAppeal,
    ) -> Result<crate::KpiAppeal, ClientError> {
        self.post_json(&format!("/api/v1/orders/{id}/appeals"), appeal)
            .await
    }

    /// `GET /api/v1/appeals`, with e.g. `("status", "approved")`.
    pub async fn appeals(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::KpiAppealList, ClientError> {
        self.get_json("/api/v1/appeals", query).await
    }

    /// `POST /api/v1/appeals/{id}/decision` (supervisors).
    pub async fn decide_appeal(
        &self,
        id: i64,
        decision: &crate::AppealDecision,
    ) -> Result<crate::KpiAppeal, ClientError> {
        self.post_json(&format!("/api/v1/appeals/{id}/decision"), decision)
            .await
    }

    /// `GET /api/v1/supervision/board`, with e.g. `("group_by", "district")`.
    pub async fn supervision_board(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::SupervisionBoard, ClientError> {
        self.get_json("/api/v1/supervision/board", query).await
    }

    /// `GET /api/v1/supervision/overdue` (one page), with e.g. `("agency", "city-water")`.
    pub async fn overdue_orders(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::OverdueOrderList, ClientError> {
        self.get_json("/api/v1/supervision/overdue", query).await
    }

    /// `GET /api/v1/supervision/report`, with e.g. `("period", "week")`, `("date", "2026-11-30")`.
    pub async fn period_report(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::PeriodReport, ClientError> {
        self.get_json("/api/v1/supervision/report", query).await
    }

    /// `GET /api/v1/supervision/hotspots`, with e.g. `("by", "district")`, `("days", "30")`.
    pub async fn hotspots(&self, query: &[(&str, &str)]) -> Result<crate::Hotspots, ClientError> {
        self.get_json("/api/v1/supervision/hotspots", query).await
    }

    /// `GET /api/v1/supervision/risk-map` (GeoJSON), with the hot spots' query.
    pub async fn risk_map(&self, query: &[(&str, &str)]) -> Result<crate::RiskMap, ClientError> {
        self.get_json("/api/v1/supervision/risk-map", query).await
    }

    /// `GET /api/v1/knowledge`, with e.g. `("q", "社保卡丢了怎么补办")`, `("category", "social")`.
    pub async fn search_knowledge(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::KnowledgeArticleList, ClientError> {
        self.get_json("/api/v1/knowledge", query).await
    }

    /// `GET /api/v1/knowledge/{id}`.
    pub async fn knowledge_article(&self, id: i64) -> Result<crate::KnowledgeArticle, ClientError> {
        self.get_json(&format!("/api/v1/knowledge/{id}"), &[] as &[(&str, &str)])
            .await
    }

    /// `POST /api/v1/admin/knowledge` (supervisors and administrators).
    pub async fn create_knowledge_article(
        &self,
        article: &crate::KnowledgeArticleInput,
    ) -> Result<crate::KnowledgeArticle, ClientError> {
        self.post_json("/api/v1/admin/knowledge", article).await
    }

    /// `PUT /api/v1/admin/knowledge/{id}` (supervisors and administrators).
    pub async fn update_knowledge_article(
        &self,
        id: i64,
        article: &crate::KnowledgeArticleInput,
    ) -> Result<crate::KnowledgeArticle, ClientError> {
        self.put_json(&format!("/api/v1/admin/knowledge/{id}"), article)
            .await
    }

    /// `POST /api/v1/admin/knowledge/{id}/retire` (supervisors and administrators).
    pub async fn retire_knowledge_article(
        &self,
        id: i64,
    ) -> Result<crate::KnowledgeArticle, ClientError> {
        let path = format!("/api/v1/admin/knowledge/{id}/retire");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `POST /api/v1/admin/knowledge/{id}/restore` (supervisors and administrators).
    pub async fn restore_knowledge_article(
        &self,
        id: i64,
    ) -> Result<crate::KnowledgeArticle, ClientError> {
        let path = format!("/api/v1/admin/knowledge/{id}/restore");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `GET /api/v1/admin/knowledge/{id}/history` (supervisors and administrators): oldest first.
    pub async fn knowledge_article_history(
        &self,
        id: i64,
    ) -> Result<crate::KnowledgeArticleHistory, ClientError> {
        self.get_json(
            &format!("/api/v1/admin/knowledge/{id}/history"),
            &[] as &[(&str, &str)],
        )
        .await
    }

    /// `GET /api/v1/admin/knowledge/retired` (supervisors and administrators): latest retired first.
    pub async fn retired_knowledge_articles(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::KnowledgeArticleList, ClientError> {
        self.get_json("/api/v1/admin/knowledge/retired", query)
            .await
    }

    /// `GET /api/v1/supervision/leader-days`: the leader answering days, latest first.
    pub async fn leader_days(&self) -> Result<crate::LeaderDayList, ClientError> {
        self.get_json("/api/v1/supervision/leader-days", &[] as &[(&str, &str)])
            .await
    }

    /// `POST /api/v1/admin/leader-days` (supervisors and administrators).
    pub async fn schedule_leader_day(
        &self,
        day: &crate::NewLeaderDay,
    ) -> Result<crate::LeaderDay, ClientError> {
        self.post_json("/api/v1/admin/leader-days", day).await
    }

    /// `POST /api/v1/admin/leader-days/{id}/cancel` (supervisors and administrators).
    pub async fn cancel_leader_day(&self, id: i64) -> Result<crate::LeaderDay, ClientError> {
        let path = format!("/api/v1/admin/leader-days/{id}/cancel");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `GET /api/v1/supervision/early-warnings`: problems surging in a district, latest first.
    /// `GET /api/v1/supervision/early-warnings`, with e.g. `("from", "2026-11-01")`,
    /// `("to", "2026-11-30")`, `("district", "yicheng")`, `("category", "urban")`.
    pub async fn early_warnings(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::EarlyWarningList, ClientError> {
        self.get_json("/api/v1/supervision/early-warnings", query)
            .await
    }

    /// `GET /api/v1/supervision/topic-report`, with e.g. `("keywords", "供暖,暖气")`,
    /// `("from", "2026-11-01")`, `("to", "2026-11-30")`, `("category", "urban")`.
    pub async fn topic_report(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::TopicReport, ClientError> {
        self.get_json("/api/v1/supervision/topic-report", query)
            .await
    }

    /// `POST /api/v1/admin/special-reports` (supervisors and administrators); a retry under the
    /// same `idempotency_key` gets the same issue.
    pub async fn issue_special_report(
        &self,
        report: &crate::NewSpecialReport,
        idempotency_key: Option<&str>,
    ) -> Result<crate::SpecialReport, ClientError> {
        self.post_json_keyed("/api/v1/admin/special-reports", report, idempotency_key)
            .await
    }

    /// `POST /api/v1/admin/special-reports/{id}/withdraw` (supervisors and administrators).
    pub async fn withdraw_special_report(
        &self,
        id: i64,
        reason: &str,
    ) -> Result<crate::SpecialReport, ClientError> {
        self.post_json(
            &format!("/api/v1/admin/special-reports/{id}/withdraw"),
            &crate::WithdrawIssue {
                reason: reason.to_owned(),
            },
        )
        .await
    }

    /// `POST /api/v1/admin/circulars/{id}/withdraw` (supervisors and administrators).
    pub async fn withdraw_circular(
        &self,
        id: i64,
        reason: &str,
    ) -> Result<crate::Circular, ClientError> {
        self.post_json(
            &format!("/api/v1/admin/circulars/{id}/withdraw"),
            &crate::WithdrawIssue {
                reason: reason.to_owned(),
            },
        )
        .await
    }

    /// `GET /api/v1/supervision/special-reports`, with e.g. `("year", "2026")`.
    /// `GET /api/v1/supervision/special-reports`: the issued special reports, latest first.
    pub async fn special_reports(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::SpecialReportList, ClientError> {
        self.get_json("/api/v1/supervision/special-reports", query)
            .await
    }

    /// `GET /api/v1/supervision/special-reports/{id}`: one, as issued.
    pub async fn special_report(&self, id: i64) -> Result<crate::SpecialReport, ClientError> {
        self.get_json(
            &format!("/api/v1/supervision/special-reports/{id}"),
            &[] as &[(&str, &str)],
        )
        .await
    }

    /// `POST /api/v1/admin/circulars` (supervisors and administrators): a circular of criticism
    /// (督办通报) naming the orders long overdue, under the year's next number.
    pub async fn issue_circular(
        &self,
        circular: &crate::NewCircular,
        idempotency_key: Option<&str>,
    ) -> Result<crate::Circular, ClientError> {
        self.post_json_keyed("/api/v1/admin/circulars", circular, idempotency_key)
            .await
    }

    /// `GET /api/v1/supervision/circulars`: the circulars issued, latest first.
    pub async fn circulars(
        &self,
        query: &[(&str, &str)],
    ) -> Result<crate::CircularList, ClientError> {
        self.get_json("/api/v1/supervision/circulars", query).await
    }

    /// `GET /api/v1/supervision/circulars/{id}`: one, as issued.
    pub async fn circular(&self, id: i64) -> Result<crate::Circular, ClientError> {
        self.get_json(
            &format!("/api/v1/supervision/circulars/{id}"),
            &[] as &[(&str, &str)],
        )
        .await
    }

    /// `GET /api/v1/admin/dispatch-rules` (administrators).
    pub async fn dispatch_rules(&self) -> Result<DispatchRuleList, ClientError> {
        self.get_json("/api/v1/admin/dispatch-rules", &[] as &[(&str, &str)])
            .await
    }

    /// `POST /api/v1/admin/dispatch-rules` (administrators).
    pub async fn create_dispatch_rule(
        &self,
        rule: &NewDispatchRule,
    ) -> Result<DispatchRule, ClientError> {
        self.post_json("/api/v1/admin/dispatch-rules", rule).await
    }

    /// `DELETE /api/v1/admin/dispatch-rules/{id}` (administrators).
    pub async fn delete_dispatch_rule(&self, id: i64) -> Result<(), ClientError> {
        let path = format!("/api/v1/admin/dispatch-rules/{id}");
        let response = self.request(reqwest::Method::DELETE, &path).send().await?;
        Self::no_content(response).await
    }

    /// `GET /api/v1/admin/dispatch-rules/changes` (administrators), newest first.
    pub async fn dispatch_rule_changes(&self) -> Result<DispatchRuleChangeList, ClientError> {
        self.get_json(
            "/api/v1/admin/dispatch-rules/changes",
            &[] as &[(&str, &str)],
        )
        .await
    }

    /// `POST /api/v1/orders/{id}/contact-phone` (staff): the citizen's number; each call is recorded.
    pub async fn contact_phone(&self, id: &str) -> Result<crate::ContactPhone, ClientError> {
        let path = format!("/api/v1/orders/{id}/contact-phone");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `GET /api/v1/requests/nearby`: open orders of `category` near the point, nearest first.
    pub async fn nearby(
        &self,
        lat: f64,
        lng: f64,
        category: &str,
        radius_m: Option<f64>,
    ) -> Result<NearbyOrderList, ClientError> {
        let mut query = vec![
            ("lat", lat.to_string()),
            ("lng", lng.to_string()),
            ("category", category.to_owned()),
        ];
        if let Some(radius) = radius_m {
            query.push(("radius", radius.to_string()));
        }
        self.get_json("/api/v1/requests/nearby", &query).await
    }

    /// `POST /api/v1/requests/{id}/follow` (citizens): the order as a follower sees it.
    pub async fn follow(&self, id: &str) -> Result<WorkOrder, ClientError> {
        let path = format!("/api/v1/requests/{id}/follow");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `DELETE /api/v1/requests/{id}/follow` (citizens).
    pub async fn unfollow(&self, id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/requests/{id}/follow");
        let response = self.request(reqwest::Method::DELETE, &path).send().await?;
        Self::no_content(response).await
    }

    /// `GET /api/v1/orders/{id}/duplicates` (the centre): open orders of the same category nearby.
    pub async fn duplicates(&self, id: &str) -> Result<NearbyOrderList, ClientError> {
        let path = format!("/api/v1/orders/{id}/duplicates");
        Self::parse(self.request(reqwest::Method::GET, &path).send().await?).await
    }

    /// `GET /api/v1/tasks?role=co_handling` (agency staff): the orders the caller's agency is asked
    /// to help with (协办) and has not answered yet.
    pub async fn co_handling_tasks(&self) -> Result<StaffOrderList, ClientError> {
        self.get_json("/api/v1/tasks", &[("role", "co_handling")])
            .await
    }

    /// `GET /api/v1/tasks` (agency staff) with every filter: status, urgency, and due within
    /// so many hours.
    pub async fn tasks_filtered(
        &self,
        status: Option<&str>,
        urgent: Option<bool>,
        due_within_hours: Option<f64>,
    ) -> Result<StaffOrderList, ClientError> {
        let mut query = Vec::new();
        if let Some(status) = status {
            query.push(("status", status.to_owned()));
        }
        if let Some(urgent) = urgent {
            query.push(("urgent", urgent.to_string()));
        }
        if let Some(hours) = due_within_hours {
            query.push(("due_within_hours", hours.to_string()));
        }
        self.get_json("/api/v1/tasks", &query).await
    }

    /// `GET /api/v1/admin/calendar?year=` (administrators).
    pub async fn calendar(&self, year: Option<i32>) -> Result<CalendarDayList, ClientError> {
        let query: Vec<(&str, String)> =
            year.map(|y| ("year", y.to_string())).into_iter().collect();
        self.get_json("/api/v1/admin/calendar", &query).await
    }

    /// `PUT /api/v1/admin/calendar/{day}` (administrators).
    pub async fn set_calendar_day(
        &self,
        day: chrono::NaiveDate,
        entry: &SetCalendarDay,
    ) -> Result<CalendarDay, ClientError> {
        self.put_json(&format!("/api/v1/admin/calendar/{day}"), entry)
            .await
    }

    /// `DELETE /api/v1/admin/calendar/{day}` (administrators).
    pub async fn delete_calendar_day(&self, day: chrono::NaiveDate) -> Result<(), ClientError> {
        let path = format!("/api/v1/admin/calendar/{day}");
        let response = self.request(reqwest::Method::DELETE, &path).send().await?;
        Self::no_content(response).await
    }

    /// `POST` a JSON body, and the answer's JSON.
    async fn put_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        Self::parse(
            self.request(reqwest::Method::PUT, path)
                .json(body)
                .send()
                .await?,
        )
        .await
    }

    async fn post_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        Self::parse(
            self.request(reqwest::Method::POST, path)
                .json(body)
                .send()
                .await?,
        )
        .await
    }

    /// `POST` with a JSON body and, if any, an `Idempotency-Key`.
    async fn post_json_keyed<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut builder = self.request(reqwest::Method::POST, path).json(body);
        if let Some(key) = idempotency_key {
            builder = builder.header(headers::IDEMPOTENCY_KEY, key);
        }
        Self::parse(builder.send().await?).await
    }

    /// `GET` with a query, and the answer's JSON.
    async fn get_json<T: serde::de::DeserializeOwned, Q: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, ClientError> {
        Self::parse(
            self.request(reqwest::Method::GET, path)
                .query(query)
                .send()
                .await?,
        )
        .await
    }

    /// An answer that should be 204 No Content.
    async fn no_content(response: reqwest::Response) -> Result<(), ClientError> {
        if response.status().as_u16() == 204 {
            return Ok(());
        }
        Self::parse::<serde_json::Value>(response).await.map(|_| ())
    }

    /// `POST /api/v1/auth/staff/sign-in` (no token needed).
    pub async fn staff_sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<TokenPair, ClientError> {
        let body = StaffSignIn {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        self.post_json("/api/v1/auth/staff/sign-in", &body).await
    }

    /// `POST /api/v1/auth/refresh`: the next pair; the refresh token given is spent.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, ClientError> {
        let body = RefreshTokenBody {
            refresh_token: refresh_token.to_owned(),
        };
        self.post_json("/api/v1/auth/refresh", &body).await
    }

    /// `POST /api/v1/auth/sign-out`: revokes the refresh token and its family, and so the
    /// access tokens issued in it.
    pub async fn sign_out(&self, refresh_token: &str) -> Result<(), ClientError> {
        let body = RefreshTokenBody {
            refresh_token: refresh_token.to_owned(),
        };
        let response = self
            .request(reqwest::Method::POST, "/api/v1/auth/sign-out")
            .json(&body)
            .send()
            .await?;
        Self::no_content(response).await
    }

    /// `GET /api/v1/me`: the caller's account.
    pub async fn me(&self) -> Result<MyAccount, ClientError> {
        self.get_json("/api/v1/me", &NO_QUERY).await
    }

    /// `POST /api/v1/me/sign-out-everywhere`: ends every session of the caller, this one too.
    pub async fn sign_out_everywhere(&self) -> Result<(), ClientError> {
        let response = self
            .request(reqwest::Method::POST, "/api/v1/me/sign-out-everywhere")
            .send()
            .await?;
        Self::no_content(response).await
    }

    /// `DELETE /api/v1/me` (citizens): cancels the caller's account (注销账号).
    pub async fn cancel_account(&self) -> Result<AccountCancelled, ClientError> {
        Self::parse(
            self.request(reqwest::Method::DELETE, "/api/v1/me")
                .send()
                .await?,
        )
        .await
    }

    /// `GET /api/v1/admin/staff` (administrators).
    pub async fn staff_accounts(&self) -> Result<StaffAccountList, ClientError> {
        self.get_json("/api/v1/admin/staff", &[] as &[(&str, &str)])
            .await
    }

    /// `POST /api/v1/admin/staff` (administrators).
    pub async fn create_staff(
        &self,
        account: &NewStaffAccount,
    ) -> Result<StaffAccount, ClientError> {
        self.post_json("/api/v1/admin/staff", account).await
    }

    /// `POST /api/v1/admin/staff/{username}/sign-out` (administrators): every session of the
    /// account ended, the account left enabled.
    pub async fn sign_out_staff(&self, username: &str) -> Result<(), ClientError> {
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/admin/staff/{username}/sign-out"),
            )
            .send()
            .await?;
        Self::no_content(response).await
    }

    /// `PUT /api/v1/admin/staff/{username}` (administrators): the account's name, role and agency.
    pub async fn change_staff(
        &self,
        username: &str,
        change: &StaffAccountChange,
    ) -> Result<StaffAccount, ClientError> {
        self.put_json(&format!("/api/v1/admin/staff/{username}"), change)
            .await
    }

    /// `POST /api/v1/me/password` (staff): their own password changed; a new token pair.
    pub async fn change_password(
        &self,
        current_password: &str,
        new_password: &str,
    ) -> Result<TokenPair, ClientError> {
        let body = PasswordChange {
            current_password: current_password.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.post_json("/api/v1/me/password", &body).await
    }

    /// `POST /api/v1/admin/staff/{username}/password` (administrators): a new password for
    /// someone who lost theirs.
    pub async fn reset_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<StaffAccount, ClientError> {
        let body = PasswordReset {
            password: password.to_owned(),
        };
        self.post_json(&format!("/api/v1/admin/staff/{username}/password"), &body)
            .await
    }

    /// `POST /api/v1/admin/staff/{username}/disable` or `/enable` (administrators).
    pub async fn set_staff_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<StaffAccount, ClientError> {
        let verb = if disabled { "disable" } else { "enable" };
        let path = format!("/api/v1/admin/staff/{username}/{verb}");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `GET /api/v1/admin/audit` (administrators), newest first.
    pub async fn audit_log(&self, action: Option<&str>) -> Result<AuditLog, ClientError> {
        let query: Vec<(&str, String)> = action
            .map(|a| ("action", a.to_owned()))
            .into_iter()
            .collect();
        self.get_json("/api/v1/admin/audit", &query).await
    }

    /// `GET /api/v1/admin/partners` (administrators).
    pub async fn partners(&self) -> Result<crate::PartnerList, ClientError> {
        self.get_json("/api/v1/admin/partners", &[] as &[(&str, &str)])
            .await
    }

    /// `POST /api/v1/admin/partners` (administrators): the partner and its key, shown this once.
    pub async fn create_partner(
        &self,
        partner: &crate::NewPartner,
    ) -> Result<crate::IssuedPartner, ClientError> {
        self.post_json("/api/v1/admin/partners", partner).await
    }

    /// `POST /api/v1/admin/partners/{id}/key` (administrators): a new key, the old one dead.
    pub async fn new_partner_key(&self, id: &str) -> Result<crate::IssuedPartner, ClientError> {
        let path = format!("/api/v1/admin/partners/{id}/key");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `POST /api/v1/admin/partners/{id}/revoke` (administrators).
    pub async fn revoke_partner(&self, id: &str) -> Result<crate::Partner, ClientError> {
        let path = format!("/api/v1/admin/partners/{id}/revoke");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `POST /api/v1/auth/sms/code` (no token needed).
    pub async fn sms_code(&self, phone: &str) -> Result<SmsCodeSent, ClientError> {
        let body = SmsCodeRequest {
            phone: phone.to_owned(),
        };
        self.post_json("/api/v1/auth/sms/code", &body).await
    }

    /// `POST /api/v1/auth/sms/sign-in` (no token needed).
    pub async fn sms_sign_in(&self, phone: &str, code: &str) -> Result<TokenPair, ClientError> {
        let body = SmsSignIn {
            phone: phone.to_owned(),
            code: code.to_owned(),
        };
        self.post_json("/api/v1/auth/sms/sign-in", &body).await
    }

    /// `POST /api/v1/auth/wechat/sign-in` (no token needed): the code from `wx.login()`.
    pub async fn wechat_sign_in(&self, code: &str) -> Result<TokenPair, ClientError> {
        let body = WechatSignIn {
            code: code.to_owned(),
        };
        self.post_json("/api/v1/auth/wechat/sign-in", &body).await
    }

    /// `POST /api/v1/auth/wechat/bind-phone` (a WeChat citizen): tokens for the merged citizen.
    pub async fn bind_phone(&self, phone: &str, code: &str) -> Result<TokenPair, ClientError> {
        let body = BindPhone {
            phone: phone.to_owned(),
            code: code.to_owned(),
        };
        self.post_json("/api/v1/auth/wechat/bind-phone", &body)
            .await
    }

    /// `GET /api/v1/notifications` (everyone signed in): the caller's own, newest first.
    pub async fn notifications(
        &self,
        cursor: Option<&str>,
        unread_only: bool,
    ) -> Result<NotificationPage, ClientError> {
        let mut query = vec![("unread", unread_only.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        self.get_json("/api/v1/notifications", &query).await
    }

    /// `POST /api/v1/notifications/read`: every one of the caller's notifications read, or those
    /// up to `through` (the newest the app showed).
    pub async fn mark_all_read(
        &self,
        through: Option<uuid::Uuid>,
    ) -> Result<crate::MarkedRead, ClientError> {
        self.post_json(
            "/api/v1/notifications/read",
            &crate::MarkAllRead { through },
        )
        .await
    }

    /// `POST /api/v1/notifications/{id}/read`.
    pub async fn mark_read(&self, id: &str) -> Result<Notification, ClientError> {
        let path = format!("/api/v1/notifications/{id}/read");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `GET /api/v1/devices`: the caller's phones.
    pub async fn devices(&self) -> Result<DeviceList, ClientError> {
        self.get_json("/api/v1/devices", &NO_QUERY).await
    }

    /// `POST /api/v1/devices`: this phone receives the caller's pushes.
    pub async fn register_device(&self, device: &NewDevice) -> Result<Device, ClientError> {
        self.post_json("/api/v1/devices", device).await
    }

    /// `DELETE /api/v1/devices/{id}`.
    pub async fn remove_device(&self, id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/devices/{id}");
        let response = self.request(reqwest::Method::DELETE, &path).send().await?;
        Self::no_content(response).await
    }

    /// `GET /api/v1/admin/deliveries?status=` (supervisors, administrators).
    pub async fn deliveries(&self, status: &str) -> Result<DeliveryList, ClientError> {
        self.get_json("/api/v1/admin/deliveries", &[("status", status)])
            .await
    }

    /// `POST /api/v1/admin/deliveries/{id}/requeue` (supervisors, administrators).
    pub async fn requeue_delivery(&self, id: &str) -> Result<crate::Delivery, ClientError> {
        let path = format!("/api/v1/admin/deliveries/{id}/requeue");
        Self::parse(self.request(reqwest::Method::POST, &path).send().await?).await
    }

    /// `GET /api/v1/admin/notification-templates` (administrators).
    pub async fn notification_templates(&self) -> Result<NotificationTemplateList, ClientError> {
        self.get_json("/api/v1/admin/notification-templates", &NO_QUERY)
            .await
    }

    /// `PUT /api/v1/admin/notification-templates/{kind}` (administrators).
    pub async fn set_notification_template(
        &self,
        kind: &str,
        template: &SetNotificationTemplate,
    ) -> Result<NotificationTemplate, ClientError> {
        let path = format!("/api/v1/admin/notification-templates/{kind}");
        Self::parse(
            self.request(reqwest::Method::PUT, &path)
                .json(template)
                .send()
                .await?,
        )
        .await
    }
}
