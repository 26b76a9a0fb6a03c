//! Group administration end to end: roles (the owner names admins), the
//! title and announcement (owner and admins), leaving (ownership passes
//! to the longest-standing admin, else member), invitations by link or QR
//! code, approval mode, and every refusal answering a problem and
//! changing nothing.

use futures_util::future::join_all;
use piazza_api::{GroupView, MessageContent, UpdateGroup};
use piazza_client::JoinDecision;
use piazza_domain::store::TokenHash;
use piazza_domain::{AccountId, ConversationId, DisplayName, Username, limits};
use piazza_server::routes::groups::invite_token_hash;
use reqwest::Method;

use crate::helpers::*;

/// Each member's role in `view`, by account id.
fn roles(view: &GroupView) -> Vec<(String, String)> {
    view.members
        .iter()
        .map(|member| (member.account_id.clone(), member.role.clone()))
        .collect()
}

fn role_of(view: &GroupView, user: &User) -> String {
    let found = view
        .members
        .iter()
        .find(|member| member.account_id == user.account_id);
    found.map_or_else(|| "none".to_owned(), |member| member.role.clone())
}

/// The events of `type_` in `user`'s log, as JSON.
async fn logged(user: &User, type_: &str) -> Vec<serde_json::Value> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events
        .into_iter()
        .filter(|event| event.type_ == type_)
        .map(|event| serde_json::to_value(&event.fields).unwrap())
        .collect()
}

fn announce(text: &str) -> UpdateGroup {
    UpdateGroup {
        announcement: Some(text.to_owned()),
        ..UpdateGroup::default()
    }
}

