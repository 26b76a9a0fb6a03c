//! An article shared into a chat (`article_card`): the message carries the
//! article as it was when shared (title, channel, cover, public page), the
//! receivers see it in their sync and may fetch its cover's thumbnail,
//! a forward carries it on, and an article id that is not one, or one
//! that does not exist, is refused with nothing sent. Channels cannot be
//! renamed nor articles edited (yet), so no test changes one under a card.

use piazza_api::{ArticleCardView, MessageContent, PublishArticle, events};

use crate::helpers::*;
use crate::media::TINY_PNG;

/// Ann's channel `ann.news` ("Ann's News") and an article of it with a
/// cover: `(article_id, cover_media_id)`.
async fn article_with_cover(ann: &User) -> (String, String) {
    let channel = ann
        .client
        .create_channel(&piazza_api::CreateChannel {
            handle: "ann.news".to_owned(),
            name: "Ann's News".to_owned(),
            description: String::new(),
            avatar_media_id: None,
        })
        .await
        .expect("channel created")
        .channel_id;
    let (cover, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let article = PublishArticle {
        title: "Rain over the piazza".to_owned(),
        body_markdown: "It rained **all day**.".to_owned(),
        cover_media_id: Some(cover.media_id.clone()),
    };
    let created = ann
        .client
        .publish_article(&channel, &article)
        .await
        .expect("published");
    (created.article_id, cover.media_id)
}

fn article_card(article_id: &str) -> MessageContent {
    MessageContent {
        article_id: Some(article_id.to_owned()),
        ..MessageContent::default()
    }
}

/// The article cards of `user`'s log, as its sync shows them.
async fn synced_cards(user: &User) -> Vec<ArticleCardView> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events
        .iter()
        .filter(|event| event.type_ == "message.new")
        .filter_map(|event| match event.event().expect("a message.new reads") {
            events::Event::MessageNew(new) => new.message.article,
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_shared_article_arrives_as_it_was_with_a_cover_members_may_fetch() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let dan = app.signup("dan").await;
    let (article_id, cover) = article_with_cover(&ann).await;
    // Bob follows nothing: articles are public, anyone may share one.
    let bob_cat = befriend(&bob, &cat).await;
    let (sent, replayed) = bob
        .client
        .share_article(&bob_cat, "b-1", &article_id)
        .await
        .expect("shared");
    assert!(!replayed);

    let expected = ArticleCardView {
        article_id: article_id.clone(),
        title: "Rain over the piazza".to_owned(),
        channel_id: ann
            .client
            .article(&article_id)
            .await
            .unwrap()
            .channel
            .channel_id,
        handle: "ann.news".to_owned(),
        channel_name: "Ann's News".to_owned(),
        cover_media_id: Some(cover.clone()),
        url: format!("/c/ann.news/{article_id}"),
    };
    assert_eq!(synced_cards(&cat).await, vec![expected.clone()]);
    let shown = cat
        .client
        .message(&bob_cat, &sent.message_id)
        .await
        .unwrap();
    assert_eq!(
        (shown.kind.as_str(), shown.text.as_str()),
        ("article_card", "")
    );
    assert_eq!(shown.article, Some(expected.clone()));

    // The same client_msg_id again is the same message, not a second.
    let (again, replayed) = bob
        .client
        .share_article(&bob_cat, "b-1", &article_id)
        .await
        .unwrap();
    assert!(replayed);
    assert_eq!(again.message_id, sent.message_id);

    // Cat, a member who does not follow the channel, fetches the cover's
    // thumbnail both ways; its whole picture stays its uploader's.
    let thumbnail = cat.client.media_thumbnail(&cover).await.expect("thumbnail");
    assert!(thumbnail.content_type.starts_with("image/"));
    let public = app
        .anonymous()
        .raw(
            reqwest::Method::GET,
            &format!("/c/-/media/{cover}/thumbnail"),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(public.status, 200);
    let whole = cat.client.media(&cover).await.unwrap_err();
    assert_problem(&whole, 404, "media_not_found");

    // A forward carries the card on, as it was shared.
    let bob_dan = befriend(&bob, &dan).await;
    let forward = MessageContent {
        forward_of: Some(piazza_api::MessageRefView {
            conversation_id: bob_cat.clone(),
            message_id: sent.message_id.clone(),
        }),
        ..MessageContent::default()
    };
    bob.client.send(&bob_dan, "b-2", forward).await.unwrap();
    assert_eq!(synced_cards(&dan).await, vec![expected]);
}

#[tokio::test]
async fn a_bad_or_unknown_article_is_refused_and_nothing_is_sent() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let (article_id, _) = article_with_cover(&ann).await;
    let direct = befriend(&ann, &bob).await;
    for (n, malformed) in ["art_x", "art_0", "", "msg_1", "art_99999999999999999999"]
        .into_iter()
        .enumerate()
    {
        let refused = ann
            .client
            .send(&direct, &format!("a-{n}"), article_card(malformed))
            .await
            .unwrap_err();
        assert_problem(&refused, 400, "invalid_article_id");
    }
    let refused = ann
        .client
        .send(&direct, "a-10", article_card("art_999999"))
        .await
        .unwrap_err();
    assert_problem(&refused, 404, "article_not_found");
    let worded = MessageContent {
        text: "read this".to_owned(),
        ..article_card(&article_id)
    };
    let refused = ann.client.send(&direct, "a-11", worded).await.unwrap_err();
    assert_problem(&refused, 400, "invalid_message");
    let mislabelled = MessageContent {
        kind: Some("contact_card".to_owned()),
        ..article_card(&article_id)
    };
    let refused = ann.client.send(&direct, "a-12", mislabelled);
    assert_problem(&refused.await.unwrap_err(), 400, "invalid_kind");
    let both = MessageContent {
        card: Some(piazza_api::CardRequest {
            account_id: bob.account_id.clone(),
        }),
        ..article_card(&article_id)
    };
    let refused = ann.client.send(&direct, "a-13", both).await.unwrap_err();
    assert_problem(&refused, 400, "invalid_message");
    // Someone outside the conversation cannot put a card in it.
    let cat = app.signup("cat").await;
    let refused = cat.client.send(&direct, "c-1", article_card(&article_id));
    assert_problem(&refused.await.unwrap_err(), 403, "not_a_member");
    assert_eq!(message_count(&bob, &direct).await, 0);
    assert!(synced_cards(&bob).await.is_empty());

    // The right kind, named, is taken.
    let named = MessageContent {
        kind: Some("article_card".to_owned()),
        ..article_card(&article_id)
    };
    ann.client.send(&direct, "a-14", named).await.unwrap();
    assert_eq!(message_count(&bob, &direct).await, 1);
}

#[tokio::test]
async fn the_cli_shares_an_article_and_shows_its_card() {
    use crate::cli_profiles::{piazza, stdout_of};
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let (article_id, _) = article_with_cover(&ann).await;
    befriend(&ann, &bob).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    for name in ["ann", "bob"] {
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
    let run = async |account: &str, args: &[&str]| {
        stdout_of(&piazza(&app, &config, account, args, "").await)
    };
    let shared = run("ann", &["channel", "share", &article_id, "--to", "bob"]).await;
    assert!(
        shared.contains(&format!("shared article {article_id} as #")),
        "{shared}"
    );
    let history = run("bob", &["history", "ann"]).await;
    assert!(
        history.contains("[article] Rain over the piazza — Ann's News"),
        "{history}"
    );
    let unknown = ["channel", "share", "art_999999", "--to", "bob"];
    let refused = piazza(&app, &config, "ann", &unknown, "").await;
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("article"), "{said}");
}
