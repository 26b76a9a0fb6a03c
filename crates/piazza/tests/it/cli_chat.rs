//! The chat commands of the `piazza` binary as a person reads them:
//! names, not ids; pictures and money marked in `history`, which marks
//! the conversation read as the web client does.

use crate::helpers::*;
use crate::media::TINY_PNG;

/// Runs `piazza <args>` as `account` against `app` with `config`, and
/// returns its standard output; it must succeed.
pub(crate) async fn piazza(
    app: &TestApp,
    config: &std::path::Path,
    account: &str,
    args: &[&str],
) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(args)
        .env("PIAZZA_CONFIG", config)
        .env("PIAZZA_SERVER", &app.base)
        .env("PIAZZA_ACCOUNT", account)
        .env("PIAZZA_PASSWORD", PASSWORD)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the piazza binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "piazza {args:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// An account with a display name of its own, logged in.
async fn person(app: &TestApp, username: &str, display_name: &str) -> User {
    app.anonymous()
        .create_account(username, PASSWORD, Some(display_name))
        .await
        .expect("account created");
    app.login(username, "api").await
}

#[tokio::test]
async fn history_names_people_marks_pictures_and_marks_the_conversation_read() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    let direct = befriend(&ann, &bob).await;
    bob.client
        .send_message(&direct, "b1", "hi Ann")
        .await
        .unwrap();
    let (picture, _) = bob
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    bob.client
        .send_image(&direct, "b2", &picture.media_id, "the view")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    piazza(&app, &config, "ann", &["login", "ann"]).await;

    let listed = piazza(&app, &config, "ann", &["conversations"]).await;
    assert!(listed.contains("Bob Chen  (direct, 2 unread)"), "{listed}");
    let history = piazza(&app, &config, "ann", &["history", "bob"]).await;
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 2, "{history}");
    assert!(lines[0].ends_with("Bob Chen (@bob): hi Ann"), "{history}");
    assert!(
        lines[1].ends_with("Bob Chen (@bob): [picture] the view"),
        "{history}"
    );
    assert!(!history.contains("acct_"), "{history}");

    // Read as the web client reads: up to the newest message shown.
    let list = ann.client.conversations().await.unwrap();
    let seen = list
        .conversations
        .iter()
        .find(|conversation| conversation.conversation_id == direct)
        .expect("the direct conversation");
    assert_eq!((seen.unread, seen.read_seq), (0, 2));
    let listed = piazza(&app, &config, "ann", &["conversations"]).await;
    assert!(listed.contains("Bob Chen  (direct, all read)"), "{listed}");

    // A group is named by its title, in `send` as in its lines.
    piazza(&app, &config, "ann", &["group", "create", "Weekend", "bob"]).await;
    let sent = piazza(&app, &config, "ann", &["send", "weekend", "who's in?"]).await;
    assert!(sent.starts_with("sent #1 to Weekend"), "{sent}");
    let contacts = piazza(&app, &config, "ann", &["contacts", "list"]).await;
    assert_eq!(contacts.trim(), "Bob Chen (@bob)");
    app.shut_down().await;
}

