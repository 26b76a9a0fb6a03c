//! Remarks (an account's own names for its contacts) and contact codes
//! (a QR code whose scanner can ask to be the owner's contact): what each
//! account sees, and the negative space — a remark reaches nobody else,
//! a reset code is nobody's, and asking by code follows every rule of
//! asking by username.

use piazza_api::EventView;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// The `contact.updated` events in `user`'s whole log.
async fn remark_events(user: &User) -> Vec<EventView> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events
        .into_iter()
        .filter(|event| event.type_ == "contact.updated")
        .collect()
}

#[tokio::test]
async fn a_remark_is_the_callers_own_and_reaches_only_its_devices() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    let (mut other_device, _) = live_socket(&app.login("ann", "laptop").await).await;

    let set = ann
        .client
        .set_remark(&bob.account_id, Some("  Bobby from work "))
        .await
        .expect("remark set");
    assert_eq!(set.remark.as_deref(), Some("Bobby from work"), "trimmed");
    assert_eq!(set.username, "bob");
    let event = next_of_type(&mut other_device, "contact.updated").await;
    assert_eq!(field(&event, "account_id"), &json!(bob.account_id));
    assert_eq!(field(&event, "remark"), &json!("Bobby from work"));
    let listed = ann.client.contacts().await.unwrap().contacts;
    assert_eq!(listed[0].remark.as_deref(), Some("Bobby from work"));
    // The conversation list names the peer by it too, for Ann alone.
    let direct = ann.client.open_direct(&bob.account_id).await.unwrap();
    let remark_in_list = |user: &User| {
        let client = user.client.clone();
        let direct = direct.clone();
        async move {
            let list = client.conversations().await.unwrap().conversations;
            let found = list.into_iter().find(|c| c.conversation_id == direct);
            found.expect("listed").remark
        }
    };
    assert_eq!(
        remark_in_list(&ann).await.as_deref(),
        Some("Bobby from work")
    );
    assert_eq!(remark_in_list(&bob).await, None);

    // The same remark again changes nothing and logs nothing.
    ann.client
        .set_remark(&bob.account_id, Some("Bobby from work"))
        .await
        .unwrap();
    assert_eq!(remark_events(&ann).await.len(), 1);

    // Bob never learns it: not in his list, not in his log.
    let bobs = bob.client.contacts().await.unwrap().contacts;
    assert_eq!(bobs[0].username, "ann");
    assert_eq!(bobs[0].remark, None);
    assert!(remark_events(&bob).await.is_empty());
    let (events, _) = sync_all(&bob.client, None, 200).await;
    let raw = serde_json::to_string(&events).unwrap();
    assert!(!raw.contains("Bobby"), "{raw}");

    // Empty and null both clear it.
    for clear in [Some(""), None] {
        ann.client
            .set_remark(&bob.account_id, Some("again"))
            .await
            .unwrap();
        let cleared = ann.client.set_remark(&bob.account_id, clear).await.unwrap();
        assert_eq!(cleared.remark, None);
    }
    let last = remark_events(&ann).await.pop().unwrap();
    assert_eq!(field(&last, "remark"), &json!(null));
    assert_eq!(
        ann.client.contacts().await.unwrap().contacts[0].remark,
        None
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_remark_needs_a_contact_and_a_short_line() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let stranger = app.signup("cat").await;
    befriend(&ann, &bob).await;

    for id in [
        stranger.account_id.as_str(),
        ann.account_id.as_str(),
        "acct_999999",
        "nonsense",
    ] {
        let refused = ann.client.set_remark(id, Some("Kitty")).await;
        assert_problem(&refused.unwrap_err(), 404, "contact_not_found");
    }
    let long = "r".repeat(65);
    for bad in [long.as_str(), "two\nlines"] {
        let refused = ann.client.set_remark(&bob.account_id, Some(bad)).await;
        assert_problem(&refused.unwrap_err(), 400, "invalid_remark");
    }
    assert!(
        ann.client
            .set_remark(&bob.account_id, Some(&"é".repeat(64)))
            .await
            .is_ok(),
        "64 characters, not bytes"
    );
    let path = format!("/api/v1/contacts/{}", bob.account_id);
    for body in [r#"{}"#, r#"{"remark": 5}"#, r#"[]"#, "not json"] {
        let answer = ann
            .client
            .raw(
                Method::PATCH,
                &path,
                Some(body.into()),
                Some("application/json"),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json")
        );
    }
    // Nothing above changed anything but the one good remark.
    assert_eq!(remark_events(&ann).await.len(), 1);
    assert!(remark_events(&stranger).await.is_empty());
    // Once no longer contacts, the remark goes with the contact.
    ann.client.remove_contact(&bob.account_id).await.unwrap();
    let gone = ann.client.set_remark(&bob.account_id, Some("x")).await;
    assert_problem(&gone.unwrap_err(), 404, "contact_not_found");
    app.shut_down().await;
}

