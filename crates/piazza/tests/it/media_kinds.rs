//! Media of every kind: files served only as attachments, audio and video
//! typed and measured from their bytes, the lies and sizes refused, ranges
//! and tags on downloads, pictures served without their metadata, and the
//! messages that show them.

use piazza_server::config::Config;
use reqwest::Method;

use crate::helpers::*;

/// A real file made by ffmpeg (the container readers' fixtures).
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../piazza-core/fixtures/media/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

async fn get(user: &User, path: &str, headers: &[(&str, &str)]) -> piazza_client::RawResponse {
    user.client
        .raw_with_headers(Method::GET, path, None, None, headers)
        .await
        .expect("the server answers")
}

fn header<'a>(answer: &'a piazza_client::RawResponse, name: &str) -> &'a str {
    answer
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

use crate::media::problem_code as code;

const PAGE: &[u8] = b"<!doctype html><script>fetch('/api/v1/me')</script>";

/// A page uploaded as a file is a file: kept as `application/octet-stream`
/// and served only as an attachment with its name, never as a page.
#[tokio::test]
async fn a_file_that_could_run_script_is_only_ever_an_attachment() {
    let app = spawn_app().await;
    let (ann, bob) = (app.signup("ann").await, app.signup("bob").await);
    let direct = befriend(&ann, &bob).await;
    let (file, _) = ann
        .client
        .upload_file(PAGE.to_vec(), Some("../invoice \"final\".html"))
        .await
        .unwrap();
    assert_eq!(file.content_type, "application/octet-stream");
    assert_eq!(file.name.as_deref(), Some("invoice final.html"));
    let (sent, _) = ann
        .client
        .send_media(&direct, "f-1", &file.media_id, None, None)
        .await
        .unwrap();
    let shown = bob.client.message(&direct, &sent.message_id).await.unwrap();
    assert_eq!(shown.kind, "file", "what the media is decides the kind");
    let attachment = shown.attachment.expect("the file's facts");
    assert_eq!(attachment.name.as_deref(), Some("invoice final.html"));
    assert_eq!(attachment.bytes, PAGE.len() as u64);

    let answer = get(&bob, &format!("/api/v1/media/{}", file.media_id), &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, PAGE);
    assert_eq!(header(&answer, "content-type"), "application/octet-stream");
    assert_eq!(header(&answer, "x-content-type-options"), "nosniff");
    assert!(header(&answer, "content-security-policy").contains("sandbox"));
    assert_eq!(
        header(&answer, "content-disposition"),
        "attachment; filename=\"invoice final.html\"; filename*=UTF-8''invoice%20final.html"
    );
    // A preview of what is not a picture is refused, not made.
    let answer = get(
        &bob,
        &format!("/api/v1/media/{}/preview", file.media_id),
        &[],
    )
    .await;
    assert_eq!(
        (answer.status, code(&answer).as_str()),
        (400, "invalid_image")
    );
    app.shut_down().await;
}

/// Downloads answer one range (206), refuse one past the end (416 with
/// the size), and answer their tag with 304.
#[tokio::test]
async fn downloads_take_ranges_and_tags() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let (file, _) = ann.client.upload_file(bytes.clone(), None).await.unwrap();
    let path = format!("/api/v1/media/{}", file.media_id);

    let whole = get(&ann, &path, &[]).await;
    assert_eq!(whole.body, bytes);
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    let etag = header(&whole, "etag").to_owned();
    assert_eq!(etag, format!("\"{}\"", file.sha256));

    let part = get(&ann, &path, &[("range", "bytes=1000-1999")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &bytes[1000..2000]);
    assert_eq!(header(&part, "content-range"), "bytes 1000-1999/100000");
    let tail = get(&ann, &path, &[("range", "bytes=-10")]).await;
    assert_eq!((tail.status, tail.body.as_slice()), (206, &bytes[99_990..]));

    let longer = get(&ann, &path, &[("range", "bytes=-200000")]).await;
    assert_eq!(
        (longer.status, longer.body.len()),
        (206, 100_000),
        "a longer suffix: all"
    );
    let past = get(&ann, &path, &[("range", "bytes=100000-")]).await;
    assert_eq!(
        (past.status, code(&past).as_str()),
        (416, "range_not_satisfiable")
    );
    assert_eq!(header(&past, "content-range"), "bytes */100000");

    let cached = get(&ann, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
    app.shut_down().await;
}

/// What is declared must fit what the bytes are; each kind has its cap.
#[tokio::test]
async fn lying_and_oversized_uploads_are_refused_and_leave_nothing() {
    let app = spawn_app_with(|config: &mut Config| {
        config.limits.file_bytes_max = 1_000;
        config.limits.audio_bytes_max = 3_000;
    })
    .await;
    let ann = app.signup("ann").await;
    let upload = |body: Vec<u8>, content_type: Option<&'static str>| {
        let ann = ann.clone();
        async move {
            ann.client
                .raw(Method::POST, "/api/v1/media", Some(body), content_type)
                .await
                .unwrap()
        }
    };
    let lie = upload(PAGE.to_vec(), Some("image/png")).await;
    assert_eq!((lie.status, code(&lie).as_str()), (400, "invalid_image"));
    let lie = upload(fixture("v.mp4"), Some("audio/ogg")).await;
    assert_eq!((lie.status, code(&lie).as_str()), (400, "invalid_media"));
    let empty = upload(Vec::new(), None).await;
    assert_eq!((empty.status, code(&empty).as_str()), (400, "empty_upload"));
    let big = upload(vec![7u8; 1_001], None).await;
    assert_eq!((big.status, code(&big).as_str()), (413, "body_too_large"));
    let voice = fixture("a.ogg");
    assert!(voice.len() < 3_000, "the fixture fits the audio cap");
    assert_eq!(upload(voice, Some("audio/ogg")).await.status, 201);
    let mut long = fixture("a.ogg");
    long.resize(3_001, 0);
    let big = upload(long, None).await;
    assert_eq!((big.status, code(&big).as_str()), (413, "body_too_large"));
    let staging = app.data_dir().join("media/.staging");
    let left = std::fs::read_dir(&staging).map_or(0, |entries| entries.count());
    assert_eq!(left, 0, "refusals leave no staged file");
    app.shut_down().await;
}

