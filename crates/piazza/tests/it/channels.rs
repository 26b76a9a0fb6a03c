//! Channels (official accounts): who may publish and feature, held
//! comments, follower counts, the subscriptions feed with read marks, the
//! background fan-out of `article.published` (and that a publish never
//! waits for it), and the public pages: an XSS corpus rendered harmless,
//! the Atom feed read back by a feed parser.

use std::time::{Duration, Instant};

use piazza_api::{CreateChannel, EventView, PublishArticle};
use piazza_client::Client;
use reqwest::Method;

use crate::helpers::*;
use crate::media::TINY_PNG;

async fn create(owner: &User, handle: &str, name: &str) -> String {
    let channel = CreateChannel {
        handle: handle.to_owned(),
        name: name.to_owned(),
        description: format!("All about {name}"),
        avatar_media_id: None,
    };
    owner
        .client
        .create_channel(&channel)
        .await
        .expect("channel created")
        .channel_id
}

fn article(title: &str, body: &str) -> PublishArticle {
    PublishArticle {
        title: title.to_owned(),
        body_markdown: body.to_owned(),
        cover_media_id: None,
    }
}

async fn publish(user: &User, channel: &str, title: &str) -> (String, String) {
    let created = user
        .client
        .publish_article(channel, &article(title, &format!("# {title}\n\nWords.")))
        .await
        .expect("published");
    (created.article_id, created.url)
}

/// The `article.published` events of `client`'s log.
async fn published_events(client: &Client) -> Vec<EventView> {
    let (events, _) = sync_all(client, None, 200).await;
    events
        .into_iter()
        .filter(|event| event.type_ == "article.published")
        .collect()
}

/// An anonymous GET of a public page: its status, headers and text.
async fn public(app_base: &str, path: &str) -> piazza_client::RawResponse {
    Client::new(app_base)
        .raw(Method::GET, path, None, None)
        .await
        .expect("an answer")
}

#[tokio::test]
async fn only_the_owner_and_its_editors_publish_and_feature() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;

    let refused = bob
        .client
        .publish_article(&channel, &article("Hi", "x"))
        .await;
    assert_problem(&refused.unwrap_err(), 403, "not_channel_editor");
    let refused = bob
        .client
        .add_channel_editor(&channel, &bob.account_id)
        .await;
    assert_problem(&refused.unwrap_err(), 403, "not_channel_owner");
    let (article_id, url) = publish(&ann, &channel, "Owner's first").await;
    assert_eq!(url, format!("/c/ann.news/{article_id}"));

    // A reader cannot feature a comment, even its own.
    let comment = cat
        .client
        .comment_article(&article_id, "first!")
        .await
        .unwrap();
    let refused = bob
        .client
        .feature_comment(&article_id, &comment.comment_id, true)
        .await;
    assert_problem(&refused.unwrap_err(), 403, "not_channel_editor");
    let refused = cat
        .client
        .feature_comment(&article_id, &comment.comment_id, true)
        .await;
    assert_problem(&refused.unwrap_err(), 403, "not_channel_editor");

    // An editor the owner names publishes and features; no longer once removed.
    befriend(&ann, &bob).await;
    ann.client
        .add_channel_editor(&channel, &bob.account_id)
        .await
        .unwrap();
    ann.client
        .add_channel_editor(&channel, &bob.account_id)
        .await
        .expect("naming again changes nothing");
    let view = bob.client.channel(&channel).await.unwrap();
    assert_eq!(view.your_role, "editor");
    assert_eq!(view.editors, vec![bob.account_id.clone()]);
    assert!(
        cat.client
            .channel(&channel)
            .await
            .unwrap()
            .editors
            .is_empty(),
        "readers see no editors"
    );
    let (by_editor, _) = publish(&bob, &channel, "Editor's piece").await;
    let featured = bob
        .client
        .feature_comment(&article_id, &comment.comment_id, true)
        .await
        .unwrap();
    assert!(featured.featured);
    let refused = bob
        .client
        .add_channel_editor(&channel, &cat.account_id)
        .await;
    assert_problem(&refused.unwrap_err(), 403, "not_channel_owner");
    ann.client
        .remove_channel_editor(&channel, &bob.account_id)
        .await
        .unwrap();
    let refused = bob
        .client
        .publish_article(&channel, &article("Again", "x"))
        .await;
    assert_problem(&refused.unwrap_err(), 403, "not_channel_editor");
    assert_eq!(
        bob.client.article(&by_editor).await.unwrap().author,
        bob.account_id
    );
    let self_editor = ann
        .client
        .add_channel_editor(&channel, &ann.account_id)
        .await;
    assert_problem(&self_editor.unwrap_err(), 400, "self_target");
    assert_eq!(
        ann.client
            .channel(&channel)
            .await
            .unwrap()
            .channel
            .article_count,
        2
    );
}

