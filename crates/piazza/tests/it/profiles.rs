//! Profiles, avatars and thumbnails, password changes, and contact
//! requests declined and listed both ways (issue 12, "Account basics the
//! API lacks").

use piazza_api::{ClientFrame, UpdateGroup, UpdateProfile};
use piazza_client::{Client, Incoming, RawResponse};
use piazza_server::config::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::media::TINY_PNG;

/// A PNG of `width` × `height` in one colour.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb([200, 80, 40]))
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("a PNG encodes");
    out
}

async fn upload(user: &User, bytes: Vec<u8>) -> String {
    user.client
        .upload_media(bytes, "image/png")
        .await
        .expect("uploaded")
        .0
        .media_id
}

async fn raw(client: &Client, method: Method, path: &str, body: Option<Value>) -> RawResponse {
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

fn problem_code(answer: &RawResponse) -> String {
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json"),
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let problem: piazza_api::Problem = serde_json::from_slice(&answer.body).expect("a problem");
    problem.code
}

fn set_avatar(media: Option<&str>) -> UpdateProfile {
    UpdateProfile {
        avatar_media_id: Some(media.map(str::to_owned)),
        ..UpdateProfile::default()
    }
}

/// Who sees what of ann: herself, a contact, a group co-member, strangers
/// with a request between them (either way, declined or not), and
/// strangers without one, who get exactly an unknown id's answer.
#[tokio::test]
async fn a_profile_is_shown_as_far_as_the_viewer_may_see_it() {
    let app = spawn_app().await;
    let [ann, bob, cat, dan, eve, fay] = [
        app.signup("ann").await,
        app.signup("bob").await,
        app.signup("cat").await,
        app.signup("dan").await,
        app.signup("eve").await,
        app.signup("fay").await,
    ];
    let change = UpdateProfile {
        display_name: Some("Ann A.".into()),
        bio: Some(Some("likes tea".into())),
        ..UpdateProfile::default()
    };
    ann.client.update_profile(&change).await.expect("updated");
    befriend(&ann, &bob).await;
    befriend(&bob, &cat).await;
    bob.client
        .create_group("tea", &[ann.account_id.clone(), cat.account_id.clone()])
        .await
        .expect("group");
    dan.client
        .request_contact("ann", None)
        .await
        .expect("asked");
    let to_fay = ann
        .client
        .request_contact("fay", None)
        .await
        .expect("asked");
    fay.client.decline_request(&to_fay).await.expect("declined");

    let full = |is_contact: bool| {
        json!({"account_id": ann.account_id, "username": "ann", "display_name": "Ann A.",
               "avatar_media_id": null, "bio": "likes tea", "is_contact": is_contact})
    };
    let card = json!({"account_id": ann.account_id, "username": "ann",
                      "display_name": "Ann A.", "avatar_media_id": null});
    let seen = |viewer: &User| {
        let (client, id) = (viewer.client.clone(), ann.account_id.clone());
        async move { serde_json::to_value(client.profile(&id).await.expect("shown")).unwrap() }
    };
    assert_eq!(seen(&ann).await, full(false), "herself");
    assert_eq!(seen(&bob).await, full(true), "a contact");
    assert_eq!(seen(&cat).await, full(false), "a group co-member");
    assert_eq!(seen(&dan).await, card, "a stranger who asked her");
    assert_eq!(seen(&fay).await, card, "a stranger she asked (declined)");
    let dan_card = ann.client.profile(&dan.account_id).await.expect("shown");
    assert_eq!((dan_card.bio, dan_card.is_contact), (None, None));

    let hidden = raw(
        &eve.client,
        Method::GET,
        &format!("/api/v1/accounts/{}", ann.account_id),
        None,
    )
    .await;
    assert_eq!(hidden.status, 404);
    assert_eq!(problem_code(&hidden), "account_not_found");
    for unknown in ["acct_999999", "acct_0", "acct_x", "nobody"] {
        let answer = raw(
            &eve.client,
            Method::GET,
            &format!("/api/v1/accounts/{unknown}"),
            None,
        )
        .await;
        assert_eq!(
            (answer.status, &answer.body),
            (404, &hidden.body),
            "{unknown}"
        );
    }
    // An exact username shows the card to anyone signed in, and nothing
    // to nobody.
    let found = eve.client.find_account("ann").await.expect("found");
    assert_eq!(serde_json::to_value(found).unwrap(), card);
    for missing in ["zed", "A!", ""] {
        let answer = raw(
            &eve.client,
            Method::GET,
            &format!("/api/v1/accounts?username={missing}"),
            None,
        )
        .await;
        assert_eq!(answer.status, 404, "{missing}");
        assert_eq!(problem_code(&answer), "account_not_found");
    }
    let anonymous = raw(
        &app.anonymous(),
        Method::GET,
        "/api/v1/accounts?username=ann",
        None,
    )
    .await;
    assert_eq!(anonymous.status, 401);
    app.shut_down().await;
}

/// `PATCH /me` checks every field before it changes any: a refusal is a
/// problem+json and leaves the profile as it was.
#[tokio::test]
async fn a_refused_profile_change_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let picture = upload(&ann, png(40, 40)).await;
    let before = ann
        .client
        .update_profile(&UpdateProfile {
            display_name: Some("Ann".into()),
            avatar_media_id: Some(Some(picture.clone())),
            bio: Some(Some("hello".into())),
        })
        .await
        .expect("updated");
    assert_eq!(before.bio.as_deref(), Some("hello"));
    assert_eq!(ann.client.me().await.unwrap(), before);

    let bobs = upload(&bob, png(30, 30)).await;
    let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
    broken.extend_from_slice(&[7; 100]);
    let broken = upload(&ann, broken).await;
    let refused = [
        (json!({"display_name": ""}), 400, "invalid_display_name"),
        (
            json!({"display_name": "n".repeat(65)}),
            400,
            "invalid_display_name",
        ),
        (
            json!({"display_name": "bell\u{7}"}),
            400,
            "invalid_display_name",
        ),
        (json!({"bio": "b".repeat(301)}), 400, "invalid_bio"),
        (json!({"bio": "two\nlines"}), 400, "invalid_bio"),
        (
            json!({"display_name": "New", "bio": "b".repeat(301)}),
            400,
            "invalid_bio",
        ),
        (
            json!({"display_name": "New", "avatar_media_id": bobs}),
            404,
            "media_not_found",
        ),
        (
            json!({"avatar_media_id": "med_999999"}),
            404,
            "media_not_found",
        ),
        (
            json!({"avatar_media_id": "cat.png"}),
            400,
            "invalid_media_id",
        ),
        (
            json!({"bio": "ok", "avatar_media_id": broken}),
            400,
            "invalid_image",
        ),
        (json!({"display_name": 7}), 400, "invalid_body"),
    ];
    for (body, status, code) in refused {
        let answer = raw(&ann.client, Method::PATCH, "/api/v1/me", Some(body.clone())).await;
        assert_eq!(
            answer.status,
            status,
            "{body}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(problem_code(&answer), code, "{body}");
        assert_eq!(
            ann.client.me().await.unwrap(),
            before,
            "{body} changed nothing"
        );
    }
    let (log_before, _) = sync_all(&ann.client, None, 200).await;
    let updates = |log: &[piazza_api::EventView]| {
        log.iter()
            .filter(|event| event.type_ == "account.updated")
            .count()
    };
    // The same again changes nothing and logs nothing; null clears.
    let same = json!({"display_name": "Ann", "bio": "hello"});
    assert_eq!(
        raw(&ann.client, Method::PATCH, "/api/v1/me", Some(same))
            .await
            .status,
        200
    );
    let (log, _) = sync_all(&ann.client, None, 200).await;
    assert_eq!(updates(&log), updates(&log_before));
    let cleared = raw(
        &ann.client,
        Method::PATCH,
        "/api/v1/me",
        Some(json!({"avatar_media_id": null, "bio": null})),
    )
    .await;
    let cleared: Value = serde_json::from_slice(&cleared.body).unwrap();
    assert_eq!(
        cleared,
        json!({"account_id": ann.account_id, "username": "ann", "display_name": "Ann",
               "avatar_media_id": null, "bio": ""})
    );
    app.shut_down().await;
}

/// A picture's thumbnail is readable by any signed-in account while it
/// is someone's (or some group's) avatar, and only then; the original
/// (with its EXIF) stays its uploader's and those shown it in a message.
#[tokio::test]
async fn an_avatar_is_readable_by_others_only_while_it_is_one() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let eve = app.signup("eve").await;
    let picture = upload(&ann, png(50, 50)).await;
    let readable = |user: &User, media: &str| {
        let (client, media) = (user.client.clone(), media.to_owned());
        async move {
            let original = client.media(&media).await;
            assert_problem(
                &original.expect_err("an avatar's original is not anyone's"),
                404,
                "media_not_found",
            );
            client.media_thumbnail(&media).await.is_ok()
        }
    };
    assert!(
        ann.client.media(&picture).await.is_ok(),
        "its uploader reads the original"
    );
    assert!(
        !readable(&eve, &picture).await,
        "a plain upload is its uploader's"
    );
    ann.client
        .update_profile(&set_avatar(Some(&picture)))
        .await
        .unwrap();
    assert!(
        readable(&eve, &picture).await,
        "an avatar is anyone's to see"
    );
    ann.client.update_profile(&set_avatar(None)).await.unwrap();
    assert!(!readable(&eve, &picture).await, "no longer once replaced");
    assert_problem(
        &eve.client.media_thumbnail(&picture).await.unwrap_err(),
        404,
        "media_not_found",
    );

    // A group's picture, set by its owner only.
    befriend(&ann, &bob).await;
    let group = ann
        .client
        .create_group("tea", std::slice::from_ref(&bob.account_id))
        .await
        .unwrap();
    let group_picture = upload(&ann, png(60, 20)).await;
    let bobs_picture = upload(&bob, png(20, 60)).await;
    let by_bob = UpdateGroup {
        avatar_media_id: Some(Some(bobs_picture)),
        ..UpdateGroup::default()
    };
    assert_problem(
        &bob.client.update_group(&group, &by_bob).await.unwrap_err(),
        403,
        "not_admin",
    );
    let by_eve = UpdateGroup {
        title: Some("mine".into()),
        ..UpdateGroup::default()
    };
    assert_problem(
        &eve.client.update_group(&group, &by_eve).await.unwrap_err(),
        403,
        "not_a_member",
    );
    let change = UpdateGroup {
        title: Some("Tea club".into()),
        avatar_media_id: Some(Some(group_picture.clone())),
        ..UpdateGroup::default()
    };
    ann.client
        .update_group(&group, &change)
        .await
        .expect("updated");
    assert!(readable(&eve, &group_picture).await);
    let listed = bob.client.conversations().await.unwrap();
    let view = listed
        .conversations
        .iter()
        .find(|c| c.conversation_id == group)
        .unwrap();
    assert_eq!(
        (view.title.as_str(), view.avatar_media_id.as_deref()),
        ("Tea club", Some(group_picture.as_str()))
    );
    let clear = UpdateGroup {
        avatar_media_id: Some(None),
        ..UpdateGroup::default()
    };
    ann.client.update_group(&group, &clear).await.unwrap();
    assert!(!readable(&eve, &group_picture).await);
    app.shut_down().await;
}