/// Audio and video are told and measured from their containers, and sent
/// as voice notes and videos; a kind the media cannot be is refused.
#[tokio::test]
async fn voice_notes_and_videos_carry_their_lengths_and_sizes() {
    let app = spawn_app().await;
    let (ann, bob) = (app.signup("ann").await, app.signup("bob").await);
    let direct = befriend(&ann, &bob).await;
    let expected = [
        ("a.ogg", "audio/ogg", None),
        ("a.m4a", "audio/mp4", None),
        ("a.mp3", "audio/mpeg", None),
        ("v.mp4", "video/mp4", Some((64, 48))),
        ("v.webm", "video/webm", Some((64, 48))),
    ];
    let mut uploaded = Vec::new();
    for (name, content_type, size) in expected {
        let (media, _) = ann.client.upload_file(fixture(name), None).await.unwrap();
        assert_eq!(media.content_type, content_type, "{name}");
        let duration = media.duration_ms.expect("the container says its length");
        assert!(duration.abs_diff(1_000) <= 50, "{name}: {duration} ms");
        assert_eq!(media.width.zip(media.height), size, "{name}");
        uploaded.push(media);
    }
    let (voice, _) = ann
        .client
        .send_media(&direct, "v-1", &uploaded[0].media_id, Some("voice"), None)
        .await
        .unwrap();
    let shown = bob
        .client
        .message(&direct, &voice.message_id)
        .await
        .unwrap();
    assert_eq!(shown.kind, "voice");
    let attachment = shown.attachment.unwrap();
    assert_eq!(attachment.content_type, "audio/ogg");
    assert!(attachment.duration_ms.unwrap().abs_diff(1_000) <= 50);
    // The recorder's own length wins over the container's.
    let (video, _) = ann
        .client
        .send_media(
            &direct,
            "v-2",
            &uploaded[3].media_id,
            Some("video"),
            Some(990),
        )
        .await
        .unwrap();
    let shown = bob
        .client
        .message(&direct, &video.message_id)
        .await
        .unwrap();
    let attachment = shown.attachment.unwrap();
    assert_eq!(
        (attachment.width, attachment.height, attachment.duration_ms),
        (Some(64), Some(48), Some(990))
    );
    let audio = bob.client.media(&uploaded[0].media_id).await.unwrap();
    assert_eq!(audio.content_type, "audio/ogg", "served as itself, inline");

    let wrong = ann
        .client
        .send_media(&direct, "v-3", &uploaded[3].media_id, Some("voice"), None)
        .await
        .unwrap_err();
    assert_problem(&wrong, 422, "media_kind_mismatch");
    let wrong = ann
        .client
        .send_media(&direct, "v-4", &uploaded[0].media_id, Some("image"), None)
        .await
        .unwrap_err();
    assert_problem(&wrong, 422, "media_kind_mismatch");
    let wrong = ann
        .client
        .send_media(&direct, "v-5", &uploaded[0].media_id, Some("sticker"), None)
        .await
        .unwrap_err();
    assert_problem(&wrong, 400, "invalid_kind");
    app.shut_down().await;
}

