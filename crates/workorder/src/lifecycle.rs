//! The work-order lifecycle as a state machine: which commands exist, who may issue them, in which
//! states, and the one history event each records.
//!
//! ```text
//! received ─┬─ close_direct ─► closed_direct        (answered by the operator)
//!           ├─ hand_over ────► handed_over          (110 / 119 / 120 / 122)
//!           ├─ inform ───────► informed             (outside government's remit)
//!           ├─ merge ────────► merged               (follows an open duplicate)
//!           └─ dispatch ─────► dispatched ─ sign ─► signed ─ contact/visit ─► in_progress ─ reply ─► replied
//! dispatched/signed/in_progress ─ request_return ─► return_requested ─┬─ reassign ─► dispatched (another agency)
//!                                                                     └─ refuse_return ─► back where it was
//! replied ─┬─ pass_audit ─► awaiting_rating ─ rate ─┬─ satisfied ──► archived
//!          └─ fail_audit ─► in_progress             └─ unsatisfied ─► redo_requested ─ start_redo ─► in_progress
//!                                                                                    └─ archive ────► archived
//! Extensions are an overlay on dispatched/signed/in_progress: request_extension (before the
//! deadline) ─► approve_extension (new deadline, old one kept in the event) | refuse_extension.
//! Co-handling (协办) is another, while an agency holds the order: ask_co_handling (the centre
//! names another agency) ─► co_reply (that agency's opinion) | cancel_co_handling (the centre);
//! the holding agency replies only when every agency asked has answered. The holder may ask the
//! centre for one first: propose_co_handling ─► ask_co_handling of that agency | refuse_co_handling.
//! ```
//!
//! Invariant: `apply` either returns the next order and exactly one event, or an error and no
//! change. Both hold by construction: it borrows the order immutably and returns one `Event`
//! with the new order. The property test checks what the types cannot: every order reachable by
//! any sequence of commands is valid, and a finished order accepts nothing.

use chrono::{DateTime, Utc};

/// Where a work order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Received,
    Dispatched,
    Signed,
    InProgress,
    ReturnRequested,
    Replied,
    AwaitingRating,
    RedoRequested,
    Archived,
    ClosedDirect,
    HandedOver,
    Informed,
    Merged,
    /// Withdrawn (撤回) before dispatch: by the citizen in the app, or by the centre when the
    /// caller asks for it.
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 14] = [
        Status::Received,
        Status::Dispatched,
        Status::Signed,
        Status::InProgress,
        Status::ReturnRequested,
        Status::Replied,
        Status::AwaitingRating,
        Status::RedoRequested,
        Status::Archived,
        Status::ClosedDirect,
        Status::HandedOver,
        Status::Informed,
        Status::Merged,
        Status::Withdrawn,
    ];

    /// The stable code stored in the database and sent in the API.
    pub fn code(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Dispatched => "dispatched",
            Status::Signed => "signed",
            Status::InProgress => "in_progress",
            Status::ReturnRequested => "return_requested",
            Status::Replied => "replied",
            Status::AwaitingRating => "awaiting_rating",
            Status::RedoRequested => "redo_requested",
            Status::Archived => "archived",
            Status::ClosedDirect => "closed_direct",
            Status::HandedOver => "handed_over",
            Status::Informed => "informed",
            Status::Merged => "merged",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Finished: nothing more happens to the order.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Archived
                | Status::ClosedDirect
                | Status::HandedOver
                | Status::Informed
                | Status::Merged
                | Status::Withdrawn
        )
    }

    /// An agency holds the order and its deadline runs.
    pub fn with_agency(self) -> bool {
        matches!(
            self,
            Status::Dispatched | Status::Signed | Status::InProgress | Status::ReturnRequested
        )
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The citizen who filed the order.
    Citizen {
        owner: bool,
    },
    Operator,
    Supervisor,
    AgencyStaff {
        agency: String,
    },
    Admin,
}

impl Actor {
    fn is_centre(&self) -> bool {
        matches!(self, Actor::Operator | Actor::Supervisor | Actor::Admin)
    }
}

/// Emergency services an operator can hand a call over to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emergency {
    Police110,
    Fire119,
    Ambulance120,
    Traffic122,
}

/// A citizen's rating of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Dispatch {
        agency: String,
        deadline: DateTime<Utc>,
    },
    CloseDirect {
        answer: String,
    },
    HandOver {
        to: Emergency,
    },
    Inform {
        reason: String,
    },
    Merge {
        into_tracking_number: String,
    },
    Sign,
    RecordContact,
    RecordVisit {
        note: String,
    },
    Reply {
        result: String,
    },
    RequestReturn {
        reason: String,
    },
    Reassign {
        agency: String,
        deadline: DateTime<Utc>,
    },
    RefuseReturn {
        reason: String,
    },
    RequestExtension {
        until: DateTime<Utc>,
        reason: String,
    },
    ApproveExtension,
    RefuseExtension {
        reason: String,
    },
    PassAudit,
    FailAudit {
        reason: String,
    },
    Rate {
        satisfaction: Satisfaction,
    },
    StartRedo {
        deadline: DateTime<Utc>,
    },
    Archive,
    /// 催办: the centre urges the holding agency on, or (`agency`) an agency whose opinion the
    /// holder still awaits (协办); nothing else changes.
    Remind {
        note: String,
        agency: Option<String>,
    },
    /// 督办: a supervisor puts the order under supervision, with instructions for the agency.
    Supervise {
        note: String,
    },
    /// 重点督办: a supervisor puts the order under key supervision (a case left unresolved, or a
    /// problem many citizens raise), the level above 督办; the escalation sweep does the same to
    /// orders long overdue.
    KeySupervise {
        note: String,
    },
    /// Instead of a redo after an unsatisfied rating: a supervisor rules the complaint
    /// unreasonable (the agency did what it should), with the reason, and the order is closed.
    RuleUnreasonable {
        reason: String,
    },
    /// 回访未接通: an operator's follow-up call did not reach the citizen. After
    /// `Policy::follow_up_attempts` such calls the order is archived unrated.
    NotReached {
        note: String,
    },
    /// 撤回: the request is no longer wanted, before any agency has it. The citizen who filed it
    /// may say why; the centre, acting on a caller's word, must.
    Withdraw {
        reason: Option<String>,
    },
    /// 协办: the centre asks another agency to help the holding one with its part of the matter
    /// (`note`: what it is asked to do). The holding agency replies only once every agency asked
    /// has given its opinion: a matter that needs several agencies is not bounced between them.
    AskCoHandling {
        agency: String,
        note: String,
    },
    /// 协办意见: an agency asked to help gives its opinion (what it did, or found), once.
    CoReply {
        opinion: String,
    },
    /// The centre takes back a request for help not yet answered (the wrong agency, or one the
    /// holding agency can do without), with the reason.
    CancelCoHandling {
        agency: String,
        reason: String,
    },
    /// 市民催办: the citizen who filed the request urges the agency holding it on, in their own
    /// words or none, at most once in `Policy::citizen_urge_hours`.
    Urge {
        note: Option<String>,
    },
    /// 申请协办: the holding agency asks the centre to have another agency help (`note`: with
    /// what), one such request at a time. The centre agrees by asking that agency
    /// (`AskCoHandling`), or refuses with `RefuseCoHandling`.
    ProposeCoHandling {
        agency: String,
        note: String,
    },
    /// The centre refuses the holding agency's request for help, with the reason.
    RefuseCoHandling {
        reason: String,
    },
}

/// An agency asked to help with an order (协办单位), and whether it has given its opinion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoHandler {
    pub agency: String,
    pub answered: bool,
}

/// Agencies that may be asked to help with one order at a time, answered or not.
pub const MAX_CO_HANDLERS: usize = 5;

/// When an opinion asked for at `now` is due: at `by_working_days` (the working days the city
/// gives), or at the order's `deadline` if that comes first and is still ahead — an agency asked
/// to help with an order already overdue still gets its days.
pub fn co_handling_due(
    now: DateTime<Utc>,
    by_working_days: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    match deadline {
        Some(deadline) if deadline > now => by_working_days.min(deadline),
        _ => by_working_days,
    }
}

