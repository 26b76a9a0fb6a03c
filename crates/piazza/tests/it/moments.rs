//! Moments, the friends' feed (issue 15): who sees a post, whose likes
//! and comments each viewer sees (the WeChat rule), what removing and
//! blocking a contact take away, the horizon and the privacy lists, the
//! events, and bad input. Every test runs on both engines.

use piazza_api::{
    EventView, LocationView, MomentList, MomentView, NewMoment, Privacy, VisibilityView,
};
use piazza_client::{Client, ClientError};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::media::problem_code;

fn text(words: &str) -> NewMoment {
    NewMoment {
        text: words.to_owned(),
        ..NewMoment::default()
    }
}

fn seen_by(words: &str, kind: &str, accounts: &[&User]) -> NewMoment {
    NewMoment {
        visibility: Some(VisibilityView {
            kind: kind.to_owned(),
            accounts: accounts.iter().map(|u| u.account_id.clone()).collect(),
        }),
        ..text(words)
    }
}

async fn post(user: &User, moment: &NewMoment) -> String {
    user.client
        .post_moment(moment)
        .await
        .expect("posted")
        .moment_id
}

/// The whole feed, every page followed.
async fn feed(user: &User) -> Vec<MomentView> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page: MomentList = user
            .client
            .moments_feed(cursor.as_deref(), Some(50))
            .await
            .expect("a feed");
        all.extend(page.moments);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

async fn feed_texts(user: &User) -> Vec<String> {
    feed(user).await.into_iter().map(|m| m.text).collect()
}

async fn page_texts(viewer: &User, author: &User) -> Vec<String> {
    let page = viewer
        .client
        .account_moments(&author.account_id, None, Some(50))
        .await
        .expect("a page");
    page.moments.into_iter().map(|m| m.text).collect()
}

fn likers(moment: &MomentView) -> Vec<String> {
    moment
        .likes
        .iter()
        .map(|like| like.account.username.clone())
        .collect()
}

fn commenters(moment: &MomentView) -> Vec<String> {
    moment
        .comments
        .iter()
        .map(|comment| format!("{}: {}", comment.account.username, comment.text))
        .collect()
}

fn not_found(result: Result<impl std::fmt::Debug, ClientError>) {
    assert_problem(&result.unwrap_err(), 404, "moment_not_found");
}

/// A viewer who may not see a post gets the 404 of an id that does not
/// exist: to read, like, unlike, comment and delete alike.
async fn hidden_from(viewer: &User, moment: &str) {
    not_found(viewer.client.moment(moment).await);
    not_found(viewer.client.like_moment(moment).await);
    not_found(viewer.client.unlike_moment(moment).await);
    not_found(viewer.client.comment_moment(moment, "hi", None).await);
    not_found(viewer.client.delete_moment(moment).await);
    assert!(
        !feed(viewer).await.iter().any(|m| m.moment_id == moment),
        "not in the feed either"
    );
}

async fn events_of(user: &User, type_: &str) -> Vec<EventView> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events.into_iter().filter(|e| e.type_ == type_).collect()
}

#[tokio::test]
async fn a_strangers_post_is_not_found_to_read_like_or_comment() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    let moment = post(&ann, &text("sunset at the pier")).await;

    assert_eq!(
        bob.client.moment(&moment).await.unwrap().text,
        "sunset at the pier"
    );
    assert_eq!(feed_texts(&bob).await, ["sunset at the pier"]);
    hidden_from(&cat, &moment).await;
    // Byte for byte the answer to an id that does not exist.
    let stranger = cat
        .client
        .raw(
            Method::GET,
            &format!("/api/v1/moments/{moment}"),
            None,
            None,
        )
        .await
        .unwrap();
    let unknown = cat
        .client
        .raw(Method::GET, "/api/v1/moments/mom_999999", None, None)
        .await
        .unwrap();
    assert_eq!(
        (stranger.status, stranger.body),
        (unknown.status, unknown.body)
    );
    // A stranger's page is the 404 of an account one does not know.
    let page = cat
        .client
        .account_moments(&ann.account_id, None, None)
        .await;
    assert_problem(&page.unwrap_err(), 404, "account_not_found");
    assert!(events_of(&ann, "moment.liked").await.is_empty());
    assert!(events_of(&ann, "moment.commented").await.is_empty());
    app.shut_down().await;
}

