//! `DELETE /api/v1/accounts/me`: an account deleted by its owner is gone
//! at once for everyone — signed out everywhere, shown as "Deleted
//! account" with its username nowhere, reached by nothing — comes back
//! whole when it logs in within its grace period, and is erased after
//! it, its messages and money history staying, tied to nobody.

use std::time::Duration;

use piazza_client::IdempotencyKey;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::media::TINY_PNG;
use crate::wallet::{PIN, balance, call, set_pin, top_up};

const DELETED: &str = "Deleted account";

#[tokio::test]
async fn a_deleted_account_vanishes_at_once_and_comes_back_by_logging_in() {
    let app = spawn_app_with(|config| config.sandbox_payments = true).await;
    let (users, group) = group_of(&app, "friends", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let direct = ann.client.open_direct(&bob.account_id).await.unwrap();
    let (avatar, _) = bob
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let change = piazza_api::UpdateProfile {
        avatar_media_id: Some(Some(avatar.media_id.clone())),
        bio: Some(Some("sailing".into())),
        ..Default::default()
    };
    let face = bob.client.update_profile(&change).await.unwrap();
    bob.client
        .send_message(&direct, "b1", "hello ann")
        .await
        .unwrap();
    bob.client
        .send_message(&group, "b2", "hello all")
        .await
        .unwrap();
    let post = piazza_api::NewMoment {
        text: "at sea".into(),
        ..Default::default()
    };
    let posted = bob.client.post_moment(&post).await.unwrap();
    ann.client
        .moment(&posted.moment_id)
        .await
        .expect("ann sees bob's post");
    // Ann passes Bob's card to Cat, in the group.
    let card = piazza_api::MessageContent {
        card: Some(piazza_api::CardRequest {
            account_id: bob.account_id.clone(),
        }),
        ..piazza_api::MessageContent::default()
    };
    let (card, _) = ann.client.send(&group, "card", card).await.unwrap();
    let other_device = app.login("bob", "laptop").await;
    let (mut socket, _) = live_socket(&other_device).await;

    let wrong = bob
        .client
        .delete_account("not the password")
        .await
        .unwrap_err();
    assert_problem(&wrong, 403, "wrong_password");
    set_pin(bob).await;
    assert_eq!(top_up(bob, 500, "bob-tops-up").await.0, 201);
    let full = bob.client.delete_account(PASSWORD).await.unwrap_err();
    assert_problem(&full, 409, "wallet_not_empty");
    assert_eq!(
        bob.client.me().await.unwrap(),
        face,
        "a refusal changes nothing"
    );
    let key = IdempotencyKey::parse("all-to-ann").unwrap();
    let sent = bob
        .client
        .send_transfer(&key, &ann.account_id, 500, PIN, None)
        .await
        .unwrap();
    ann.client.accept_transfer(&sent.transfer_id).await.unwrap();

    let deleted = bob.client.delete_account(PASSWORD).await.expect("deleted");
    assert!(deleted.erase_at.starts_with("20"), "{deleted:?}");
    for device in [&bob.client, &other_device.client] {
        assert_problem(&device.me().await.unwrap_err(), 401, "unauthorized");
    }
    let closed = close_code(&mut socket).await;
    assert_eq!(closed, 4001, "closed as signed out");

    // What the others see: no username, no face, nothing reaches it —
    // not even through old entries (the contact request and contact
    // added in Ann's log, the member added in Cat's, the card), which a
    // new device reads from the start.
    let new_phone = app.login("ann", "new phone").await;
    let history = serde_json::to_string(&sync_all(&new_phone.client, None, 200).await.0).unwrap();
    assert!(history.contains("contact.request") && history.contains("contact_card"));
    assert!(!history.contains("\"username\":\"bob\""), "{history}");
    let shown = cat.client.message(&group, &card.message_id).await.unwrap();
    let shown = shown.card.expect("the card");
    assert_eq!(
        (shown.username.as_str(), shown.display_name.as_str()),
        (
            format!("#{}", &bob.account_id["acct_".len()..]).as_str(),
            DELETED
        )
    );
    let seen = ann.client.profile(&bob.account_id).await.unwrap();
    assert_eq!(seen.display_name, DELETED);
    assert_ne!(seen.username, "bob");
    assert_eq!(
        (seen.avatar_media_id, seen.bio.as_deref()),
        (None, Some(""))
    );
    let contact = ann.client.all_contacts().await.unwrap();
    let contact = contact
        .iter()
        .find(|c| c.account_id == bob.account_id)
        .unwrap();
    assert_eq!(contact.display_name, DELETED);
    assert!(!contact.username.contains("bob"));
    let events = sync_all(&ann.client, None, 200).await.0;
    let told = events
        .iter()
        .rev()
        .find(|e| e.type_ == "account.updated")
        .unwrap();
    assert_eq!(field(told, "display_name"), DELETED);
    let refused = ann
        .client
        .send_message(&direct, "a1", "are you there?")
        .await
        .unwrap_err();
    assert_problem(&refused, 410, "account_deleted");
    assert_problem(
        &cat.client.find_account("bob").await.unwrap_err(),
        404,
        "account_not_found",
    );
    let taken = app
        .anonymous()
        .create_account("bob", PASSWORD, None)
        .await
        .unwrap_err();
    assert_problem(&taken, 409, "username_taken");
    let history = cat.client.history(&group, None, Some(50)).await.unwrap();
    assert!(
        history.messages.iter().any(|m| m.text == "hello all"),
        "its messages stay"
    );
    let member = cat.client.profile(&bob.account_id).await.unwrap();
    assert_eq!(
        member.display_name, DELETED,
        "a group member sees it deleted"
    );
    let group_with_bob = json!({ "title": "again", "members": [bob.account_id] });
    let (status, body) = call(
        &ann.client,
        Method::POST,
        "/api/v1/conversations",
        Some(group_with_bob),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("account_deleted")),
        "{body}"
    );
    set_pin(ann).await;
    let key = IdempotencyKey::parse("ann-to-deleted").unwrap();
    let refused = ann
        .client
        .send_transfer(&key, &bob.account_id, 100, PIN, None)
        .await
        .unwrap_err();
    assert_problem(&refused, 410, "account_deleted");
    let hidden = ann.client.moment(&posted.moment_id).await.unwrap_err();
    assert_problem(&hidden, 404, "moment_not_found");
    // A contacts page may end on it (`#<id>` sorts first): the next page reads on.
    let (status, first) = call(
        &ann.client,
        Method::GET,
        "/api/v1/contacts?limit=1",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let next = first["next_cursor"].as_str().expect("a second page");
    let path = format!(
        "/api/v1/contacts?limit=1&cursor={}",
        next.replace('#', "%23")
    );
    let (status, second) = call(&ann.client, Method::GET, &path, None, None).await;
    assert_eq!(
        status, 200,
        "the cursor after a deleted contact reads on: {second}"
    );

    // Logging in within the grace period restores it whole.
    let back = app.login("bob", "phone again").await;
    assert_eq!(back.account_id, bob.account_id);
    assert_eq!(back.client.me().await.unwrap(), face);
    let seen = ann.client.profile(&bob.account_id).await.unwrap();
    assert_eq!(
        (seen.username.as_str(), seen.display_name.as_str()),
        ("bob", "bob")
    );
    ann.client
        .send_message(&direct, "a2", "welcome back")
        .await
        .expect("reachable again");
    ann.client
        .moment(&posted.moment_id)
        .await
        .expect("its post is back");
    for check in ["check", "ledger-check"] {
        admin_check_passes(check, app.data_dir());
    }
}

#[tokio::test]
async fn after_its_grace_period_a_deleted_account_is_erased() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.account_deletion_grace_s = 1;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let direct = befriend(&ann, &bob).await;
    let dan = app.signup("dan").await;
    befriend(&ann, &dan).await;
    // Dan's wallet is empty when he deletes, but a transfer he sent is
    // still pending: declined after, its money comes back to him.
    set_pin(&dan).await;
    assert_eq!(top_up(&dan, 100, "dan-tops-up").await.0, 201);
    let key = IdempotencyKey::parse("dan-to-ann").unwrap();
    let pending = dan
        .client
        .send_transfer(&key, &ann.account_id, 100, PIN, None)
        .await
        .unwrap();
    dan.client
        .delete_account(PASSWORD)
        .await
        .expect("dan deleted");
    ann.client
        .decline_transfer(&pending.transfer_id)
        .await
        .unwrap();
    bob.client
        .send_message(&direct, "b1", "goodbye")
        .await
        .unwrap();
    set_pin(&bob).await;
    assert_eq!(top_up(&bob, 300, "bob-tops-up").await.0, 201);
    let key = IdempotencyKey::parse("to-ann").unwrap();
    let sent = bob
        .client
        .send_transfer(&key, &ann.account_id, 300, PIN, None)
        .await
        .unwrap();
    ann.client.accept_transfer(&sent.transfer_id).await.unwrap();
    // Bob owns a group with Ann and Cat, and sent Ann a picture of his
    // own and one whose bytes Ann had uploaded too.
    let cat = app.signup("cat").await;
    befriend(&bob, &cat).await;
    let group = bob
        .client
        .create_group("bob's", &[ann.account_id.clone(), cat.account_id.clone()])
        .await
        .unwrap();
    let own_bytes = crate::media::png_of(300, 7);
    let (own, _) = bob
        .client
        .upload_media(own_bytes.clone(), "image/png")
        .await
        .unwrap();
    let (shared, _) = bob
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let (anns, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    for (n, media) in [&own, &shared].into_iter().enumerate() {
        bob.client
            .send_image(&direct, &format!("pic{n}"), &media.media_id, "")
            .await
            .unwrap();
    }
    ann.client.media_thumbnail(&own.media_id).await.unwrap();
    let own_blob = blob_path(&app, &own_bytes);
    assert!(own_blob.exists());
    let picture = piazza_api::UpdateGroup {
        avatar_media_id: Some(Some(own.media_id.clone())),
        ..Default::default()
    };
    bob.client.update_group(&group, &picture).await.unwrap();
    bob.client.delete_account(PASSWORD).await.expect("deleted");

    // The sweeper erases it once its grace period is over: the username
    // is free again and the password opens nothing.
    assert!(
        username_freed(&app, "bob").await,
        "the username is free once the account is erased"
    );
    let new_bob = app.login("bob", "new phone").await;
    assert_ne!(
        new_bob.account_id, bob.account_id,
        "a new account, not the old one"
    );
    let contacts = ann.client.all_contacts().await.unwrap();
    assert!(
        contacts.iter().all(|c| c.account_id != bob.account_id),
        "ann was told"
    );
    let removed = sync_all(&ann.client, None, 200).await.0;
    assert!(removed.iter().any(|e| e.type_ == "contact.removed"));
    let history = ann.client.history(&direct, None, Some(50)).await.unwrap();
    assert!(
        history.messages.iter().any(|m| m.text == "goodbye"),
        "its messages stay"
    );
    let old = ann.client.profile(&bob.account_id).await.unwrap();
    assert_eq!(old.display_name, DELETED);
    // It left its group, whose longest-standing member owns it now.
    let left = ann.client.group(&group).await.unwrap();
    assert!(left.members.iter().all(|m| m.account_id != bob.account_id));
    assert_eq!(left.owner.as_deref(), Some(ann.account_id.as_str()));
    assert_eq!(left.avatar_media_id, None, "its picture went with it");
    // Its media are served to nobody, and their bytes leave the store,
    // but for the bytes Ann's own upload holds too.
    for media in [&own, &shared] {
        let gone = ann.client.media(&media.media_id).await.unwrap_err();
        assert_problem(&gone, 404, "media_not_found");
        let gone = ann
            .client
            .media_thumbnail(&media.media_id)
            .await
            .unwrap_err();
        assert_problem(&gone, 404, "media_not_found");
    }
    let mut purged = false;
    for _ in 0..100 {
        let left_behind = std::fs::read_dir(own_blob.parent().unwrap())
            .unwrap()
            .filter(|entry| {
                let name = entry.as_ref().unwrap().file_name();
                name.to_string_lossy()
                    .starts_with(&*own_blob.file_name().unwrap().to_string_lossy())
            })
            .count();
        if left_behind == 0 {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        purged,
        "the erased account's bytes, thumbnail included, are deleted"
    );
    assert_eq!(
        ann.client.media(&anns.media_id).await.unwrap().bytes,
        TINY_PNG
    );
    assert!(blob_path(&app, TINY_PNG).exists());
    // The same bytes uploaded again are kept anew.
    let (again, _) = cat
        .client
        .upload_media(own_bytes.clone(), "image/png")
        .await
        .unwrap();
    cat.client.media(&again.media_id).await.unwrap();
    assert!(own_blob.exists());
    let statement = statement_entries(&ann.client).await;
    assert!(
        statement
            .iter()
            .any(|line| line.to_string().contains(&sent.transfer_id))
    );
    // Dan, whose wallet got money back after he left, is not erased: his
    // name is still his, and logging in gives him his account and money.
    let taken = app
        .anonymous()
        .create_account("dan", PASSWORD, None)
        .await
        .unwrap_err();
    assert_problem(&taken, 409, "username_taken");
    let dan_again = app.login("dan", "to withdraw").await;
    assert_eq!(dan_again.account_id, dan.account_id);
    assert_eq!(balance(&dan_again).await, 100);
    for check in ["check", "ledger-check"] {
        admin_check_passes(check, app.data_dir());
    }
}

#[tokio::test]
async fn the_cli_deletes_an_account_only_when_told_so() {
    use crate::cli_profiles::{cli_account, piazza, stdout_of};
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let config = cli_account(&app, dir.path(), "ann").await;
    let unsure = piazza(
        &app,
        &config,
        "ann",
        &["delete-account"],
        &format!("{PASSWORD}\n"),
    )
    .await;
    assert!(!unsure.status.success(), "refused without --yes");
    assert!(String::from_utf8_lossy(&unsure.stderr).contains("--yes"));
    app.login("ann", "still here")
        .await
        .client
        .me()
        .await
        .expect("nothing was deleted");
    let wrong = piazza(
        &app,
        &config,
        "ann",
        &["delete-account", "--yes"],
        "not it\n",
    )
    .await;
    assert!(!wrong.status.success());
    let told = stdout_of(
        &piazza(
            &app,
            &config,
            "ann",
            &["delete-account", "--yes"],
            &format!("{PASSWORD}\n"),
        )
        .await,
    );
    assert!(
        told.contains("deleted ann") && told.contains("restore"),
        "{told}"
    );
    let whoami = piazza(&app, &config, "ann", &["whoami"], "").await;
    assert!(!whoami.status.success(), "the login is forgotten here");
    app.login("ann", "back")
        .await
        .client
        .me()
        .await
        .expect("restored by logging in");
}

/// Where the media store keeps `bytes` (`ab/ab12…` under the data dir's
/// `media` folder).
fn blob_path(app: &TestApp, bytes: &[u8]) -> std::path::PathBuf {
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    app.data_dir().join("media").join(&hex[..2]).join(hex)
}

#[tokio::test]
async fn no_money_reaches_an_erased_account_nor_a_deleted_merchant() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.account_deletion_grace_s = 1;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    // Bob follows Ann's channel and pays her shop counter all he has.
    let channel = piazza_api::CreateChannel {
        handle: "anns_news".into(),
        name: "Ann's news".into(),
        description: String::new(),
        avatar_media_id: None,
    };
    let channel = ann.client.create_channel(&channel).await.unwrap();
    bob.client
        .follow_channel(&channel.channel_id)
        .await
        .unwrap();
    let merchant = ann.client.create_merchant("Ann's", None).await.unwrap();
    let qr = ann.client.merchant_qr(&merchant, Some(100)).await.unwrap();
    set_pin(&bob).await;
    assert_eq!(top_up(&bob, 100, "bob-tops-up").await.0, 201);
    let key = IdempotencyKey::parse("bob-pays-ann").unwrap();
    let paid = bob.client.pay(&key, &qr, None, PIN).await.unwrap();
    bob.client.delete_account(PASSWORD).await.expect("deleted");
    // Cat, a merchant too, deletes hers: paying her counter is refused
    // at once.
    let cats = cat.client.create_merchant("Cat's", None).await.unwrap();
    let cats_qr = cat.client.merchant_qr(&cats, Some(50)).await.unwrap();
    cat.client.delete_account(PASSWORD).await.expect("deleted");
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 50, "ann-tops-up").await.0, 201);
    let key = IdempotencyKey::parse("ann-pays-cat").unwrap();
    let refused = ann.client.pay(&key, &cats_qr, None, PIN).await.unwrap_err();
    assert_problem(&refused, 410, "account_deleted");
    assert_eq!(balance(&ann).await, 50, "nothing moved");

    assert!(username_freed(&app, "bob").await, "bob is erased");
    // Its follow is gone with it; a refund to it would be money no one
    // can ever take out.
    let view = ann.client.channel(&channel.channel_id).await.unwrap();
    assert_eq!(view.channel.follower_count, 0);
    let key = IdempotencyKey::parse("ann-refunds-bob").unwrap();
    let refund = ann
        .client
        .refund(&key, &paid.payment_id, 100)
        .await
        .unwrap_err();
    assert_problem(&refund, 410, "account_deleted");
    for check in ["check", "ledger-check"] {
        admin_check_passes(check, app.data_dir());
    }
}

