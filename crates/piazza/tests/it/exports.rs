//! `POST /api/v1/exports` and its download: everything an account holds,
//! as one zip made while it downloads — its whole history exactly as sync
//! gives it, its contacts, its statement and its messages' media — for
//! its owner only, three a day; and `piazza export`.

use std::io::Read;

use piazza_api::EventView;

use crate::helpers::*;
use crate::media::TINY_PNG;
use crate::wallet::top_up;

/// The files of a zip, by name.
pub(crate) fn files(zip: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
    let mut files = std::collections::BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        files.insert(file.name().unwrap().into_owned(), bytes);
    }
    files
}

#[tokio::test]
async fn an_export_holds_the_whole_history_its_contacts_money_and_media() {
    let app = spawn_app_with(|config| config.sandbox_payments = true).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let chat = befriend(&ann, &bob).await;
    let (photo, _) = bob
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let message = piazza_api::MessageContent {
        media_id: Some(photo.media_id.clone()),
        ..piazza_api::MessageContent::text("the harbour")
    };
    bob.client.send(&chat, "photo", message).await.unwrap();
    // A "picture" only its first bytes make one: no cleaned copy can be
    // made of it, so the export leaves it out rather than failing.
    let mut broken = TINY_PNG[..16].to_vec();
    broken.extend_from_slice(b"not a picture after all");
    let (broken, _) = bob.client.upload_media(broken, "image/png").await.unwrap();
    let message = piazza_api::MessageContent {
        media_id: Some(broken.media_id.clone()),
        ..piazza_api::MessageContent::text("")
    };
    bob.client.send(&chat, "broken", message).await.unwrap();
    ann.client
        .send_message(&chat, "a1", "lovely")
        .await
        .unwrap();
    let (regret, _) = ann
        .client
        .send_message(&chat, "a2", "a regret")
        .await
        .unwrap();
    ann.client
        .delete_for_me(&chat, &regret.message_id)
        .await
        .unwrap();
    assert_eq!(top_up(&ann, 1_250, "ann-tops-up").await.0, 201);
    // Her avatar, a moment's picture, her channel's avatar and an
    // article's cover: each her own upload.
    let mut pictures = Vec::new();
    for tag in 1..=4 {
        let picture = crate::media::png_of(200, tag);
        let (uploaded, _) = ann.client.upload_media(picture, "image/png").await.unwrap();
        pictures.push(uploaded.media_id);
    }
    let avatar = piazza_api::UpdateProfile {
        avatar_media_id: Some(Some(pictures[0].clone())),
        ..Default::default()
    };
    ann.client.update_profile(&avatar).await.unwrap();
    let post = piazza_api::NewMoment {
        text: "first light".into(),
        media_ids: vec![pictures[1].clone()],
        ..Default::default()
    };
    let posted = ann.client.post_moment(&post).await.unwrap();
    bob.client.like_moment(&posted.moment_id).await.unwrap();
    let channel = piazza_api::CreateChannel {
        handle: "harbour_notes".into(),
        name: "Harbour notes".into(),
        description: "Boats".into(),
        avatar_media_id: Some(pictures[2].clone()),
    };
    let channel = ann.client.create_channel(&channel).await.unwrap();
    let article = piazza_api::PublishArticle {
        title: "Low tide".into(),
        body_markdown: "The *boats* sit on the mud.".into(),
        cover_media_id: Some(pictures[3].clone()),
    };
    ann.client
        .publish_article(&channel.channel_id, &article)
        .await
        .unwrap();

    let asked = ann.client.start_export().await.expect("asked");
    assert_eq!(asked.state, "ready");
    assert_eq!(ann.client.export(&asked.export_id).await.unwrap(), asked);
    let zip = ann
        .client
        .export_download(&asked.export_id)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let files = files(&zip);
    let text = |name: &str| String::from_utf8(files[name].clone()).unwrap();
    assert!(text("README.txt").contains("events.jsonl"));
    let me: serde_json::Value = serde_json::from_slice(&files["account.json"]).unwrap();
    assert_eq!(me["username"], "ann");
    assert!(text("contacts.jsonl").contains("\"bob\""));
    let exported: Vec<EventView> = text("events.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mine = |event: &EventView| {
        event.fields.get("message_id").and_then(|id| id.as_str()) != Some(&regret.message_id)
    };
    let history: Vec<EventView> = sync_all(&ann.client, None, 200)
        .await
        .0
        .into_iter()
        .filter(mine)
        .collect();
    assert_eq!(
        exported, history,
        "the whole history, but what ann deleted for herself"
    );
    assert!(!text("events.jsonl").contains("a regret"));
    assert!(text("statement.jsonl").contains("1250"));
    let moments = text("moments.jsonl");
    assert!(
        moments.contains("first light") && moments.contains(&bob.account_id),
        "{moments}"
    );
    assert!(text("channels.jsonl").contains("\"harbour_notes\""));
    assert!(text("articles.jsonl").contains("The *boats* sit on the mud."));
    for picture in &pictures {
        assert!(files.contains_key(&format!("media/{picture}")), "{picture}");
    }
    assert_eq!(text("orders.jsonl"), "", "no orders placed");
    assert_eq!(files[&format!("media/{}", photo.media_id)], TINY_PNG);
    assert!(!files.contains_key(&format!("media/{}", broken.media_id)));
    assert!(text("media.jsonl").contains("image/png"));

    // Nobody else's to see.
    let theirs = bob.client.export(&asked.export_id).await.unwrap_err();
    assert_problem(&theirs, 404, "export_not_found");
    let theirs = bob
        .client
        .export_download(&asked.export_id)
        .await
        .unwrap_err();
    assert_problem(&theirs, 404, "export_not_found");
    // Three a day.
    for _ in 0..2 {
        ann.client.start_export().await.expect("within three a day");
    }
    let fourth = ann.client.start_export().await.unwrap_err();
    assert_problem(&fourth, 429, "too_many_exports");
}