#[tokio::test]
async fn only_the_owner_names_admins_and_every_member_sees_roles() {
    // Each attempt is charged as a group change (it would log to every
    // member), refused or not: room for all of them.
    let app =
        spawn_app_with(|config| config.limits.profile_changes_per_account_per_min = 100).await;
    let (users, group) = group_of(&app, "Team", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let dan = app.signup("dan").await;
    ann.client
        .make_admin(&group, &bob.account_id)
        .await
        .unwrap();
    // Again: nothing more happens.
    ann.client
        .make_admin(&group, &bob.account_id)
        .await
        .unwrap();
    let view = cat.client.group(&group).await.unwrap();
    assert_eq!(role_of(&view, ann), "owner");
    assert_eq!(role_of(&view, bob), "admin");
    assert_eq!(role_of(&view, cat), "member");
    assert_eq!(view.your_role, "member");
    assert_eq!(view.owner.as_deref(), Some(ann.account_id.as_str()));
    for user in [ann, bob, cat] {
        let changes = logged(user, "conversation.role_changed").await;
        assert_eq!(changes.len(), 1, "{}: one change logged", user.username);
        assert_eq!(changes[0]["account_id"], bob.account_id.as_str());
        assert_eq!(changes[0]["role"], "admin");
        assert_eq!(changes[0]["by"], ann.account_id.as_str());
    }

    // Refusals, none of which changes a role or logs anything.
    let refusals = [
        (
            bob.client.make_admin(&group, &cat.account_id).await,
            403,
            "not_owner",
        ),
        (
            cat.client.make_admin(&group, &cat.account_id).await,
            403,
            "not_owner",
        ),
        (
            cat.client.unmake_admin(&group, &bob.account_id).await,
            403,
            "not_owner",
        ),
        (
            dan.client.make_admin(&group, &dan.account_id).await,
            403,
            "not_a_member",
        ),
        (
            ann.client.make_admin(&group, &dan.account_id).await,
            404,
            "member_not_found",
        ),
        (
            ann.client.make_admin(&group, "acct_999999").await,
            404,
            "member_not_found",
        ),
        (
            ann.client.make_admin(&group, "garbage").await,
            404,
            "member_not_found",
        ),
        (
            ann.client.make_admin(&group, &ann.account_id).await,
            422,
            "target_is_owner",
        ),
        (
            ann.client.make_admin("conv_999999", &bob.account_id).await,
            403,
            "not_a_member",
        ),
        (
            ann.client.make_admin("nonsense", &bob.account_id).await,
            403,
            "not_a_member",
        ),
    ];
    for (answer, status, code) in refusals {
        assert_problem(&answer.unwrap_err(), status, code);
    }
    let direct = befriend(ann, &dan).await;
    let error = ann.client.make_admin(&direct, &dan.account_id).await;
    assert_problem(&error.unwrap_err(), 400, "not_a_group");
    assert_eq!(
        roles(&ann.client.group(&group).await.unwrap()),
        roles(&view)
    );
    assert_eq!(logged(cat, "conversation.role_changed").await.len(), 1);
    // A non-member cannot see the group's view either.
    let error = dan.client.group(&group).await.unwrap_err();
    assert_problem(&error, 403, "not_a_member");

    ann.client
        .unmake_admin(&group, &bob.account_id)
        .await
        .unwrap();
    let view = bob.client.group(&group).await.unwrap();
    assert_eq!(role_of(&view, bob), "member");
    let changes = logged(cat, "conversation.role_changed").await;
    assert_eq!(changes.last().unwrap()["role"], "member");
    app.shut_down().await;
}

#[tokio::test]
async fn admins_edit_announce_remove_and_moderate_and_members_may_not() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Team", &["ann", "bob", "cat", "eve"]).await;
    let (ann, bob, cat, eve) = (&users[0], &users[1], &users[2], &users[3]);
    ann.client
        .make_admin(&group, &bob.account_id)
        .await
        .unwrap();
    ann.client
        .make_admin(&group, &eve.account_id)
        .await
        .unwrap();

    bob.client
        .update_group(&group, &announce("Standup at 9:30\nbring notes"))
        .await
        .expect("an admin announces");
    let view = cat.client.group(&group).await.unwrap();
    assert_eq!(view.announcement, "Standup at 9:30\nbring notes");
    assert_eq!(
        view.announcement_by.as_deref(),
        Some(bob.account_id.as_str())
    );
    assert!(view.announcement_at.is_some());
    for user in [ann, bob, cat, eve] {
        let updates = logged(user, "conversation.updated").await;
        assert_eq!(updates.len(), 1, "{}", user.username);
        assert_eq!(updates[0]["announcement"], "Standup at 9:30\nbring notes");
        assert_eq!(updates[0]["title"], "Team");
        assert_eq!(updates[0]["by"], bob.account_id.as_str());
    }

    // A plain member changes nothing; too long and bad text are refused.
    let title = UpdateGroup {
        title: Some("Mine now".to_owned()),
        ..UpdateGroup::default()
    };
    let error = cat.client.update_group(&group, &title).await.unwrap_err();
    assert_problem(&error, 403, "not_admin");
    let error = cat.client.update_group(&group, &announce("hi")).await;
    assert_problem(&error.unwrap_err(), 403, "not_admin");
    let long = "a".repeat(limits::ANNOUNCEMENT_CHARS_MAX + 1);
    let error = bob.client.update_group(&group, &announce(&long)).await;
    assert_problem(&error.unwrap_err(), 400, "announcement_too_long");
    let error = bob
        .client
        .update_group(&group, &announce("bell\u{7}"))
        .await;
    assert_problem(&error.unwrap_err(), 400, "invalid_announcement");
    let raw = bob
        .client
        .raw(
            Method::PATCH,
            &format!("/api/v1/conversations/{group}"),
            Some(br#"{"join_approval":"yes"}"#.to_vec()),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_eq!(raw.status, 400, "{}", String::from_utf8_lossy(&raw.body));
    let view = ann.client.group(&group).await.unwrap();
    assert_eq!(
        (view.title.as_deref(), view.join_approval),
        (Some("Team"), false)
    );
    assert_eq!(view.announcement, "Standup at 9:30\nbring notes");
    assert_eq!(logged(cat, "conversation.updated").await.len(), 1);

    // An admin renames; an empty announcement clears it.
    bob.client.update_group(&group, &title).await.unwrap();
    eve.client
        .update_group(&group, &announce("  "))
        .await
        .unwrap();
    let view = cat.client.group(&group).await.unwrap();
    assert_eq!(view.title.as_deref(), Some("Mine now"));
    assert_eq!(
        (view.announcement.as_str(), view.announcement_by),
        ("", None)
    );

    // Admins mention everyone and recall anyone's message; members do not.
    let everyone = MessageContent {
        mention_all: true,
        ..MessageContent::text("all hands")
    };
    bob.client
        .send(&group, "b-all", everyone.clone())
        .await
        .unwrap();
    let error = cat
        .client
        .send(&group, "c-all", everyone)
        .await
        .unwrap_err();
    assert_problem(&error, 403, "mention_all_not_allowed");
    let (sent, _) = cat
        .client
        .send_message(&group, "c-1", "spam")
        .await
        .unwrap();
    let error = cat
        .client
        .recall_message(&group, &ann_message(ann, &group).await)
        .await;
    assert_problem(&error.unwrap_err(), 403, "recall_not_allowed");
    let recalled = bob.client.recall_message(&group, &sent.message_id).await;
    assert!(recalled.expect("an admin recalls").recalled);

    // Admins remove plain members, never the owner or (unless owner) an admin.
    let error = bob.client.remove_member(&group, &eve.account_id).await;
    assert_problem(&error.unwrap_err(), 403, "not_owner");
    let error = bob.client.remove_member(&group, &ann.account_id).await;
    assert_problem(&error.unwrap_err(), 422, "target_is_owner");
    let error = cat.client.remove_member(&group, &bob.account_id).await;
    assert_problem(&error.unwrap_err(), 403, "not_admin");
    bob.client
        .remove_member(&group, &cat.account_id)
        .await
        .unwrap();
    ann.client
        .remove_member(&group, &eve.account_id)
        .await
        .unwrap();
    let view = ann.client.group(&group).await.unwrap();
    assert_eq!(view.members.len(), 2);
    app.shut_down().await;
}

/// A message of ann's in `group`, for a recall others may not make.
async fn ann_message(ann: &User, group: &str) -> String {
    let (sent, _) = ann.client.send_message(group, "a-1", "mine").await.unwrap();
    sent.message_id
}

#[tokio::test]
async fn leaving_passes_ownership_to_an_admin_then_the_longest_standing_member() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Club", &["ann", "bob", "cat", "dan"]).await;
    let (ann, bob, cat, dan) = (&users[0], &users[1], &users[2], &users[3]);
    ann.client
        .make_admin(&group, &cat.account_id)
        .await
        .unwrap();

    // Refusals first: a direct conversation, a stranger, garbage.
    let direct = ann.client.open_direct(&bob.account_id).await.unwrap();
    let error = ann.client.leave(&direct).await.unwrap_err();
    assert_problem(&error, 409, "cannot_leave_direct");
    let eve = app.signup("eve").await;
    assert_problem(
        &eve.client.leave(&group).await.unwrap_err(),
        403,
        "not_a_member",
    );
    assert_problem(
        &eve.client.leave("x/../y").await.unwrap_err(),
        403,
        "not_a_member",
    );

    // The owner leaves: cat, the admin, owns it, though bob joined as early.
    ann.client.leave(&group).await.unwrap();
    let view = bob.client.group(&group).await.unwrap();
    assert_eq!(view.owner.as_deref(), Some(cat.account_id.as_str()));
    assert_eq!(role_of(&view, cat), "owner");
    assert_eq!(role_of(&view, ann), "none");
    for user in [ann, bob, cat, dan] {
        let removed = logged(user, "conversation.member_removed").await;
        assert_eq!(removed.len(), 1, "{}", user.username);
        assert_eq!(removed[0]["account_id"], ann.account_id.as_str());
        assert_eq!(removed[0]["by"], ann.account_id.as_str());
        assert_eq!(removed[0]["owner"], cat.account_id.as_str());
    }
    assert_problem(
        &ann.client.leave(&group).await.unwrap_err(),
        403,
        "not_a_member",
    );

    // No admin left: the longest-standing member (the lower id of a tie).
    cat.client.leave(&group).await.unwrap();
    let view = dan.client.group(&group).await.unwrap();
    assert_eq!(view.owner.as_deref(), Some(bob.account_id.as_str()));
    bob.client.leave(&group).await.unwrap();
    let view = dan.client.group(&group).await.unwrap();
    assert_eq!(view.owner.as_deref(), Some(dan.account_id.as_str()));
    // The last one leaves an empty group that nobody owns.
    dan.client.leave(&group).await.unwrap();
    let removed = logged(dan, "conversation.member_removed").await;
    assert_eq!(removed.last().unwrap()["owner"], serde_json::Value::Null);
    assert_problem(
        &dan.client.group(&group).await.unwrap_err(),
        403,
        "not_a_member",
    );
    app.shut_down().await;
}

#[tokio::test]
async fn an_invitation_lets_anyone_in_once_and_fails_alike_when_it_cannot() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Open", &["ann", "bob"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    ann.client
        .make_admin(&group, &bob.account_id)
        .await
        .unwrap();
    ann.client
        .update_group(&group, &announce("Welcome"))
        .await
        .unwrap();
    let stranger = app.signup("zed").await;
    // Any member may invite; the QR code comes as SVG, and PNG on request.
    let invite = bob.client.create_invite(&group, Some("png")).await.unwrap();
    assert!(invite.payload.starts_with("piazza-invite:"));
    assert!(!invite.payload.contains(&group), "the token is not the id");
    assert!(invite.qr_svg.starts_with("<?xml") || invite.qr_svg.contains("<svg"));
    let png = invite
        .qr_png_base64
        .as_deref()
        .expect("a PNG was asked for");
    assert!(png.starts_with("iVBORw0KGgo"), "a PNG's signature");
    let plain = ann.client.create_invite(&group, None).await.unwrap();
    assert_eq!(plain.qr_png_base64, None);
    let error = ann.client.create_invite(&group, Some("gif")).await;
    assert_problem(&error.unwrap_err(), 400, "unsupported_format");
    let error = stranger.client.create_invite(&group, None).await;
    assert_problem(&error.unwrap_err(), 403, "not_a_member");

    let joined = stranger
        .client
        .accept_invite(&invite.payload)
        .await
        .unwrap();
    assert_eq!(
        (joined.conversation_id.as_str(), joined.state.as_str()),
        (group.as_str(), "joined")
    );
    let again = stranger
        .client
        .accept_invite(&invite.payload)
        .await
        .unwrap();
    assert_eq!(again.state, "joined", "accepting again changes nothing");
    let view = stranger.client.group(&group).await.unwrap();
    assert_eq!(role_of(&view, &stranger), "member");
    assert_eq!(view.members.len(), 3);
    // The newcomer's log has the whole group first, its admins and
    // announcement included; everyone learns who let them in.
    let snapshot = logged(&stranger, "conversation.created").await;
    assert_eq!(snapshot[0]["admins"], serde_json::json!([bob.account_id]));
    assert_eq!(snapshot[0]["announcement"], "Welcome");
    for user in [ann, bob, &stranger] {
        let added = logged(user, "conversation.member_added").await;
        assert_eq!(added.len(), 1, "{}", user.username);
        assert_eq!(added[0]["account_id"], stranger.account_id.as_str());
        assert_eq!(added[0]["by"], bob.account_id.as_str());
    }

    // Unknown, malformed, revoked and expired invitations: one same 404.
    let other = app.signup("yan").await;
    let expired = expired_invite(&app, ann, &group).await;
    ann.client
        .revoke_invite(&group, &plain.invite_id)
        .await
        .unwrap();
    ann.client
        .revoke_invite(&group, &plain.invite_id)
        .await
        .unwrap();
    let unknown = format!("piazza-invite:{}", "A".repeat(43));
    for payload in [
        unknown.as_str(),
        "piazza-invite:short",
        "",
        group.as_str(),
        &plain.payload,
        &expired,
    ] {
        let error = other.client.accept_invite(payload).await.unwrap_err();
        assert_problem(&error, 404, "invite_not_found");
    }
    let error = other.client.revoke_invite(&group, &invite.invite_id).await;
    assert_problem(&error.unwrap_err(), 403, "not_a_member");
    let error = stranger
        .client
        .revoke_invite(&group, &invite.invite_id)
        .await;
    assert_problem(&error.unwrap_err(), 403, "not_admin");
    let error = ann.client.revoke_invite(&group, "inv_999999").await;
    assert_problem(&error.unwrap_err(), 404, "invite_not_found");
    assert_eq!(ann.client.group(&group).await.unwrap().members.len(), 3);
    // An invitation lapses with its creator's membership.
    bob.client.leave(&group).await.unwrap();
    let error = other
        .client
        .accept_invite(&invite.payload)
        .await
        .unwrap_err();
    assert_problem(&error, 404, "invite_not_found");
    app.shut_down().await;
}

