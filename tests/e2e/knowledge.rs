//! The knowledge base (知识库): kept by supervisors, searched by operators and citizens, and
//! answered from when an operator closes a call directly.

use mobile_api::client::{Client, ClientError};
use mobile_api::{KnowledgeArticle, KnowledgeArticleInput, OrderAction};
use tests::{Platform, valid_request};

fn social_security_card() -> KnowledgeArticleInput {
    KnowledgeArticleInput {
        title: "社保卡丢失如何补办".into(),
        answer:
            "社会保障卡丢失后，请先拨打 12333 挂失，再携带本人身份证到任一社保卡服务网点申请补办，\
                 一般 7 个工作日内可领取新卡。"
                .into(),
        category: Some("social".into()),
        agency: Some("city-social-insurance".into()),
        keywords: vec!["社保卡".into(), "补卡".into()],
        internal: false,
    }
}

fn housing_fund() -> KnowledgeArticleInput {
    KnowledgeArticleInput {
        title: "住房公积金提取需要哪些材料".into(),
        answer: "携带身份证、银行卡及提取用途证明（如购房合同、租房合同）到住房公积金管理中心服务大厅办理。"
            .into(),
        category: Some("housing.housing-fund".into()),
        agency: Some("city-housing-fund".into()),
        keywords: vec!["公积金".into(), "提取".into()],
        internal: false,
    }
}

fn night_noise() -> KnowledgeArticleInput {
    KnowledgeArticleInput {
        title: "夜间施工噪音扰民如何投诉".into(),
        answer:
            "夜间（22 时至次日 6 时）施工须取得夜间施工许可。遇到无证夜间施工，可拨打 12345 反映。"
                .into(),
        category: Some("environment".into()),
        agency: None,
        keywords: Vec::new(),
        internal: false,
    }
}

/// The titles found for `query`, best first.
async fn titles(client: &Client, query: &[(&str, &str)]) -> Vec<String> {
    client
        .search_knowledge(query)
        .await
        .expect("a search")
        .items
        .into_iter()
        .map(|article| article.title)
        .collect()
}

