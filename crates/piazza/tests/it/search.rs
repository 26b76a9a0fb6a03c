//! Search (`GET /api/v1/search`): a corpus of real Chinese, Italian,
//! English, Japanese and Korean sentences with the hits and misses each
//! query must give, the same on both engines; who finds what (members
//! only, from when they joined, never a recalled or deleted-for-me
//! message); pages; contacts by remark, name and username; bad input.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use piazza_api::search::{SearchHit, SearchResults};
use piazza_client::{Client, ClientError, Search};

use crate::cli_chat::piazza;
use crate::helpers::*;

/// The corpus: what Ann sends to the group, in order.
const CORPUS: &[&str] = &[
    "我们明天在北京天安门广场见面吧",
    "上海的天气今天特别好，我们去外滩散步",
    "这个周末你有空吗？一起去吃火锅",
    "北京烤鸭真好吃，下次再来",
    "我在京东买了一个新手机",
    "Ci vediamo domani sera in pizzeria, perché piove",
    "La pizza margherita è nata a Napoli",
    "Perché non vieni al mare con noi sabato?",
    "L'amore non è bello se non è litigarello",
    "Meeting moved to Thursday at the usual place",
    "Don't forget to buy milk on your way home",
    "The pizza place on Main Street closes at ten",
    "明日は東京駅で会いましょう",
    "서울에서 만나요",
    "北京和上海哪个城市更大？",
];

/// Each query and the corpus sentences it finds: all of them, no other.
const EXPECTED: &[(&str, &[usize])] = &[
    // A two-character word inside a longer run, wherever it falls.
    ("北京", &[0, 3, 14]),
    ("上海", &[1, 14]),
    ("火锅", &[2]),
    ("天安门", &[0]),
    // Four pairs: the walked one and three more.
    ("天安门广场", &[0]),
    // One character: 京东 and 東京 hold it too.
    ("京", &[0, 3, 4, 12, 14]),
    // Each pair of 北京天 is in the corpus, the three together once.
    ("北京天", &[0]),
    ("海天", &[]),
    ("北京 上海", &[14]),
    // Accents, case and apostrophes.
    ("perche", &[5, 7]),
    ("PERCHÉ piove", &[5]),
    ("amore", &[8]),
    // The last word typed matches longer words; finished words do not.
    ("pizz", &[5, 6, 11]),
    ("pizza ", &[6, 11]),
    ("napoli pizza", &[6]),
    ("place", &[9, 11]),
    ("don't forget", &[10]),
    ("milk home", &[10]),
    ("THURSDAY", &[9]),
    ("roma", &[]),
    ("東京", &[12]),
    ("会い", &[12]),
    ("서울", &[13]),
    ("부산", &[]),
];

/// Searches until `done` holds of the first page (the index follows the
/// writes by moments), or fails after ten seconds.
async fn search_until(
    client: &Client,
    search: &Search<'_>,
    done: impl Fn(&SearchResults) -> bool,
) -> SearchResults {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let results = client.search(search).await.expect("search");
        if done(&results) {
            return results;
        }
        assert!(Instant::now() < deadline, "never indexed: {results:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The texts of the messages found, as their snippets show them whole.
fn texts(results: &SearchResults) -> Vec<String> {
    results
        .results
        .iter()
        .map(|hit| match hit {
            SearchHit::Message(message) => {
                message.snippet.iter().map(|p| p.text.as_str()).collect()
            }
            other => panic!("not a message: {other:?}"),
        })
        .collect()
}

/// Sends `text` and waits until `reader` finds it by `word`.
async fn sent_and_indexed(
    sender: &User,
    reader: &User,
    conversation: &str,
    text: &str,
    word: &str,
) {
    let id = format!("m-{}", text.len() ^ text.as_bytes()[0] as usize);
    sender
        .client
        .send_message(conversation, &id, text)
        .await
        .unwrap();
    search_until(&reader.client, &Search::messages(word), |results| {
        texts(results).iter().any(|found| found == text)
    })
    .await;
}

#[tokio::test]
async fn the_corpus_finds_what_it_must_and_nothing_else() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Corpus", &["ann", "bob"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    for (n, text) in CORPUS.iter().enumerate() {
        ann.client
            .send_message(&group, &format!("c-{n}"), text)
            .await
            .unwrap();
    }
    // The last sentence found: the index has every one before it.
    search_until(&bob.client, &Search::messages("哪个"), |r| {
        r.results.len() == 1
    })
    .await;
    for (query, expected) in EXPECTED {
        let results = bob.client.search(&Search::messages(query)).await.unwrap();
        let found: BTreeSet<&str> = results
            .results
            .iter()
            .map(|hit| match hit {
                SearchHit::Message(message) => {
                    let seq = message.seq as usize;
                    // Seqs 1.. are the corpus in order.
                    CORPUS[seq - 1]
                }
                other => panic!("not a message: {other:?}"),
            })
            .collect();
        let wanted: BTreeSet<&str> = expected.iter().map(|n| CORPUS[*n]).collect();
        assert_eq!(found, wanted, "query {query:?}");
        // Newest first, each marked where it matched.
        let seqs: Vec<i64> = results
            .results
            .iter()
            .map(|hit| match hit {
                SearchHit::Message(message) => {
                    assert!(
                        message.snippet.iter().any(|part| part.hit),
                        "{query}: {message:?}"
                    );
                    assert_eq!(message.conversation_id, group);
                    assert_eq!(message.sender.account_id, ann.account_id);
                    message.seq
                }
                _ => unreachable!(),
            })
            .collect();
        assert!(
            seqs.windows(2).all(|pair| pair[0] > pair[1]),
            "{query}: {seqs:?}"
        );
    }
    // The highlight is the word as written.
    let results = bob
        .client
        .search(&Search::messages("perche piove"))
        .await
        .unwrap();
    let SearchHit::Message(message) = &results.results[0] else {
        panic!()
    };
    let marked: Vec<&str> = (message.snippet.iter())
        .filter(|part| part.hit)
        .map(|part| part.text.as_str())
        .collect();
    assert_eq!(marked, ["perché", "piove"]);
}