#[tokio::test]
async fn held_comments_are_seen_by_their_author_and_managers_until_featured() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    let (article_id, url) = publish(&ann, &channel, "Read me").await;

    let held = bob
        .client
        .comment_article(&article_id, "held for now")
        .await
        .unwrap();
    assert!(!held.featured);
    let seen = |comments: &[piazza_api::CommentView]| {
        comments.iter().map(|c| c.text.clone()).collect::<Vec<_>>()
    };
    assert!(seen(&cat.client.article(&article_id).await.unwrap().comments).is_empty());
    assert_eq!(
        seen(&bob.client.article(&article_id).await.unwrap().comments),
        ["held for now"]
    );
    assert_eq!(
        seen(&ann.client.article(&article_id).await.unwrap().comments),
        ["held for now"]
    );
    let page = String::from_utf8(public(&app.base, &url).await.body).unwrap();
    assert!(
        !page.contains("held for now"),
        "held comments stay off the public page"
    );

    // The owner's own comment is featured at once.
    let own = ann
        .client
        .comment_article(&article_id, "thanks for reading")
        .await
        .unwrap();
    assert!(own.featured);
    assert_eq!(
        seen(&cat.client.article(&article_id).await.unwrap().comments),
        ["thanks for reading"]
    );

    ann.client
        .feature_comment(&article_id, &held.comment_id, true)
        .await
        .unwrap();
    let for_cat = cat.client.article(&article_id).await.unwrap().comments;
    assert_eq!(seen(&for_cat), ["thanks for reading", "held for now"]);
    assert!(for_cat.iter().all(|comment| comment.featured));
    let page = String::from_utf8(public(&app.base, &url).await.body).unwrap();
    assert!(
        page.contains("held for now"),
        "featured comments are on the public page"
    );

    ann.client
        .feature_comment(&article_id, &held.comment_id, false)
        .await
        .unwrap();
    assert_eq!(
        seen(&cat.client.article(&article_id).await.unwrap().comments),
        ["thanks for reading"]
    );
    assert_eq!(
        seen(&bob.client.article(&article_id).await.unwrap().comments).len(),
        2,
        "its author still sees it"
    );

    // A comment of another article is not this one's.
    let (other, _) = publish(&ann, &channel, "Other").await;
    let wrong = ann
        .client
        .feature_comment(&other, &held.comment_id, true)
        .await;
    assert_problem(&wrong.unwrap_err(), 404, "comment_not_found");
}

#[tokio::test]
async fn followers_are_counted_and_the_feed_marks_what_was_read() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let dan = app.signup("dan").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let news = create(&ann, "ann.news", "Ann's News").await;
    let food = create(&dan, "dan.food", "Dan's Food").await;

    for user in [&bob, &cat] {
        user.client.follow_channel(&news).await.unwrap();
        user.client
            .follow_channel(&news)
            .await
            .expect("following again changes nothing");
    }
    bob.client.follow_channel(&food).await.unwrap();
    assert_eq!(
        ann.client
            .channel(&news)
            .await
            .unwrap()
            .channel
            .follower_count,
        2
    );
    cat.client.unfollow_channel(&news).await.unwrap();
    cat.client
        .unfollow_channel(&news)
        .await
        .expect("not following changes nothing");
    let view = bob.client.channel(&news).await.unwrap();
    assert_eq!((view.channel.follower_count, view.following), (1, true));
    assert!(!cat.client.channel(&news).await.unwrap().following);

    let (first, _) = publish(&ann, &news, "News one").await;
    let (second, _) = publish(&dan, &food, "Food one").await;
    let (third, _) = publish(&ann, &news, "News two").await;
    let feed = bob.client.subscriptions_feed(None, None).await.unwrap();
    let ids: Vec<_> = feed
        .items
        .iter()
        .map(|item| item.article.article_id.clone())
        .collect();
    assert_eq!(
        ids,
        [third.clone(), second.clone(), first.clone()],
        "newest first, both channels"
    );
    assert!(feed.items.iter().all(|item| !item.read));
    assert_eq!(feed.items[1].handle, "dan.food");
    assert!(
        cat.client
            .subscriptions_feed(None, None)
            .await
            .unwrap()
            .items
            .is_empty(),
        "cat follows nothing"
    );

    // Reading marks it read for the reader only, and counts each reader once.
    for _ in 0..2 {
        bob.client.article(&second).await.unwrap();
    }
    let read = cat.client.article(&second).await.unwrap();
    assert_eq!(read.read_count, 2);
    let feed = bob.client.subscriptions_feed(None, None).await.unwrap();
    let marks: Vec<_> = feed.items.iter().map(|item| item.read).collect();
    assert_eq!(marks, [false, true, false]);
    assert_eq!(feed.items[1].article.read_count, 2);

    // A page at a time.
    let page = bob.client.subscriptions_feed(None, Some(2)).await.unwrap();
    assert!(page.has_more);
    let rest = bob
        .client
        .subscriptions_feed(page.next_cursor.as_deref(), Some(2))
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].article.article_id, first);
    assert!(!rest.has_more);

    // Likes: once per account, counted, taken back.
    for _ in 0..2 {
        let likes = bob.client.like_article(&third, true).await.unwrap();
        assert_eq!((likes.like_count, likes.liked), (1, true));
    }
    assert_eq!(
        cat.client
            .like_article(&third, true)
            .await
            .unwrap()
            .like_count,
        2
    );
    assert_eq!(
        cat.client
            .like_article(&third, false)
            .await
            .unwrap()
            .like_count,
        1
    );
    assert_eq!(
        cat.client
            .like_article(&third, false)
            .await
            .unwrap()
            .like_count,
        1
    );
    let view = bob.client.article(&third).await.unwrap();
    assert!(view.liked && view.like_count == 1);
    assert!(!cat.client.article(&third).await.unwrap().liked);

    let found = cat.client.find_channels("FOOD").await.unwrap().channels;
    assert_eq!(
        found.iter().map(|c| c.handle.as_str()).collect::<Vec<_>>(),
        ["dan.food"]
    );
    let found = cat.client.find_channels("ann.").await.unwrap().channels;
    assert_eq!(
        found.iter().map(|c| c.handle.as_str()).collect::<Vec<_>>(),
        ["ann.news"]
    );
    assert!(
        cat.client
            .find_channels("%")
            .await
            .unwrap()
            .channels
            .is_empty(),
        "% is literal"
    );
}