#[tokio::test]
async fn likes_and_comments_show_only_from_the_viewers_contacts() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let dan = app.signup("dan").await;
    // Bob and Cat are Ann's contacts but not each other's; Dan knows Ann
    // and Bob.
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    befriend(&ann, &dan).await;
    befriend(&dan, &bob).await;
    let moment = post(&ann, &text("new bike")).await;
    bob.client.like_moment(&moment).await.unwrap();
    bob.client.like_moment(&moment).await.unwrap(); // once however often
    let bobs = bob
        .client
        .comment_moment(&moment, "nice!", None)
        .await
        .unwrap()
        .comment_id;
    cat.client
        .comment_moment(&moment, "where from?", None)
        .await
        .unwrap();
    let anns = ann
        .client
        .comment_moment(&moment, "thanks", Some(&bobs))
        .await
        .unwrap()
        .comment_id;

    let by_ann = ann.client.moment(&moment).await.unwrap();
    assert_eq!(likers(&by_ann), ["bob"]);
    assert_eq!(
        commenters(&by_ann),
        ["bob: nice!", "cat: where from?", "ann: thanks"]
    );
    let by_cat = cat.client.moment(&moment).await.unwrap();
    assert!(by_cat.likes.is_empty(), "Bob is no contact of Cat's");
    assert!(!by_cat.liked);
    assert_eq!(
        commenters(&by_cat),
        ["cat: where from?"],
        "Bob's comment and Ann's reply to it are hidden from Cat"
    );
    let by_dan = dan.client.moment(&moment).await.unwrap();
    assert_eq!(likers(&by_dan), ["bob"], "Bob is Dan's contact");
    assert_eq!(commenters(&by_dan), ["bob: nice!", "ann: thanks"]);
    let by_bob = bob.client.moment(&moment).await.unwrap();
    assert!(by_bob.liked);
    assert_eq!(commenters(&by_bob), ["bob: nice!", "ann: thanks"]);
    assert_eq!(by_bob.comments[1].reply_to.as_deref(), Some(bobs.as_str()));
    // Cat cannot reply to what she cannot see, nor delete it.
    let reply = cat.client.comment_moment(&moment, "hm", Some(&bobs)).await;
    assert_problem(&reply.unwrap_err(), 404, "comment_not_found");
    let gone = cat.client.delete_moment_comment(&moment, &bobs).await;
    assert_problem(&gone.unwrap_err(), 404, "comment_not_found");
    // Dan sees Ann's reply but may not delete it; Ann, the author, may
    // delete Bob's comment.
    let theirs = dan.client.delete_moment_comment(&moment, &anns).await;
    assert_problem(&theirs.unwrap_err(), 403, "not_comment_author");
    ann.client
        .delete_moment_comment(&moment, &bobs)
        .await
        .unwrap();
    assert_eq!(
        commenters(&dan.client.moment(&moment).await.unwrap()),
        ["ann: thanks"]
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_posts_likes_are_the_viewers_newest_fifty_with_a_count_of_all() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let dan = app.signup("dan").await;
    befriend(&ann, &dan).await;
    let moment = post(&ann, &text("a popular post")).await;
    // Dan likes first, so his own like is not among the newest fifty.
    dan.client.like_moment(&moment).await.unwrap();
    // 52 of Ann's contacts Dan knows, then 5 he does not, like it.
    let mut known = Vec::new();
    for n in 0..57 {
        let liker = app.signup(&format!("liker{n:02}")).await;
        befriend(&ann, &liker).await;
        if n < 52 {
            befriend(&dan, &liker).await;
            known.push(liker.username.clone());
        }
        liker.client.like_moment(&moment).await.unwrap();
    }

    let by_dan = dan.client.moment(&moment).await.unwrap();
    assert_eq!(by_dan.like_count, 53, "his 52 contacts and his own");
    assert!(by_dan.liked, "his like counts though it is not shown");
    assert_eq!(
        likers(&by_dan),
        known[2..],
        "the newest fifty, oldest first"
    );
    let by_ann = ann.client.moment(&moment).await.unwrap();
    assert_eq!(by_ann.like_count, 58, "the author sees every like");
    assert_eq!(by_ann.likes.len(), 50);
    assert_eq!(by_ann.likes.last().unwrap().account.username, "liker56");
    assert!(!by_ann.liked);
    // The feed shows the same as the post alone.
    let in_feed = feed(&dan).await;
    assert_eq!(in_feed[0].like_count, 53);
    assert_eq!(in_feed[0].likes.len(), 50);
    app.shut_down().await;
}