/// Log-ins racing the erasure at the end of the grace period (several at
/// once, from before its end to after): each either restores the account
/// whole, and then it is never erased, or finds it erased; never a
/// session on an erased account, never an erased account half restored.
#[tokio::test]
async fn log_ins_racing_the_erasure_restore_it_whole_or_find_it_gone() {
    let app = spawn_app_with(|config| {
        config.limits.account_deletion_grace_s = 1;
        // Refused log-ins are what this test makes, by the dozen.
        config.limits.login_failures_per_address_max = 1_000_000;
        config.limits.login_failures_per_username_address_max = 1_000_000;
        config.limits.login_backoff_after_username_failures = 1_000_000;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    bob.client.delete_account(PASSWORD).await.expect("deleted");
    let started = std::time::Instant::now();
    // Eight at a time, from just before the end of the grace period to
    // past it: which side wins is the clock's to say, each run.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let mut restored = None;
    while started.elapsed() < Duration::from_secs(3) && restored.is_none() {
        let tries = (0..8).map(|n| {
            let anonymous = app.anonymous();
            async move { anonymous.login("bob", PASSWORD, &format!("try {n}")).await }
        });
        for outcome in futures_util::future::join_all(tries).await {
            match outcome {
                Ok(session) => restored = Some(session),
                Err(refused) => assert_problem(&refused, 401, "wrong_credentials"),
            }
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    match restored {
        Some(session) => {
            // Restored whole, and no sweep after erases it.
            let back = app.anonymous().with_token(session.token);
            tokio::time::sleep(Duration::from_secs(2)).await;
            let me = back.me().await.expect("still signed in");
            assert_eq!(
                (me.username.as_str(), me.account_id.as_str()),
                ("bob", bob.account_id.as_str())
            );
            let contacts = ann.client.all_contacts().await.unwrap();
            assert!(
                contacts
                    .iter()
                    .any(|c| c.account_id == bob.account_id && c.username == "bob")
            );
        }
        None => {
            // Erased: the name is free and the old password opens nothing.
            assert!(
                username_freed(&app, "bob").await,
                "the username is free once erased"
            );
            let contacts = ann.client.all_contacts().await.unwrap();
            assert!(contacts.iter().all(|c| c.account_id != bob.account_id));
        }
    }
    for check in ["check", "ledger-check"] {
        admin_check_passes(check, app.data_dir());
    }
}

/// Whether `username` becomes free within ten seconds (the sweeper has
/// erased the deleted account that held it): a new account takes it.
async fn username_freed(app: &TestApp, username: &str) -> bool {
    for _ in 0..100 {
        if app
            .anonymous()
            .create_account(username, PASSWORD, None)
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