#[tokio::test]
async fn followers_learn_of_an_article_live_and_by_sync_and_no_one_else() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    bob.client.follow_channel(&channel).await.unwrap();
    let (mut socket, _) = live_socket(&bob).await;
    let bob_phone = app.login("bob", "phone").await;

    let (article_id, url) = publish(&ann, &channel, "Breaking").await;
    let live = next_of_type(&mut socket, "article.published").await;
    assert_eq!(field(&live, "article_id"), article_id.as_str());
    assert_eq!(field(&live, "title"), "Breaking");
    assert_eq!(field(&live, "handle"), "ann.news");
    assert_eq!(field(&live, "url"), url.as_str());
    let synced = published_events(&bob_phone.client).await;
    assert_eq!(synced.len(), 1, "the other device reads it by sync");
    assert_eq!(synced[0].cursor, live.cursor);

    // Neither the non-follower nor the publisher is told.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(published_events(&cat.client).await.is_empty());
    assert!(published_events(&ann.client).await.is_empty());
    // Nor one who stopped following.
    bob.client.unfollow_channel(&channel).await.unwrap();
    publish(&ann, &channel, "After").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(published_events(&bob.client).await.len(), 1);
}

/// `PUT …/editors/{account}` by `owner`, as it answers.
async fn name_editor(owner: &User, channel: &str, account: &str) -> piazza_client::RawResponse {
    let path = format!("/api/v1/channels/{channel}/editors/{account}");
    owner
        .client
        .raw(Method::PUT, &path, None, None)
        .await
        .expect("an answer")
}

#[tokio::test]
async fn naming_an_editor_tells_nothing_of_who_exists() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let stranger = app.signup("stranger").await;
    let blocked = app.signup("blocked").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    befriend(&ann, &blocked).await;
    blocked.client.block(&ann.account_id).await.unwrap();
    // An account that is not there, one that is no contact, and a contact
    // with a block standing get the same answer, byte for byte.
    let unknown = name_editor(&ann, &channel, "acct_999999").await;
    assert_eq!(unknown.status, 404);
    let body = |response: &piazza_client::RawResponse| String::from_utf8(response.body.clone());
    assert!(body(&unknown).unwrap().contains("account_not_found"));
    for other in [&stranger, &blocked] {
        let answer = name_editor(&ann, &channel, &other.account_id).await;
        assert_eq!(answer.status, unknown.status, "{}", other.username);
        assert_eq!(body(&answer), body(&unknown), "{}", other.username);
    }
    assert!(
        ann.client
            .channel(&channel)
            .await
            .unwrap()
            .editors
            .is_empty()
    );
    // Once contacts, one is named.
    befriend(&ann, &stranger).await;
    ann.client
        .add_channel_editor(&channel, &stranger.account_id)
        .await
        .unwrap();
    assert_eq!(
        ann.client.channel(&channel).await.unwrap().editors,
        vec![stranger.account_id.clone()]
    );
    app.shut_down().await;
}

/// The followers' logs an article reached, with no account told twice.
async fn told(users: &[User]) -> usize {
    let mut told = 0;
    for user in users {
        match published_events(&user.client).await.len() {
            0 => {}
            1 => told += 1,
            more => panic!("{} was told {more} times", user.username),
        }
    }
    told
}

