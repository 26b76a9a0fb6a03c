//! Images in chat: uploads (types, magic numbers, the size cap), image
//! messages, who may fetch the bytes, and that they survive a restart.

use piazza_server::config::Config;
use reqwest::Method;

use crate::helpers::*;

/// A 1×1 PNG (a red pixel), as small as a valid PNG gets.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8, 0xCF, 0xC0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xDD, 0x8D, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E,
    0x44, 0xAE, 0x42, 0x60, 0x82,
];

async fn upload_raw(user: &User, body: &[u8], content_type: &str) -> piazza_client::RawResponse {
    user.client
        .raw(
            Method::POST,
            "/api/v1/media",
            Some(body.to_vec()),
            Some(content_type),
        )
        .await
        .expect("the server answers")
}

pub fn problem_code(answer: &piazza_client::RawResponse) -> String {
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json"),
        "a problem"
    );
    let problem: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
    problem["code"].as_str().expect("a code").to_owned()
}

#[tokio::test]
async fn uploads_are_checked_for_type_magic_and_size() {
    let app = spawn_app_with(|config: &mut Config| config.limits.media_bytes_max = 1024).await;
    let ann = app.signup("ann").await;

    let (uploaded, replayed) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .expect("a PNG is taken");
    assert!(!replayed);
    assert!(uploaded.media_id.starts_with("med_"));
    assert_eq!(uploaded.content_type, "image/png");
    assert_eq!(uploaded.bytes, TINY_PNG.len() as u64);
    assert_eq!(uploaded.sha256.len(), 64);
    let raw = upload_raw(&ann, TINY_PNG, "image/png").await;
    assert_eq!(
        raw.status, 200,
        "the same bytes again answer the first media"
    );
    let again: piazza_api::MediaUploaded = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(again, uploaded);

    // Declared a PNG, but it is a GIF (and a GIF that is text).
    let answer = upload_raw(&ann, b"GIF89a\x01\x00\x01\x00", "image/png").await;
    assert_eq!(
        (answer.status, problem_code(&answer).as_str()),
        (400, "invalid_image")
    );
    let answer = upload_raw(&ann, b"not a gif at all", "image/gif").await;
    assert_eq!(
        (answer.status, problem_code(&answer).as_str()),
        (400, "invalid_image")
    );
    let answer = upload_raw(&ann, b"", "image/jpeg").await;
    assert_eq!(
        (answer.status, problem_code(&answer).as_str()),
        (400, "invalid_image")
    );

    // What the bytes are decides, whatever is declared (or not): a
    // picture declared as a file, as a page or as nothing is a picture.
    for declared in [
        Some("image/svg+xml"),
        Some("text/html"),
        Some("application/octet-stream"),
        None,
    ] {
        let answer = ann
            .client
            .raw(
                Method::POST,
                "/api/v1/media",
                Some(TINY_PNG.to_vec()),
                declared,
            )
            .await
            .unwrap();
        assert_eq!(
            answer.status, 200,
            "{declared:?}: the same bytes, the same media"
        );
        let again: piazza_api::MediaUploaded = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(again.content_type, "image/png");
    }
    let mut big = TINY_PNG.to_vec();
    big.resize(1025, 0);
    let answer = upload_raw(&ann, &big, "image/png").await;
    assert_eq!(
        (answer.status, problem_code(&answer).as_str()),
        (413, "body_too_large")
    );
    big.truncate(1024);
    assert_eq!(
        upload_raw(&ann, &big, "image/png").await.status,
        201,
        "the cap itself is fine"
    );

    let answer = app
        .anonymous()
        .raw(
            Method::POST,
            "/api/v1/media",
            Some(TINY_PNG.to_vec()),
            Some("image/png"),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 401);
    app.shut_down().await;
}

/// A PNG of exactly `bytes` bytes, different for each `tag`: the magic
/// number is all an upload is checked for.
pub fn png_of(bytes: usize, tag: u8) -> Vec<u8> {
    let mut image = TINY_PNG.to_vec();
    image.resize(bytes, tag);
    image
}

/// The uploads' files under the store's media folder (staged ones
/// included; not the previews and thumbnails made of pictures, whose
/// names have a suffix).
fn media_files(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .map(|entry| entry.unwrap().path())
                .map(|path| {
                    let derived = path.extension().is_some();
                    if path.is_dir() {
                        count(&path)
                    } else {
                        usize::from(!derived)
                    }
                })
                .sum()
        })
    }
    count(&app.data_dir().join("media"))
}