/// A thumbnail is at most 320 pixels on its long side, keeps the shape,
/// is made once and kept beside the original, and is shown to whoever
/// may see the media (a chat image's members), to nobody else.
#[tokio::test]
async fn thumbnails_are_small_kept_and_guarded_like_their_media() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let eve = app.signup("eve").await;
    let direct = befriend(&ann, &bob).await;
    let original = png(1000, 600);
    let uploaded = ann
        .client
        .upload_media(original.clone(), "image/png")
        .await
        .unwrap()
        .0;
    let media = uploaded.media_id;
    assert_problem(
        &bob.client.media_thumbnail(&media).await.unwrap_err(),
        404,
        "media_not_found",
    );
    ann.client
        .send_image(&direct, "pic-1", &media, "")
        .await
        .unwrap();

    let answer = raw(
        &bob.client,
        Method::GET,
        &format!("/api/v1/media/{media}/thumbnail"),
        None,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    let small = image::load_from_memory(&answer.body).expect("a picture");
    assert_eq!((small.width(), small.height()), (320, 192));
    assert!(answer.body.len() < original.len());
    let kept = app
        .data_dir()
        .join("media")
        .join(&uploaded.sha256[..2])
        .join(format!("{}.thumb", uploaded.sha256));
    assert_eq!(
        std::fs::read(&kept).expect("kept beside the original"),
        answer.body
    );
    assert_eq!(
        ann.client.media_thumbnail(&media).await.unwrap().bytes,
        answer.body
    );

    let hidden = raw(
        &eve.client,
        Method::GET,
        &format!("/api/v1/media/{media}/thumbnail"),
        None,
    )
    .await;
    let unknown = raw(
        &eve.client,
        Method::GET,
        "/api/v1/media/med_999999/thumbnail",
        None,
    )
    .await;
    assert_eq!((hidden.status, &hidden.body), (404, &unknown.body));
    // A tiny picture stays its size; one that cannot be decoded is a 400,
    // as an upload of bytes that are not the declared picture.
    let tiny = upload(&ann, TINY_PNG.to_vec()).await;
    let thumb = ann.client.media_thumbnail(&tiny).await.unwrap();
    let decoded = image::load_from_memory(&thumb.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1, 1));
    let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
    broken.extend_from_slice(&[1; 50]);
    let broken = upload(&ann, broken).await;
    assert_problem(
        &ann.client.media_thumbnail(&broken).await.unwrap_err(),
        400,
        "invalid_image",
    );
    app.shut_down().await;
}