#[tokio::test]
async fn operators_answer_calls_from_the_knowledge_base_that_supervisors_keep() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let mut written: Vec<KnowledgeArticle> = Vec::new();
    for input in [social_security_card(), housing_fund(), night_noise()] {
        written.push(
            supervisor
                .create_knowledge_article(&input)
                .await
                .expect("written"),
        );
    }
    let [card, fund, noise] = written.try_into().expect("three");
    assert_eq!(card.keywords, ["社保卡", "补卡"]);
    assert_eq!(
        card.agency.as_ref().map(|a| a.name.as_str()),
        Some("市社会保险中心")
    );
    assert_eq!(card.updated_by, "supervisor-1");

    // A caller's words find the article that shares enough of them, and nothing else.
    let operator = platform.client("operator-1", "operator");
    assert_eq!(
        titles(&operator, &[("q", "社保卡丢了怎么补办")]).await,
        ["社保卡丢失如何补办"]
    );
    assert_eq!(
        titles(&operator, &[("q", "公积金")]).await,
        ["住房公积金提取需要哪些材料"]
    );
    assert_eq!(
        titles(&operator, &[("q", "１２３４５")]).await,
        ["夜间施工噪音扰民如何投诉"],
        "full-width digits are the same digits"
    );
    assert!(titles(&operator, &[("q", "怎么办")]).await.is_empty());
    // Citizens read it too; without a question, the latest first; by category (and under it).
    let citizen = platform.client("citizen-1", "citizen");
    assert_eq!(
        titles(&citizen, &[]).await,
        [
            noise.title.as_str(),
            fund.title.as_str(),
            card.title.as_str()
        ]
    );
    assert_eq!(
        titles(&citizen, &[("category", "housing")]).await,
        [fund.title.as_str()]
    );
    assert_eq!(
        citizen
            .knowledge_article(card.id)
            .await
            .expect("one")
            .answer,
        card.answer
    );

    // A rewrite is found by its new words.
    assert!(titles(&operator, &[("q", "贷款")]).await.is_empty());
    let mut rewritten = housing_fund();
    rewritten.keywords.push("贷款".into());
    let updated = supervisor
        .update_knowledge_article(fund.id, &rewritten)
        .await
        .expect("rewritten");
    assert_eq!(updated.keywords, ["公积金", "提取", "贷款"]);
    assert_eq!(
        titles(&operator, &[("q", "贷款")]).await,
        [fund.title.as_str()]
    );

    // A retired article is no longer given.
    let retired = supervisor
        .retire_knowledge_article(noise.id)
        .await
        .expect("retired");
    assert!(retired.retired_at.is_some());
    assert!(titles(&operator, &[("q", "12345")]).await.is_empty());
    for result in [
        citizen.knowledge_article(noise.id).await.map(|_| ()),
        supervisor
            .retire_knowledge_article(noise.id)
            .await
            .map(|_| ()),
        supervisor
            .update_knowledge_article(noise.id, &night_noise())
            .await
            .map(|_| ()),
    ] {
        let error = result.expect_err("gone");
        assert_eq!(
            (error.status(), error.code()),
            (Some(404), Some("not_found"))
        );
    }

    // Supervisors find it among the retired; operators do not list them.
    let listed: Vec<i64> = supervisor
        .retired_knowledge_articles(&[])
        .await
        .expect("the retired")
        .items
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, [noise.id]);
    assert_eq!(
        operator
            .retired_knowledge_articles(&[])
            .await
            .expect_err("not the operators'")
            .status(),
        Some(403)
    );

    // An operator answers a call from an article: the order is closed directly with its answer,
    // and says which article it came from.
    let mut call = valid_request();
    call.category = "consultation.procedure".into();
    call.title = "社保卡丢了".into();
    call.description = "市民来电询问社保卡丢失后如何补办。".into();
    call.channel = mobile_api::Channel::Phone;
    let filed = operator
        .create_request(&call, None)
        .await
        .expect("a call filed");
    let from_retired = operator
        .act(
            &filed.tracking_number,
            "close_direct",
            &OrderAction {
                article: Some(noise.id),
                ..Default::default()
            },
        )
        .await
        .expect_err("not from a retired article");
    assert_eq!(from_retired.status(), Some(422));
    let closed = operator
        .act(
            &filed.tracking_number,
            "close_direct",
            &OrderAction {
                article: Some(card.id),
                ..Default::default()
            },
        )
        .await
        .expect("answered");
    assert_eq!(closed.status, "closed_direct");
    assert_eq!(closed.answered_from_article, Some(card.id));
    let last = closed.history.last().expect("its history");
    assert_eq!(
        (last.event.as_str(), last.note.as_deref()),
        ("closed_direct", Some(card.answer.as_str()))
    );

    // A retired article is given again, once; a live one cannot be restored.
    let restored = supervisor
        .restore_knowledge_article(noise.id)
        .await
        .expect("restored");
    assert!(restored.retired_at.is_none());
    assert_eq!(
        titles(&operator, &[("q", "12345")]).await,
        [noise.title.as_str()]
    );
    let error = supervisor
        .restore_knowledge_article(noise.id)
        .await
        .expect_err("live already");
    assert_eq!(
        (error.status(), error.code()),
        (Some(404), Some("not_found"))
    );

    // Every change is in the audit log.
    let admin = platform.client("admin-1", "admin");
    let log = admin.audit_log(None).await.expect("audit log");
    let mut changes: Vec<(&str, Option<&str>)> = log
        .items
        .iter()
        .filter(|entry| entry.action.starts_with("knowledge_article_"))
        .map(|entry| (entry.action.as_str(), entry.target.as_deref()))
        .collect();
    changes.sort();
    let (card_id, fund_id, noise_id) = (
        card.id.to_string(),
        fund.id.to_string(),
        noise.id.to_string(),
    );
    let mut expected = vec![
        ("knowledge_article_created", Some(card_id.as_str())),
        ("knowledge_article_created", Some(fund_id.as_str())),
        ("knowledge_article_created", Some(noise_id.as_str())),
        ("knowledge_article_updated", Some(fund_id.as_str())),
        ("knowledge_article_retired", Some(noise_id.as_str())),
        ("knowledge_article_restored", Some(noise_id.as_str())),
    ];
    expected.sort();
    assert_eq!(changes, expected);

    // And in each article's own history, oldest first, with the article as it stood after.
    let fund_history = supervisor
        .knowledge_article_history(fund.id)
        .await
        .expect("the fund article's history");
    let steps: Vec<(&str, &str, &[String])> = fund_history
        .items
        .iter()
        .map(|c| (c.change.as_str(), c.actor.as_str(), c.keywords.as_slice()))
        .collect();
    let (before, after) = (housing_fund().keywords, rewritten.keywords.clone());
    assert_eq!(
        steps,
        [
            ("created", "supervisor-1", before.as_slice()),
            ("updated", "supervisor-1", after.as_slice())
        ]
    );
    let first = &fund_history.items[0];
    assert_eq!(
        (
            first.title.as_str(),
            first.category.as_deref(),
            first.agency.as_deref()
        ),
        (
            fund.title.as_str(),
            Some("housing.housing-fund"),
            Some("city-housing-fund")
        )
    );
    assert!(fund_history.items[0].at <= fund_history.items[1].at);
    let noise_history = supervisor
        .knowledge_article_history(noise.id)
        .await
        .expect("a retired and restored article's history");
    let kinds: Vec<&str> = noise_history
        .items
        .iter()
        .map(|c| c.change.as_str())
        .collect();
    assert_eq!(kinds, ["created", "retired", "restored"]);
    for (client, status) in [
        (supervisor.clone(), 404),
        (operator.clone(), 403),
        (citizen.clone(), 403),
    ] {
        let id = if status == 404 { 424242 } else { fund.id };
        let error = client
            .knowledge_article_history(id)
            .await
            .expect_err("refused");
        assert_eq!(error.status(), Some(status));
    }
}