#[tokio::test]
async fn each_account_has_a_storage_quota() {
    let app = spawn_app_with(|config: &mut Config| {
        config.limits.media_bytes_max = 1024;
        config.limits.media_quota_bytes_per_account = 300;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    for tag in [1, 2] {
        assert_eq!(
            upload_raw(&ann, &png_of(100, tag), "image/png")
                .await
                .status,
            201
        );
    }
    // The same bytes again are the same media: counted once.
    assert_eq!(
        upload_raw(&ann, &png_of(100, 1), "image/png").await.status,
        200
    );
    // Up to the quota itself...
    assert_eq!(
        upload_raw(&ann, &png_of(100, 3), "image/png").await.status,
        201
    );
    let files = media_files(&app);
    // ...and not a byte past it; nothing is left on disk for the refusal.
    let answer = upload_raw(&ann, &png_of(70, 4), "image/png").await;
    assert_eq!(
        (answer.status, problem_code(&answer).as_str()),
        (507, "media_quota_exceeded")
    );
    assert_eq!(media_files(&app), files, "a refused upload leaves no file");
    // What is stored stays usable: uploading it again still answers it.
    assert_eq!(
        upload_raw(&ann, &png_of(100, 1), "image/png").await.status,
        200
    );
    // Another account has its own quota, even for the same bytes.
    assert_eq!(
        upload_raw(&bob, &png_of(100, 1), "image/png").await.status,
        201
    );
    // One file past the size cap is still a 413, whatever the quota.
    let answer = upload_raw(&bob, &png_of(1025, 5), "image/png").await;
    assert_eq!(
        (answer.status, problem_code(&answer).as_str()),
        (413, "body_too_large")
    );
    app.shut_down().await;
}

/// Uploads racing each other near the quota: the quota holds, and the
/// refused ones leave no files behind.
#[tokio::test]
async fn racing_uploads_do_not_pass_the_quota() {
    let app = spawn_app_with(|config: &mut Config| {
        config.limits.media_bytes_max = 1024;
        config.limits.media_quota_bytes_per_account = 350;
    })
    .await;
    let ann = app.signup("ann").await;
    let uploads = (0..12u8).map(|tag| {
        let ann = ann.clone();
        async move { upload_raw(&ann, &png_of(100, tag), "image/png").await }
    });
    let answers = futures_util::future::join_all(uploads).await;
    let taken = answers.iter().filter(|answer| answer.status == 201).count();
    for answer in &answers {
        assert!(
            answer.status == 201 || problem_code(answer) == "media_quota_exceeded",
            "{}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    assert!(
        (1..=3).contains(&taken),
        "{taken} uploads of 100 bytes taken under 350"
    );
    assert_eq!(
        media_files(&app),
        taken,
        "a file for each upload taken, no other"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn an_image_message_reaches_the_other_member_and_no_one_else() {
    let mut app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let eve = app.signup("eve").await;
    let conversation = befriend(&ann, &bob).await;
    let (uploaded, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let media = uploaded.media_id.as_str();

    // Nobody but Ann can see it before it is sent.
    for stranger in [&bob, &eve] {
        let error = stranger.client.media(media).await.unwrap_err();
        assert_problem(&error, 404, "media_not_found");
    }
    // Bob cannot post Ann's upload as his own.
    let error = bob
        .client
        .send_image(&conversation, "b-1", media, "")
        .await
        .unwrap_err();
    assert_problem(&error, 404, "media_not_found");
    let error = ann
        .client
        .send_image(&conversation, "a-0", "med_999999", "")
        .await
        .unwrap_err();
    assert_problem(&error, 404, "media_not_found");

    let (sent, replayed) = ann
        .client
        .send_image(&conversation, "a-1", media, "")
        .await
        .expect("an image with no caption");
    assert!(!replayed);
    let (again, replayed) = ann
        .client
        .send_image(&conversation, "a-1", media, "")
        .await
        .unwrap();
    assert!(replayed, "the retry replays");
    assert_eq!(again, sent);
    let error = ann
        .client
        .send_message(&conversation, "a-1", "text with the image's id")
        .await
        .unwrap_err();
    assert_problem(&error, 422, "client_msg_id_reused");
    ann.client
        .send_image(&conversation, "a-2", media, "the same cat, captioned")
        .await
        .unwrap();

    let fetched = bob
        .client
        .media(media)
        .await
        .expect("Bob sees what Ann sent him");
    assert_eq!(fetched.bytes, TINY_PNG);
    assert_eq!(fetched.content_type, "image/png");
    let raw = bob
        .client
        .raw(Method::GET, &format!("/api/v1/media/{media}"), None, None)
        .await
        .unwrap();
    assert_eq!(raw.status, 200);
    let header = |name: &str| {
        raw.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(
        header("cache-control"),
        "private, max-age=31536000, immutable"
    );
    assert_eq!(header("content-disposition"), "inline");

    // Eve, a stranger, gets exactly what an unknown id gets.
    let stranger = eve
        .client
        .raw(Method::GET, &format!("/api/v1/media/{media}"), None, None)
        .await
        .unwrap();
    let unknown = eve
        .client
        .raw(Method::GET, "/api/v1/media/med_999999", None, None)
        .await
        .unwrap();
    let garbage = eve
        .client
        .raw(Method::GET, "/api/v1/media/..%2Fpiazza.sqlite3", None, None)
        .await
        .unwrap();
    assert_eq!(stranger.status, 404);
    assert_eq!(stranger.body, unknown.body, "nothing tells them apart");
    assert_eq!(garbage.status, 404);
    assert_eq!(problem_code(&garbage), "media_not_found");
    let anonymous = app
        .anonymous()
        .raw(Method::GET, &format!("/api/v1/media/{media}"), None, None)
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);

    // A new device of Bob's sees both image messages in history and sync.
    let phone = app.login("bob", "phone").await;
    let history = phone
        .client
        .history(&conversation, None, None)
        .await
        .unwrap();
    let images: Vec<_> = history
        .messages
        .iter()
        .filter(|message| message.kind == "image")
        .collect();
    assert_eq!(images.len(), 2);
    assert!(images.iter().all(|m| m.ref_.as_deref() == Some(media)));
    assert_eq!(images[0].text, "the same cat, captioned");
    assert_eq!(images[1].text, "");
    let (events, _) = sync_all(&phone.client, None, 200).await;
    let synced: Vec<_> = events
        .iter()
        .filter(|event| event.type_ == "message.new" && field(event, "kind") == "image")
        .collect();
    assert_eq!(synced.len(), 2);
    assert_eq!(field(synced[0], "ref"), media);

    // The file survives a restart (the row and the bytes).
    stop_keeping_data(&mut app).await;
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), app.data_dir().to_path_buf());
    config.password_hashing = cheap_hashing();
    let running = piazza::engines::spawn(config).await.expect("restarts");
    let base = format!("http://{}", running.addr);
    app.running = Some(running);
    let token = |user: &User| user.client.token().unwrap().to_owned();
    let bob_again = piazza_client::Client::new(&base).with_token(token(&bob));
    let eve_again = piazza_client::Client::new(&base).with_token(token(&eve));
    assert_eq!(bob_again.media(media).await.unwrap().bytes, TINY_PNG);
    assert_problem(
        &eve_again.media(media).await.unwrap_err(),
        404,
        "media_not_found",
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_member_who_joins_later_or_leaves_cannot_fetch_it() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let group = ann
        .client
        .create_group("Pictures", std::slice::from_ref(&bob.account_id))
        .await
        .unwrap();
    let (uploaded, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let media = uploaded.media_id.as_str();
    ann.client
        .send_image(&group, "g-1", media, "")
        .await
        .unwrap();
    assert!(bob.client.media(media).await.is_ok());

    // Cat joins after the image: its message is not in her view.
    ann.client
        .add_member(&group, &cat.account_id)
        .await
        .unwrap();
    assert_problem(
        &cat.client.media(media).await.unwrap_err(),
        404,
        "media_not_found",
    );
    // Bob leaves: he no longer sees it.
    bob.client
        .remove_member(&group, &bob.account_id)
        .await
        .unwrap();
    assert_problem(
        &bob.client.media(media).await.unwrap_err(),
        404,
        "media_not_found",
    );
    app.shut_down().await;
}

#[tokio::test]
async fn the_cli_sends_an_image_from_a_file() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let dir = tempfile::tempdir().unwrap();
    // Named like a JPEG: the bytes, not the name, say what it is.
    let file = dir.path().join("dot.jpg");
    std::fs::write(&file, TINY_PNG).unwrap();
    let text_file = dir.path().join("notes.png");
    std::fs::write(&text_file, "not an image").unwrap();
    let piazza = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"));
        command
            .args(args)
            .env("PIAZZA_CONFIG", dir.path().join("cli.toml"))
            .env("PIAZZA_SERVER", &app.base)
            .env("PIAZZA_PASSWORD", PASSWORD)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null());
        command
    };
    let login = piazza(&["login", "ann"]).output().await.unwrap();
    assert!(login.status.success(), "{login:?}");
    let file_arg = file.to_str().unwrap();
    let sent = piazza(&["send", "--image", file_arg, "bob", "a", "dot"])
        .output()
        .await
        .unwrap();
    assert!(sent.status.success(), "{sent:?}");
    let refused = piazza(&["send", "--image", text_file.to_str().unwrap(), "bob"])
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success(), "a text file is not sent");

    let history = bob.client.history(&conversation, None, None).await.unwrap();
    assert_eq!(history.messages.len(), 1);
    let message = &history.messages[0];
    assert_eq!(
        (message.kind.as_str(), message.text.as_str()),
        ("image", "a dot")
    );
    let media = message.ref_.as_deref().expect("a media id");
    let fetched = bob.client.media(media).await.unwrap();
    assert_eq!(
        (fetched.content_type.as_str(), fetched.bytes.as_slice()),
        ("image/png", TINY_PNG)
    );
    app.shut_down().await;
}