/// The old password is checked as a log-in checks a password: counted
/// with failed log-ins, and a lock refuses it too. The new one is checked
/// as at sign-up.
#[tokio::test]
async fn a_wrong_old_password_is_counted_with_failed_log_ins() {
    let app = spawn_app_with(|config: &mut Config| {
        config.limits.login_failures_per_username_address_max = 3;
    })
    .await;
    let ann = app.signup("ann").await;
    assert_problem(
        &ann.client
            .change_password(PASSWORD, "short", false)
            .await
            .unwrap_err(),
        400,
        "invalid_password",
    );
    for _ in 0..2 {
        assert_problem(
            &ann.client
                .change_password("not it at all", "new password 1", false)
                .await
                .unwrap_err(),
            403,
            "wrong_password",
        );
    }
    // A wrong log-in is the third failure of the same count.
    let wrong_login = app
        .anonymous()
        .login("ann", "not it either", "guess")
        .await
        .unwrap_err();
    assert_problem(&wrong_login, 401, "wrong_credentials");
    assert_problem(
        &ann.client
            .change_password(PASSWORD, "new password 1", false)
            .await
            .unwrap_err(),
        429,
        "too_many_login_attempts",
    );
    assert_problem(
        &app.anonymous()
            .login("ann", PASSWORD, "laptop")
            .await
            .unwrap_err(),
        429,
        "too_many_login_attempts",
    );
    app.shut_down().await;
}