#[tokio::test]
async fn a_publish_never_waits_for_its_fan_out_which_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = |fan_out: bool| {
        let mut config = piazza_server::config::Config::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().to_path_buf(),
        );
        config.password_hashing = cheap_hashing();
        config.limits.connections_per_address_max = 100_000;
        config.database_url = process_database(dir.path());
        config.channel_fanout = fan_out;
        config.channel_fanout_chunk = 7;
        config
    };
    // No fan-out running at all: a publish that waited for it would hang.
    let running = piazza::engines::spawn(config(false)).await.unwrap();
    let app = TestApp::elsewhere(
        format!("http://{}", running.addr),
        tempfile::tempdir().unwrap(),
    );
    let ann = app.signup("ann").await;
    let outsider = app.signup("outsider").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    let mut followers = Vec::new();
    for n in 0..40 {
        let user = app.signup(&format!("reader{n}")).await;
        user.client.follow_channel(&channel).await.unwrap();
        followers.push(user);
    }
    let started = Instant::now();
    let (article_id, _) = tokio::time::timeout(PATIENCE, publish(&ann, &channel, "Big news"))
        .await
        .expect("the publish answers without the fan-out");
    assert!(started.elapsed() < PATIENCE);
    // The feed has it at once (fan-out on read); no log has it yet.
    let feed = followers[39]
        .client
        .subscriptions_feed(None, None)
        .await
        .unwrap();
    assert_eq!(feed.items[0].article.article_id, article_id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(told(&followers).await, 0);
    running.shut_down().await;

    // The task row outlived the server: the next one tells everyone once,
    // in chunks of 7, and never the outsider.
    let running = piazza::engines::spawn(config(true)).await.unwrap();
    let base = format!("http://{}", running.addr);
    let again = TestApp::elsewhere(base, tempfile::tempdir().unwrap());
    let mut followers_again = Vec::new();
    for user in &followers {
        followers_again.push(again.login(&user.username, "again").await);
    }
    let deadline = Instant::now() + PATIENCE;
    while told(&followers_again).await < followers_again.len() {
        assert!(
            Instant::now() < deadline,
            "the fan-out reached everyone in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outsider = again.login(&outsider.username, "again").await;
    assert!(published_events(&outsider.client).await.is_empty());
    assert!(
        published_events(&again.login("ann", "again").await.client)
            .await
            .is_empty()
    );
    running.shut_down().await;
}

/// Every comment of `article` `user` may list under `status`, page by
/// page of `limit`, newest first.
async fn all_comments(user: &User, article: &str, status: Option<&str>, limit: u32) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = user
            .client
            .article_comments(article, status, cursor.as_deref(), Some(limit))
            .await
            .expect("a page of comments");
        assert!(page.comments.len() <= limit as usize);
        all.extend(page.comments.into_iter().map(|comment| comment.text));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

#[tokio::test]
async fn managers_page_through_every_held_comment_past_the_newest_200() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    let (article_id, _) = publish(&ann, &channel, "Much discussed").await;
    // 225 held comments, five readers' 45 each, and three of Ann's.
    let mut readers = Vec::new();
    let mut held = Vec::new();
    for n in 0..5 {
        readers.push(app.signup(&format!("reader{n}")).await);
    }
    for i in 0..45 {
        for (n, reader) in readers.iter().enumerate() {
            let text = format!("r{n} #{i}");
            reader
                .client
                .comment_article(&article_id, &text)
                .await
                .unwrap();
            held.push(text);
        }
    }
    let mut featured = Vec::new();
    for i in 0..3 {
        let text = format!("ann #{i}");
        ann.client
            .comment_article(&article_id, &text)
            .await
            .unwrap();
        featured.push(text);
    }
    held.reverse();
    featured.reverse();
    let opened = ann.client.article(&article_id).await.unwrap();
    assert_eq!(
        opened.comments.len(),
        200,
        "an article holds the newest 200"
    );

    assert_eq!(
        all_comments(&ann, &article_id, Some("held"), 100).await,
        held
    );
    assert_eq!(
        all_comments(&ann, &article_id, Some("featured"), 2).await,
        featured
    );
    let every = all_comments(&ann, &article_id, None, 64).await;
    assert_eq!(every.len(), 228);
    assert_eq!(every[..3], featured);
    // A reader pages through the featured and their own, never another's.
    let own: Vec<String> = held
        .iter()
        .filter(|t| t.starts_with("r1 "))
        .cloned()
        .collect();
    let reader = &readers[1];
    assert_eq!(
        all_comments(reader, &article_id, Some("held"), 10).await,
        own
    );
    let theirs = all_comments(reader, &article_id, Some("all"), 10).await;
    assert_eq!(theirs, [featured.clone(), own].concat());

    let bad = reader
        .client
        .article_comments(&article_id, Some("hidden"), None, None)
        .await;
    assert_problem(&bad.unwrap_err(), 400, "invalid_status");
    let bad = reader
        .client
        .article_comments(&article_id, None, Some("p1.nope"), None)
        .await;
    assert_problem(&bad.unwrap_err(), 400, "invalid_cursor");
    let unknown = reader
        .client
        .article_comments("art_999999", None, None, None)
        .await;
    assert_problem(&unknown.unwrap_err(), 404, "article_not_found");
    app.shut_down().await;
}

#[tokio::test]
async fn comments_sent_at_once_stop_at_the_per_account_cap() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    let (article_id, _) = publish(&ann, &channel, "Hot topic").await;
    for i in 0..20 {
        let text = format!("one by one {i}");
        bob.client
            .comment_article(&article_id, &text)
            .await
            .unwrap();
    }
    // 60 more at once: the cap (50) lets 30 of them in, however the
    // writers interleave them.
    let texts: Vec<String> = (0..60).map(|i| format!("at once {i}")).collect();
    let burst = texts
        .iter()
        .map(|text| bob.client.comment_article(&article_id, text));
    let answers = futures_util::future::join_all(burst).await;
    let mut passed = 0;
    for answer in answers {
        match answer {
            Ok(_) => passed += 1,
            Err(error) => assert_problem(&error, 409, "limit_reached"),
        }
    }
    assert_eq!(passed, 30);
    assert_eq!(
        all_comments(&ann, &article_id, Some("held"), 200)
            .await
            .len(),
        50
    );
    app.shut_down().await;
}