fn refusal(result: Result<impl Sized, ClientError>) -> (Option<u16>, Vec<String>) {
    let error = result.map(|_| ()).expect_err("refused");
    let fields = match &error {
        ClientError::Api { envelope, .. } => envelope
            .error
            .fields
            .iter()
            .map(|f| f.field.clone())
            .collect(),
        _ => Vec::new(),
    };
    (error.status(), fields)
}

#[tokio::test]
async fn the_knowledge_base_refuses_bad_articles_bad_questions_and_other_roles() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let bad = KnowledgeArticleInput {
        title: "  ".into(),
        answer: "长".repeat(4001),
        keywords: vec!["词".repeat(21)],
        ..Default::default()
    };
    assert_eq!(
        refusal(supervisor.create_knowledge_article(&bad).await),
        (
            Some(422),
            vec!["title".into(), "answer".into(), "keywords".into()]
        )
    );
    for (input, field) in [
        (
            KnowledgeArticleInput {
                category: Some("no-such-category".into()),
                ..social_security_card()
            },
            "category",
        ),
        (
            KnowledgeArticleInput {
                agency: Some("no-such-agency".into()),
                ..social_security_card()
            },
            "agency",
        ),
    ] {
        assert_eq!(
            refusal(supervisor.create_knowledge_article(&input).await),
            (Some(422), vec![field.to_owned()])
        );
    }
    // Operators, citizens and agencies read it; they do not write it.
    for (role, someone) in [
        ("operator", platform.client("someone-1", "operator")),
        ("citizen", platform.client("someone-2", "citizen")),
        (
            "agency_staff",
            platform.agency_client("someone-3", "city-social-insurance"),
        ),
    ] {
        assert_eq!(
            refusal(
                someone
                    .create_knowledge_article(&social_security_card())
                    .await
            )
            .0,
            Some(403),
            "{role}"
        );
    }
    // Nothing half-written: the refused articles are not there.
    let operator = platform.client("operator-1", "operator");
    assert!(titles(&operator, &[]).await.is_empty());

    // Malformed JSON, and ids that are no article.
    let response = reqwest::Client::new()
        .post(platform.url("/api/v1/admin/knowledge"))
        .bearer_auth(platform.keys.token("supervisor-1", "supervisor"))
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 400);
    for path in ["/api/v1/knowledge/abc", "/api/v1/knowledge/999999"] {
        let response = reqwest::Client::new()
            .get(platform.url(path))
            .bearer_auth(platform.keys.token("operator-1", "operator"))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 404, "{path}");
    }

    // Questions: nothing to search by, too long, a bad limit, an unknown category.
    let long = "问".repeat(201);
    for (query, field) in [
        (("q", "！？……"), "q"),
        (("q", long.as_str()), "q"),
        (("limit", "0"), "limit"),
        (("category", "no-such-category"), "category"),
    ] {
        assert_eq!(
            refusal(operator.search_knowledge(&[query]).await),
            (Some(422), vec![field.to_owned()]),
            "{query:?}"
        );
    }
    // An answer from an article that does not exist.
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    let filed = operator.create_request(&call, None).await.expect("filed");
    assert_eq!(
        refusal(
            operator
                .act(
                    &filed.tracking_number,
                    "close_direct",
                    &OrderAction {
                        article: Some(424242),
                        ..Default::default()
                    },
                )
                .await
        ),
        (Some(422), vec!["article".into()])
    );
}