#[tokio::test]
async fn a_contact_code_asks_its_owner_and_a_reset_revokes_it() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;

    let code = ann.client.contact_code().await.expect("made on first read");
    assert!(code.starts_with("piazza-contact:"), "{code}");
    assert!(!code.contains(&ann.account_id) && !code.contains("ann"));
    assert_eq!(ann.client.contact_code().await.unwrap(), code, "stable");
    for (format, magic) in [("png", &b"\x89PNG"[..]), ("svg", &b"<?xml"[..])] {
        let path = format!("/api/v1/me/contact-code?format={format}");
        let answer = ann
            .client
            .raw(Method::GET, &path, None, None)
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        assert!(answer.body.starts_with(magic), "{format}");
        assert_eq!(answer.headers["cache-control"], "no-store");
    }
    let odd = ann
        .client
        .raw(
            Method::GET,
            "/api/v1/me/contact-code?format=gif",
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(odd.status, 400);

    let request = bob
        .client
        .request_contact_by_code(&format!("  {code}\n"), Some("met you at the fair"))
        .await
        .expect("asked by code");
    let incoming = ann.client.contact_requests().await.unwrap().requests;
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].request_id, request);
    assert_eq!(incoming[0].from.username, "bob");
    assert_eq!(incoming[0].greeting, "met you at the fair");
    // Asking again is asking again: the same request.
    let again = bob.client.request_contact_by_code(&code, None).await;
    assert_eq!(again.unwrap(), request);

    let fresh = ann.client.reset_contact_code().await.expect("reset");
    assert_ne!(fresh, code);
    assert_eq!(ann.client.contact_code().await.unwrap(), fresh);
    let cat = app.signup("cat").await;
    let old = cat.client.request_contact_by_code(&code, None).await;
    assert_problem(&old.unwrap_err(), 404, "contact_code_not_found");
    cat.client
        .request_contact_by_code(&fresh, None)
        .await
        .expect("the new code works");
    ann.client.accept_request(&request).await.unwrap();
    let contacts = bob.client.request_contact_by_code(&fresh, None).await;
    assert_problem(&contacts.unwrap_err(), 409, "already_contacts");
    app.shut_down().await;
}

#[tokio::test]
async fn asking_by_code_keeps_every_rule_of_asking() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let eve = app.signup("eve").await;
    let code = ann.client.contact_code().await.unwrap();

    let own = ann.client.request_contact_by_code(&code, None).await;
    assert_problem(&own.unwrap_err(), 400, "self_target");

    eve.client.request_contact("ann", None).await.unwrap();
    ann.client.block(&eve.account_id).await.unwrap();
    let blocked = eve.client.request_contact_by_code(&code, None).await;
    assert_problem(&blocked.unwrap_err(), 403, "blocked");

    let long = "g".repeat(201);
    let greeting = eve.client.request_contact_by_code(&code, Some(&long)).await;
    assert_problem(&greeting.unwrap_err(), 400, "invalid_greeting");

    for garbage in ["", "hello", "piazza-login:lr_1:abc", "https://example.com/"] {
        let refused = eve.client.request_contact_by_code(garbage, None).await;
        assert_problem(&refused.unwrap_err(), 400, "invalid_payload");
    }
    let unknown = format!("piazza-contact:{}", "A".repeat(22));
    for nobody in [
        unknown.as_str(),
        "piazza-contact:",
        "piazza-contact:short",
        "piazza-contact:../../etc/passwd",
    ] {
        let refused = eve.client.request_contact_by_code(nobody, None).await;
        assert_problem(&refused.unwrap_err(), 404, "contact_code_not_found");
    }
    for body in [r#"{}"#, r#"{"payload": 7}"#, "nope"] {
        let answer = eve
            .client
            .raw(
                Method::POST,
                "/api/v1/contacts/by-code",
                Some(body.into()),
                Some("application/json"),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{body}");
    }
    // None of it reached ann beyond eve's one request by name, as it was.
    let incoming = ann.client.contact_requests().await.unwrap().requests;
    assert_eq!(incoming.len(), 1, "{incoming:?}");
    assert_eq!(incoming[0].greeting, "", "the refused asks changed nothing");
    app.shut_down().await;
}

#[tokio::test]
async fn guessing_codes_is_cut_short() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let eve = app.signup("eve").await;
    let code = ann.client.contact_code().await.unwrap();
    let mut refused_at = None;
    for attempt in 0..20 {
        let guess = format!("piazza-contact:{:0>22}", attempt);
        match eve.client.request_contact_by_code(&guess, None).await {
            Err(error) if refused_at.is_none() && is_status(&error, 429) => {
                refused_at = Some(attempt);
            }
            Err(error) if refused_at.is_some() => {
                assert_problem(&error, 429, "too_many_contact_code_misses")
            }
            Err(error) => assert_problem(&error, 404, "contact_code_not_found"),
            Ok(request) => panic!("a guess found someone: {request}"),
        }
    }
    assert_eq!(refused_at, Some(10), "ten misses, then refused");
    // Even the right code now waits: a success must not tell a guesser
    // when to stop.
    let right = eve.client.request_contact_by_code(&code, None).await;
    assert_problem(&right.unwrap_err(), 429, "too_many_contact_code_misses");
    // Others are not held back by eve's guesses.
    let bob = app.signup("bob").await;
    bob.client
        .request_contact_by_code(&code, None)
        .await
        .expect("bob's own lookups count for bob");
    app.shut_down().await;
}

fn is_status(error: &piazza_client::ClientError, status: u16) -> bool {
    matches!(error, piazza_client::ClientError::Api { status: got, .. } if *got == status)
}