#[tokio::test]
async fn only_and_except_decide_who_sees_a_post() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let except_bob = post(&ann, &seen_by("not for bob", "except", &[&bob])).await;
    let only_cat = post(&ann, &seen_by("for cat", "only", &[&cat])).await;
    let private = post(&ann, &seen_by("diary", "private", &[])).await;

    hidden_from(&bob, &except_bob).await;
    hidden_from(&bob, &only_cat).await;
    hidden_from(&bob, &private).await;
    hidden_from(&cat, &private).await;
    assert!(feed_texts(&bob).await.is_empty());
    assert!(page_texts(&bob, &ann).await.is_empty());
    assert_eq!(feed_texts(&cat).await, ["for cat", "not for bob"]);
    assert_eq!(page_texts(&cat, &ann).await, ["for cat", "not for bob"]);
    assert_eq!(feed_texts(&ann).await, ["diary", "for cat", "not for bob"]);

    // The list is the author's to see, nobody else's.
    let by_ann = ann.client.moment(&only_cat).await.unwrap();
    let visibility = by_ann.visibility.expect("the author sees who may");
    assert_eq!(
        (visibility.kind.as_str(), visibility.accounts),
        ("only", vec![cat.account_id.clone()])
    );
    assert!(
        cat.client
            .moment(&only_cat)
            .await
            .unwrap()
            .visibility
            .is_none()
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_removed_or_blocked_contact_loses_posts_likes_and_comments_both_ways() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let dan = app.signup("dan").await;
    for (one, other) in [
        (&ann, &bob),
        (&ann, &cat),
        (&bob, &cat),
        (&ann, &dan),
        (&cat, &dan),
    ] {
        befriend(one, other).await;
    }
    let cats = post(&cat, &text("cat's garden")).await;
    let anns = post(&ann, &text("ann's lunch")).await;
    let bobs = post(&bob, &text("bob's run")).await;
    let dans = post(&dan, &text("dan's dog")).await;
    for user in [&ann, &bob, &dan] {
        user.client.like_moment(&cats).await.unwrap();
        user.client
            .comment_moment(&cats, &format!("from {}", user.username), None)
            .await
            .unwrap();
    }
    assert_eq!(
        likers(&ann.client.moment(&cats).await.unwrap()),
        ["ann", "bob", "dan"]
    );

    // Ann removes Bob: neither sees the other's old like and comment on
    // Cat's post, nor the other's posts.
    ann.client.remove_contact(&bob.account_id).await.unwrap();
    let by_ann = ann.client.moment(&cats).await.unwrap();
    assert_eq!(likers(&by_ann), ["ann", "dan"]);
    assert_eq!(commenters(&by_ann), ["ann: from ann", "dan: from dan"]);
    let by_bob = bob.client.moment(&cats).await.unwrap();
    assert_eq!(likers(&by_bob), ["bob"]);
    assert_eq!(commenters(&by_bob), ["bob: from bob"]);
    hidden_from(&ann, &bobs).await;
    hidden_from(&bob, &anns).await;
    assert_eq!(
        likers(&cat.client.moment(&cats).await.unwrap()),
        ["ann", "bob", "dan"]
    );

    // Ann blocks Dan (still contacts): the same, both ways.
    ann.client.block(&dan.account_id).await.unwrap();
    assert_eq!(likers(&ann.client.moment(&cats).await.unwrap()), ["ann"]);
    let by_dan = dan.client.moment(&cats).await.unwrap();
    assert_eq!(likers(&by_dan), ["dan"]);
    assert_eq!(commenters(&by_dan), ["dan: from dan"]);
    hidden_from(&ann, &dans).await;
    hidden_from(&dan, &anns).await;

    // Unblocked, they see each other again.
    ann.client.unblock(&dan.account_id).await.unwrap();
    assert_eq!(
        likers(&dan.client.moment(&cats).await.unwrap()),
        ["ann", "dan"]
    );
    assert!(dan.client.moment(&anns).await.is_ok());
    app.shut_down().await;
}