/// A change that signs the others out revokes their tokens and closes
/// their sockets in the same step, after telling them why; without it,
/// the others stay and learn it through sync.
#[tokio::test]
async fn changing_the_password_tells_the_other_devices_and_may_sign_them_out() {
    let app = spawn_app().await;
    let phone = app.signup("ann").await;
    let laptop = app.login("ann", "laptop").await;
    let tablet = app.login("ann", "tablet").await;
    phone
        .client
        .change_password(PASSWORD, "second password", false)
        .await
        .expect("changed");
    let (log, _) = sync_all(&laptop.client, None, 200).await;
    let told = log
        .iter()
        .find(|event| event.type_ == "account.password_changed")
        .expect("told");
    assert_eq!(field(told, "by_device_id"), &json!(phone.device_id));
    assert_eq!(field(told, "signed_out_other_devices"), &json!(false));
    laptop.client.me().await.expect("still logged in");

    let (mut socket, _) = live_socket(&laptop).await;
    phone
        .client
        .change_password("second password", "third password", true)
        .await
        .expect("changed");
    let mut seen = Vec::new();
    let (code, _) = loop {
        match tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("in time")
        {
            Some(Ok(Incoming::Event(event))) => seen.push(event),
            Some(Ok(Incoming::Closed { code, reason })) => break (code, reason),
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, 4001, "closed as a revocation closes");
    let last = seen.last().expect("told before the close");
    assert_eq!(last.type_, "account.password_changed");
    assert_eq!(field(last, "signed_out_other_devices"), &json!(true));
    for other in [&laptop, &tablet] {
        assert_problem(&other.client.me().await.unwrap_err(), 401, "unauthorized");
    }
    phone.client.me().await.expect("the changing device stays");
    let devices = phone.client.devices().await.unwrap().devices;
    assert_eq!(devices.len(), 1);
    assert_problem(
        &app.anonymous()
            .login("ann", PASSWORD, "x")
            .await
            .unwrap_err(),
        401,
        "wrong_credentials",
    );
    app.anonymous()
        .login("ann", "third password", "x")
        .await
        .expect("the new one works");
    app.shut_down().await;
}

/// The recipient declines; the request leaves their list and their other
/// devices learn it; the sender still sees it pending, and asking again
/// reaches nobody for a week, then reaches them once more.
#[tokio::test]
async fn a_declined_request_stays_pending_for_its_sender_only() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let dan = app.signup("dan").await;
    let eve = app.signup("eve").await;
    let picture = upload(&dan, png(40, 40)).await;
    dan.client
        .update_profile(&UpdateProfile {
            display_name: Some("Dan D.".into()),
            avatar_media_id: Some(Some(picture.clone())),
            ..UpdateProfile::default()
        })
        .await
        .unwrap();
    let request = dan
        .client
        .request_contact("ann", Some("it's dan"))
        .await
        .unwrap();

    let incoming = ann.client.contact_requests().await.unwrap().requests;
    assert_eq!(incoming.len(), 1);
    assert_eq!(
        (
            incoming[0].from.display_name.as_str(),
            incoming[0].from.avatar_media_id.as_deref()
        ),
        ("Dan D.", Some(picture.as_str()))
    );
    assert_eq!(incoming[0].greeting, "it's dan");
    let outgoing = dan.client.outgoing_requests().await.unwrap().requests;
    assert_eq!(outgoing.len(), 1);
    assert_eq!(
        (
            outgoing[0].request_id.as_str(),
            outgoing[0].to.username.as_str(),
            outgoing[0].to.display_name.as_str(),
            outgoing[0].greeting.as_str()
        ),
        (request.as_str(), "ann", "ann", "it's dan")
    );
    let (dan_log, _) = sync_all(&dan.client, None, 200).await;
    assert!(
        dan_log.iter().any(|event| event.type_ == "contact.request"
            && field(event, "request_id") == &json!(request)),
        "the sender's log has it too"
    );
    // What the sender can observe of their request: their outgoing list
    // (greeting, time) and the length of their log.
    let dan_sees = || async {
        let outgoing = dan.client.outgoing_requests().await.unwrap().requests;
        let listed: Vec<(String, String)> = outgoing
            .into_iter()
            .map(|r| (r.greeting, r.created_at))
            .collect();
        (listed, sync_all(&dan.client, None, 200).await.0.len())
    };
    // Asking again while pending: the new greeting and its time are kept,
    // nothing is logged. A declined request must look exactly the same.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    dan.client
        .request_contact("ann", Some("it's dan, again"))
        .await
        .unwrap();
    let (pending_view, pending_log) = dan_sees().await;
    assert_eq!(pending_view[0].0, "it's dan, again");
    assert_ne!(pending_view[0].1, outgoing[0].created_at, "asked again now");
    assert_eq!(pending_log, dan_log.len(), "re-asking logs nothing");
    let dan_log = sync_all(&dan.client, None, 200).await.0;

    for (who, id) in [
        (&eve, request.as_str()),
        (&dan, request.as_str()),
        (&ann, "req_999999"),
        (&ann, "nope"),
    ] {
        let answer = raw(
            &who.client,
            Method::POST,
            &format!("/api/v1/contacts/requests/{id}/decline"),
            None,
        )
        .await;
        assert_eq!(answer.status, 404, "{id}");
        assert_eq!(problem_code(&answer), "request_not_found");
    }
    let (ann_phone, _) = live_socket(&app.login("ann", "phone").await).await;
    let mut ann_phone = ann_phone;
    ann.client
        .decline_request(&request)
        .await
        .expect("declined");
    let declined = next_of_type(&mut ann_phone, "contact.request_declined").await;
    assert_eq!(
        (field(&declined, "request_id"), field(&declined, "from")),
        (&json!(request), &json!(dan.account_id))
    );
    ann.client
        .decline_request(&request)
        .await
        .expect("declining again changes nothing");
    assert!(
        ann.client
            .contact_requests()
            .await
            .unwrap()
            .requests
            .is_empty()
    );
    assert_eq!(
        dan.client.outgoing_requests().await.unwrap().requests.len(),
        1,
        "still pending to dan"
    );
    let (dan_log_after, _) = sync_all(&dan.client, None, 200).await;
    assert_eq!(
        dan_log_after.len(),
        dan_log.len(),
        "the sender is told nothing"
    );

    // Asking again within the week: the same request, kept silently
    // from her, and to him just as asking again about a pending one.
    let (ann_log, _) = sync_all(&ann.client, None, 200).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        dan.client
            .request_contact("ann", Some("again!"))
            .await
            .unwrap(),
        request
    );
    let (declined_view, declined_log) = dan_sees().await;
    assert_eq!(declined_view.len(), 1);
    assert_eq!(declined_view[0].0, "again!", "the new greeting is shown");
    assert_ne!(declined_view[0].1, pending_view[0].1, "with its time");
    assert_eq!(declined_log, dan_log.len(), "and nothing logged");
    assert!(
        ann.client
            .contact_requests()
            .await
            .unwrap()
            .requests
            .is_empty()
    );
    assert_eq!(
        sync_all(&ann.client, None, 200).await.0.len(),
        ann_log.len()
    );

    // A week later it reaches her again, once.
    let week_and_a_day_ms: i64 = 8 * 24 * 60 * 60 * 1000;
    let store = rusqlite::Connection::open(app.data_dir().join("piazza.sqlite3")).unwrap();
    store
        .busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    store
        .execute(
            "UPDATE contact_requests SET declined_at = declined_at - ?1",
            [week_and_a_day_ms],
        )
        .unwrap();
    drop(store);
    let (ann_log, _) = sync_all(&ann.client, None, 200).await;
    assert_eq!(
        dan.client
            .request_contact("ann", Some("one more time"))
            .await
            .unwrap(),
        request
    );
    let (reopened_view, reopened_log) = dan_sees().await;
    assert_eq!(reopened_view[0].0, "one more time");
    assert_eq!(
        reopened_log,
        dan_log.len(),
        "reopening logs to her only: he sees what re-asking a pending request shows"
    );
    let (ann_log_after, _) = sync_all(&ann.client, None, 200).await;
    let told: Vec<_> = ann_log_after[ann_log.len()..]
        .iter()
        .map(|event| event.type_.as_str())
        .collect();
    assert_eq!(told, ["contact.request"], "she is told once");
    let incoming = ann.client.contact_requests().await.unwrap().requests;
    assert_eq!(
        incoming
            .iter()
            .map(|r| r.greeting.as_str())
            .collect::<Vec<_>>(),
        ["one more time"]
    );

    // Declined again, then she changes her mind and asks him: asking back
    // accepts.
    ann.client.decline_request(&request).await.unwrap();
    ann.client.request_contact("dan", None).await.unwrap();
    assert_eq!(ann.client.contacts().await.unwrap().contacts.len(), 1);
    assert!(
        dan.client
            .outgoing_requests()
            .await
            .unwrap()
            .requests
            .is_empty()
    );
    let accepted = raw(
        &ann.client,
        Method::POST,
        &format!("/api/v1/contacts/requests/{request}/decline"),
        None,
    )
    .await;
    assert_eq!(
        accepted.status, 404,
        "an accepted request cannot be declined"
    );
    app.shut_down().await;
}

