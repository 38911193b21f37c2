//! The business rules of work orders (工单), with no I/O: parsing a citizen's request into
//! checked domain values, tracking numbers, and the words citizens read.
//!
//! Compiled natively for the tests and into the components for wasm32-wasip2.

pub mod calendar;
pub mod lifecycle;
pub mod photo;
pub mod risk;

use chrono::{DateTime, FixedOffset, Utc};

/// China Standard Time: the hotline's calendar day, for tracking numbers and deadlines.
pub fn china_time() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Midnight of `day` in China Standard Time, as a UTC time: where a China day begins.
pub fn china_midnight(day: chrono::NaiveDate) -> chrono::NaiveDateTime {
    day.and_hms_opt(0, 0, 0).unwrap_or_default() - chrono::TimeDelta::hours(8)
}

/// The China day at `now`.
pub fn china_today(now: DateTime<Utc>) -> chrono::NaiveDate {
    now.with_timezone(&china_time()).date_naive()
}

/// One problem with one field of a request, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

fn problem(field: &'static str, code: &'static str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field,
        code,
        message: message.into(),
    }
}

/// A contact number: a mainland mobile number (11 digits, `1[3-9]...`) or a landline with its area
/// code (`0` + 2–3 digits, then 7–8 digits; a dash is allowed after the area code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<PhoneNumber, &'static str> {
        let compact: String = raw.trim().chars().filter(|c| *c != ' ').collect();
        let compact = compact.strip_prefix("+86").unwrap_or(&compact).to_owned();
        let digits: String = compact.chars().filter(|c| *c != '-').collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) || digits.is_empty() {
            return Err("invalid_phone");
        }
        let mobile = digits.len() == 11
            && digits.starts_with('1')
            && matches!(digits.as_bytes()[1], b'3'..=b'9');
        let landline = digits.starts_with('0')
            && (10..=12).contains(&digits.len())
            && compact.matches('-').count() <= 1;
        if mobile || landline {
            Ok(PhoneNumber(digits))
        } else {
            Err("invalid_phone")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden, as shown to anyone but its owner: `138****8000`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Hides the middle of a stored number: all but the first three and last four digits.
pub fn mask_phone(digits: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// A checked text: trimmed, within a length in characters, without control characters other
/// than line breaks and tabs.
fn text(field: &'static str, raw: &str, max: usize, problems: &mut Vec<FieldProblem>) -> String {
    let value = raw.trim();
    if value.is_empty() {
        problems.push(problem(field, "required", "不能为空 (must not be empty)"));
    } else if value.chars().count() > max {
        problems.push(problem(
            field,
            "too_long",
            format!("不能超过 {max} 个字 (at most {max} characters)"),
        ));
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        problems.push(problem(
            field,
            "invalid_characters",
            "含有不可见的控制字符 (contains control characters)",
        ));
    }
    value.to_owned()
}

pub const MAX_TITLE: usize = 100;
pub const MAX_DESCRIPTION: usize = 2000;
pub const MAX_ADDRESS: usize = 200;
pub const MAX_PHOTOS: usize = 9;
pub const MAX_PHOTO_URL: usize = 500;

/// What a citizen sent, before checking; the component fills it from the API's JSON.
#[derive(Debug, Clone, Default)]
pub struct RequestDraft<'a> {
    pub category: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<&'a str>,
    pub district: Option<&'a str>,
    pub contact_phone: &'a str,
    pub photo_urls: &'a [String],
}

/// A request whose every field is checked. Whether the category and district exist is for the
/// database to say.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    pub category: String,
    pub title: String,
    pub description: String,
    pub coordinates: Option<(f64, f64)>,
    pub address: Option<String>,
    pub district: Option<String>,
    pub contact_phone: PhoneNumber,
    pub photo_urls: Vec<String>,
}

fn is_code(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-'
        })
}