/// What a person removed since left on a post stays theirs to take back
/// and the author's to remove; and a reply to it no longer tells them.
#[tokio::test]
async fn a_removed_contacts_words_stay_removable_and_replies_no_longer_reach_them() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    for (one, other) in [(&ann, &bob), (&ann, &cat), (&bob, &cat)] {
        befriend(one, other).await;
    }
    let anns = post(&ann, &text("ann's lunch")).await;
    bob.client.like_moment(&anns).await.unwrap();
    let rude = bob
        .client
        .comment_moment(&anns, "rude", None)
        .await
        .unwrap();
    let kept = bob
        .client
        .comment_moment(&anns, "kept", None)
        .await
        .unwrap();
    ann.client.remove_contact(&bob.account_id).await.unwrap();
    not_found(bob.client.moment(&anns).await);
    // Cat, a contact of both, still sees Bob's words; a reply to them no
    // longer tells Bob, who may not see the post now.
    assert_eq!(
        commenters(&cat.client.moment(&anns).await.unwrap()),
        ["bob: rude", "bob: kept"]
    );
    let replies_before = events_of(&bob, "moment.commented").await.len();
    cat.client
        .comment_moment(&anns, "agreed", Some(&kept.comment_id))
        .await
        .unwrap();
    assert_eq!(
        events_of(&bob, "moment.commented").await.len(),
        replies_before
    );

    // Ann removes a comment she can no longer see; Bob takes back his like
    // and his other comment from a post he can no longer see.
    ann.client
        .delete_moment_comment(&anns, &rude.comment_id)
        .await
        .unwrap();
    bob.client.unlike_moment(&anns).await.unwrap();
    bob.client
        .delete_moment_comment(&anns, &kept.comment_id)
        .await
        .unwrap();
    let by_cat = cat.client.moment(&anns).await.unwrap();
    assert!(likers(&by_cat).is_empty(), "{:?}", likers(&by_cat));
    let left = commenters(&by_cat);
    assert!(!left.iter().any(|c| c.starts_with("bob:")), "{left:?}");
    // Taking back what is no longer there is the 404 of a hidden post.
    not_found(bob.client.unlike_moment(&anns).await);
    app.shut_down().await;
}

/// Moves every post of `author` `days` into the past, in the store itself
/// (the server has no clock a test could move).
async fn age_posts(app: &TestApp, author: &User, days: i64) {
    let ms = days * 24 * 60 * 60 * 1000;
    let author: i64 = author.account_id["acct_".len()..].parse().unwrap();
    let data_dir = app.data_dir().to_path_buf();
    tokio::task::spawn_blocking(move || match process_database(&data_dir) {
        Some(url) => {
            let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            db.execute(
                "UPDATE moments SET created_at = created_at - $1 WHERE author_id = $2",
                &[&ms, &author],
            )
            .unwrap();
        }
        None => {
            let db = rusqlite::Connection::open(data_dir.join("piazza.sqlite3")).unwrap();
            db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            db.execute(
                "UPDATE moments SET created_at = created_at - ?1 WHERE author_id = ?2",
                [ms, author],
            )
            .unwrap();
        }
    })
    .await
    .unwrap();
}

fn horizon(value: &str) -> Privacy {
    Privacy {
        moments_horizon: Some(value.to_owned()),
        ..Privacy::default()
    }
}

#[tokio::test]
async fn the_horizon_hides_older_posts_from_others_but_never_from_the_author() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    let old = post(&ann, &text("last week")).await;
    age_posts(&app, &ann, 4).await;
    post(&ann, &text("today")).await;
    assert_eq!(feed_texts(&bob).await, ["today", "last week"]);

    let set = ann.client.set_privacy(&horizon("3d")).await.unwrap();
    assert_eq!(set.moments_horizon.as_deref(), Some("3d"));
    assert_eq!(set.last_seen.as_deref(), Some("contacts"), "left as it was");
    assert_eq!(feed_texts(&bob).await, ["today"]);
    assert_eq!(page_texts(&bob, &ann).await, ["today"]);
    hidden_from(&bob, &old).await;
    assert_eq!(feed_texts(&ann).await, ["today", "last week"]);
    assert_eq!(page_texts(&ann, &ann).await, ["today", "last week"]);

    ann.client.set_privacy(&horizon("30d")).await.unwrap();
    assert_eq!(feed_texts(&bob).await, ["today", "last week"]);
    app.shut_down().await;
}