#[tokio::test]
async fn members_find_only_what_they_can_see() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let dan = app.signup("dan").await;
    ann.client
        .remove_member(&group, &cat.account_id)
        .await
        .unwrap();
    ann.client
        .send_message(&group, "p-1", "secret plans before cat")
        .await
        .unwrap();
    ann.client
        .add_member(&group, &cat.account_id)
        .await
        .unwrap();
    sent_and_indexed(ann, bob, &group, "open plans after cat", "open").await;
    let plans = Search::messages("plans");
    assert_eq!(texts(&bob.client.search(&plans).await.unwrap()).len(), 2);
    assert_eq!(
        texts(&cat.client.search(&plans).await.unwrap()),
        ["open plans after cat"],
        "a member finds only what was sent since it joined"
    );
    assert!(dan.client.search(&plans).await.unwrap().results.is_empty());
    let only_there = Search {
        conversation_id: Some(&group),
        ..Search::messages("plans")
    };
    let error = dan.client.search(&only_there).await.unwrap_err();
    assert_problem(&error, 403, "not_a_member");

    // Recalled: found by no one. Deleted for one member: not by that one.
    let (recalled, _) = bob
        .client
        .send_message(&group, "b-1", "banana split")
        .await
        .unwrap();
    let (hidden, _) = ann
        .client
        .send_message(&group, "a-2", "kiwi for everyone")
        .await
        .unwrap();
    sent_and_indexed(ann, bob, &group, "sentinel melon", "melon").await;
    for fruit in ["banana", "kiwi"] {
        assert_eq!(
            texts(&cat.client.search(&Search::messages(fruit)).await.unwrap()).len(),
            1
        );
    }
    bob.client
        .recall_message(&group, &recalled.message_id)
        .await
        .unwrap();
    bob.client
        .delete_for_me(&group, &hidden.message_id)
        .await
        .unwrap();
    for user in [ann, bob, cat] {
        let found = user
            .client
            .search(&Search::messages("banana"))
            .await
            .unwrap();
        assert!(
            found.results.is_empty(),
            "{} finds a recalled message",
            user.username
        );
    }
    assert!(
        bob.client
            .search(&Search::messages("kiwi"))
            .await
            .unwrap()
            .results
            .is_empty()
    );
    assert_eq!(
        texts(&ann.client.search(&Search::messages("kiwi")).await.unwrap()).len(),
        1
    );

    // A conversation of others' is not searched, even by id.
    let other = befriend(&dan, &app.signup("eve").await).await;
    let theirs = Search {
        conversation_id: Some(&other),
        ..Search::messages("plans")
    };
    assert_problem(
        &ann.client.search(&theirs).await.unwrap_err(),
        403,
        "not_a_member",
    );
}