#[tokio::test]
async fn recall_delete_and_react_take_the_number_history_shows() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    let direct = befriend(&ann, &bob).await;
    for (id, text) in [("b1", "hi Ann"), ("b2", "wrong chat"), ("b3", "see you")] {
        bob.client.send_message(&direct, id, text).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    piazza(&app, &config, "bob", &["login", "bob"]).await;
    piazza(&app, &config, "ann", &["login", "ann"]).await;

    let recalled = piazza(&app, &config, "bob", &["recall", "ann", "2"]).await;
    assert_eq!(
        recalled.trim(),
        "recalled #2 in your chat with Ann Lee: every member now sees it as recalled"
    );
    let deleted = piazza(&app, &config, "ann", &["delete", "bob", "3"]).await;
    assert_eq!(
        deleted.trim(),
        "deleted #3 in your chat with Bob Chen for you: the others still have it"
    );
    let reacted = piazza(&app, &config, "ann", &["react", "bob", "1", "👍"]).await;
    assert_eq!(
        reacted.trim(),
        "reacted 👍 to #1 in your chat with Bob Chen"
    );
    piazza(&app, &config, "bob", &["react", "ann", "1", "❤"]).await;
    piazza(&app, &config, "bob", &["react", "ann", "1", "👍"]).await;
    let history = piazza(&app, &config, "ann", &["history", "bob"]).await;
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 2, "{history}");
    assert!(
        lines[0].ends_with("Bob Chen (@bob): hi Ann  [👍 2 · ❤️ 1]"),
        "{history}"
    );
    assert!(
        lines[1].ends_with("Bob Chen (@bob): [recalled]"),
        "{history}"
    );
    let taken = piazza(
        &app,
        &config,
        "bob",
        &["react", "ann", "1", "❤️", "--remove"],
    )
    .await;
    assert_eq!(
        taken.trim(),
        "took back ❤️ from #1 in your chat with Ann Lee"
    );
    let history = piazza(&app, &config, "bob", &["history", "ann"]).await;
    assert!(
        history.lines().last().unwrap().ends_with("you: see you"),
        "{history}"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn replies_mentions_places_cards_forwards_and_settings_from_the_cli() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    let cat = person(&app, "cat", "Cat Wu").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    for who in ["ann", "bob", "cat"] {
        piazza(&app, &config, who, &["login", who]).await;
    }
    let members = [bob.account_id.clone(), cat.account_id.clone()];
    ann.client.create_group("Tea", &members).await.unwrap();
    piazza(&app, &config, "bob", &["send", "Tea", "who brings cake?"]).await;
    let sent = piazza(
        &app,
        &config,
        "ann",
        &[
            "send",
            "Tea",
            "--reply-to",
            "1",
            "--mention",
            "cat",
            "cat does",
        ],
    )
    .await;
    assert!(
        sent.trim().starts_with("sent #2 to Tea (message msg_"),
        "{sent}"
    );
    piazza(
        &app,
        &config,
        "ann",
        &[
            "send-location",
            "Tea",
            "45.434",
            "12.3388",
            "--name",
            "San Marco",
        ],
    )
    .await;
    piazza(&app, &config, "ann", &["send-card", "Tea", "bob"]).await;
    let forwarded = piazza(
        &app,
        &config,
        "cat",
        &["forward", "Tea", "3", "--to", "ann"],
    )
    .await;
    assert_eq!(forwarded.trim(), "sent #3 as #1 to Ann Lee", "{forwarded}");

    let list = piazza(&app, &config, "cat", &["conversations"]).await;
    assert!(
        list.contains("Tea  (group of 3, 4 unread, 1 mentioning you)"),
        "{list}"
    );
    let history = piazza(&app, &config, "cat", &["history", "Tea"]).await;
    let lines: Vec<&str> = history.lines().collect();
    assert!(
        lines[1].ends_with("Ann Lee (@ann): (re #1) cat does  (mentions you)"),
        "{history}"
    );
    assert!(
        lines[2].ends_with("Ann Lee (@ann): [place] San Marco (45.434, 12.3388)"),
        "{history}"
    );
    assert!(
        lines[3].ends_with("Ann Lee (@ann): [contact card] Bob Chen (@bob)"),
        "{history}"
    );
    let forwarded = piazza(&app, &config, "ann", &["history", "cat"]).await;
    assert!(
        forwarded
            .trim()
            .ends_with("Cat Wu (@cat): [forwarded] [place] San Marco (45.434, 12.3388)"),
        "{forwarded}"
    );

    let pinned = piazza(&app, &config, "cat", &["pin", "Tea"]).await;
    assert_eq!(pinned.trim(), "Tea: pinned");
    let muted = piazza(&app, &config, "cat", &["mute", "Tea"]).await;
    assert_eq!(muted.trim(), "Tea: pinned, muted");
    let list = piazza(&app, &config, "cat", &["conversations"]).await;
    assert!(
        list.lines()
            .next()
            .unwrap()
            .starts_with("Tea  (pinned muted group of 3, all read)"),
        "{list}"
    );
    let archived = piazza(&app, &config, "cat", &["archive", "Tea"]).await;
    assert_eq!(archived.trim(), "Tea: muted, archived");
    app.shut_down().await;
}

#[tokio::test]
async fn block_and_unblock_from_the_cli() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    befriend(&ann, &bob).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    piazza(&app, &config, "ann", &["login", "ann"]).await;
    let blocked = piazza(&app, &config, "ann", &["contacts", "block", "bob"]).await;
    assert_eq!(
        blocked.trim(),
        "blocked @bob: no requests or direct messages between you, either way"
    );
    let listed = piazza(&app, &config, "ann", &["contacts", "blocked"]).await;
    assert!(listed.starts_with("Bob Chen (@bob)  (since "), "{listed}");
    let refused = bob
        .client
        .send_message(&befriend_direct(&bob, &ann).await, "b-1", "hi")
        .await;
    assert_problem(&refused.unwrap_err(), 403, "blocked");
    let unblocked = piazza(&app, &config, "ann", &["contacts", "unblock", "bob"]).await;
    assert_eq!(unblocked.trim(), "unblocked @bob");
    let listed = piazza(&app, &config, "ann", &["contacts", "blocked"]).await;
    assert_eq!(listed.trim(), "you have blocked nobody");
    app.shut_down().await;
}