/// A pending request for more time.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionRequest {
    pub until: DateTime<Utc>,
    pub reason: String,
}

/// The parts of a work order the lifecycle reads and changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub status: Status,
    pub agency: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
    /// Where a return request came from, to go back there when it is refused.
    pub status_before_return: Option<Status>,
    pub returns: u32,
    pub extension: Option<ExtensionRequest>,
    pub contacted: bool,
    pub redos: u32,
    /// Under supervision (督办): put there by a supervisor, or by a redo.
    pub supervised: bool,
    /// Under key supervision (重点督办), which is supervision too.
    pub key_supervised: bool,
    /// Taken by a city leader or department head on their answering day (领导接听日): followed up
    /// with priority, under supervision from its dispatch.
    pub leader_day: bool,
    /// Follow-up calls of this round that did not reach the citizen.
    pub follow_up_attempts: u32,
    /// The agencies asked to help the holding one (协办), in the order asked; never the holder.
    pub co_handlers: Vec<CoHandler>,
    /// When its citizen last urged the holding agency on (市民催办), and how many times.
    pub urged_at: Option<DateTime<Utc>>,
    pub urgings: u32,
    /// The agency the holder asked the centre to have help it (申请协办), while the centre has
    /// not decided.
    pub co_handling_proposal: Option<String>,
}

impl Order {
    pub fn received() -> Order {
        Order {
            status: Status::Received,
            agency: None,
            deadline: None,
            status_before_return: None,
            returns: 0,
            extension: None,
            contacted: false,
            redos: 0,
            supervised: false,
            key_supervised: false,
            leader_day: false,
            follow_up_attempts: 0,
            co_handlers: Vec::new(),
            urged_at: None,
            urgings: 0,
            co_handling_proposal: None,
        }
    }
}

/// An open order that this many citizens raise — the one who filed it, those who follow it, and
/// those whose duplicates were merged into it (who follow it too) — is a hot issue (热点问题) and
/// comes under key supervision (重点督办) while an agency holds it.
pub const HOT_ISSUE_CITIZENS: i64 = 5;

/// The history event a command records (one per accepted command).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// A stable code, e.g. `dispatched`.
    pub code: &'static str,
    /// A free-text note for staff (reasons, answers); never shown to citizens as is.
    pub note: Option<String>,
    /// The deadline before this event, when the event changed it.
    pub previous_deadline: Option<DateTime<Utc>>,
    /// The agency the event is addressed to when it is not the one holding the order (an agency
    /// asked to help: its request, its urging, its request taken back), and its staff hear of it;
    /// or, on the holder's request for help (`co_handling_proposed`), the agency it asks for.
    pub agency: Option<String>,
}

impl Event {
    /// An event with its note, addressed to the holding agency (and, by its kind, the citizen).
    pub fn new(code: &'static str, note: Option<String>) -> Self {
        Event {
            code,
            note,
            previous_deadline: None,
            agency: None,
        }
    }

    /// The same event addressed to `agency`, not the holder.
    fn to(self, agency: &str) -> Self {
        Event {
            agency: Some(agency.to_owned()),
            ..self
        }
    }
}

/// Why a command was refused. Each maps to a stable API error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this role may not do that")]
    Forbidden,
    #[error("the order is held by another agency")]
    NotYourAgency,
    #[error("the order is finished")]
    OrderClosed,
    #[error("the order is not waiting to be dispatched")]
    NotReceived,
    #[error("the order has not been signed for")]
    NotSigned,
    #[error("the order is already signed for")]
    AlreadySigned,
    #[error("the order is not being handled")]
    NotInProgress,
    #[error("the citizen has not been contacted")]
    CitizenNotContacted,
    #[error("no return is waiting for review")]
    NoReturnRequested,
    #[error("the order has been returned the maximum number of times; only the centre decides now")]
    ReturnLimitReached,
    #[error("a return is waiting for review")]
    ReturnPending,
    #[error("an extension is already waiting for review")]
    ExtensionPending,
    #[error("no extension is waiting for review")]
    NoExtensionRequested,
    #[error("an extension must be asked for before the deadline")]
    DeadlinePassed,
    #[error("the new deadline must be later than the current one")]
    DeadlineNotLater,
    #[error("the deadline must be in the future")]
    DeadlineInPast,
    #[error("reassign to another agency")]
    SameAgency,
    #[error("the order has no reply to audit")]
    NotReplied,
    #[error("the order is not waiting for a rating")]
    NotAwaitingRating,
    #[error("no redo has been asked for")]
    NoRedoRequested,
    #[error("a reason or text is required")]
    TextRequired,
    #[error("no agency holds the order")]
    NotWithAgency,
    #[error("an agency asked to help has not given its opinion yet")]
    CoHandlingPending,
    #[error("that agency is already asked to help with this order")]
    AlreadyCoHandling,
    #[error("as many agencies as may be are already asked to help with this order")]
    TooManyCoHandlers,
    #[error("that agency is not waiting to give its opinion on this order")]
    NoCoHandling,
    #[error("you urged this request on recently; you can again a day after")]
    UrgedRecently,
    #[error("a request for another agency's help is already waiting for the centre")]
    CoHandlingProposalPending,
    #[error("no request for another agency's help is waiting for the centre")]
    NoCoHandlingProposal,
}

impl Refusal {
    /// The stable API error code (409 for state conflicts, 403/404 for access, 422 for input).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Forbidden => "forbidden",
            Refusal::NotYourAgency => "not_found",
            Refusal::OrderClosed => "order_closed",
            Refusal::NotReceived => "order_not_received",
            Refusal::NotSigned => "order_not_signed",
            Refusal::AlreadySigned => "order_already_signed",
            Refusal::NotInProgress => "order_not_in_progress",
            Refusal::CitizenNotContacted => "citizen_not_contacted",
            Refusal::NoReturnRequested => "no_return_requested",
            Refusal::ReturnLimitReached => "return_limit_reached",
            Refusal::ReturnPending => "return_pending",
            Refusal::ExtensionPending => "extension_pending",
            Refusal::NoExtensionRequested => "no_extension_requested",
            Refusal::DeadlinePassed => "deadline_passed",
            Refusal::DeadlineNotLater => "deadline_not_later",
            Refusal::DeadlineInPast => "deadline_in_past",
            Refusal::SameAgency => "same_agency",
            Refusal::NotReplied => "order_not_replied",
            Refusal::NotAwaitingRating => "order_not_awaiting_rating",
            Refusal::NoRedoRequested => "no_redo_requested",
            Refusal::TextRequired => "text_required",
            Refusal::NotWithAgency => "order_not_with_agency",
            Refusal::CoHandlingPending => "co_handling_pending",
            Refusal::AlreadyCoHandling => "already_co_handling",
            Refusal::TooManyCoHandlers => "too_many_co_handlers",
            Refusal::NoCoHandling => "no_co_handling",
            Refusal::CoHandlingProposalPending => "co_handling_proposal_pending",
            Refusal::NoCoHandlingProposal => "no_co_handling_proposal",
            Refusal::UrgedRecently => "urged_recently",
        }
    }
}

/// Returns allowed per order before only the centre can move it (the default cap).
pub const DEFAULT_RETURN_LIMIT: u32 = 2;

/// The rules' settings.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub return_limit: u32,
    /// Follow-up calls that may fail to reach the citizen before the order is archived unrated.
    pub follow_up_attempts: u32,
    /// Hours a citizen waits between two urgings of the same request (市民催办).
    pub citizen_urge_hours: i64,
}

/// Hours between a citizen's urgings of one request: once a day.
pub const DEFAULT_CITIZEN_URGE_HOURS: i64 = 24;

/// A request its citizen has had to urge on this many times comes under supervision (督办): the
/// agency is not moving, and the centre should not wait for a supervisor to notice.
pub const URGINGS_FOR_SUPERVISION: u32 = 3;

/// The events of a citizen's urging: the plain one, and the one that brought supervision.
pub const URGING_EVENTS: [&str; 2] = ["citizen_urged", "citizen_urged_supervised"];