/// Runs `sql` on the store of `data_dir` itself, as damage would.
async fn damage(data_dir: &std::path::Path, sql: &'static str) {
    let data_dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || match process_database(&data_dir) {
        Some(url) => {
            let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            db.batch_execute(sql).unwrap();
        }
        None => {
            let db = rusqlite::Connection::open(data_dir.join("piazza.sqlite3")).unwrap();
            db.busy_timeout(Duration::from_secs(10)).unwrap();
            db.execute_batch(sql).unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn admin_check_reports_moments_and_channels_counters_and_rules_broken() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    bob.client.follow_channel(&channel).await.unwrap();
    let (article_id, _) = publish(&ann, &channel, "Counted").await;
    bob.client.article(&article_id).await.unwrap();
    bob.client.like_article(&article_id, true).await.unwrap();
    let moment = piazza_api::NewMoment {
        text: "counted too".to_owned(),
        ..piazza_api::NewMoment::default()
    };
    ann.client.post_moment(&moment).await.unwrap();
    bob.client
        .comment_article(&article_id, "held")
        .await
        .unwrap();
    let report = integrity_report(app.data_dir());
    assert!(report.is_sound(), "{:?}", report.problems);

    damage(
        app.data_dir(),
        "UPDATE channels SET follower_count = 5;
         UPDATE articles SET like_count = 0;
         DELETE FROM moment_inbox WHERE owner_id IN (SELECT author_id FROM moments);",
    )
    .await;
    let channel_row = &channel["chn_".len()..];
    let article_row = &article_id["art_".len()..];
    let mut problems = integrity_report(app.data_dir()).problems;
    problems.sort();
    assert_eq!(
        problems,
        [
            "1 posts missing from their author's inbox".to_owned(),
            format!("article art_{article_row}: like_count 0 but 1 likes"),
            format!("channel chn_{channel_row}: follower_count 5 but 1 follows"),
        ]
    );
    app.shut_down().await;
}

struct Nobody;

impl piazza_domain::store::NoticeSink for Nobody {
    fn notify(&self, _: Vec<piazza_domain::Notice>) {}
}

/// Each fan-out task left: its article and the last follower it told.
async fn fanout_tasks(data_dir: &std::path::Path) -> Vec<(i64, Option<i64>)> {
    let data_dir = data_dir.to_path_buf();
    let sql = "SELECT article_id, after_id FROM channel_fanouts ORDER BY article_id";
    tokio::task::spawn_blocking(move || match process_database(&data_dir) {
        Some(url) => {
            let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let rows = db.query(sql, &[]).unwrap();
            rows.iter().map(|row| (row.get(0), row.get(1))).collect()
        }
        None => {
            let db = rusqlite::Connection::open(data_dir.join("piazza.sqlite3")).unwrap();
            db.busy_timeout(Duration::from_secs(10)).unwrap();
            let mut statement = db.prepare(sql).unwrap();
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap();
            rows.collect::<rusqlite::Result<Vec<_>>>().unwrap()
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn fan_out_tasks_take_turns_so_a_long_one_holds_no_other_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = piazza_server::config::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().to_path_buf(),
    );
    config.password_hashing = cheap_hashing();
    config.database_url = process_database(dir.path());
    config.channel_fanout = false;
    // Two channels of five followers each, an article each, and no
    // fan-out running: the steps are taken one by one below.
    let running = piazza::engines::spawn(config.clone()).await.unwrap();
    let app = TestApp::elsewhere(
        format!("http://{}", running.addr),
        tempfile::tempdir().unwrap(),
    );
    let ann = app.signup("ann").await;
    let big = create(&ann, "ann.big", "Ann's Big").await;
    let small = create(&ann, "ann.small", "Ann's Small").await;
    for n in 0..10 {
        let user = app.signup(&format!("reader{n}")).await;
        let channel = if n < 5 { &big } else { &small };
        user.client.follow_channel(channel).await.unwrap();
    }
    let (first, _) = publish(&ann, &big, "First").await;
    let (second, _) = publish(&ann, &small, "Second").await;
    running.shut_down().await;

    let open = piazza::engines::opener(&config);
    let engine = tokio::task::spawn_blocking(move || open(std::sync::Arc::new(Nobody)))
        .await
        .unwrap()
        .expect("the store opens");
    let core = piazza_core::Core::new(std::sync::Arc::clone(&engine), dir.path());
    let id = |article: &str| -> i64 { article["art_".len()..].parse().unwrap() };
    let (first, second) = (id(&first), id(&second));
    // Chunks of two: each step moves the task that waited longest.
    let mut moved = Vec::new();
    let mut before = fanout_tasks(dir.path()).await;
    assert_eq!(before, [(first, None), (second, None)]);
    while core.fan_out_step(2).await.unwrap() > 0 {
        let after = fanout_tasks(dir.path()).await;
        let step: Vec<i64> = before
            .iter()
            .filter(|task| !after.contains(task))
            .map(|task| task.0)
            .collect();
        assert_eq!(step.len(), 1, "one task a step: {before:?} then {after:?}");
        moved.push(step[0]);
        before = after;
    }
    assert_eq!(moved, [first, second, first, second, first, second]);
    tokio::task::spawn_blocking(move || engine.shut_down())
        .await
        .unwrap();
}

/// Markdown that tries every way we know of to run script in a page.
pub(crate) const XSS: &str = r#"# Safe?

Plain **words** stay.

<script>alert('x')</script>

<img src=x onerror="alert('x')">

[click](javascript:alert('x'))

[click](JaVaScRiPt:alert('x'))

[x](&#106;avascript:alert('x'))

<a href="javascript:alert('x')">a</a>

<svg onload="alert('x')"></svg>

<iframe src="https://evil.example"></iframe>

<div style="background:url(javascript:alert('x'))">styled</div>

<details open ontoggle="alert('x')">d</details>

<math><mtext><table><mglyph><style><img src=x onerror=alert('x')>

<form action="javascript:alert('x')"><button>go</button></form>

<object data="javascript:alert('x')"></object>

<a href="data:text/html,<script>alert('x')</script>">d</a>

<scr<script>ipt>alert('x')</script>
"#;

/// `tag` (what is between `<` and `>`) without its quoted values.
pub(crate) fn unquoted(tag: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in tag.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, _) => out.push(c),
            (Some(_), _) => {}
        }
    }
    out
}

/// Whether a tag of `html` has an attribute named `on…` (escaped text,
/// which holds no `<`, and quoted values may say "onerror=" harmlessly).
pub(crate) fn has_handler(html: &str) -> bool {
    html.split('<').skip(1).any(|tag| {
        let tag = unquoted(tag.split('>').next().unwrap_or_default());
        tag.split(|c: char| c.is_whitespace() || c == '/')
            .any(|word| word.starts_with("on") && word.contains('='))
    })
}

#[tokio::test]
async fn an_xss_corpus_renders_harmless_on_the_public_page() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let channel = create(&ann, "ann.news", "<b>Ann</b> \"News\"").await;
    let created = ann
        .client
        .publish_article(&channel, &article("<script>alert(1)</script> title", XSS))
        .await
        .unwrap();
    let comment = bob
        .client
        .comment_article(&created.article_id, "<img src=x onerror=alert(2)>")
        .await
        .unwrap();
    ann.client
        .feature_comment(&created.article_id, &comment.comment_id, true)
        .await
        .unwrap();

    let page = public(&app.base, &created.url).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let html = String::from_utf8(page.body).unwrap();
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "{html}");
    assert!(!lower.contains("javascript:"), "{html}");
    assert!(!lower.contains("<iframe") && !lower.contains("<svg") && !lower.contains("<object"));
    assert!(
        !lower.contains("<form") && !lower.contains(" style="),
        "{html}"
    );
    assert!(!has_handler(&lower), "{html}");
    assert!(
        html.contains("<strong>words</strong>"),
        "ordinary Markdown renders"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; title"),
        "the title is escaped"
    );
    assert!(
        html.contains("&lt;b&gt;Ann&lt;/b&gt; &quot;News&quot;"),
        "the name is escaped"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "the comment is escaped"
    );
    assert!(
        html.contains("<meta property=\"og:title\""),
        "Open Graph tags"
    );

    // The app's own view of the body is the same sanitized HTML.
    let view = bob.client.article(&created.article_id).await.unwrap();
    let body = view.body_html.to_lowercase();
    assert!(!body.contains("<script") && !body.contains("javascript:") && !has_handler(&body));
    let preview = ann.client.preview_article(XSS).await.unwrap().body_html;
    assert_eq!(preview, view.body_html);

    let listing = public(&app.base, "/c/ann.news").await;
    assert_eq!(listing.status, 200);
    let listing = String::from_utf8(listing.body).unwrap().to_lowercase();
    assert!(
        !listing.contains("<script") && !has_handler(&listing),
        "{listing}"
    );
}