#[tokio::test]
async fn privacy_lists_hide_my_moments_and_keep_others_out_of_my_feed() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let anns = post(&ann, &text("ann's news")).await;
    post(&cat, &text("cat's news")).await;
    let lists = Privacy {
        moments_hidden_from: Some(vec![bob.account_id.clone()]),
        moments_not_shown: Some(vec![cat.account_id.clone()]),
        ..Privacy::default()
    };
    let set = ann.client.set_privacy(&lists).await.unwrap();
    assert_eq!(set.moments_hidden_from, Some(vec![bob.account_id.clone()]));
    assert_eq!(set.moments_not_shown, Some(vec![cat.account_id.clone()]));
    assert_eq!(set.moments_horizon.as_deref(), Some("all"));

    hidden_from(&bob, &anns).await;
    assert_eq!(feed_texts(&ann).await, ["ann's news"], "Cat's are left out");
    assert_eq!(
        page_texts(&ann, &cat).await,
        ["cat's news"],
        "but her page shows them"
    );
    assert_eq!(feed_texts(&cat).await, ["cat's news", "ann's news"]);

    // `last_seen` still works beside the new fields, and a list emptied
    // shows Ann's posts to Bob again.
    let hide = Privacy {
        last_seen: Some("nobody".to_owned()),
        moments_hidden_from: Some(Vec::new()),
        ..Privacy::default()
    };
    let set = ann.client.set_privacy(&hide).await.unwrap();
    assert_eq!(set.last_seen.as_deref(), Some("nobody"));
    assert_eq!(set.moments_not_shown, Some(vec![cat.account_id.clone()]));
    assert_eq!(feed_texts(&bob).await, ["ann's news"]);
    app.shut_down().await;
}

#[tokio::test]
async fn likes_and_comments_are_logged_to_the_author_and_the_one_replied_to() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    for (one, other) in [(&ann, &bob), (&ann, &cat), (&bob, &cat)] {
        befriend(one, other).await;
    }
    let moment = post(&ann, &text("first snow")).await;
    ann.client.like_moment(&moment).await.unwrap();
    ann.client
        .comment_moment(&moment, "brr", None)
        .await
        .unwrap();
    assert!(
        events_of(&ann, "moment.liked").await.is_empty(),
        "not one's own"
    );
    assert!(events_of(&ann, "moment.commented").await.is_empty());

    bob.client.like_moment(&moment).await.unwrap();
    bob.client.like_moment(&moment).await.unwrap();
    let liked = events_of(&ann, "moment.liked").await;
    assert_eq!(liked.len(), 1, "a like again is no news");
    assert_eq!(field(&liked[0], "moment_id"), moment.as_str());
    assert_eq!(field(&liked[0], "account_id"), bob.account_id.as_str());
    assert_eq!(field(&liked[0], "display_name"), "bob");

    let bobs = bob
        .client
        .comment_moment(&moment, "so white", None)
        .await
        .unwrap()
        .comment_id;
    let cats = cat
        .client
        .comment_moment(&moment, "so cold", Some(&bobs))
        .await
        .unwrap()
        .comment_id;
    let to_ann: Vec<String> = events_of(&ann, "moment.commented")
        .await
        .iter()
        .map(|e| field(e, "comment_id").as_str().unwrap().to_owned())
        .collect();
    assert_eq!(to_ann, [bobs.clone(), cats.clone()]);
    let to_bob = events_of(&bob, "moment.commented").await;
    assert_eq!(to_bob.len(), 1, "Bob is told of the reply to him only");
    assert_eq!(field(&to_bob[0], "comment_id"), cats.as_str());
    assert_eq!(field(&to_bob[0], "reply_to"), bobs.as_str());
    assert_eq!(
        field(&to_bob[0], "reply_to_account"),
        bob.account_id.as_str()
    );
    assert_eq!(field(&to_bob[0], "author_id"), ann.account_id.as_str());
    assert_eq!(field(&to_bob[0], "text"), "so cold");
    assert!(events_of(&cat, "moment.commented").await.is_empty());
    assert!(events_of(&bob, "moment.liked").await.is_empty());
    app.shut_down().await;
}