/// Coordinates given together, each in range; `at` is the object holding them, e.g. `location`.
fn coordinates(
    at: &'static str,
    lat: Option<f64>,
    lng: Option<f64>,
    problems: &mut Vec<FieldProblem>,
) -> Option<(f64, f64)> {
    let (lat_field, lng_field) = match at {
        "location" => ("location.lat", "location.lng"),
        _ => ("lat", "lng"),
    };
    match (lat, lng) {
        (Some(lat), Some(lng)) => {
            if !(-90.0..=90.0).contains(&lat) || !lat.is_finite() {
                problems.push(problem(
                    lat_field,
                    "out_of_range",
                    "纬度应在 -90 到 90 之间 (latitude out of range)",
                ));
            }
            if !(-180.0..=180.0).contains(&lng) || !lng.is_finite() {
                problems.push(problem(
                    lng_field,
                    "out_of_range",
                    "经度应在 -180 到 180 之间 (longitude out of range)",
                ));
            }
            // Out of range is reported above, and fails the whole parse; the pair still counts
            // as given, so "give coordinates or an address" is not reported as well.
            Some((lat, lng))
        }
        (None, None) => None,
        (Some(_), None) => {
            problems.push(problem(
                lng_field,
                "required",
                "有纬度时也需要经度 (lng is required with lat)",
            ));
            None
        }
        (None, Some(_)) => {
            problems.push(problem(
                lat_field,
                "required",
                "有经度时也需要纬度 (lat is required with lng)",
            ));
            None
        }
    }
}

/// At most [`MAX_PHOTOS`] links: http(s) links, or those of photos uploaded to the platform
/// (`/api/v1/photos/<id>`, [`photo::own_photo`]; whether each is one the sender uploaded is for
/// the database to say).
fn check_photo_urls(field: &'static str, urls: &[String], problems: &mut Vec<FieldProblem>) {
    if urls.len() > MAX_PHOTOS {
        problems.push(problem(
            field,
            "too_many",
            format!("最多 {MAX_PHOTOS} 张照片 (at most {MAX_PHOTOS} photos)"),
        ));
    }
    for url in urls {
        let valid = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= MAX_PHOTO_URL
            && url.len() > "https://".len()
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid && photo::own_photo(url).is_none() {
            problems.push(problem(
                field,
                "invalid_url",
                "照片地址应为 http(s) 链接或上传照片的地址 (photo URLs must be http(s) links or uploaded photos' links)",
            ));
            break;
        }
    }
}

/// `urls` checked as photo links ([`MAX_PHOTOS`] at most, each an http(s) link or an uploaded
/// photo's), for an action that carries photos beside its own fields (an agency's reply).
pub fn check_photo_links(urls: &[String]) -> Result<(), Vec<FieldProblem>> {
    let mut problems = Vec::new();
    check_photo_urls("photo_urls", urls, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// What agency staff record of a visit on site (现场处置): a note, photos, and where they stood.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedVisit {
    pub note: String,
    pub photo_urls: Vec<String>,
    pub coordinates: Option<(f64, f64)>,
}

impl CheckedVisit {
    /// Checks every field, and reports every problem at once.
    pub fn parse(
        note: Option<&str>,
        photo_urls: &[String],
        lat: Option<f64>,
        lng: Option<f64>,
    ) -> Result<CheckedVisit, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let note = text("note", note.unwrap_or(""), MAX_DESCRIPTION, &mut problems);
        check_photo_urls("photo_urls", photo_urls, &mut problems);
        let coordinates = coordinates("visit", lat, lng, &mut problems);
        if problems.is_empty() {
            Ok(CheckedVisit {
                note,
                photo_urls: photo_urls.to_vec(),
                coordinates,
            })
        } else {
            Err(problems)
        }
    }
}

/// What a citizen adds to their request after filing it (补充说明): words, and photos.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSupplement {
    pub text: String,
    pub photo_urls: Vec<String>,
}

impl CheckedSupplement {
    /// Checks every field, and reports every problem at once.
    pub fn parse(
        text_given: &str,
        photo_urls: &[String],
    ) -> Result<CheckedSupplement, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let text = text("text", text_given, MAX_DESCRIPTION, &mut problems);
        check_photo_urls("photo_urls", photo_urls, &mut problems);
        if problems.is_empty() {
            Ok(CheckedSupplement {
                text,
                photo_urls: photo_urls.to_vec(),
            })
        } else {
            Err(problems)
        }
    }
}