/// Events that name accounts carry their names and pictures; a profile
/// change reaches the account's devices and its contacts, not its group
/// co-members.
#[tokio::test]
async fn events_carry_names_and_avatars() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let picture = upload(&ann, png(40, 40)).await;
    ann.client
        .update_profile(&UpdateProfile {
            display_name: Some("Ann A.".into()),
            avatar_media_id: Some(Some(picture.clone())),
            bio: Some(Some("hi".into())),
        })
        .await
        .unwrap();
    let ann_card = json!({"account_id": ann.account_id, "username": "ann", "display_name": "Ann A.", "avatar_media_id": picture});
    let request = ann.client.request_contact("bob", None).await.unwrap();
    bob.client.accept_request(&request).await.unwrap();
    befriend(&bob, &cat).await;
    let group = bob
        .client
        .create_group("club", std::slice::from_ref(&cat.account_id))
        .await
        .unwrap();
    bob.client
        .add_member(&group, &ann.account_id)
        .await
        .unwrap();

    let (bob_log, _) = sync_all(&bob.client, None, 200).await;
    let of = |log: &[piazza_api::EventView], kind: &str| -> Vec<piazza_api::EventView> {
        log.iter()
            .filter(|event| event.type_ == kind)
            .cloned()
            .collect()
    };
    assert_eq!(
        field(&of(&bob_log, "contact.request")[0], "from"),
        &ann_card
    );
    assert!(
        of(&bob_log, "contact.added")
            .iter()
            .any(|event| field(event, "contact") == &ann_card)
    );
    let added = of(&bob_log, "conversation.member_added");
    let ann_added = added
        .iter()
        .find(|event| field(event, "account_id") == &json!(ann.account_id))
        .unwrap();
    assert_eq!(
        (
            field(ann_added, "display_name"),
            field(ann_added, "avatar_media_id")
        ),
        (&json!("Ann A."), &json!(picture))
    );

    // A change: ann's own devices and her contact bob hear of it; cat, a
    // co-member only, does not (she reads the profile when she shows it).
    let (cat_before, _) = sync_all(&cat.client, None, 200).await;
    let second = upload(&ann, png(30, 30)).await;
    ann.client
        .update_profile(&set_avatar(Some(&second)))
        .await
        .unwrap();
    let expected = json!({"account_id": ann.account_id, "display_name": "Ann A.", "avatar_media_id": second, "bio": "hi"});
    for user in [&ann, &bob] {
        let (log, _) = sync_all(&user.client, None, 200).await;
        let updates = of(&log, "account.updated");
        let last = updates.last().expect("account.updated");
        let fields = serde_json::to_value(&last.fields).unwrap();
        assert_eq!(fields, expected, "{}", user.username);
    }
    let (cat_after, _) = sync_all(&cat.client, None, 200).await;
    assert!(of(&cat_after[cat_before.len()..], "account.updated").is_empty());
    assert_eq!(
        cat.client
            .profile(&ann.account_id)
            .await
            .unwrap()
            .avatar_media_id,
        Some(second.clone())
    );

    // The group's picture reaches every member; the direct conversation
    // shows the peer's picture.
    let group_picture = upload(&bob, png(30, 30)).await;
    bob.client
        .update_group(
            &group,
            &UpdateGroup {
                avatar_media_id: Some(Some(group_picture.clone())),
                ..UpdateGroup::default()
            },
        )
        .await
        .unwrap();
    for user in [&ann, &bob, &cat] {
        let (log, _) = sync_all(&user.client, None, 200).await;
        let updated = of(&log, "conversation.updated");
        assert_eq!(updated.len(), 1, "{}", user.username);
        assert_eq!(
            (
                field(&updated[0], "title"),
                field(&updated[0], "avatar_media_id"),
                field(&updated[0], "by")
            ),
            (
                &json!("club"),
                &json!(group_picture),
                &json!(bob.account_id)
            )
        );
    }
    let direct = bob.client.open_direct(&ann.account_id).await.unwrap();
    let listed = bob.client.conversations().await.unwrap().conversations;
    let view = listed.iter().find(|c| c.conversation_id == direct).unwrap();
    assert_eq!(
        (
            view.peer.as_deref(),
            view.avatar_media_id.as_deref(),
            view.title.as_str()
        ),
        (
            Some(ann.account_id.as_str()),
            Some(second.as_str()),
            "Ann A."
        )
    );
    app.shut_down().await;
}