#[tokio::test]
async fn pages_run_newest_first_without_repeats() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Apples", &["ann", "bob"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    for n in 1..=25 {
        ann.client
            .send_message(&group, &format!("a-{n}"), &format!("apple number {n}"))
            .await
            .unwrap();
    }
    let first = Search {
        limit: Some(10),
        ..Search::messages("apple")
    };
    search_until(&bob.client, &first, |r| {
        texts(r).first().map(String::as_str) == Some("apple number 25")
    })
    .await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = bob
            .client
            .search(&Search {
                cursor: cursor.as_deref(),
                ..first.clone()
            })
            .await
            .unwrap();
        pages += 1;
        seen.extend(texts(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let wanted: Vec<String> = (1..=25)
        .rev()
        .map(|n| format!("apple number {n}"))
        .collect();
    assert_eq!(seen, wanted);
    assert_eq!(pages, 3);
    // Within one conversation, the same.
    let inside = Search {
        conversation_id: Some(&group),
        limit: Some(50),
        ..Search::messages("number 7")
    };
    assert_eq!(
        texts(&bob.client.search(&inside).await.unwrap()),
        ["apple number 7"]
    );
}

#[tokio::test]
async fn contacts_are_found_by_remark_display_name_and_username() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    app.anonymous()
        .create_account("bob", PASSWORD, Some("Roberto Rossi"))
        .await
        .unwrap();
    let bob = app.login("bob", "phone").await;
    let cat = app.signup("cat").await;
    let robin = app.signup("robin").await;
    let stranger = app.signup("robert").await;
    for contact in [&bob, &cat, &robin] {
        befriend(&ann, contact).await;
    }
    ann.client
        .set_remark(&cat.account_id, Some("小猫 from work"))
        .await
        .unwrap();
    let found = |results: SearchResults| -> Vec<(String, String)> {
        results
            .results
            .into_iter()
            .map(|hit| match hit {
                SearchHit::Contact(contact) => (contact.username, contact.matched),
                other => panic!("not a contact: {other:?}"),
            })
            .collect()
    };
    let rob = ann.client.search(&Search::contacts("rob")).await.unwrap();
    // Robin's display name is its username, as it started.
    assert_eq!(
        found(rob),
        [
            ("bob".into(), "display_name".into()),
            ("robin".into(), "display_name".into())
        ],
        "a stranger named robert is not a contact"
    );
    let cat_found = ann.client.search(&Search::contacts("小猫")).await.unwrap();
    let SearchHit::Contact(hit) = &cat_found.results[0] else {
        panic!()
    };
    assert_eq!(
        (hit.username.as_str(), hit.matched.as_str()),
        ("cat", "remark")
    );
    assert_eq!(hit.remark.as_deref(), Some("小猫 from work"));
    assert!(
        hit.snippet
            .iter()
            .any(|part| part.hit && part.text == "小猫")
    );
    // The whole name before a name it starts.
    let exact = ann.client.search(&Search::contacts("robin")).await.unwrap();
    assert_eq!(found(exact)[0].0, "robin");
    // Cat's remark is Ann's own: nobody else finds cat by it.
    assert!(
        robin
            .client
            .search(&Search::contacts("小猫"))
            .await
            .unwrap()
            .results
            .is_empty()
    );
    drop(stranger);
}

#[tokio::test]
async fn bad_searches_are_refused_with_a_problem() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let refused = |error: ClientError, code: &str| assert_problem(&error, 400, code);
    for q in ["", "  ?! ", &"a".repeat(201), "a b c d e f g h i"] {
        refused(
            ann.client.search(&Search::messages(q)).await.unwrap_err(),
            "invalid_query",
        );
    }
    let scope = Search {
        scope: "everything",
        ..Search::messages("hello")
    };
    refused(
        ann.client.search(&scope).await.unwrap_err(),
        "invalid_scope",
    );
    for cursor in ["garbage", "p1.msg_x", "p1."] {
        let bad = Search {
            cursor: Some(cursor),
            ..Search::messages("hello")
        };
        refused(ann.client.search(&bad).await.unwrap_err(), "invalid_cursor");
    }
    let contacts = Search {
        cursor: Some("p1.18446744073709551615"),
        ..Search::contacts("hello")
    };
    refused(
        ann.client.search(&contacts).await.unwrap_err(),
        "invalid_cursor",
    );
    // A malformed parameter is a problem too, not the framework's text.
    let raw = ann
        .client
        .raw(
            reqwest::Method::GET,
            "/api/v1/search?q=hi&limit=-1",
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(raw.status, 400);
    assert_eq!(
        raw.content_type.as_deref(),
        Some("application/problem+json")
    );
    let zero = Search {
        limit: Some(0),
        ..Search::messages("hello")
    };
    refused(ann.client.search(&zero).await.unwrap_err(), "invalid_limit");
    let conversation = Search {
        conversation_id: Some("not-a-conversation"),
        ..Search::messages("hello")
    };
    assert_problem(
        &ann.client.search(&conversation).await.unwrap_err(),
        403,
        "not_a_member",
    );
    let anonymous = app.anonymous().search(&Search::messages("hello")).await;
    assert_problem(&anonymous.unwrap_err(), 401, "unauthorized");
}