impl CheckedRequest {
    /// Checks every field, and reports every problem at once.
    pub fn parse(draft: &RequestDraft<'_>) -> Result<CheckedRequest, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let category = draft.category.trim();
        if category.is_empty() {
            problems.push(problem(
                "category",
                "required",
                "请选择诉求类别 (choose a category)",
            ));
        } else if !is_code(category) {
            problems.push(problem(
                "category",
                "unknown_category",
                "没有这个诉求类别 (no such category)",
            ));
        }
        let title = text("title", draft.title, MAX_TITLE, &mut problems);
        let description = text(
            "description",
            draft.description,
            MAX_DESCRIPTION,
            &mut problems,
        );

        let coordinates = coordinates("location", draft.lat, draft.lng, &mut problems);
        let address = draft
            .address
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        if let Some(address) = &address
            && address.chars().count() > MAX_ADDRESS
        {
            problems.push(problem(
                "location.address",
                "too_long",
                format!("地址不能超过 {MAX_ADDRESS} 个字 (address too long)"),
            ));
        }
        if coordinates.is_none() && address.is_none() {
            problems.push(problem(
                "location",
                "required",
                "请提供位置：坐标或地址 (give coordinates or an address)",
            ));
        }
        let district = draft
            .district
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if let Some(district) = &district
            && !is_code(district)
        {
            problems.push(problem(
                "location.district",
                "unknown_district",
                "没有这个县区 (no such district)",
            ));
        }

        let contact_phone = PhoneNumber::parse(draft.contact_phone);
        if contact_phone.is_err() {
            problems.push(problem(
                "contact_phone",
                "invalid_phone",
                "请填写正确的手机号或带区号的固定电话 (invalid phone number)",
            ));
        }

        check_photo_urls("photo_urls", draft.photo_urls, &mut problems);

        match (problems.is_empty(), contact_phone) {
            (true, Ok(contact_phone)) => Ok(CheckedRequest {
                category: category.to_owned(),
                title,
                description,
                coordinates,
                address,
                district,
                contact_phone,
                photo_urls: draft.photo_urls.to_vec(),
            }),
            _ => Err(problems),
        }
    }
}

/// A tracking number: `<CITY>-<YYYYMMDD>-<serial>`, the serial at least six digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingNumber(String);

impl TrackingNumber {
    /// The number for the `serial`-th order, filed at `at` (dated in China time).
    pub fn new(city: &str, at: DateTime<Utc>, serial: i64) -> TrackingNumber {
        let day = at.with_timezone(&china_time()).format("%Y%m%d");
        TrackingNumber(format!("{city}-{day}-{serial:06}"))
    }

    /// Recognises a tracking number (case-insensitive), so a path can hold an id or a number.
    pub fn parse(raw: &str) -> Option<TrackingNumber> {
        let upper = raw.trim().to_ascii_uppercase();
        let mut parts = upper.split('-');
        let (city, day, serial) = (parts.next()?, parts.next()?, parts.next()?);
        let valid = parts.next().is_none()
            && (2..=8).contains(&city.len())
            && city.chars().all(|c| c.is_ascii_uppercase())
            && day.len() == 8
            && day.chars().all(|c| c.is_ascii_digit())
            && serial.len() >= 6
            && serial.len() <= 18
            && serial.chars().all(|c| c.is_ascii_digit());
        valid.then_some(TrackingNumber(upper))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How people call a channel (`app`, `wechat`, `phone`, `web`, `partner`); the code itself if
/// unknown.
pub fn channel_label(channel: &str) -> &str {
    match channel {
        "app" => "App",
        "wechat" => "微信小程序",
        "phone" => "电话",
        "web" => "网站",
        "partner" => "对接系统",
        other => other,
    }
}

/// The status words a citizen reads.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "received" => "已受理",
        "dispatched" => "已派单",
        "signed" => "已签收",
        "in_progress" => "办理中",
        "return_requested" => "办理中",
        "replied" => "已答复",
        "awaiting_rating" => "待评价",
        "redo_requested" => "待重办",
        "archived" => "已办结",
        "closed_direct" => "已直接答复",
        "handed_over" => "已转紧急部门",
        "informed" => "已告知",
        "merged" => "已并单",
        "withdrawn" => "已撤回",
        _ => "处理中",
    }
}