#[tokio::test]
async fn a_link_downloads_an_export_once_without_a_token() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let asked = ann.client.start_export().await.unwrap();
    let link = ann.client.export_link(&asked.export_id).await.unwrap();
    assert!(link.url.starts_with(&asked.download_url), "{}", link.url);
    let base = app.base.clone();
    let get = |url: String| {
        let base = base.clone();
        async move { reqwest::get(format!("{base}{url}")).await.unwrap() }
    };
    // A HEAD asks about the link without using it up.
    let head = reqwest::Client::new()
        .head(format!("{base}{}", link.url))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let first = get(link.url.clone()).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "application/zip");
    let names = files(&first.bytes().await.unwrap());
    assert!(names.contains_key("events.jsonl"));
    // Once only; a made-up secret, or a link for another export, is no
    // export at all.
    assert_eq!(get(link.url.clone()).await.status(), 404);
    let forged = format!("{}?link=pz_forged", asked.download_url);
    assert_eq!(get(forged).await.status(), 404);
    let other = ann.client.start_export().await.unwrap();
    let link = ann.client.export_link(&other.export_id).await.unwrap();
    let secret = link.url.split_once("?link=").unwrap().1;
    let crossed = format!("{}?link={secret}", asked.download_url);
    assert_eq!(get(crossed).await.status(), 404);
    // Without a link, the token is asked for; nobody links another's.
    assert_eq!(get(asked.download_url.clone()).await.status(), 401);
    let theirs = bob.client.export_link(&asked.export_id).await.unwrap_err();
    assert_problem(&theirs, 404, "export_not_found");
}

#[tokio::test]
async fn the_cli_exports_to_a_file() {
    use crate::cli_profiles::{cli_account, piazza, stdout_of};
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let config = cli_account(&app, dir.path(), "ann").await;
    let to = dir.path().join("ann.zip");
    let told = stdout_of(
        &piazza(
            &app,
            &config,
            "ann",
            &["export", "--to", to.to_str().unwrap()],
            "",
        )
        .await,
    );
    assert!(told.contains("exported ann"), "{told}");
    let files = files(&std::fs::read(&to).unwrap());
    assert!(files.contains_key("events.jsonl") && files.contains_key("account.json"));
    let again = piazza(
        &app,
        &config,
        "ann",
        &["export", "--to", to.to_str().unwrap()],
        "",
    )
    .await;
    assert!(
        !again.status.success(),
        "an existing file is not overwritten"
    );
}