#[tokio::test]
async fn internal_articles_are_for_staff_and_answered_only_in_ones_own_words() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let operator = platform.client("operator-1", "operator");
    let citizen = platform.client("citizen-1", "citizen");
    let agency = platform.agency_client("water-1", "utility-water");
    let guidance = supervisor
        .create_knowledge_article(&KnowledgeArticleInput {
            title: "停水投诉先查计划停水公告".into(),
            answer: "接到停水投诉，先查供水公司当日计划停水公告；非计划停水直接联系供水公司调度室 0396-0000000。"
                .into(),
            category: Some("utilities.water-supply".into()),
            agency: Some("utility-water".into()),
            keywords: vec!["停水".into()],
            internal: true,
        })
        .await
        .expect("an internal article");
    assert!(guidance.internal);
    let public = supervisor
        .create_knowledge_article(&KnowledgeArticleInput {
            title: "停水了怎么办".into(),
            answer: "可先查看供水公司发布的停水公告，非计划停水请拨打 12345 反映。".into(),
            category: Some("utilities.water-supply".into()),
            agency: None,
            keywords: vec!["停水".into()],
            internal: false,
        })
        .await
        .expect("a public article");

    // Staff find it; citizens never do, by search, by the latest, or by its id.
    for staff in [&operator, &agency, &supervisor] {
        let mut found = titles(staff, &[("q", "停水")]).await;
        found.sort();
        assert_eq!(found, ["停水了怎么办", "停水投诉先查计划停水公告"]);
        assert!(
            staff
                .knowledge_article(guidance.id)
                .await
                .expect("read")
                .internal
        );
    }
    assert_eq!(titles(&citizen, &[("q", "停水")]).await, ["停水了怎么办"]);
    assert_eq!(titles(&citizen, &[]).await, ["停水了怎么办"]);
    let hidden = citizen
        .knowledge_article(guidance.id)
        .await
        .expect_err("not for citizens");
    assert_eq!(hidden.status(), Some(404));
    assert_eq!(
        citizen
            .knowledge_article(public.id)
            .await
            .expect("public")
            .id,
        public.id
    );

    // Made public later, citizens find it; the history says when it changed.
    let published = supervisor
        .update_knowledge_article(
            guidance.id,
            &KnowledgeArticleInput {
                internal: false,
                title: "停水投诉先查计划停水公告".into(),
                answer: guidance.answer.clone(),
                category: Some("utilities.water-supply".into()),
                agency: Some("utility-water".into()),
                keywords: vec!["停水".into()],
            },
        )
        .await
        .expect("published");
    assert!(!published.internal);
    assert_eq!(
        citizen
            .knowledge_article(guidance.id)
            .await
            .expect("now public")
            .id,
        guidance.id
    );
    let history = supervisor
        .knowledge_article_history(guidance.id)
        .await
        .expect("its history");
    let flags: Vec<(&str, bool)> = history
        .items
        .iter()
        .map(|c| (c.change.as_str(), c.internal))
        .collect();
    assert_eq!(flags, [("created", true), ("updated", false)]);

    // An operator answers from an internal article only in their own words.
    let staff_only = supervisor
        .create_knowledge_article(&KnowledgeArticleInput {
            title: "供水调度室电话".into(),
            answer: "供水公司调度室 0396-0000000，仅供内部转办使用。".into(),
            internal: true,
            ..Default::default()
        })
        .await
        .expect("another internal article");
    let mut call = valid_request();
    call.channel = mobile_api::Channel::Phone;
    let filed = operator.create_request(&call, None).await.expect("filed");
    let read_out = operator
        .act(
            &filed.tracking_number,
            "close_direct",
            &OrderAction {
                article: Some(staff_only.id),
                ..Default::default()
            },
        )
        .await
        .expect_err("not read out to the citizen");
    assert_eq!(read_out.status(), Some(422));
    assert!(
        read_out
            .fields()
            .iter()
            .any(|f| f.field == "answer" && f.code == "required"),
        "{read_out:?}"
    );
    let closed = operator
        .act(
            &filed.tracking_number,
            "close_direct",
            &OrderAction {
                article: Some(staff_only.id),
                answer: Some("已为您联系供水公司调度室，预计今晚恢复供水。".into()),
                ..Default::default()
            },
        )
        .await
        .expect("answered in the operator's words");
    assert_eq!(closed.answered_from_article, Some(staff_only.id));
    let seen = history_notes(&platform, &filed.tracking_number).await;
    assert!(!seen.contains("0396-0000000"), "{seen}");
}