/// A PNG of `width` × `height`.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb([40, 120, 200]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("a PNG encodes");
    out
}

async fn upload(user: &User, width: u32, height: u32) -> String {
    user.client
        .upload_media(png(width, height), "image/png")
        .await
        .expect("uploaded")
        .0
        .media_id
}

#[tokio::test]
async fn a_posts_pictures_are_shown_to_those_who_may_see_it_until_it_is_deleted() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    let wide = upload(&ann, 40, 30).await;
    let tall = upload(&ann, 30, 40).await;
    let moment = NewMoment {
        media_ids: vec![wide.clone(), tall.clone()],
        location: Some(LocationView {
            lat: 45.434,
            lon: 12.3388,
            name: Some("Piazza San Marco".to_owned()),
        }),
        ..text("")
    };
    let moment = post(&ann, &moment).await;
    let by_bob = bob.client.moment(&moment).await.unwrap();
    let sizes: Vec<_> = by_bob
        .media
        .iter()
        .map(|m| (m.media_id.clone(), m.width, m.height))
        .collect();
    assert_eq!(
        sizes,
        [
            (wide.clone(), Some(40), Some(30)),
            (tall.clone(), Some(30), Some(40))
        ]
    );
    assert_eq!(
        by_bob.location.as_ref().and_then(|l| l.name.as_deref()),
        Some("Piazza San Marco")
    );
    assert!(bob.client.media(&wide).await.is_ok());
    assert!(cat.client.media(&wide).await.is_err(), "a stranger may not");
    // Bob may not post Ann's pictures as his own.
    let borrowed = NewMoment {
        media_ids: vec![wide.clone()],
        ..text("mine now")
    };
    let refused = bob.client.post_moment(&borrowed).await;
    assert_problem(&refused.unwrap_err(), 404, "media_not_found");

    let delete = bob.client.delete_moment(&moment).await;
    assert_problem(&delete.unwrap_err(), 403, "not_moment_author");
    ann.client.delete_moment(&moment).await.unwrap();
    not_found(bob.client.moment(&moment).await);
    not_found(ann.client.moment(&moment).await);
    assert!(bob.client.media(&wide).await.is_err(), "gone with the post");
    assert!(feed(&ann).await.is_empty());
    app.shut_down().await;
}

#[tokio::test]
async fn the_feed_is_newest_first_a_page_at_a_time() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    for n in 1..=5 {
        post(&ann, &text(&format!("ann {n}"))).await;
        // Runs of posts in Bob's inbox that he may not see: a page reads
        // past them, and never shows one.
        for hidden in 0..n {
            post(
                &ann,
                &seen_by(&format!("not for bob {n}.{hidden}"), "except", &[&bob]),
            )
            .await;
        }
        post(&bob, &text(&format!("bob {n}"))).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = bob
            .client
            .moments_feed(cursor.as_deref(), Some(3))
            .await
            .unwrap();
        assert!(page.moments.len() <= 3);
        seen.extend(page.moments.into_iter().map(|m| m.text));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (1..=5)
        .rev()
        .flat_map(|n| [format!("bob {n}"), format!("ann {n}")])
        .collect();
    assert_eq!(seen, expected);
    let bad = bob.client.moments_feed(Some("p1.acct_1"), None).await;
    assert_problem(&bad.unwrap_err(), 400, "invalid_cursor");
    app.shut_down().await;
}