/// The words a citizen reads for a history event, or `None` for the centre's internal steps
/// (returns, extensions, audits) that the citizen's timeline does not show. Notes never appear.
pub fn event_description(event: &str, urgent: bool) -> Option<&'static str> {
    Some(match event {
        "received" if urgent => "您的紧急诉求已受理，已进入快速通道",
        "received" => "您的诉求已受理，我们会尽快派给承办单位",
        "taken_by_leader" => "您的来电在领导接听日由领导亲自受理，将优先跟进办理",
        "dispatched" => "您的诉求已派给承办单位办理",
        "reassigned" => "您的诉求已转交更合适的单位办理",
        "signed" => "承办单位已签收，正在办理",
        "citizen_contacted" => "承办单位已与您联系",
        "visited" => "工作人员已到现场处理",
        "audit_passed" => "承办单位已答复，请您查看并评价",
        "rated_satisfied" => "感谢您的评价",
        "rated_unsatisfied" => "已收到您的评价，我们将跟进处理",
        "redo_started" => "您的诉求已安排重新办理",
        "archived" => "您的诉求已办结",
        "closed_direct" => "话务员已直接答复您的诉求",
        "handed_over" => "您的诉求已转交紧急救援部门",
        "informed" => "您的诉求不属于政府职责范围，我们已告知您办理途径",
        "merged" => "您的诉求与已有工单合并办理",
        "withdrawn" => "诉求已按您的要求撤回",
        "supplemented" => "已收到您补充的情况，热线和承办单位办理时都能看到",
        "co_handling_requested" => "您的诉求涉及多个部门，已安排相关单位协同办理",
        "reminded" => "已督促承办单位加快办理",
        "co_handling_reminded" => "已督促协办单位尽快提出意见",
        "citizen_urged" => "已收到您的催办，已转告承办单位加快办理",
        "citizen_urged_supervised" => "您已多次催办，诉求已列入督办，将跟进办理",
        "supervised" => "您的诉求已列入督办",
        "key_supervised" => "您的诉求已列入重点督办",
        "complaint_ruled_unreasonable" => "经热线中心复核，承办单位已依规办理，诉求办结",
        "not_reached" => "回访电话未能联系到您，我们将再次回访",
        "not_reached_archived" => "多次回访未能联系到您，诉求已办结归档",
        _ => return None,
    })
}

/// Who gave the answer a citizen reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answerer {
    /// The agency's reply, once the centre's audit passed it.
    Agency,
    /// The hotline itself: an operator's direct answer, or where to turn when it is not the
    /// government's to handle.
    Hotline,
}