#[tokio::test]
async fn the_cli_searches_and_admin_tells_how_far_the_index_has_come() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    app.anonymous()
        .create_account("bob", PASSWORD, Some("Bob Chen"))
        .await
        .unwrap();
    let bob = app.login("bob", "phone").await;
    let direct = befriend(&ann, &bob).await;
    bob.client
        .send_message(&direct, "b-1", "北京见，老地方")
        .await
        .unwrap();
    sent_and_indexed(&bob, &ann, &direct, "ci vediamo in pizzeria", "pizzeria").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    piazza(&app, &config, "ann", &["login", "ann"]).await;

    let found = piazza(&app, &config, "ann", &["search", "pizz"]).await;
    assert!(
        found.contains("Bob Chen (@bob): ci vediamo in «pizz»eria"),
        "{found}"
    );
    assert!(found.starts_with("Bob Chen #2 "), "{found}");
    let found = piazza(&app, &config, "ann", &["search", "北京", "--in", "bob"]).await;
    assert!(found.contains("«北京»见，老地方"), "{found}");
    let found = piazza(&app, &config, "ann", &["search", "--contacts", "chen"]).await;
    assert_eq!(found.trim(), "Bob Chen (@bob) (by display_name)");
    let channel = piazza_api::CreateChannel {
        handle: "roma_eats".into(),
        name: "Roma eats".into(),
        description: "Supplì, carbonara e maritozzi".into(),
        avatar_media_id: None,
    };
    bob.client.create_channel(&channel).await.unwrap();
    let found = piazza(
        &app,
        &config,
        "ann",
        &["search", "--scope", "channels", "suppli"],
    )
    .await;
    assert_eq!(
        found.trim(),
        "Roma eats (@roma_eats): «Supplì», carbonara e maritozzi"
    );
    let found = piazza(&app, &config, "ann", &["search", "roma"]).await;
    assert_eq!(found.trim(), "nothing found for \"roma\"");

    let mut args = vec!["admin".to_owned(), "search-status".to_owned()];
    args.extend(app.store_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let status = piazza(&app, &config, "ann", &args).await;
    assert!(status.starts_with("search index: up to date"), "{status}");
}

/// Runs `piazza admin search-status` on `app`'s store.
fn search_status(app_store: &[String]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(["admin", "search-status"])
        .args(app_store)
        .output()
        .expect("the piazza binary runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn an_existing_history_is_indexed_after_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let config = |indexing: bool| {
        let mut config = piazza_server::config::Config::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().to_path_buf(),
        );
        config.password_hashing = cheap_hashing();
        config.database_url = process_database(dir.path());
        config.search_indexing = indexing;
        config
    };
    let store: Vec<String> = match process_database(dir.path()) {
        Some(url) => vec!["--database-url".into(), url],
        None => vec!["--data-dir".into(), dir.path().display().to_string()],
    };
    // A server that indexes nothing, as one from before search.
    let running = piazza::engines::spawn(config(false)).await.unwrap();
    let app = TestApp::elsewhere(
        format!("http://{}", running.addr),
        tempfile::tempdir().unwrap(),
    );
    let (users, group) = group_of(&app, "History", &["ann", "bob"]).await;
    for n in 1..=60 {
        let text = format!("old message {n} about the harbour");
        users[n % 2]
            .client
            .send_message(&group, &format!("h-{n}"), &text)
            .await
            .unwrap();
    }
    assert!(
        users[0]
            .client
            .search(&Search::messages("harbour"))
            .await
            .unwrap()
            .results
            .is_empty()
    );
    let channel = piazza_api::CreateChannel {
        handle: "harbour_news".into(),
        name: "Harbour news".into(),
        description: "Boats in, boats out".into(),
        avatar_media_id: None,
    };
    users[0].client.create_channel(&channel).await.unwrap();
    running.shut_down().await;
    // Channels, articles and products are indexed as they are made: take
    // their postings away, as a store from before search has none.
    forget_documents(dir.path()).await;
    let status = search_status(&store);
    assert!(
        status.starts_with("search index: 60 messages to index"),
        "{status}"
    );

    // Upgraded: the indexer takes the whole history in the background.
    let running = piazza::engines::spawn(config(true)).await.unwrap();
    let app = TestApp::elsewhere(
        format!("http://{}", running.addr),
        tempfile::tempdir().unwrap(),
    );
    let bob = app.login("bob", "again").await;
    let every = Search {
        limit: Some(50),
        ..Search::messages("harbour")
    };
    let found = search_until(&bob.client, &every, |r| r.results.len() == 50).await;
    assert_eq!(texts(&found)[0], "old message 60 about the harbour");
    let next = Search {
        cursor: found.next_cursor.as_deref(),
        ..every.clone()
    };
    assert_eq!(bob.client.search(&next).await.unwrap().results.len(), 10);
    let channels = Search::of("channels", "boats");
    search_until(&bob.client, &channels, |r| r.results.len() == 1).await;
    running.shut_down().await;
    assert!(search_status(&store).starts_with("search index: up to date"));
}