#[tokio::test]
async fn the_atom_feed_reads_back_with_a_feed_parser() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let channel = create(&ann, "ann.news", "Ann & Co's <News>").await;
    let empty = public(&app.base, "/c/ann.news/feed.atom").await;
    assert_eq!(empty.status, 200);
    let parsed = feed_rs::parser::parse(&empty.body[..]).expect("an empty feed parses");
    assert!(parsed.entries.is_empty());

    let mut published = Vec::new();
    for title in ["First", "Second <b>bold</b> & more", "Third"] {
        published.push(publish(&ann, &channel, title).await);
    }
    let answer = public(&app.base, "/c/ann.news/feed.atom").await;
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/atom+xml; charset=utf-8")
    );
    let feed = feed_rs::parser::parse(&answer.body[..]).expect("the feed parses");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(feed.title.unwrap().content, "Ann & Co's <News>");
    let titles: Vec<_> = feed
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect();
    assert_eq!(titles, ["Third", "Second <b>bold</b> & more", "First"]);
    let newest = &feed.entries[0];
    assert!(
        newest
            .links
            .iter()
            .any(|link| link.href.ends_with(&published[2].1)),
        "{:?}",
        newest.links
    );
    assert!(newest.published.is_some() && newest.updated.is_some());
    let content = newest
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap_or_default();
    assert!(content.contains("<h1>Third</h1>"), "{content}");
    assert_eq!(
        public(&app.base, "/c/nobody.here/feed.atom").await.status,
        404
    );
}