/// The direct conversation of two contacts.
async fn befriend_direct(one: &User, other: &User) -> String {
    one.client.open_direct(&other.account_id).await.unwrap()
}

#[tokio::test]
async fn remarks_and_contact_codes_from_the_cli() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    person(&app, "cat", "Cat Wu").await;
    befriend(&ann, &bob).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    piazza(&app, &config, "ann", &["login", "ann"]).await;
    piazza(&app, &config, "cat", &["login", "cat"]).await;

    let named = piazza(
        &app,
        &config,
        "ann",
        &["contacts", "remark", "bob", "Bobby"],
    )
    .await;
    assert_eq!(
        named.trim(),
        "you now call Bob Chen (@bob) \"Bobby\" (only you see it)"
    );
    let listed = piazza(&app, &config, "ann", &["contacts", "list"]).await;
    assert_eq!(listed.trim(), "Bobby: Bob Chen (@bob)");
    let cleared = piazza(&app, &config, "ann", &["contacts", "remark", "bob", ""]).await;
    assert_eq!(cleared.trim(), "cleared your remark for Bob Chen (@bob)");

    let shown = piazza(&app, &config, "ann", &["contacts", "code"]).await;
    let payload = shown.lines().next().unwrap().to_owned();
    assert_eq!(payload, ann.client.contact_code().await.unwrap());
    assert!(
        shown.contains('█') || shown.contains('▀'),
        "a QR code: {shown}"
    );
    let asked = piazza(&app, &config, "cat", &["contacts", "add-by-code", &payload]).await;
    assert!(
        asked.starts_with("asked Ann Lee (@ann) to be a contact (request req_"),
        "{asked}"
    );
    let reset = piazza(&app, &config, "ann", &["contacts", "code", "--reset"]).await;
    assert!(
        reset.starts_with("your old contact code no longer works"),
        "{reset}"
    );
    assert!(!reset.contains(&payload), "a new code");
    app.shut_down().await;
}

#[tokio::test]
async fn group_administration_from_the_cli() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    let dan = person(&app, "dan", "Dan Ho").await;
    befriend(&ann, &bob).await;
    let group = ann
        .client
        .create_group("Trip", std::slice::from_ref(&bob.account_id))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ann_config, dan_config) = (dir.path().join("ann.toml"), dir.path().join("dan.toml"));
    piazza(&app, &ann_config, "ann", &["login", "ann"]).await;
    piazza(&app, &dan_config, "dan", &["login", "dan"]).await;
    let as_ann = |args: &'static [&'static str]| piazza(&app, &ann_config, "ann", args);

    let made = as_ann(&["group", "admin", "Trip", "bob"]).await;
    assert_eq!(made.trim(), "Bob Chen (@bob) is now an admin of Trip");
    as_ann(&["group", "announce", "Trip", "Meet at 9\nat the station"]).await;
    as_ann(&["group", "approval", "Trip", "on"]).await;
    let qr = dir.path().join("invite.png");
    let qr_arg = qr.to_str().unwrap().to_owned();
    let invited = piazza(
        &app,
        &ann_config,
        "ann",
        &["group", "invite", "Trip", "--qr", &qr_arg],
    )
    .await;
    let payload = invited
        .lines()
        .find(|line| line.starts_with("piazza-invite:"))
        .unwrap_or_else(|| panic!("{invited}"));
    assert!(
        std::fs::read(&qr).unwrap().starts_with(b"\x89PNG"),
        "a PNG was written"
    );

    let asked = piazza(&app, &dan_config, "dan", &["group", "join", payload]).await;
    assert!(asked.starts_with("asked to join"), "{asked}");
    let waiting = as_ann(&["group", "requests", "Trip"]).await;
    assert!(waiting.contains(&dan.account_id), "{waiting}");
    let approve = ["group", "approve", "Trip", dan.account_id.as_str()];
    let let_in = piazza(&app, &ann_config, "ann", &approve).await;
    assert!(let_in.starts_with("let in "), "{let_in}");
    let shown = as_ann(&["group", "show", "Trip"]).await;
    assert!(shown.contains("Meet at 9\n    at the station"), "{shown}");
    assert!(shown.contains("joining by invitation waits"), "{shown}");
    assert!(shown.contains("3 members, you are owner:"), "{shown}");
    assert!(shown.contains("Bob Chen (@bob) (admin)"), "{shown}");
    assert!(shown.contains("Dan Ho (@dan) (member)"), "{shown}");
    let renamed = as_ann(&["group", "title", "Trip", "Road trip"]).await;
    assert_eq!(renamed.trim(), "renamed Road trip");
    let left = piazza(&app, &dan_config, "dan", &["group", "leave", &group]).await;
    assert_eq!(left.trim(), "left Road trip");
    let view = bob.client.group(&group).await.unwrap();
    assert_eq!(view.members.len(), 2);
    app.shut_down().await;
}