/// Log entries written before profiles (without names and pictures) read
/// as they were, through sync and over the socket, after a restart.
#[tokio::test]
async fn log_entries_from_before_profiles_still_read() {
    let mut app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let group = ann
        .client
        .create_group("g", std::slice::from_ref(&bob.account_id))
        .await
        .unwrap();
    ann.client
        .add_member(&group, &cat.account_id)
        .await
        .unwrap();
    ann.client.remove_contact(&cat.account_id).await.unwrap();
    stop_keeping_data(&mut app).await;

    // Strip what profiles added, as the entries were written before.
    let store = rusqlite::Connection::open(app.data_dir().join("piazza.sqlite3")).unwrap();
    let mut stripped = 0;
    for table in ["account_log", "account_log_tail"] {
        stripped += store
            .execute(
                &format!(
                    "UPDATE {table} SET data = json_remove(data, '$.display_name', '$.avatar_media_id')
                     WHERE json_extract(data, '$.type') IN
                       ('conversation.member_added', 'contact.removed')"
                ),
                [],
            )
            .unwrap();
    }
    assert!(stripped >= 4, "{stripped}");
    drop(store);
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), app.data_dir().to_path_buf());
    config.password_hashing = cheap_hashing();
    let running = piazza::engines::spawn(config).await.expect("restarts");
    let base = format!("http://{}", running.addr);
    app.running = Some(running);
    let ann_again = Client::new(&base).with_token(ann.client.token().unwrap());
    let (log, _) = sync_all(&ann_again, None, 200).await;
    let added: Vec<_> = log
        .iter()
        .filter(|event| event.type_ == "conversation.member_added")
        .collect();
    assert_eq!(added.len(), 1);
    assert_eq!(field(added[0], "account_id"), &json!(cat.account_id));
    assert!(
        !added[0].fields.contains_key("display_name"),
        "nothing made up"
    );
    assert!(log.iter().any(|event| event.type_ == "contact.removed"));
    let mut socket = ann_again.connect_socket().await.unwrap();
    socket
        .send(&ClientFrame::Sync { since: None })
        .await
        .unwrap();
    next_of_type(&mut socket, "conversation.member_added").await;
    app.shut_down().await;
}