/// The titles (or names) of what a search of `scope` finds.
async fn titles(user: &User, scope: &str, q: &str) -> Vec<String> {
    let results = user.client.search(&Search::of(scope, q)).await.unwrap();
    results
        .results
        .into_iter()
        .map(|hit| match hit {
            SearchHit::Channel(channel) => channel.name,
            SearchHit::Article(article) => article.title,
            SearchHit::Product(product) => product.title,
            other => panic!("not a {scope}: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn channels_articles_and_listed_products_are_found_by_anyone() {
    use piazza_api::shops::PatchProduct;
    use piazza_api::{CreateChannel, PublishArticle};

    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let channel = ann
        .client
        .create_channel(&CreateChannel {
            handle: "cucina_it".into(),
            name: "Cucina Italiana".into(),
            description: "Ricette della nonna: pizza, pasta, 饺子".into(),
            avatar_media_id: None,
        })
        .await
        .unwrap()
        .channel_id;
    for (title, body) in [
        (
            "北京烤鸭的做法",
            "Come si prepara l'anatra alla pechinese, passo per passo.",
        ),
        ("Pizza napoletana", "Impasto, lievitazione e forno a legna."),
    ] {
        let article = PublishArticle {
            title: title.into(),
            body_markdown: body.into(),
            cover_media_id: None,
        };
        ann.client
            .publish_article(&channel, &article)
            .await
            .unwrap();
    }
    let (_, tajarin) = crate::shops::open_shop(&ann, "nonna_shop", 10).await;
    let hidden = ann
        .client
        .patch_product(
            &tajarin.product_id,
            &PatchProduct {
                listed: Some(false),
                ..PatchProduct::default()
            },
        )
        .await
        .unwrap();
    assert!(!hidden.listed);

    // Found at once: indexed in the transaction that made them.
    assert_eq!(
        titles(&bob, "channels", "cucina").await,
        ["Cucina Italiana"]
    );
    assert_eq!(titles(&bob, "channels", "饺子").await, ["Cucina Italiana"]);
    assert_eq!(
        titles(&bob, "channels", "cucina_it").await,
        ["Cucina Italiana"]
    );
    assert_eq!(titles(&bob, "articles", "烤鸭").await, ["北京烤鸭的做法"]);
    assert_eq!(
        titles(&bob, "articles", "pechinese").await,
        ["北京烤鸭的做法"]
    );
    assert_eq!(titles(&bob, "articles", "pizz").await, ["Pizza napoletana"]);
    assert!(titles(&bob, "articles", "lasagne").await.is_empty());
    // The snippet is the title's when the title matched, else the text's.
    let found = bob
        .client
        .search(&Search::of("articles", "legna"))
        .await
        .unwrap();
    let SearchHit::Article(article) = &found.results[0] else {
        panic!()
    };
    assert!(
        article
            .snippet
            .iter()
            .any(|part| part.hit && part.text == "legna")
    );
    assert_eq!(
        (article.channel_id.as_str(), article.channel_name.as_str()),
        (channel.as_str(), "Cucina Italiana")
    );

    // Unlisted: found by nobody. Listed again and renamed: found by its new
    // title, not its old one.
    assert!(titles(&bob, "products", "tajarin").await.is_empty());
    ann.client
        .patch_product(
            &tajarin.product_id,
            &PatchProduct {
                listed: Some(true),
                title: Some("Tagliolini al tartufo".into()),
                ..PatchProduct::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        titles(&bob, "products", "tartufo").await,
        ["Tagliolini al tartufo"]
    );
    assert!(titles(&bob, "products", "tajarin ").await.is_empty());
    assert_eq!(
        titles(&bob, "products", "egg pasta").await,
        ["Tagliolini al tartufo"]
    );
    let found = bob
        .client
        .search(&Search::of("products", "tartufo"))
        .await
        .unwrap();
    let SearchHit::Product(product) = &found.results[0] else {
        panic!()
    };
    assert_eq!(product.shop_name, "Nonna's Pasta");
}

/// Empties the index of channels, articles and products in the stopped
/// server's store in `dir`, and sets their watermarks back to the start.
async fn forget_documents(dir: &std::path::Path) {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let forget = "DELETE FROM search_documents;
                      UPDATE search_progress SET through = 0 WHERE name <> 'messages';";
        match process_database(&dir) {
            Some(url) => {
                let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                db.batch_execute(forget).unwrap();
            }
            None => {
                let db = rusqlite::Connection::open(dir.join("piazza.sqlite3")).unwrap();
                db.execute_batch(forget).unwrap();
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_typed_word_finds_itself_among_more_used_longer_words() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Lu", &["ann", "bob"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    // 25 longer words, each in two messages: all more used than "lu".
    for n in 0..50 {
        let word = format!("lu{}", (b'a' + (n % 25) as u8) as char);
        ann.client
            .send_message(&group, &format!("w-{n}"), &word)
            .await
            .unwrap();
    }
    sent_and_indexed(ann, bob, &group, "lu", "lu ").await;
    let typed = Search {
        limit: Some(50),
        ..Search::messages("lu")
    };
    let found = texts(&bob.client.search(&typed).await.unwrap());
    assert!(found.contains(&"lu".to_owned()), "{found:?}");
    assert_eq!(
        found.len(),
        23 * 2 + 1,
        "the word and the 23 most used longer ones"
    );
}

/// A search reads the newest 4,096 message ids first, then wider windows
/// below (`piazza_core::search`): a hit far below, and a page that ends
/// on one side of a window and goes on from the other, are found all the
/// same.
#[tokio::test]
async fn hits_older_than_the_first_window_are_found_and_paged() {
    use futures_util::{StreamExt, TryStreamExt};
    let app = spawn_app_with(|config| {
        config.limits.requests_per_account_per_s = 1_000_000;
        config.limits.requests_per_account_burst = 1_000_000;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let chat = befriend(&ann, &bob).await;
    let cat = app.signup("cat").await;
    let elsewhere = befriend(&ann, &cat).await;
    let send = |who: &User, conversation: &str, id: String, text: String| {
        let (client, conversation) = (who.client.clone(), conversation.to_owned());
        async move {
            client
                .send_message(&conversation, &id, &text)
                .await
                .map(|_| ())
        }
    };
    send(
        &bob,
        &chat,
        "old".into(),
        "the lighthouse keeper waves".into(),
    )
    .await
    .unwrap();
    // More than a window's worth of ids, most of them in a conversation
    // Bob is not in.
    futures_util::stream::iter(0..4_500)
        .map(|n| {
            send(
                &ann,
                &elsewhere,
                format!("f{n}"),
                format!("filler line {n}"),
            )
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await
        .unwrap();
    send(&ann, &chat, "new".into(), "a lighthouse at dusk".into())
        .await
        .unwrap();
    let one = Search {
        limit: Some(1),
        ..Search::messages("lighthouse")
    };
    // Once the index has come up to the newest message.
    let first = search_until(&bob.client, &one, |r| texts(r) == ["a lighthouse at dusk"]).await;
    let cursor = first.next_cursor.expect("one more page");
    let second = bob
        .client
        .search(&Search {
            cursor: Some(&cursor),
            ..one.clone()
        })
        .await
        .unwrap();
    assert_eq!(texts(&second), ["the lighthouse keeper waves"]);
    let inside = Search {
        conversation_id: Some(&chat),
        ..Search::messages("keeper")
    };
    assert_eq!(
        texts(&bob.client.search(&inside).await.unwrap()),
        ["the lighthouse keeper waves"]
    );
}