#[tokio::test]
async fn the_cli_shows_which_contacts_are_online() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    let cat = person(&app, "cat", "Cat Wu").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    piazza(&app, &config, "ann", &["login", "ann"]).await;
    let _online = bob.client.connect_socket().await.unwrap();
    let hidden = piazza_api::Privacy {
        last_seen: Some("nobody".to_owned()),
        ..Default::default()
    };
    cat.client.set_privacy(&hidden).await.unwrap();
    let shown = piazza(&app, &config, "ann", &["contacts", "presence"]).await;
    assert_eq!(
        shown.trim(),
        "Bob Chen (@bob): online\nCat Wu (@cat): not shown"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn moments_post_feed_like_and_comment_from_the_cli() {
    let app = spawn_app().await;
    let ann = person(&app, "ann", "Ann Lee").await;
    let bob = person(&app, "bob", "Bob Chen").await;
    let cat = person(&app, "cat", "Cat Wu").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    let picture = dir.path().join("pier.png");
    std::fs::write(&picture, TINY_PNG).unwrap();
    piazza(&app, &config, "ann", &["login", "ann"]).await;
    let picture = picture.to_str().unwrap();
    let args = [
        "moments", "post", "--image", picture, "--except", "cat", "sunset", "at", "the", "pier",
    ];
    let posted = piazza(&app, &config, "ann", &args).await;
    let moment = posted
        .trim()
        .strip_prefix("posted [")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("{posted}"))
        .to_owned();
    assert!(cat.client.moment(&moment).await.is_err(), "Cat is left out");
    bob.client.like_moment(&moment).await.unwrap();
    let bobs = bob
        .client
        .comment_moment(&moment, "gorgeous", None)
        .await
        .unwrap()
        .comment_id;
    let liked = piazza(&app, &config, "ann", &["moments", "like", &moment]).await;
    assert_eq!(liked.trim(), format!("liked [{moment}]"));
    let replied = piazza(
        &app,
        &config,
        "ann",
        &[
            "moments",
            "comment",
            &moment,
            "--reply-to",
            &bobs,
            "thank",
            "you",
        ],
    )
    .await;
    assert!(
        replied.starts_with(&format!("commented on [{moment}] [cmt_")),
        "{replied}"
    );

    let feed = piazza(&app, &config, "ann", &["moments", "feed"]).await;
    let lines: Vec<&str> = feed.lines().collect();
    assert!(
        lines[0].starts_with(&format!("[{moment}] Ann Lee (@ann) "))
            && lines[0].ends_with(" (except)"),
        "{feed}"
    );
    assert_eq!(lines[1], "  sunset at the pier");
    assert!(lines[2].starts_with("  pictures: med_"), "{feed}");
    assert_eq!(lines[3], "  ♥ Bob Chen, Ann Lee");
    assert!(lines[4].starts_with("  Bob Chen: gorgeous [cmt_"), "{feed}");
    assert!(
        lines[5].starts_with("  Ann Lee → Bob Chen: thank you [cmt_"),
        "{feed}"
    );
    let told = sync_all(&bob.client, None, 200).await.0;
    let reply = told
        .iter()
        .find(|event| event.type_ == "moment.commented")
        .expect("Bob is told of the reply");
    assert_eq!(field(reply, "text"), "thank you");
    let unliked = piazza(
        &app,
        &config,
        "ann",
        &["moments", "like", "--undo", &moment],
    )
    .await;
    assert_eq!(unliked.trim(), format!("took back your like of [{moment}]"));
    let empty = piazza(&app, &config, "cat", &["login", "cat"]).await;
    assert!(!empty.is_empty());
    let cats = piazza(&app, &config, "cat", &["moments", "feed"]).await;
    assert_eq!(
        cats.trim(),
        "no moments yet: post one with `piazza moments post <text>`"
    );
    app.shut_down().await;
}