#[tokio::test]
async fn bad_moments_are_refused_as_problems_and_change_nothing() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    let picture = upload(&ann, 10, 10).await;
    let ten = vec![picture.clone(); 10];
    let refused = [
        (
            json!({"text": "x", "media_ids": ten}),
            400,
            "too_many_media",
        ),
        (
            json!({"text": "x", "visibility": {"kind": "friends"}}),
            400,
            "invalid_visibility",
        ),
        (
            json!({"text": "x", "visibility": {"kind": "only", "accounts": ["acct_999999"]}}),
            403,
            "not_a_contact",
        ),
        (
            json!({"text": "x", "visibility": {"kind": "only", "accounts": ["nobody"]}}),
            403,
            "not_a_contact",
        ),
        (
            json!({"text": "x", "visibility": {"kind": "only", "accounts": [cat.account_id]}}),
            403,
            "not_a_contact",
        ),
        (
            json!({"text": "x", "visibility": {"kind": "except", "accounts": [ann.account_id]}}),
            403,
            "not_a_contact",
        ),
        (
            json!({"text": "x", "visibility": {"kind": "only", "accounts": []}}),
            422,
            "empty_audience",
        ),
        (
            json!({"text": "x", "visibility": {"kind": "contacts", "accounts": [bob.account_id]}}),
            400,
            "invalid_visibility",
        ),
        (json!({"text": "   "}), 422, "empty_moment"),
        (json!({}), 422, "empty_moment"),
        (
            json!({"text": "x".repeat(2001)}),
            400,
            "invalid_moment_text",
        ),
        (json!({"text": "x\u{7}"}), 400, "invalid_moment_text"),
        (
            json!({"text": "x", "media_ids": ["med_999999"]}),
            404,
            "media_not_found",
        ),
        (
            json!({"text": "x", "location": {"lat": 91.0, "lon": 0.0}}),
            400,
            "invalid_location",
        ),
        (json!({"text": 5}), 400, "invalid_body"),
    ];
    for (body, status, code) in refused {
        let answer = raw(
            &ann.client,
            Method::POST,
            "/api/v1/moments",
            Some(body.clone()),
        )
        .await;
        assert_eq!(answer.status, status, "{body}");
        assert_eq!(problem_code(&answer), code, "{body}");
    }
    assert!(feed(&ann).await.is_empty(), "nothing was posted");

    let moment = post(&ann, &text("fine")).await;
    let comments = format!("/api/v1/moments/{moment}/comments");
    for (body, status, code) in [
        (json!({"text": ""}), 400, "invalid_comment_text"),
        (
            json!({"text": "y".repeat(501)}),
            400,
            "invalid_comment_text",
        ),
        (
            json!({"text": "ok", "reply_to": "cmt_999999"}),
            404,
            "comment_not_found",
        ),
        (
            json!({"text": "ok", "reply_to": "mom_1"}),
            404,
            "comment_not_found",
        ),
    ] {
        let answer = raw(&bob.client, Method::POST, &comments, Some(body.clone())).await;
        assert_eq!(answer.status, status, "{body}");
        assert_eq!(problem_code(&answer), code, "{body}");
    }
    // A reply names a comment of the same post.
    let other = post(&ann, &text("other")).await;
    let elsewhere = bob
        .client
        .comment_moment(&other, "here", None)
        .await
        .unwrap()
        .comment_id;
    let across = bob
        .client
        .comment_moment(&moment, "there", Some(&elsewhere))
        .await;
    assert_problem(&across.unwrap_err(), 404, "comment_not_found");
    assert!(
        ann.client
            .moment(&moment)
            .await
            .unwrap()
            .comments
            .is_empty()
    );

    // Privacy: a bad horizon or a stranger on a list changes nothing.
    let before = ann.client.privacy().await.unwrap();
    for (body, status, code) in [
        (json!({"moments_horizon": "7d"}), 400, "invalid_privacy"),
        (
            json!({"moments_hidden_from": [cat.account_id]}),
            403,
            "not_a_contact",
        ),
        (
            json!({"moments_not_shown": ["acct_x"], "last_seen": "nobody"}),
            403,
            "not_a_contact",
        ),
        (
            json!({"moments_horizon": "3d", "last_seen": "sometimes"}),
            400,
            "invalid_privacy",
        ),
    ] {
        let answer = raw(
            &ann.client,
            Method::PATCH,
            "/api/v1/me/privacy",
            Some(body.clone()),
        )
        .await;
        assert_eq!(answer.status, status, "{body}");
        assert_eq!(problem_code(&answer), code, "{body}");
    }
    assert_eq!(ann.client.privacy().await.unwrap(), before);
    assert_eq!(before.moments_horizon.as_deref(), Some("all"));
    app.shut_down().await;
}

async fn raw(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> piazza_client::RawResponse {
    client
        .raw(
            method,
            path,
            body.map(|body| body.to_string().into_bytes()),
            Some("application/json"),
        )
        .await
        .expect("the server answers")
}