/// A PNG whose EXIF turns it a quarter and says where it was taken.
fn photo_with_exif(width: u32, height: u32) -> Vec<u8> {
    use image::ImageEncoder;
    let mut exif = vec![
        b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
    ];
    exif.extend_from_slice(b"GPS 45.4340N 12.3388E");
    let picture = image::ImageBuffer::from_pixel(width, height, image::Rgb([200u8, 30, 30]));
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::png::PngEncoder::new(&mut bytes);
    encoder.set_exif_metadata(exif).unwrap();
    encoder
        .write_image(&picture, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A photo is served without its EXIF, upright, with a preview and a
/// thumbnail within their bounds; a recalled one is no longer served.
#[tokio::test]
async fn pictures_are_served_clean_upright_and_in_three_sizes() {
    let app = spawn_app().await;
    let (ann, bob) = (app.signup("ann").await, app.signup("bob").await);
    let direct = befriend(&ann, &bob).await;
    let photo = photo_with_exif(2_000, 1_000);
    assert!(contains(&photo, b"GPS"));
    let (uploaded, _) = ann.client.upload_media(photo, "image/png").await.unwrap();
    assert_eq!(
        (uploaded.width, uploaded.height),
        (Some(1_000), Some(2_000)),
        "the size as it is shown"
    );
    let (sent, _) = ann
        .client
        .send_image(&direct, "p-1", &uploaded.media_id, "")
        .await
        .unwrap();
    let served = bob.client.media(&uploaded.media_id).await.unwrap();
    assert!(!contains(&served.bytes, b"GPS"), "no EXIF served");
    let upright = image::load_from_memory(&served.bytes).unwrap();
    assert_eq!((upright.width(), upright.height()), (1_000, 2_000));
    let preview = bob.client.media_preview(&uploaded.media_id).await.unwrap();
    let preview = image::load_from_memory(&preview.bytes).unwrap();
    assert_eq!((preview.width(), preview.height()), (640, 1_280));
    let thumbnail = bob
        .client
        .media_thumbnail(&uploaded.media_id)
        .await
        .unwrap();
    let thumbnail = image::load_from_memory(&thumbnail.bytes).unwrap();
    assert_eq!((thumbnail.width(), thumbnail.height()), (160, 320));

    ann.client
        .recall_message(&direct, &sent.message_id)
        .await
        .unwrap();
    let error = bob.client.media(&uploaded.media_id).await.unwrap_err();
    assert_problem(&error, 404, "media_not_found");
    app.shut_down().await;
}

/// A forwarded voice note shares the same media, which the members of
/// the conversation it reaches may then fetch; a stranger still may not.
#[tokio::test]
async fn a_forwarded_voice_note_reaches_its_new_members() {
    let app = spawn_app().await;
    let (ann, bob, cat) = (
        app.signup("ann").await,
        app.signup("bob").await,
        app.signup("cat").await,
    );
    let ann_bob = befriend(&ann, &bob).await;
    let bob_cat = befriend(&bob, &cat).await;
    let (voice, _) = ann
        .client
        .upload_file(fixture("a.ogg"), None)
        .await
        .unwrap();
    let error = cat.client.media(&voice.media_id).await.unwrap_err();
    assert_problem(&error, 404, "media_not_found");
    let (sent, _) = ann
        .client
        .send_media(&ann_bob, "v-1", &voice.media_id, None, None)
        .await
        .unwrap();
    let forward = piazza_api::MessageContent {
        forward_of: Some(piazza_api::MessageRefView {
            conversation_id: ann_bob.clone(),
            message_id: sent.message_id.clone(),
        }),
        ..piazza_api::MessageContent::default()
    };
    let (forwarded, _) = bob.client.send(&bob_cat, "fw-1", forward).await.unwrap();
    let shown = cat
        .client
        .message(&bob_cat, &forwarded.message_id)
        .await
        .unwrap();
    assert_eq!(shown.kind, "voice");
    assert_eq!(shown.ref_.as_deref(), Some(voice.media_id.as_str()));
    assert_eq!(shown.attachment.unwrap().content_type, "audio/ogg");
    let fetched = cat.client.media(&voice.media_id).await.unwrap();
    assert_eq!(fetched.bytes, fixture("a.ogg"));
    app.shut_down().await;
}

/// `piazza send --file` streams any file from disk, with its name; a
/// voice note's and a file's history lines say what they are.
#[tokio::test]
async fn the_cli_sends_files_and_shows_what_they_are() {
    let app = spawn_app().await;
    let (ann, bob) = (app.signup("ann").await, app.signup("bob").await);
    let direct = befriend(&ann, &bob).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.pdf");
    std::fs::write(&report, b"%PDF-1.7\n".repeat(2_000)).unwrap();
    let voice = dir.path().join("note.ogg");
    std::fs::write(&voice, fixture("a.ogg")).unwrap();
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
    assert!(
        piazza(&["login", "ann"])
            .output()
            .await
            .unwrap()
            .status
            .success()
    );
    for file in [&report, &voice] {
        let sent = piazza(&["send", "--file", file.to_str().unwrap(), "bob"])
            .output()
            .await
            .unwrap();
        assert!(sent.status.success(), "{sent:?}");
    }
    let history = bob.client.history(&direct, None, None).await.unwrap();
    let kinds: Vec<_> = history.messages.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["voice", "file"], "newest first");
    let file = history.messages[1].attachment.as_ref().unwrap();
    assert_eq!(
        (file.name.as_deref(), file.bytes),
        (Some("report.pdf"), 18_000)
    );
    let shown = piazza(&["history", "bob"]).output().await.unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("you: [file report.pdf, 18 KB] (med_"),
        "{shown}"
    );
    assert!(shown.contains("you: [voice 0:01] (med_"), "{shown}");
    app.shut_down().await;
}