/// The notes of an order's history, joined: what its timeline and replies say.
async fn history_notes(platform: &Platform, number: &str) -> String {
    let (description,): (String,) = sqlx::query_as(
        "select coalesce(string_agg(coalesce(note, ''), '|'), '') from work_order_events e \
         join work_orders o on o.work_order_id = e.work_order_id where o.tracking_number = $1",
    )
    .bind(number)
    .fetch_one(&platform.db)
    .await
    .expect("its history");
    description
}

#[tokio::test]
async fn the_latest_and_the_retired_come_a_page_at_a_time() {
    let platform = Platform::start().await;
    let supervisor = platform.client("supervisor-1", "supervisor");
    let mut ids = Vec::new();
    for n in 0..7 {
        let article = supervisor
            .create_knowledge_article(&KnowledgeArticleInput {
                title: format!("第{n}条办事指南"),
                answer: format!("第{n}条的答复。"),
                ..Default::default()
            })
            .await
            .expect("an article");
        ids.push(article.id);
    }
    // Newest first, three at a time, every article once.
    let pages = async |path: &str| {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", "3".to_owned())];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.clone()));
            }
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = if path == "latest" {
                supervisor.search_knowledge(&query).await
            } else {
                supervisor.retired_knowledge_articles(&query).await
            }
            .expect("a page");
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|a| a.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        seen
    };
    let newest_first: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(pages("latest").await, newest_first);
    for id in &ids[..4] {
        supervisor
            .retire_knowledge_article(*id)
            .await
            .expect("retired");
    }
    let retired_newest_first: Vec<i64> = ids[..4].iter().rev().copied().collect();
    assert_eq!(pages("retired").await, retired_newest_first);
    assert_eq!(pages("latest").await, newest_first[..3]);

    // A question's answers are one page; a cursor that is not one is refused.
    let refused = supervisor
        .search_knowledge(&[("q", "办事指南"), ("cursor", "1.2")])
        .await
        .expect_err("no pages for a question");
    assert_eq!(refused.status(), Some(422));
    assert!(
        refused
            .fields()
            .iter()
            .any(|f| f.field == "cursor" && f.code == "not_with_q")
    );
    for bad in ["nonsense", "1.abc"] {
        let refused = supervisor
            .search_knowledge(&[("cursor", bad)])
            .await
            .expect_err("a bad cursor");
        assert_eq!(
            (refused.status(), refused.code()),
            (Some(400), Some("invalid_cursor"))
        );
    }
}