/// An invitation into `group` by `by` that expired as it was made (the
/// route always gives a week; the store takes any length up to it).
async fn expired_invite(app: &TestApp, by: &User, group: &str) -> String {
    let store = &app.running.as_ref().unwrap().app().store;
    let token = "E".repeat(43);
    store
        .create_invite(
            AccountId::parse(&by.account_id).unwrap(),
            ConversationId::parse(group).unwrap(),
            invite_token_hash(&token),
            0,
        )
        .await
        .expect("stored");
    format!("piazza-invite:{token}")
}

#[tokio::test]
async fn approval_mode_makes_joins_wait_for_an_admin() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Closed", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    ann.client
        .make_admin(&group, &bob.account_id)
        .await
        .unwrap();
    let approval = UpdateGroup {
        join_approval: Some(true),
        ..UpdateGroup::default()
    };
    let error = cat
        .client
        .update_group(&group, &approval)
        .await
        .unwrap_err();
    assert_problem(&error, 403, "not_admin");
    bob.client.update_group(&group, &approval).await.unwrap();
    let updated = logged(cat, "conversation.updated").await;
    assert_eq!(updated.last().unwrap()["join_approval"], true);
    let invite = cat.client.create_invite(&group, None).await.unwrap();
    let (dan, eve) = (app.signup("dan").await, app.signup("eve").await);

    let asked = dan.client.accept_invite(&invite.payload).await.unwrap();
    assert_eq!(asked.state, "pending");
    let raw = dan
        .client
        .raw(
            Method::POST,
            "/api/v1/invites/accept",
            Some(serde_json::to_vec(&serde_json::json!({"payload": invite.payload})).unwrap()),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_eq!(raw.status, 202, "asking again is the same pending request");
    eve.client.accept_invite(&invite.payload).await.unwrap();
    assert_problem(
        &dan.client.group(&group).await.unwrap_err(),
        403,
        "not_a_member",
    );
    // The owner and admins learn of each request once; members do not.
    for (user, count) in [(ann, 2), (bob, 2), (cat, 0)] {
        let asked = logged(user, "conversation.join_requested").await;
        assert_eq!(asked.len(), count, "{}", user.username);
        if count > 0 {
            assert_eq!(asked[0]["account_id"], dan.account_id.as_str());
            assert_eq!(asked[0]["display_name"], "dan");
        }
    }

    // Only managers list and decide.
    let error = cat.client.join_requests(&group).await.unwrap_err();
    assert_problem(&error, 403, "not_admin");
    let error = dan.client.join_requests(&group).await.unwrap_err();
    assert_problem(&error, 403, "not_a_member");
    let approve = JoinDecision::Approve;
    let error = cat
        .client
        .decide_join_request(&group, &dan.account_id, approve)
        .await;
    assert_problem(&error.unwrap_err(), 403, "not_admin");
    let pending = bob.client.join_requests(&group).await.unwrap();
    let asking: Vec<&str> = pending
        .requests
        .iter()
        .map(|r| r.account_id.as_str())
        .collect();
    assert_eq!(asking, [dan.account_id.as_str(), eve.account_id.as_str()]);
    assert!(
        pending
            .requests
            .iter()
            .all(|request| request.state == "pending")
    );

    bob.client
        .decide_join_request(&group, &dan.account_id, approve)
        .await
        .unwrap();
    let decline = JoinDecision::Decline;
    ann.client
        .decide_join_request(&group, &eve.account_id, decline)
        .await
        .unwrap();
    let error = ann
        .client
        .decide_join_request(&group, &eve.account_id, approve)
        .await;
    assert_problem(&error.unwrap_err(), 404, "join_request_not_found");
    let error = ann
        .client
        .decide_join_request(&group, "acct_x", approve)
        .await;
    assert_problem(&error.unwrap_err(), 404, "join_request_not_found");
    assert!(
        bob.client
            .join_requests(&group)
            .await
            .unwrap()
            .requests
            .is_empty()
    );
    let view = dan.client.group(&group).await.unwrap();
    assert_eq!(role_of(&view, &dan), "member");
    assert_eq!(role_of(&view, &eve), "none");
    let added = logged(cat, "conversation.member_added").await;
    assert_eq!(added.last().unwrap()["by"], bob.account_id.as_str());
    // The decline reaches eve (naming the group) and the managers, and no
    // one else; dan's approval was no decline.
    for (user, count) in [(&eve, 1), (ann, 1), (bob, 1), (cat, 0), (&dan, 0)] {
        let declined = logged(user, "conversation.join_declined").await;
        assert_eq!(declined.len(), count, "{}", user.username);
        if count > 0 {
            assert_eq!(declined[0]["account_id"], eve.account_id.as_str());
            assert_eq!(declined[0]["by"], ann.account_id.as_str());
            assert_eq!(declined[0]["title"], "Closed");
        }
    }
    // Declined, eve may ask again; joined, dan is answered "joined".
    let asked = eve.client.accept_invite(&invite.payload).await.unwrap();
    assert_eq!(asked.state, "pending");
    let joined = dan.client.accept_invite(&invite.payload).await.unwrap();
    assert_eq!(joined.state, "joined");
    // Approval mode off: the next acceptance joins, and answers the
    // request still pending with it.
    let open = UpdateGroup {
        join_approval: Some(false),
        ..UpdateGroup::default()
    };
    bob.client.update_group(&group, &open).await.unwrap();
    let joined = eve.client.accept_invite(&invite.payload).await.unwrap();
    assert_eq!(joined.state, "joined");
    assert!(
        ann.client
            .join_requests(&group)
            .await
            .unwrap()
            .requests
            .is_empty()
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_full_group_takes_nobody_by_invitation_or_approval() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let group = ann.client.create_group("Crowd", &[]).await.unwrap();
    let invite = ann.client.create_invite(&group, None).await.unwrap();
    let token = invite.payload.strip_prefix("piazza-invite:").unwrap();
    let hash = invite_token_hash(token);
    // 498 more members, straight through the store (the route's rules all
    // the same), so one place is left.
    let store = app.running.as_ref().unwrap().app().store.clone();
    let max = limits::GROUP_MEMBERS_MAX;
    let joins = (1..max - 1).map(|n| {
        let store = store.clone();
        async move { join_through_store(&store, n, hash).await }
    });
    for joined in join_all(joins).await {
        joined.expect("joined while there was room");
    }
    // Two race for the last place: exactly one gets it.
    let race = join_all([max, max + 1].map(|n| join_through_store(&store, n, hash))).await;
    let won = race.iter().filter(|joined| joined.is_ok()).count();
    assert_eq!(won, 1, "{race:?}");
    let lost = race
        .iter()
        .find_map(|joined| joined.as_ref().err())
        .unwrap();
    assert!(lost.contains("at most 500"), "{lost}");
    let view = ann.client.group(&group).await.unwrap();
    assert_eq!(view.members.len(), limits::GROUP_MEMBERS_MAX);

    let late = app.signup("late").await;
    let error = late
        .client
        .accept_invite(&invite.payload)
        .await
        .unwrap_err();
    assert_problem(&error, 409, "group_full");
    // In approval mode the request waits, and its approval is refused
    // while the group is full, the request staying pending.
    let approval = UpdateGroup {
        join_approval: Some(true),
        ..UpdateGroup::default()
    };
    ann.client.update_group(&group, &approval).await.unwrap();
    let asked = late.client.accept_invite(&invite.payload).await.unwrap();
    assert_eq!(asked.state, "pending");
    let approve = JoinDecision::Approve;
    let error = ann
        .client
        .decide_join_request(&group, &late.account_id, approve)
        .await;
    assert_problem(&error.unwrap_err(), 409, "group_full");
    assert_eq!(
        ann.client
            .join_requests(&group)
            .await
            .unwrap()
            .requests
            .len(),
        1
    );
    assert_eq!(
        ann.client.group(&group).await.unwrap().members.len(),
        limits::GROUP_MEMBERS_MAX
    );
    app.shut_down().await;
}

async fn join_through_store(
    store: &piazza_core::Core,
    n: usize,
    invite: TokenHash,
) -> Result<(), String> {
    let username = Username::parse(&format!("crowd{n}")).unwrap();
    let name = DisplayName::parse(&format!("Crowd {n}")).unwrap();
    let account = store
        .create_account(username, name, "not-a-hash".to_owned())
        .await
        .map_err(|error| error.to_string())?;
    store
        .accept_invite(account.account_id, invite)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}