/// The answer a citizen reads on their order, from its history (`(event, note, at)`, oldest
/// first): the latest of an agency's reply that passed audit (a reply the audit sent back is
/// never shown), an operator's direct answer, or the hotline's word that it is not the
/// government's to handle. `None` while there is none.
pub fn citizen_answer<'a, T: Copy>(
    events: impl IntoIterator<Item = (&'a str, Option<&'a str>, T)>,
) -> Option<(&'a str, Answerer, T)> {
    let mut pending = None;
    let mut answer = None;
    for (event, note, at) in events {
        match (event, note) {
            ("replied", Some(note)) => pending = Some(note),
            ("audit_failed", _) => pending = None,
            ("audit_passed", _) => {
                if let Some(note) = pending.take() {
                    answer = Some((note, Answerer::Agency, at));
                }
            }
            ("closed_direct" | "informed", Some(note)) => {
                answer = Some((note, Answerer::Hotline, at));
            }
            _ => {}
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_citizen_reads_the_reply_the_audit_passed_and_never_one_it_sent_back() {
        let answer = |events: &[(&'static str, Option<&'static str>, u32)]| {
            citizen_answer(events.iter().copied())
        };
        assert_eq!(
            answer(&[("received", None, 1), ("dispatched", Some("a"), 2)]),
            None
        );
        // Replied, not yet audited: nothing yet.
        assert_eq!(answer(&[("replied", Some("已修复"), 3)]), None);
        // Sent back, then replied again and passed: the second reply, at the audit.
        assert_eq!(
            answer(&[
                ("replied", Some("已处理"), 3),
                ("audit_failed", Some("未说明结果"), 4),
                ("audit_passed", None, 5),
                ("replied", Some("已更换灯泡，恢复照明"), 6),
                ("audit_passed", None, 7),
            ]),
            Some(("已更换灯泡，恢复照明", Answerer::Agency, 7))
        );
        // A redo's new reply waits for its audit; the one passed before stands meanwhile.
        assert_eq!(
            answer(&[
                ("replied", Some("第一次答复"), 3),
                ("audit_passed", None, 4),
                ("rated_unsatisfied", None, 5),
                ("redo_started", None, 6),
                ("replied", Some("第二次答复"), 7),
            ]),
            Some(("第一次答复", Answerer::Agency, 4))
        );
        assert_eq!(
            answer(&[("closed_direct", Some("社保卡补办请携带身份证"), 2)]),
            Some(("社保卡补办请携带身份证", Answerer::Hotline, 2))
        );
        assert_eq!(
            answer(&[("informed", Some("请向法院申请"), 2)]),
            Some(("请向法院申请", Answerer::Hotline, 2))
        );
    }

    fn draft<'a>(photos: &'a [String]) -> RequestDraft<'a> {
        RequestDraft {
            category: "urban.streetlight",
            title: "路灯不亮",
            description: "解放大道与交通路交叉口路灯连续三晚不亮",
            lat: Some(32.98),
            lng: Some(114.02),
            address: Some("驿城区解放大道"),
            district: Some("yicheng"),
            contact_phone: "138 0013 8000",
            photo_urls: photos,
        }
    }

    #[test]
    fn a_good_request_parses() {
        let checked = CheckedRequest::parse(&draft(&[])).expect("valid");
        assert_eq!(checked.contact_phone.as_str(), "13800138000");
        assert_eq!(checked.contact_phone.masked(), "138****8000");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let photos = vec!["ftp://x".to_owned()];
        let mut bad = draft(&photos);
        bad.title = "  ";
        bad.contact_phone = "12345";
        bad.lat = Some(91.0);
        let problems = CheckedRequest::parse(&bad).expect_err("invalid");
        let fields: Vec<_> = problems.iter().map(|p| (p.field, p.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("title", "required"),
                ("location.lat", "out_of_range"),
                ("contact_phone", "invalid_phone"),
                ("photo_urls", "invalid_url")
            ]
        );
    }

    #[test]
    fn visits_are_checked_whole() {
        let photos = vec!["https://img.example.cn/1.jpg".to_owned()];
        let visit = CheckedVisit::parse(Some(" 已到现场 "), &photos, Some(32.98), Some(114.02))
            .expect("valid");
        assert_eq!(visit.note, "已到现场");
        assert_eq!(visit.coordinates, Some((32.98, 114.02)));
        let bad = CheckedVisit::parse(None, &["javascript:x".to_owned()], None, Some(200.0))
            .expect_err("invalid");
        let fields: Vec<_> = bad.iter().map(|p| (p.field, p.code)).collect();
        assert_eq!(
            fields,
            [
                ("note", "required"),
                ("photo_urls", "invalid_url"),
                ("lat", "required")
            ]
        );
        let too_many = vec!["https://img.example.cn/1.jpg".to_owned(); MAX_PHOTOS + 1];
        assert!(CheckedVisit::parse(Some("x"), &too_many, None, None).is_err());
    }

    #[test]
    fn a_location_needs_coordinates_or_an_address() {
        let mut bad = draft(&[]);
        bad.lat = None;
        bad.lng = None;
        bad.address = None;
        let problems = CheckedRequest::parse(&bad).expect_err("invalid");
        assert_eq!(problems[0].field, "location");
    }

    #[test]
    fn phone_numbers() {
        assert!(PhoneNumber::parse("13912345678").is_ok());
        assert!(PhoneNumber::parse("+86 139 1234 5678").is_ok());
        assert!(PhoneNumber::parse("0396-2612345").is_ok());
        assert!(PhoneNumber::parse("12912345678").is_err());
        assert!(PhoneNumber::parse("1391234567").is_err());
        assert!(PhoneNumber::parse("").is_err());
    }

    #[test]
    fn tracking_numbers_use_the_china_calendar_day() {
        let late_utc = "2026-11-27T17:30:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        let number = TrackingNumber::new("ZMD", late_utc, 123);
        assert_eq!(number.as_str(), "ZMD-20261128-000123");
        assert_eq!(TrackingNumber::parse("zmd-20261128-000123"), Some(number));
        assert_eq!(TrackingNumber::parse("ZMD-2026112-000123"), None);
        assert_eq!(
            TrackingNumber::parse("3f2a5c1e-0000-0000-0000-000000000000"),
            None
        );
    }

    proptest! {
        #[test]
        fn masking_never_reveals_the_middle(digits in "[0-9]{8,12}") {
            let masked = mask_phone(&digits);
            prop_assert_eq!(masked.len(), digits.len());
            prop_assert_eq!(&masked[..3], &digits[..3]);
            prop_assert!(masked[3..digits.len() - 4].chars().all(|c| c == '*'));
        }

        #[test]
        fn tracking_numbers_round_trip(serial in 0i64..10_000_000_000, secs in 0i64..4_000_000_000) {
            let at = DateTime::from_timestamp(secs, 0).expect("time");
            let number = TrackingNumber::new("ZMD", at, serial);
            prop_assert_eq!(TrackingNumber::parse(number.as_str()), Some(number));
        }

        #[test]
        fn parsing_never_panics(title in ".{0,300}", phone in ".{0,20}", lat in proptest::option::of(any::<f64>())) {
            let photos: Vec<String> = Vec::new();
            let mut d = draft(&photos);
            d.title = &title;
            d.contact_phone = &phone;
            d.lat = lat;
            let _ = CheckedRequest::parse(&d);
        }
    }
}