/// Follow-up calls per round before an unreachable citizen's order is archived unrated.
pub const DEFAULT_FOLLOW_UP_ATTEMPTS: u32 = 3;

/// When a request last urged on at `urged_at` may be urged again by its citizen (the end of
/// the wait, `Policy::citizen_urge_hours`); `None` when never urged: at any time.
pub fn next_urging(urged_at: Option<DateTime<Utc>>, policy: Policy) -> Option<DateTime<Utc>> {
    urged_at.map(|at| at + chrono::TimeDelta::hours(policy.citizen_urge_hours))
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            return_limit: DEFAULT_RETURN_LIMIT,
            follow_up_attempts: DEFAULT_FOLLOW_UP_ATTEMPTS,
            citizen_urge_hours: DEFAULT_CITIZEN_URGE_HOURS,
        }
    }
}

fn require_text(text: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        Err(Refusal::TextRequired)
    } else {
        Ok(())
    }
}

fn event(code: &'static str, note: Option<&str>) -> Event {
    Event::new(code, note.map(str::to_owned))
}

/// Applies `command` by `actor` at `now` to `order`.
pub fn apply(
    order: &Order,
    actor: &Actor,
    command: &Command,
    now: DateTime<Utc>,
    policy: Policy,
) -> Result<(Order, Event), Refusal> {
    use Command as C;
    use Status as S;

    // Who may act at all: the centre for its commands, the holding agency for its own, the
    // owning citizen for the rating.
    let agency_command = matches!(
        command,
        C::Sign
            | C::RecordContact
            | C::RecordVisit { .. }
            | C::Reply { .. }
            | C::RequestReturn { .. }
            | C::RequestExtension { .. }
            | C::ProposeCoHandling { .. }
    );
    match (actor, agency_command, command) {
        // An agency asked to help answers for itself; nobody else answers for it.
        (Actor::AgencyStaff { agency }, _, C::CoReply { .. }) => {
            if !order.co_handlers.iter().any(|h| h.agency == *agency)
                && order.agency.as_deref() != Some(agency.as_str())
            {
                return Err(Refusal::NotYourAgency);
            }
        }
        (_, _, C::CoReply { .. }) => return Err(Refusal::Forbidden),
        (Actor::AgencyStaff { agency }, true, _) => {
            if order.agency.as_deref() != Some(agency.as_str()) {
                // An agency helping with the order sees it, but the holder handles it.
                return Err(if order.co_handlers.iter().any(|h| h.agency == *agency) {
                    Refusal::Forbidden
                } else {
                    Refusal::NotYourAgency
                });
            }
        }
        (Actor::Citizen { owner }, _, C::Rate { .. } | C::Withdraw { .. } | C::Urge { .. }) => {
            if !owner {
                return Err(Refusal::NotYourAgency);
            }
        }
        // The citizen's own urging; the centre urges with `Remind`.
        (_, _, C::Urge { .. }) => return Err(Refusal::Forbidden),
        // Putting an order under supervision is the supervisors' (and administrators') call.
        (
            Actor::Operator,
            _,
            C::Supervise { .. } | C::KeySupervise { .. } | C::RuleUnreasonable { .. },
        ) => {
            return Err(Refusal::Forbidden);
        }
        // The centre issues every other command, and records ratings taken by phone.
        (actor, false, _) if actor.is_centre() => {}
        _ => return Err(Refusal::Forbidden),
    }
    if order.status.is_final() {
        return Err(Refusal::OrderClosed);
    }

    let mut next = order.clone();
    let recorded = match command {
        C::Dispatch { agency, deadline } => {
            if order.status != S::Received {
                return Err(Refusal::NotReceived);
            }
            if *deadline <= now {
                return Err(Refusal::DeadlineInPast);
            }
            next.status = S::Dispatched;
            next.agency = Some(agency.clone());
            next.deadline = Some(*deadline);
            if order.leader_day {
                next.supervised = true;
            }
            event("dispatched", Some(agency))
        }
        C::CloseDirect { answer } => {
            if order.status != S::Received {
                return Err(Refusal::NotReceived);
            }
            require_text(answer)?;
            next.status = S::ClosedDirect;
            event("closed_direct", Some(answer))
        }
        C::HandOver { to } => {
            if order.status != S::Received {
                return Err(Refusal::NotReceived);
            }
            next.status = S::HandedOver;
            let service = match to {
                Emergency::Police110 => "110",
                Emergency::Fire119 => "119",
                Emergency::Ambulance120 => "120",
                Emergency::Traffic122 => "122",
            };
            event("handed_over", Some(service))
        }
        C::Inform { reason } => {
            if order.status != S::Received {
                return Err(Refusal::NotReceived);
            }
            require_text(reason)?;
            next.status = S::Informed;
            event("informed", Some(reason))
        }
        C::Merge {
            into_tracking_number,
        } => {
            if order.status != S::Received {
                return Err(Refusal::NotReceived);
            }
            next.status = S::Merged;
            event("merged", Some(into_tracking_number))
        }
        C::Withdraw { reason } => {
            if order.status != S::Received {
                return Err(Refusal::NotReceived);
            }
            if actor.is_centre() {
                require_text(reason.as_deref().unwrap_or(""))?;
            }
            next.status = S::Withdrawn;
            event(
                "withdrawn",
                reason.as_deref().filter(|r| !r.trim().is_empty()),
            )
        }
        C::Sign => match order.status {
            S::Dispatched => {
                next.status = S::Signed;
                event("signed", None)
            }
            S::Signed | S::InProgress => return Err(Refusal::AlreadySigned),
            S::ReturnRequested => return Err(Refusal::ReturnPending),
            _ => return Err(Refusal::NotSigned),
        },
        C::RecordContact | C::RecordVisit { .. } => {
            match order.status {
                S::Signed | S::InProgress => {}
                S::Dispatched => return Err(Refusal::NotSigned),
                S::ReturnRequested => return Err(Refusal::ReturnPending),
                _ => return Err(Refusal::NotInProgress),
            }
            next.status = S::InProgress;
            match command {
                C::RecordVisit { note } => event("visited", Some(note)),
                _ => {
                    next.contacted = true;
                    event("citizen_contacted", None)
                }
            }
        }
        C::Reply { result } => {
            match order.status {
                // Signed but not yet in progress means nobody has contacted the citizen.
                S::Signed | S::InProgress => {}
                S::Dispatched => return Err(Refusal::NotSigned),
                S::ReturnRequested => return Err(Refusal::ReturnPending),
                _ => return Err(Refusal::NotInProgress),
            }
            if !order.contacted {
                return Err(Refusal::CitizenNotContacted);
            }
            if order.co_handlers.iter().any(|h| !h.answered) {
                return Err(Refusal::CoHandlingPending);
            }
            require_text(result)?;
            next.status = S::Replied;
            next.extension = None;
            // A holder that replies has done without the help it asked for.
            next.co_handling_proposal = None;
            event("replied", Some(result))
        }
        C::RequestReturn { reason } => {
            match order.status {
                S::Dispatched | S::Signed | S::InProgress => {}
                S::ReturnRequested => return Err(Refusal::ReturnPending),
                _ => return Err(Refusal::NotInProgress),
            }
            if order.returns >= policy.return_limit {
                return Err(Refusal::ReturnLimitReached);
            }
            require_text(reason)?;
            next.status_before_return = Some(order.status);
            next.status = S::ReturnRequested;
            event("return_requested", Some(reason))
        }
        C::Reassign { agency, deadline } => {
            if order.status != S::ReturnRequested {
                return Err(Refusal::NoReturnRequested);
            }
            if order.agency.as_deref() == Some(agency.as_str()) {
                return Err(Refusal::SameAgency);
            }
            if *deadline <= now {
                return Err(Refusal::DeadlineInPast);
            }
            next.status = S::Dispatched;
            next.agency = Some(agency.clone());
            next.returns += 1;
            next.status_before_return = None;
            next.extension = None;
            next.co_handling_proposal = None;
            next.contacted = false;
            next.deadline = Some(*deadline);
            // An agency that was helping now holds the order: its help is no longer asked.
            next.co_handlers.retain(|h| h.agency != *agency);
            Event {
                code: "reassigned",
                note: Some(agency.clone()),
                previous_deadline: order.deadline,
                agency: None,
            }
        }
        C::RefuseReturn { reason } => {
            if order.status != S::ReturnRequested {
                return Err(Refusal::NoReturnRequested);
            }
            require_text(reason)?;
            next.status = order.status_before_return.unwrap_or(S::Dispatched);
            next.status_before_return = None;
            next.returns += 1;
            event("return_refused", Some(reason))
        }
        C::RequestExtension { until, reason } => {
            match order.status {
                S::Dispatched | S::Signed | S::InProgress => {}
                S::ReturnRequested => return Err(Refusal::ReturnPending),
                _ => return Err(Refusal::NotInProgress),
            }
            if order.extension.is_some() {
                return Err(Refusal::ExtensionPending);
            }
            let deadline = order.deadline.ok_or(Refusal::NotInProgress)?;
            if now >= deadline {
                return Err(Refusal::DeadlinePassed);
            }
            if *until <= deadline {
                return Err(Refusal::DeadlineNotLater);
            }
            require_text(reason)?;
            next.extension = Some(ExtensionRequest {
                until: *until,
                reason: reason.clone(),
            });
            event("extension_requested", Some(reason))
        }
        C::ApproveExtension => {
            let Some(request) = &order.extension else {
                return Err(Refusal::NoExtensionRequested);
            };
            next.deadline = Some(request.until);
            next.extension = None;
            Event {
                code: "extension_approved",
                note: None,
                previous_deadline: order.deadline,
                agency: None,
            }
        }
        C::RefuseExtension { reason } => {
            if order.extension.is_none() {
                return Err(Refusal::NoExtensionRequested);
            }
            require_text(reason)?;
            next.extension = None;
            event("extension_refused", Some(reason))
        }
        C::PassAudit => {
            if order.status != S::Replied {
                return Err(Refusal::NotReplied);
            }
            next.status = S::AwaitingRating;
            next.follow_up_attempts = 0;
            event("audit_passed", None)
        }
        C::FailAudit { reason } => {
            if order.status != S::Replied {
                return Err(Refusal::NotReplied);
            }
            require_text(reason)?;
            next.status = S::InProgress;
            event("audit_failed", Some(reason))
        }
        C::Rate { satisfaction } => {
            if order.status != S::AwaitingRating {
                return Err(Refusal::NotAwaitingRating);
            }
            match satisfaction {
                Satisfaction::Satisfied | Satisfaction::BasicallySatisfied => {
                    next.status = S::Archived;
                    event("rated_satisfied", None)
                }
                Satisfaction::Unsatisfied => {
                    next.status = S::RedoRequested;
                    event("rated_unsatisfied", None)
                }
            }
        }
        C::StartRedo { deadline } => {
            if order.status != S::RedoRequested {
                return Err(Refusal::NoRedoRequested);
            }
            if *deadline <= now {
                return Err(Refusal::DeadlineInPast);
            }
            next.status = S::InProgress;
            next.redos += 1;
            next.deadline = Some(*deadline);
            // A redo is supervised (督办) until the order closes.
            next.supervised = true;
            Event {
                code: "redo_started",
                note: None,
                previous_deadline: order.deadline,
                agency: None,
            }
        }
        C::Archive => {
            if !matches!(order.status, S::AwaitingRating | S::RedoRequested) {
                return Err(Refusal::NotAwaitingRating);
            }
            next.status = S::Archived;
            event("archived", None)
        }
        C::RuleUnreasonable { reason } => {
            if order.status != S::RedoRequested {
                return Err(Refusal::NoRedoRequested);
            }
            require_text(reason)?;
            next.status = S::Archived;
            event("complaint_ruled_unreasonable", Some(reason))
        }
        C::Remind { note, .. } | C::Supervise { note } | C::KeySupervise { note } => {
            if !order.status.with_agency() {
                return Err(Refusal::NotWithAgency);
            }
            require_text(note)?;
            match command {
                C::Remind {
                    agency: Some(agency),
                    ..
                } => {
                    if !order
                        .co_handlers
                        .iter()
                        .any(|h| h.agency == *agency && !h.answered)
                    {
                        return Err(Refusal::NoCoHandling);
                    }
                    event("co_handling_reminded", Some(note)).to(agency)
                }
                C::Remind { agency: None, .. } => event("reminded", Some(note)),
                C::Supervise { .. } => {
                    next.supervised = true;
                    event("supervised", Some(note))
                }
                _ => {
                    next.supervised = true;
                    next.key_supervised = true;
                    event("key_supervised", Some(note))
                }
            }
        }
        C::AskCoHandling { agency, note } => {
            if !order.status.with_agency() {
                return Err(Refusal::NotWithAgency);
            }
            if order.agency.as_deref() == Some(agency.as_str()) {
                return Err(Refusal::SameAgency);
            }
            if order.co_handlers.iter().any(|h| h.agency == *agency) {
                return Err(Refusal::AlreadyCoHandling);
            }
            if order.co_handlers.len() >= MAX_CO_HANDLERS {
                return Err(Refusal::TooManyCoHandlers);
            }
            require_text(note)?;
            next.co_handlers.push(CoHandler {
                agency: agency.clone(),
                answered: false,
            });
            // The centre agreeing to the holder's request for this agency's help.
            if order.co_handling_proposal.as_deref() == Some(agency.as_str()) {
                next.co_handling_proposal = None;
            }
            event("co_handling_requested", Some(note)).to(agency)
        }
        C::CoReply { opinion } => {
            if !order.status.with_agency() {
                return Err(Refusal::NotWithAgency);
            }
            let Actor::AgencyStaff { agency } = actor else {
                return Err(Refusal::Forbidden);
            };
            let Some(asked) = next.co_handlers.iter_mut().find(|h| h.agency == *agency) else {
                return Err(Refusal::NoCoHandling);
            };
            if asked.answered {
                return Err(Refusal::NoCoHandling);
            }
            require_text(opinion)?;
            asked.answered = true;
            event("co_replied", Some(opinion))
        }
        C::CancelCoHandling { agency, reason } => {
            if !order.status.with_agency() {
                return Err(Refusal::NotWithAgency);
            }
            if !order
                .co_handlers
                .iter()
                .any(|h| h.agency == *agency && !h.answered)
            {
                return Err(Refusal::NoCoHandling);
            }
            require_text(reason)?;
            next.co_handlers.retain(|h| h.agency != *agency);
            event("co_handling_cancelled", Some(reason)).to(agency)
        }
        C::Urge { note } => {
            if !order.status.with_agency() {
                return Err(Refusal::NotWithAgency);
            }
            if next_urging(order.urged_at, policy).is_some_and(|from| now < from) {
                return Err(Refusal::UrgedRecently);
            }
            next.urged_at = Some(now);
            next.urgings += 1;
            let note = note.as_deref().filter(|n| !n.trim().is_empty());
            if next.urgings >= URGINGS_FOR_SUPERVISION && !order.supervised {
                next.supervised = true;
                event(URGING_EVENTS[1], note)
            } else {
                event(URGING_EVENTS[0], note)
            }
        }
        C::ProposeCoHandling { agency, note } => {
            match order.status {
                S::Dispatched | S::Signed | S::InProgress => {}
                S::ReturnRequested => return Err(Refusal::ReturnPending),
                _ => return Err(Refusal::NotInProgress),
            }
            if order.agency.as_deref() == Some(agency.as_str()) {
                return Err(Refusal::SameAgency);
            }
            if order.co_handlers.iter().any(|h| h.agency == *agency) {
                return Err(Refusal::AlreadyCoHandling);
            }
            if order.co_handling_proposal.is_some() {
                return Err(Refusal::CoHandlingProposalPending);
            }
            if order.co_handlers.len() >= MAX_CO_HANDLERS {
                return Err(Refusal::TooManyCoHandlers);
            }
            require_text(note)?;
            next.co_handling_proposal = Some(agency.clone());
            // Addressed to the centre, which learns of it from its queue; the history names the
            // agency proposed.
            Event {
                agency: Some(agency.clone()),
                ..event("co_handling_proposed", Some(note))
            }
        }
        C::RefuseCoHandling { reason } => {
            if order.co_handling_proposal.is_none() {
                return Err(Refusal::NoCoHandlingProposal);
            }
            require_text(reason)?;
            next.co_handling_proposal = None;
            event("co_handling_proposal_refused", Some(reason))
        }
        C::NotReached { note } => {
            if order.status != S::AwaitingRating {
                return Err(Refusal::NotAwaitingRating);
            }
            require_text(note)?;
            next.follow_up_attempts += 1;
            if next.follow_up_attempts >= policy.follow_up_attempts {
                next.status = S::Archived;
                event("not_reached_archived", Some(note))
            } else {
                event("not_reached", Some(note))
            }
        }
    };
    Ok((next, recorded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        "2026-11-30T09:00:00Z".parse().expect("time")
    }

    fn staff(agency: &str) -> Actor {
        Actor::AgencyStaff {
            agency: agency.to_owned(),
        }
    }

    fn run(order: &Order, steps: &[(Actor, Command)]) -> Result<Order, Refusal> {
        let mut order = order.clone();
        for (actor, command) in steps {
            order = apply(&order, actor, command, now(), Policy::default())?.0;
        }
        Ok(order)
    }

    fn dispatched_to(agency: &str) -> Order {
        let dispatch = Command::Dispatch {
            agency: agency.into(),
            deadline: now() + Duration::days(7),
        };
        run(&Order::received(), &[(Actor::Operator, dispatch)]).expect("dispatched")
    }

    #[test]
    fn a_normal_order_from_filing_to_archive() {
        let order = dispatched_to("city-urban-management");
        let a = staff("city-urban-management");
        let done = run(
            &order,
            &[
                (a.clone(), Command::Sign),
                (a.clone(), Command::RecordContact),
                (
                    a.clone(),
                    Command::RecordVisit {
                        note: "现场查看，灯杆线路老化".into(),
                    },
                ),
                (
                    a.clone(),
                    Command::Reply {
                        result: "已更换线路，路灯恢复".into(),
                    },
                ),
                (Actor::Supervisor, Command::PassAudit),
                (
                    Actor::Citizen { owner: true },
                    Command::Rate {
                        satisfaction: Satisfaction::Satisfied,
                    },
                ),
            ],
        )
        .expect("every step is allowed");
        assert_eq!(done.status, Status::Archived);
    }

    #[test]
    fn an_opinion_is_due_by_the_working_days_or_the_orders_deadline_if_sooner_and_ahead() {
        let days = now() + Duration::days(3);
        let soon = now() + Duration::days(1);
        assert_eq!(co_handling_due(now(), days, Some(soon)), soon);
        assert_eq!(
            co_handling_due(now(), days, Some(now() + Duration::days(9))),
            days
        );
        assert_eq!(
            co_handling_due(now(), days, Some(now() - Duration::hours(1))),
            days
        );
        assert_eq!(co_handling_due(now(), days, None), days);
    }

    #[test]
    fn citizens_urge_their_own_request_on_once_a_day_while_an_agency_holds_it() {
        let owner = Actor::Citizen { owner: true };
        let urge = Command::Urge {
            note: Some("路灯已经坏了一周".into()),
        };
        let at = |order: &Order, actor: &Actor, when: DateTime<Utc>| {
            apply(order, actor, &urge, when, Policy::default())
        };
        assert_eq!(
            at(&Order::received(), &owner, now()).map(|(_, e)| e.code),
            Err(Refusal::NotWithAgency)
        );
        let order = dispatched_to("city-urban-management");
        let (urged, event) = at(&order, &owner, now()).expect("urged");
        assert_eq!(
            (event.code, event.note.as_deref(), event.agency),
            ("citizen_urged", Some("路灯已经坏了一周"), None)
        );
        assert_eq!(urged.urged_at, Some(now()));
        assert_eq!(urged.status, order.status);
        assert_eq!(
            at(&urged, &owner, now() + Duration::hours(23)).map(|(_, e)| e.code),
            Err(Refusal::UrgedRecently)
        );
        let (again, _) = at(&urged, &owner, now() + Duration::hours(24)).expect("a day later");
        // The third time, the order comes under supervision (督办).
        let (third, event) = at(&again, &owner, now() + Duration::hours(48)).expect("third");
        assert_eq!(
            (event.code, third.urgings, third.supervised),
            ("citizen_urged_supervised", 3, true)
        );
        assert!(!again.supervised);
        let (fourth, event) = at(&third, &owner, now() + Duration::hours(72)).expect("fourth");
        assert_eq!((event.code, fourth.urgings), ("citizen_urged", 4));
        // Only the citizen who filed it; the centre urges with `remind`.
        assert_eq!(
            at(&order, &Actor::Citizen { owner: false }, now()).map(|(_, e)| e.code),
            Err(Refusal::NotYourAgency)
        );
        assert_eq!(
            at(&order, &Actor::Operator, now()).map(|(_, e)| e.code),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            at(&order, &staff("city-urban-management"), now()).map(|(_, e)| e.code),
            Err(Refusal::Forbidden)
        );
    }

    #[test]
    fn the_holder_asks_the_centre_for_help_and_the_centre_asks_that_agency_or_refuses() {
        let holder = staff("city-urban-management");
        let propose = |agency: &str| Command::ProposeCoHandling {
            agency: agency.into(),
            note: "涉及供水管网，需供水公司协助".into(),
        };
        let try_ = |order: &Order, actor: &Actor, command: &Command| {
            apply(order, actor, command, now(), Policy::default())
        };
        let order = dispatched_to("city-urban-management");
        let (proposed, event) = try_(&order, &holder, &propose("city-water")).expect("proposed");
        assert_eq!(
            (event.code, event.agency.as_deref()),
            ("co_handling_proposed", Some("city-water"))
        );
        assert_eq!(proposed.co_handling_proposal.as_deref(), Some("city-water"));
        // One at a time; the holder's own, not the centre's or another agency's; not itself.
        let refused = |order: &Order, actor: &Actor, command: &Command| {
            try_(order, actor, command).map(|(_, e)| e.code)
        };
        assert_eq!(
            refused(&proposed, &holder, &propose("city-power")),
            Err(Refusal::CoHandlingProposalPending)
        );
        assert_eq!(
            refused(&order, &Actor::Operator, &propose("city-water")),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            refused(&order, &staff("city-water"), &propose("city-power")),
            Err(Refusal::NotYourAgency)
        );
        assert_eq!(
            refused(&order, &holder, &propose("city-urban-management")),
            Err(Refusal::SameAgency)
        );
        // The centre agrees by asking that agency; asking another leaves the request waiting.
        let ask = |agency: &str| Command::AskCoHandling {
            agency: agency.into(),
            note: "请核查供水管网".into(),
        };
        let (other, _) = try_(&proposed, &Actor::Operator, &ask("city-power")).expect("asked");
        assert_eq!(other.co_handling_proposal.as_deref(), Some("city-water"));
        let (agreed, _) = try_(&other, &Actor::Operator, &ask("city-water")).expect("agreed");
        assert_eq!(agreed.co_handling_proposal, None);
        assert_eq!(agreed.co_handlers.len(), 2);
        assert_eq!(
            refused(&agreed, &holder, &propose("city-water")),
            Err(Refusal::AlreadyCoHandling)
        );
        // Or refuses, with the reason, and the holder may ask again.
        let refuse = Command::RefuseCoHandling {
            reason: "属本单位职责，无需协办".into(),
        };
        assert_eq!(
            refused(&order, &Actor::Operator, &refuse),
            Err(Refusal::NoCoHandlingProposal)
        );
        assert_eq!(
            refused(&proposed, &holder, &refuse),
            Err(Refusal::Forbidden)
        );
        let (declined, event) = try_(&proposed, &Actor::Operator, &refuse).expect("refused");
        assert_eq!(
            (
                event.code,
                event.agency,
                declined.co_handling_proposal.as_deref()
            ),
            ("co_handling_proposal_refused", None, None)
        );
        assert!(try_(&declined, &holder, &propose("city-power")).is_ok());
    }

    #[test]
    fn the_holder_replies_only_when_every_agency_asked_to_help_has_answered() {
        let holder = staff("city-urban-management");
        let water = staff("city-water");
        let ask = |agency: &str| Command::AskCoHandling {
            agency: agency.into(),
            note: "请核查地下管网".into(),
        };
        let order = run(
            &dispatched_to("city-urban-management"),
            &[
                (holder.clone(), Command::Sign),
                (holder.clone(), Command::RecordContact),
                (Actor::Operator, ask("city-water")),
                (Actor::Operator, ask("city-power")),
            ],
        )
        .expect("asked");
        let reply = Command::Reply {
            result: "已修复".into(),
        };
        let try_ = |order: &Order, actor: &Actor, command: &Command| {
            apply(order, actor, command, now(), Policy::default()).map(|(next, _)| next)
        };
        assert_eq!(
            try_(&order, &holder, &reply),
            Err(Refusal::CoHandlingPending)
        );
        // Not twice, not the holder, nobody but the centre.
        assert_eq!(
            try_(&order, &Actor::Supervisor, &ask("city-water")),
            Err(Refusal::AlreadyCoHandling)
        );
        assert_eq!(
            try_(&order, &Actor::Operator, &ask("city-urban-management")),
            Err(Refusal::SameAgency)
        );
        assert_eq!(
            try_(&order, &holder, &ask("city-gas")),
            Err(Refusal::Forbidden)
        );
        // The request, and the centre's urging (催办) of an agency asked, are addressed to it.
        let (_, asked) = apply(
            &order,
            &Actor::Operator,
            &ask("city-gas"),
            now(),
            Policy::default(),
        )
        .expect("asked");
        assert_eq!(
            (asked.code, asked.note.as_deref(), asked.agency.as_deref()),
            (
                "co_handling_requested",
                Some("请核查地下管网"),
                Some("city-gas")
            )
        );
        let urge = |agency: Option<&str>| Command::Remind {
            note: "请尽快反馈".into(),
            agency: agency.map(str::to_owned),
        };
        let (_, urged) = apply(
            &order,
            &Actor::Operator,
            &urge(Some("city-water")),
            now(),
            Policy::default(),
        )
        .expect("urged");
        assert_eq!(
            (urged.code, urged.agency.as_deref()),
            ("co_handling_reminded", Some("city-water"))
        );
        let (_, urged) = apply(
            &order,
            &Actor::Operator,
            &urge(None),
            now(),
            Policy::default(),
        )
        .expect("urged");
        assert_eq!((urged.code, urged.agency), ("reminded", None));
        assert_eq!(
            try_(&order, &Actor::Operator, &urge(Some("city-gas"))),
            Err(Refusal::NoCoHandling)
        );
        assert_eq!(
            try_(&order, &holder, &urge(Some("city-water"))),
            Err(Refusal::Forbidden)
        );
        // An agency helping answers for itself, once; it cannot handle the order itself; others
        // learn nothing of it.
        let opinion = Command::CoReply {
            opinion: "管网无渗漏".into(),
        };
        assert_eq!(try_(&order, &holder, &opinion), Err(Refusal::NoCoHandling));
        assert_eq!(
            try_(&order, &staff("city-gas"), &opinion),
            Err(Refusal::NotYourAgency)
        );
        assert_eq!(
            try_(&order, &water, &Command::Sign),
            Err(Refusal::Forbidden)
        );
        let (answered, event) =
            apply(&order, &water, &opinion, now(), Policy::default()).expect("answered");
        assert_eq!(
            (event.code, event.note.as_deref()),
            ("co_replied", Some("管网无渗漏"))
        );
        assert_eq!(
            try_(&answered, &water, &opinion),
            Err(Refusal::NoCoHandling)
        );
        assert_eq!(
            try_(&answered, &Actor::Operator, &urge(Some("city-water"))),
            Err(Refusal::NoCoHandling)
        );
        // The centre takes back what is not answered; then the holder replies.
        let cancel = |agency: &str| Command::CancelCoHandling {
            agency: agency.into(),
            reason: "供电部门无需参与".into(),
        };
        assert_eq!(
            try_(&answered, &Actor::Operator, &cancel("city-water")),
            Err(Refusal::NoCoHandling)
        );
        let done = run(
            &answered,
            &[
                (Actor::Operator, cancel("city-power")),
                (holder.clone(), reply),
            ],
        )
        .expect("replied");
        assert_eq!(done.status, Status::Replied);
        assert_eq!(
            done.co_handlers,
            [CoHandler {
                agency: "city-water".into(),
                answered: true
            }]
        );
        // At most five at once; reassigned to one of them, it helps no more.
        let mut full = order.clone();
        for agency in ["a", "b", "c"] {
            full = try_(&full, &Actor::Operator, &ask(agency)).expect("asked");
        }
        assert_eq!(
            try_(&full, &Actor::Operator, &ask("d")),
            Err(Refusal::TooManyCoHandlers)
        );
        let moved = run(
            &full,
            &[
                (
                    holder,
                    Command::RequestReturn {
                        reason: "主要属供水问题".into(),
                    },
                ),
                (
                    Actor::Operator,
                    Command::Reassign {
                        agency: "city-water".into(),
                        deadline: now() + Duration::days(5),
                    },
                ),
            ],
        )
        .expect("reassigned");
        assert!(moved.co_handlers.iter().all(|h| h.agency != "city-water"));
        assert_eq!(moved.co_handlers.len(), 4);
    }

    #[test]
    fn a_request_is_withdrawn_before_dispatch_only() {
        let withdraw = |reason: Option<&str>| Command::Withdraw {
            reason: reason.map(str::to_owned),
        };
        // The citizen who filed it, with or without a reason.
        let (order, event) = apply(
            &Order::received(),
            &Actor::Citizen { owner: true },
            &withdraw(None),
            now(),
            Policy::default(),
        )
        .expect("withdrawn");
        assert_eq!(
            (order.status, event.code, event.note),
            (Status::Withdrawn, "withdrawn", None)
        );
        assert!(order.status.is_final());
        // Nobody else's citizen, no agency.
        for actor in [
            Actor::Citizen { owner: false },
            staff("city-urban-management"),
        ] {
            assert!(matches!(
                apply(
                    &Order::received(),
                    &actor,
                    &withdraw(Some("不需要了")),
                    now(),
                    Policy::default()
                ),
                Err(Refusal::NotYourAgency | Refusal::Forbidden)
            ));
        }
        // The centre, for a caller, says why.
        assert_eq!(
            apply(
                &Order::received(),
                &Actor::Operator,
                &withdraw(Some(" ")),
                now(),
                Policy::default()
            )
            .map(|(order, _)| order.status),
            Err(Refusal::TextRequired)
        );
        let (_, event) = apply(
            &Order::received(),
            &Actor::Operator,
            &withdraw(Some("市民来电称问题已自行解决")),
            now(),
            Policy::default(),
        )
        .expect("withdrawn");
        assert_eq!(event.note.as_deref(), Some("市民来电称问题已自行解决"));
        // Once an agency has it, it is the agency's to answer.
        assert_eq!(
            apply(
                &dispatched_to("city-urban-management"),
                &Actor::Citizen { owner: true },
                &withdraw(None),
                now(),
                Policy::default()
            )
            .map(|(order, _)| order.status),
            Err(Refusal::NotReceived)
        );
    }

    #[test]
    fn agencies_act_only_on_their_own_orders() {
        let order = dispatched_to("city-urban-management");
        assert_eq!(
            apply(
                &order,
                &staff("utility-water"),
                &Command::Sign,
                now(),
                Policy::default()
            ),
            Err(Refusal::NotYourAgency)
        );
        assert_eq!(
            apply(
                &order,
                &Actor::Citizen { owner: true },
                &Command::Sign,
                now(),
                Policy::default()
            ),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            apply(
                &order,
                &staff("city-urban-management"),
                &Command::PassAudit,
                now(),
                Policy::default()
            ),
            Err(Refusal::Forbidden)
        );
    }

    #[test]
    fn replying_needs_a_signature_and_a_contact() {
        let order = dispatched_to("a");
        let reply = Command::Reply {
            result: "done".into(),
        };
        assert_eq!(
            apply(&order, &staff("a"), &reply, now(), Policy::default()),
            Err(Refusal::NotSigned)
        );
        let signed = run(
            &order,
            &[
                (staff("a"), Command::Sign),
                (staff("a"), Command::RecordVisit { note: "n".into() }),
            ],
        )
        .expect("ok");
        assert_eq!(
            apply(&signed, &staff("a"), &reply, now(), Policy::default()),
            Err(Refusal::CitizenNotContacted)
        );
    }

    #[test]
    fn returns_are_reviewed_and_capped() {
        let return_request = Command::RequestReturn {
            reason: "不属于本单位职责".into(),
        };
        let mut order = dispatched_to("a");
        order = run(&order, &[(staff("a"), return_request.clone())]).expect("requested");
        assert_eq!(order.status, Status::ReturnRequested);
        let reassign = Command::Reassign {
            agency: "b".into(),
            deadline: now() + Duration::days(7),
        };
        order = run(&order, &[(Actor::Supervisor, reassign)]).expect("reassigned");
        assert_eq!(
            (order.status, order.agency.as_deref(), order.returns),
            (Status::Dispatched, Some("b"), 1)
        );

        order = run(
            &order,
            &[
                (staff("b"), Command::Sign),
                (staff("b"), return_request.clone()),
            ],
        )
        .expect("requested");
        order = run(
            &order,
            &[(
                Actor::Supervisor,
                Command::RefuseReturn {
                    reason: "属于贵单位职责".into(),
                },
            )],
        )
        .expect("refused");
        assert_eq!(
            (order.status, order.returns),
            (Status::Signed, 2),
            "back where it was"
        );

        assert_eq!(
            apply(
                &order,
                &staff("b"),
                &return_request,
                now(),
                Policy::default()
            ),
            Err(Refusal::ReturnLimitReached)
        );
    }

    #[test]
    fn extensions_come_before_the_deadline_and_keep_the_old_one() {
        let order = dispatched_to("a");
        let deadline = order.deadline.expect("deadline");
        let ask = Command::RequestExtension {
            until: deadline + Duration::days(3),
            reason: "需协调多部门".into(),
        };
        let asked = run(&order, &[(staff("a"), ask.clone())]).expect("asked");
        assert_eq!(
            apply(&asked, &staff("a"), &ask, now(), Policy::default()),
            Err(Refusal::ExtensionPending)
        );
        let (approved, event) = apply(
            &asked,
            &Actor::Supervisor,
            &Command::ApproveExtension,
            now(),
            Policy::default(),
        )
        .expect("approved");
        assert_eq!(approved.deadline, Some(deadline + Duration::days(3)));
        assert_eq!(event.previous_deadline, Some(deadline));

        let late = deadline + Duration::minutes(1);
        assert_eq!(
            apply(&order, &staff("a"), &ask, late, Policy::default()),
            Err(Refusal::DeadlinePassed)
        );
    }

    #[test]
    fn a_failed_audit_sends_the_order_back() {
        let order = dispatched_to("a");
        let replied = run(
            &order,
            &[
                (staff("a"), Command::Sign),
                (staff("a"), Command::RecordContact),
                (staff("a"), Command::Reply { result: "r".into() }),
            ],
        )
        .expect("replied");
        let back = run(
            &replied,
            &[(
                Actor::Supervisor,
                Command::FailAudit {
                    reason: "答复未说明处理结果".into(),
                },
            )],
        )
        .expect("failed");
        assert_eq!(back.status, Status::InProgress);
    }

    fn awaiting_rating(agency: &str) -> Order {
        run(
            &dispatched_to(agency),
            &[
                (staff(agency), Command::Sign),
                (staff(agency), Command::RecordContact),
                (staff(agency), Command::Reply { result: "r".into() }),
                (Actor::Supervisor, Command::PassAudit),
            ],
        )
        .expect("awaiting a rating")
    }

    #[test]
    fn an_unsatisfied_rating_brings_a_supervised_redo_to_the_same_agency() {
        let order = awaiting_rating("a");
        assert!(!order.supervised);
        let redo = run(
            &order,
            &[
                (
                    Actor::Citizen { owner: true },
                    Command::Rate {
                        satisfaction: Satisfaction::Unsatisfied,
                    },
                ),
                (
                    Actor::Operator,
                    Command::StartRedo {
                        deadline: now() + Duration::days(3),
                    },
                ),
            ],
        )
        .expect("redo");
        assert_eq!(redo.status, Status::InProgress);
        assert_eq!(redo.agency.as_deref(), Some("a"));
        assert_eq!(redo.redos, 1);
        assert!(redo.supervised, "a redo is supervised");
    }

    #[test]
    fn an_order_taken_on_a_leaders_answering_day_is_supervised_from_its_dispatch() {
        let taken = Order {
            leader_day: true,
            ..Order::received()
        };
        let dispatch = Command::Dispatch {
            agency: "a".into(),
            deadline: now() + Duration::days(3),
        };
        let (next, event) = apply(
            &taken,
            &Actor::Operator,
            &dispatch,
            now(),
            Policy::default(),
        )
        .expect("dispatched");
        assert!(next.supervised);
        assert_eq!(event.code, "dispatched");
        let (ordinary, _) = apply(
            &Order::received(),
            &Actor::Operator,
            &dispatch,
            now(),
            Policy::default(),
        )
        .expect("dispatched");
        assert!(!ordinary.supervised);
    }

    #[test]
    fn key_supervision_is_the_supervisors_call_on_an_order_an_agency_holds() {
        let held = awaiting_rating("a");
        let note = || Command::KeySupervise {
            note: "超期三日，列入重点督办".into(),
        };
        // Not once the agency has answered, nor by the centre's operators.
        assert_eq!(
            apply(&held, &Actor::Supervisor, &note(), now(), Policy::default()),
            Err(Refusal::NotWithAgency)
        );
        let signed = run(&dispatched_to("a"), &[(staff("a"), Command::Sign)]).expect("signed");
        assert_eq!(
            apply(&signed, &Actor::Operator, &note(), now(), Policy::default()),
            Err(Refusal::Forbidden)
        );
        let (next, event) = apply(
            &signed,
            &Actor::Supervisor,
            &note(),
            now(),
            Policy::default(),
        )
        .expect("key supervision");
        assert!(next.key_supervised && next.supervised);
        assert_eq!(event.code, "key_supervised");
        assert_eq!(next.status, Status::Signed, "nothing else changes");
        assert_eq!(
            apply(
                &signed,
                &Actor::Supervisor,
                &Command::KeySupervise { note: " ".into() },
                now(),
                Policy::default()
            ),
            Err(Refusal::TextRequired)
        );
    }

    #[test]
    fn follow_ups_that_never_reach_the_citizen_archive_the_order_unrated() {
        let order = awaiting_rating("a");
        let not_reached = (
            Actor::Operator,
            Command::NotReached {
                note: "无人接听".into(),
            },
        );
        let twice = run(&order, &[not_reached.clone(), not_reached.clone()]).expect("twice");
        assert_eq!(twice.status, Status::AwaitingRating);
        assert_eq!(twice.follow_up_attempts, 2);
        let (third, event) = apply(
            &twice,
            &not_reached.0,
            &not_reached.1,
            now(),
            Policy::default(),
        )
        .expect("third");
        assert_eq!(third.status, Status::Archived);
        assert_eq!(event.code, "not_reached_archived");
        // Only while a rating is awaited, by the centre, with a note.
        assert_eq!(
            apply(
                &dispatched_to("a"),
                &not_reached.0,
                &not_reached.1,
                now(),
                Policy::default()
            )
            .map(|_| ()),
            Err(Refusal::NotAwaitingRating)
        );
        assert_eq!(
            apply(
                &order,
                &staff("a"),
                &not_reached.1,
                now(),
                Policy::default()
            )
            .map(|_| ()),
            Err(Refusal::Forbidden)
        );
        assert_eq!(
            apply(
                &order,
                &Actor::Operator,
                &Command::NotReached { note: " ".into() },
                now(),
                Policy::default()
            )
            .map(|_| ()),
            Err(Refusal::TextRequired)
        );
    }

    #[test]
    fn status_codes_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.code()), Some(status));
        }
    }

    fn arb_actor() -> impl Strategy<Value = Actor> {
        prop_oneof![
            any::<bool>().prop_map(|owner| Actor::Citizen { owner }),
            Just(Actor::Operator),
            Just(Actor::Supervisor),
            Just(Actor::Admin),
            prop_oneof![Just("a"), Just("b")].prop_map(|a| Actor::AgencyStaff {
                agency: a.to_owned()
            }),
        ]
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        let agency = prop_oneof![Just("a".to_owned()), Just("b".to_owned())];
        let hours = -48i64..400;
        let text = prop_oneof![Just(String::new()), Just("原因".to_owned())];
        prop_oneof![
            (agency.clone(), hours.clone()).prop_map(|(agency, h)| Command::Dispatch {
                agency,
                deadline: now() + Duration::hours(h)
            }),
            text.clone()
                .prop_map(|answer| Command::CloseDirect { answer }),
            Just(Command::HandOver {
                to: Emergency::Fire119
            }),
            text.clone().prop_map(|reason| Command::Inform { reason }),
            Just(Command::Merge {
                into_tracking_number: "ZMD-20261130-000001".into()
            }),
            Just(Command::Sign),
            Just(Command::RecordContact),
            text.clone().prop_map(|note| Command::RecordVisit { note }),
            text.clone().prop_map(|result| Command::Reply { result }),
            text.clone()
                .prop_map(|reason| Command::RequestReturn { reason }),
            (agency.clone(), hours.clone()).prop_map(|(agency, h)| Command::Reassign {
                agency,
                deadline: now() + Duration::hours(h)
            }),
            text.clone()
                .prop_map(|reason| Command::RefuseReturn { reason }),
            (hours.clone(), text.clone()).prop_map(|(h, reason)| Command::RequestExtension {
                until: now() + Duration::hours(h),
                reason
            }),
            Just(Command::ApproveExtension),
            text.clone()
                .prop_map(|reason| Command::RefuseExtension { reason }),
            Just(Command::PassAudit),
            text.prop_map(|reason| Command::FailAudit { reason }),
            prop_oneof![
                Just(Satisfaction::Satisfied),
                Just(Satisfaction::Unsatisfied)
            ]
            .prop_map(|satisfaction| Command::Rate { satisfaction }),
            hours.prop_map(|h| Command::StartRedo {
                deadline: now() + Duration::hours(h)
            }),
            Just(Command::Archive),
            Just(Command::Remind {
                note: "市民多次来电".into(),
                agency: None
            }),
            agency.clone().prop_map(|agency| Command::Remind {
                note: "请尽快反馈协办意见".into(),
                agency: Some(agency)
            }),
            Just(Command::Supervise {
                note: "请三日内办结".into()
            }),
            Just(Command::KeySupervise {
                note: "超期多日，列入重点督办".into()
            }),
            Just(Command::RuleUnreasonable {
                reason: "已按政策答复".into()
            }),
            Just(Command::NotReached {
                note: "无人接听".into()
            }),
            prop_oneof![
                Just(None),
                Just(Some(String::new())),
                Just(Some("问题已自行解决".to_owned()))
            ]
            .prop_map(|reason| Command::Withdraw { reason }),
            agency.clone().prop_map(|agency| Command::AskCoHandling {
                agency,
                note: "请协助核查".into()
            }),
            Just(Command::CoReply {
                opinion: "已核查，属实".into()
            }),
            agency.clone().prop_map(|agency| Command::CancelCoHandling {
                agency,
                reason: "无需协办".into()
            }),
            Just(Command::Urge { note: None }),
            agency.prop_map(|agency| Command::ProposeCoHandling {
                agency,
                note: "涉及供水管网，需供水公司协助".into()
            }),
            Just(Command::RefuseCoHandling {
                reason: "本单位职责范围内，无需协办".into()
            }),
        ]
    }

    /// What every reachable order satisfies.
    fn valid(order: &Order, policy: Policy) -> Result<(), String> {
        let held = order.status.with_agency()
            || matches!(
                order.status,
                Status::Replied | Status::AwaitingRating | Status::RedoRequested
            );
        if held && (order.agency.is_none() || order.deadline.is_none()) {
            return Err(format!("{:?} without an agency and deadline", order.status));
        }
        if order.status == Status::Received && (order.agency.is_some() || order.deadline.is_some())
        {
            return Err("a received order with an agency".into());
        }
        if (order.status == Status::ReturnRequested) != order.status_before_return.is_some() {
            return Err("status_before_return out of step".into());
        }
        if order.returns > policy.return_limit {
            return Err(format!("{} returns over the cap", order.returns));
        }
        if order.extension.is_some() && !order.status.with_agency() {
            return Err(format!("an extension pending in {:?}", order.status));
        }
        if order.status == Status::AwaitingRating
            && order.follow_up_attempts >= policy.follow_up_attempts
        {
            return Err("awaiting a rating after every follow-up attempt".into());
        }
        if order.redos > 0 && !order.supervised {
            return Err("a redo not under supervision".into());
        }
        if order.urgings >= URGINGS_FOR_SUPERVISION && !order.supervised {
            return Err("urged on again and again, not under supervision".into());
        }
        if order.key_supervised && !order.supervised {
            return Err("key supervision without supervision".into());
        }
        if order.leader_day && order.agency.is_some() && !order.supervised {
            return Err("a leader's day order with an agency, not under supervision".into());
        }
        if order
            .co_handlers
            .iter()
            .any(|h| order.agency.as_deref() == Some(h.agency.as_str()))
        {
            return Err("the holding agency asked to help itself".into());
        }
        if order.co_handlers.len() > MAX_CO_HANDLERS {
            return Err("more agencies asked to help than may be".into());
        }
        if let Some(proposed) = &order.co_handling_proposal {
            if !order.status.with_agency() {
                return Err(format!("a request for help pending in {:?}", order.status));
            }
            if order.agency.as_ref() == Some(proposed) {
                return Err("the holder asked for its own help".into());
            }
            if order.co_handlers.iter().any(|h| h.agency == *proposed) {
                return Err("help asked for from an agency already asked".into());
            }
        }
        if matches!(order.status, Status::Replied | Status::AwaitingRating)
            && order.co_handlers.iter().any(|h| !h.answered)
        {
            return Err("replied while an agency asked to help had not answered".into());
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn any_sequence_keeps_the_order_valid(
            leader_day in any::<bool>(),
            steps in proptest::collection::vec((arb_actor(), arb_command()), 0..150),
        ) {
            let policy = Policy::default();
            let mut order = Order { leader_day, ..Order::received() };
            for (actor, command) in &steps {
                if let Ok((next, event)) = apply(&order, actor, command, now(), policy) {
                    prop_assert!(!event.code.is_empty(), "one event per accepted command");
                    prop_assert!(!order.status.is_final(), "nothing happens to a finished order");
                    // An event addressed to an agency other than the holder is addressed to one
                    // asked to help (before it, for a request taken back; after it, otherwise).
                    if let Some(agency) = &event.agency {
                        let asked = |o: &Order| o.co_handlers.iter().any(|h| h.agency == *agency)
                            || o.co_handling_proposal.as_ref() == Some(agency);
                        prop_assert!(next.agency.as_ref() != Some(agency), "{} to the holder", event.code);
                        prop_assert!(asked(&order) || asked(&next), "{} to an agency not asked", event.code);
                    }
                    order = next;
                }
                if let Err(problem) = valid(&order, policy) {
                    prop_assert!(false, "{} after {:?} by {:?}", problem, command, actor);
                }
            }
        }
    }
}