/// With `--public-url`, what leaves the page links absolutely (Open
/// Graph's `og:url` and `og:image`, the feed's links), while the page's
/// own picture stays on this origin as its policy wants; without it, the
/// same links are paths.
#[tokio::test]
async fn a_public_url_makes_shared_links_absolute() {
    let base = "https://piazza.example";
    let app = spawn_app_with(|config| config.public_url = Some(base.to_owned())).await;
    let ann = app.signup("ann").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    let (picture, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let mut covered = article("Cover", "Words.");
    covered.cover_media_id = Some(picture.media_id.clone());
    let created = ann
        .client
        .publish_article(&channel, &covered)
        .await
        .unwrap();
    assert!(
        created.url.starts_with("/c/ann.news/"),
        "the API's url stays a path"
    );

    let page = String::from_utf8(public(&app.base, &created.url).await.body).unwrap();
    let cover = format!("/c/-/media/{}", picture.media_id);
    for tag in [
        format!(
            "<meta property=\"og:url\" content=\"{base}{}\">",
            created.url
        ),
        format!("<meta property=\"og:image\" content=\"{base}{cover}\">"),
        format!("href=\"{base}/c/ann.news/feed.atom\""),
        format!("<img class=\"cover\" src=\"{cover}\""),
    ] {
        assert!(page.contains(&tag), "{tag} in {page}");
    }
    let listing = String::from_utf8(public(&app.base, "/c/ann.news").await.body).unwrap();
    assert!(
        listing.contains(&format!("content=\"{base}/c/ann.news\"")),
        "{listing}"
    );

    let atom = public(&app.base, "/c/ann.news/feed.atom").await.body;
    let feed = feed_rs::parser::parse(&atom[..]).expect("the feed parses");
    let hrefs: Vec<&str> = feed.links.iter().map(|link| link.href.as_str()).collect();
    assert!(
        hrefs.contains(&"https://piazza.example/c/ann.news/feed.atom"),
        "{hrefs:?}"
    );
    let entry = &feed.entries[0].links[0].href;
    assert_eq!(entry, &format!("{base}{}", created.url));

    let plain = spawn_app().await;
    let bob = plain.signup("bob").await;
    let channel = create(&bob, "bob.news", "Bob's News").await;
    let (_, url) = publish(&bob, &channel, "Plain").await;
    let page = String::from_utf8(public(&plain.base, &url).await.body).unwrap();
    assert!(
        page.contains(&format!("<meta property=\"og:url\" content=\"{url}\">")),
        "{page}"
    );
}

#[tokio::test]
async fn bad_channel_input_is_a_4xx_problem() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let channel = create(&ann, "ann.news", "Ann's News").await;
    let (article_id, _) = publish(&ann, &channel, "Real").await;

    let attempt = |handle: &str, name: &str| CreateChannel {
        handle: handle.to_owned(),
        name: name.to_owned(),
        description: String::new(),
        avatar_media_id: None,
    };
    let taken = bob
        .client
        .create_channel(&attempt("ann.news", "Copy"))
        .await;
    assert_problem(&taken.unwrap_err(), 409, "handle_taken");
    for handle in ["AB", "has space", "<script>", "x"] {
        let bad = bob.client.create_channel(&attempt(handle, "Name")).await;
        assert_problem(&bad.unwrap_err(), 400, "invalid_handle");
    }
    let nameless = bob.client.create_channel(&attempt("bob.news", "  ")).await;
    assert_problem(&nameless.unwrap_err(), 400, "invalid_name");

    // Covers and avatars: one's own picture only.
    let (picture, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let (file, _) = bob
        .client
        .upload_file(b"plain words".to_vec(), Some("a.txt"))
        .await
        .unwrap();
    let mut stolen = attempt("bob.news", "Bob");
    stolen.avatar_media_id = Some(picture.media_id.clone());
    assert_problem(
        &bob.client.create_channel(&stolen).await.unwrap_err(),
        404,
        "media_not_found",
    );
    let mut covered = article("Cover", "x");
    covered.cover_media_id = Some(file.media_id.clone());
    let bob_channel = create(&bob, "bob.news", "Bob").await;
    let not_picture = bob.client.publish_article(&bob_channel, &covered).await;
    assert_problem(&not_picture.unwrap_err(), 422, "media_kind_mismatch");
    covered.cover_media_id = Some(picture.media_id.clone());
    let with_cover = ann
        .client
        .publish_article(&channel, &covered)
        .await
        .unwrap();
    let cover = public(&app.base, &format!("/c/-/media/{}", picture.media_id)).await;
    assert_eq!(cover.status, 200, "a cover is public");
    let page = String::from_utf8(public(&app.base, &with_cover.url).await.body).unwrap();
    assert!(page.contains(&format!("/c/-/media/{}", picture.media_id)));
    let private = public(&app.base, &format!("/c/-/media/{}", file.media_id)).await;
    assert_eq!(private.status, 404, "any other media is not");

    for body in ["", "   \n"] {
        let empty = ann
            .client
            .publish_article(&channel, &article("T", body))
            .await;
        assert_problem(&empty.unwrap_err(), 400, "invalid_body_markdown");
    }
    let long = "word ".repeat(25_000);
    let too_long = ann
        .client
        .publish_article(&channel, &article("T", &long))
        .await;
    assert_problem(&too_long.unwrap_err(), 400, "article_too_long");
    let untitled = ann
        .client
        .publish_article(&channel, &article("", "x"))
        .await;
    assert_problem(&untitled.unwrap_err(), 400, "invalid_title");
    for id in ["chn_999999", "nonsense", "art_1"] {
        assert_problem(
            &bob.client.follow_channel(id).await.unwrap_err(),
            404,
            "channel_not_found",
        );
        assert_problem(
            &bob.client.channel(id).await.unwrap_err(),
            404,
            "channel_not_found",
        );
    }
    for id in ["art_999999", "nonsense"] {
        assert_problem(
            &bob.client.article(id).await.unwrap_err(),
            404,
            "article_not_found",
        );
        let liked = bob.client.like_article(id, true).await;
        assert_problem(&liked.unwrap_err(), 404, "article_not_found");
    }
    let empty = bob.client.comment_article(&article_id, " ").await;
    assert_problem(&empty.unwrap_err(), 400, "invalid_text");
    let long = bob
        .client
        .comment_article(&article_id, &"c".repeat(601))
        .await;
    assert_problem(&long.unwrap_err(), 400, "invalid_text");
    let cursor = bob.client.subscriptions_feed(Some("nonsense"), None).await;
    assert_problem(&cursor.unwrap_err(), 400, "invalid_cursor");

    for path in [
        "/c/nobody.here".to_owned(),
        format!("/c/bob.news/{article_id}"),
        "/c/ann.news/art_999999".to_owned(),
        "/c/ann.news/nonsense".to_owned(),
        "/c/NOT A HANDLE/x".to_owned(),
    ] {
        let answer = public(&app.base, &path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
    }
    let anonymous = public(&app.base, &format!("/api/v1/articles/{article_id}")).await;
    assert_eq!(anonymous.status, 401, "the API needs an account");
}

#[tokio::test]
async fn the_cli_creates_follows_publishes_and_reads_the_feed() {
    use crate::cli_profiles::{piazza, stdout_of};
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    for name in ["ann", "bob"] {
        app.anonymous()
            .create_account(name, PASSWORD, None)
            .await
            .unwrap();
        let login = piazza(
            &app,
            &config,
            name,
            &["login", name],
            &format!("{PASSWORD}\n"),
        )
        .await;
        stdout_of(&login);
    }
    let run = async |account: &str, args: &[&str], input: &str| {
        stdout_of(&piazza(&app, &config, account, args, input).await)
    };
    let created = run("ann", &["channel", "create", "ann.news", "Ann's News"], "").await;
    assert!(created.contains("created channel @ann.news"), "{created}");
    let followed = run("bob", &["channel", "follow", "ann.news"], "").await;
    assert!(
        followed.contains("following Ann's News (@ann.news, 1 followers)"),
        "{followed}"
    );
    let empty = run("ann", &["channel", "feed"], "").await;
    assert!(empty.contains("nothing yet"), "{empty}");
    let body = "# Hi\n\nFrom **stdin**.\n";
    let published = run(
        "ann",
        &["channel", "publish", "ann.news", "Hello \u{202e}readers"],
        body,
    )
    .await;
    assert!(
        published.contains("published [art_") && published.contains("/c/ann.news/art_"),
        "{published}"
    );
    let feed = run("bob", &["channel", "feed"], "").await;
    assert!(
        feed.contains("• ") && feed.contains("Ann's News: Hello \\u{202e}readers"),
        "{feed}"
    );
    let article_id = feed
        .split('[')
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap();
    let read = run("bob", &["channel", "read", article_id], "").await;
    assert!(
        read.contains("From **stdin**.") && read.contains("1 reads"),
        "{read}"
    );
    let feed = run("bob", &["channel", "feed"], "").await;
    assert!(!feed.contains('•'), "read now: {feed}");
    let mine = ["channel", "publish", "ann.news", "Mine", "--body", "x"];
    let refused = piazza(&app, &config, "bob", &mine, "").await;
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("owner or its editors"), "{said}");
}
