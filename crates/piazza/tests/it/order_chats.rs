//! Each order's own conversation (kind `order`): opened when either side
//! first asks for it, between its buyer and the shop's owner and staff
//! (nobody else may open it, and asking again answers the same one), its first
//! message the order itself; its members chat there as anywhere, nobody
//! else reads or writes it, nothing of groups' applies to it; staff named
//! later join the conversations of the shop's open orders (not of closed
//! ones), and staff removed leave them.

use piazza_api::{MessageContent, OrderItemRequest, OrderView, PlaceOrder, ShippingAddress};
use piazza_client::IdempotencyKey;
use reqwest::Method;

use crate::helpers::*;
use crate::shops::open_shop;
use crate::wallet::{set_pin, top_up};

fn key(name: &str) -> IdempotencyKey {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    IdempotencyKey::parse(&format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed)))
        .expect("a key")
}

async fn place(buyer: &User, shop: &str, variant: &str) -> OrderView {
    let order = PlaceOrder {
        shop_id: shop.to_owned(),
        items: vec![OrderItemRequest {
            variant_id: variant.to_owned(),
            quantity: 1,
        }],
        shipping_address: ShippingAddress {
            name: "Bea Rossi".into(),
            line1: "Via Roma 1".into(),
            city: "Torino".into(),
            country: "IT".into(),
            ..ShippingAddress::default()
        },
    };
    buyer
        .client
        .place_order(&order, &key("place"))
        .await
        .expect("placed")
}

/// The texts `user` reads in `conversation`, oldest first.
async fn texts(user: &User, conversation: &str) -> Vec<String> {
    let page = user
        .client
        .history(conversation, None, Some(50))
        .await
        .expect("a member reads");
    page.messages
        .iter()
        .rev()
        .map(|message| message.text.clone())
        .collect()
}

async fn say(user: &User, conversation: &str, id: &str, text: &str) {
    user.client
        .send(conversation, id, MessageContent::text(text))
        .await
        .expect("a member sends");
}

/// The order's conversation as `user` opens it.
async fn chat(user: &User, order: &OrderView) -> String {
    user.client
        .order_conversation(&order.order_id)
        .await
        .expect("a side of the order opens its conversation")
}

#[tokio::test]
async fn the_buyer_and_the_shop_chat_in_the_orders_conversation_and_no_one_else() {
    let app = crate::wallet::sandbox().await;
    let nonna = app.signup("nonna").await;
    let sal = app.signup("sal").await;
    let bea = app.signup("bea").await;
    let dan = app.signup("dan").await;
    set_pin(&bea).await;
    assert_eq!(top_up(&bea, 10_000, "fund-bea").await.0, 201);
    let (shop, product) = open_shop(&nonna, "nonna.pasta", 10).await;
    befriend(&nonna, &sal).await;
    nonna
        .client
        .set_shop_staff(&shop, &sal.account_id, true)
        .await
        .unwrap();
    let variant = &product.variants[0].variant_id;
    let order = place(&bea, &shop, variant).await;
    // None until a side asks: a shop's list holds the orders talked about.
    assert_eq!(order.conversation_id, None);
    assert!(
        bea.client
            .conversations()
            .await
            .unwrap()
            .conversations
            .is_empty()
    );
    let stranger = dan.client.order_conversation(&order.order_id).await;
    assert_problem(&stranger.unwrap_err(), 404, "order_not_found");
    // The shop opens it; the buyer asking later finds the same one, and
    // both sides see it on the order.
    let conversation = chat(&nonna, &order).await;
    assert_eq!(chat(&bea, &order).await, conversation);
    for side in [&bea, &nonna] {
        let seen = side.client.order(&order.order_id).await.unwrap();
        assert_eq!(seen.conversation_id.as_deref(), Some(conversation.as_str()));
    }

    let listed = bea.client.conversations().await.unwrap().conversations;
    let found = listed
        .iter()
        .find(|c| c.conversation_id == conversation)
        .expect("in the buyer's list");
    assert_eq!(found.kind, "order");
    assert_eq!(found.title, format!("Nonna's Pasta · {}", order.order_id));
    assert_eq!(found.member_count, 3);
    assert_eq!(found.owner, None);
    // Its first message is the order, from the buyer.
    let first = &bea
        .client
        .history(&conversation, None, Some(10))
        .await
        .unwrap()
        .messages[0];
    assert_eq!(
        (
            first.kind.as_str(),
            first.ref_.as_deref(),
            first.sender.as_str()
        ),
        (
            "order",
            Some(order.order_id.as_str()),
            bea.account_id.as_str()
        )
    );

    say(&bea, &conversation, "b-1", "When will it ship?").await;
    say(&nonna, &conversation, "n-1", "Tomorrow morning").await;
    say(&sal, &conversation, "s-1", "Packed already").await;
    let all = vec![
        "Order placed".to_owned(),
        "When will it ship?".to_owned(),
        "Tomorrow morning".to_owned(),
        "Packed already".to_owned(),
    ];
    for member in [&bea, &nonna, &sal] {
        assert_eq!(texts(member, &conversation).await, all);
    }
    let (events, _) = sync_all(&sal.client, None, 200).await;
    assert!(
        events
            .iter()
            .any(|event| event.type_ == "conversation.created"
                && event.fields.get("kind").and_then(|kind| kind.as_str()) == Some("order")),
        "the staff learn of it by sync"
    );

    // A stranger reads, writes and joins nothing.
    let history = dan.client.history(&conversation, None, Some(10)).await;
    assert_problem(&history.unwrap_err(), 403, "not_a_member");
    let sent = dan
        .client
        .send(&conversation, "d-1", MessageContent::text("hi"))
        .await;
    assert_problem(&sent.unwrap_err(), 403, "not_a_member");
    let first_id = first.message_id.clone();
    let one = dan.client.message(&conversation, &first_id).await;
    assert_problem(&one.unwrap_err(), 403, "not_a_member");
    assert!(
        dan.client
            .conversations()
            .await
            .unwrap()
            .conversations
            .is_empty()
    );

    // Nothing of groups' applies: nobody adds, removes, renames or leaves,
    // and the order's own message is neither recalled nor forwarded.
    befriend(&nonna, &dan).await;
    let added = nonna
        .client
        .add_member(&conversation, &dan.account_id)
        .await;
    assert_problem(&added.unwrap_err(), 400, "not_a_group");
    let removed = nonna
        .client
        .remove_member(&conversation, &sal.account_id)
        .await;
    assert_problem(&removed.unwrap_err(), 400, "not_a_group");
    let left = bea
        .client
        .remove_member(&conversation, &bea.account_id)
        .await;
    assert_problem(&left.unwrap_err(), 400, "not_a_group");
    let renamed = nonna
        .client
        .raw(
            Method::PATCH,
            &format!("/api/v1/conversations/{conversation}"),
            Some(br#"{"title":"Mine now"}"#.to_vec()),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_eq!(
        renamed.status,
        400,
        "{:?}",
        String::from_utf8_lossy(&renamed.body)
    );
    let recalled = bea.client.recall_message(&conversation, &first_id).await;
    assert_problem(&recalled.unwrap_err(), 403, "recall_not_allowed");
    let forward = MessageContent {
        forward_of: Some(piazza_api::MessageRefView {
            conversation_id: conversation.clone(),
            message_id: first_id.clone(),
        }),
        ..MessageContent::default()
    };
    let forwarded = bea.client.send(&conversation, "b-9", forward).await;
    assert_problem(&forwarded.unwrap_err(), 403, "forward_not_allowed");
    assert_eq!(texts(&bea, &conversation).await, all);
    admin_check_passes("check", app.data_dir());
    app.shut_down().await;
}

#[tokio::test]
async fn staff_named_later_join_open_orders_conversations_and_leave_when_removed() {
    let app = crate::wallet::sandbox().await;
    let nonna = app.signup("nonna").await;
    let sal = app.signup("sal").await;
    let bea = app.signup("bea").await;
    let (shop, product) = open_shop(&nonna, "nonna.pasta", 10).await;
    let variant = &product.variants[0].variant_id;
    let open = place(&bea, &shop, variant).await;
    let closed = place(&bea, &shop, variant).await;
    bea.client
        .cancel_order(&closed.order_id, &key("cancel"))
        .await
        .unwrap();
    let (open_chat, closed_chat) = (chat(&bea, &open).await, chat(&bea, &closed).await);
    say(&bea, &open_chat, "b-1", "before Sal").await;

    befriend(&nonna, &sal).await;
    nonna
        .client
        .set_shop_staff(&shop, &sal.account_id, true)
        .await
        .unwrap();
    // Sal joins the open order's conversation, from now on, and not the
    // closed one's.
    assert!(texts(&sal, &open_chat).await.is_empty());
    say(&bea, &open_chat, "b-2", "hello Sal").await;
    assert_eq!(texts(&sal, &open_chat).await, ["hello Sal"]);
    let history = sal.client.history(&closed_chat, None, Some(10)).await;
    assert_problem(&history.unwrap_err(), 403, "not_a_member");
    let (events, _) = sync_all(&bea.client, None, 500).await;
    assert!(
        events
            .iter()
            .any(|event| event.type_ == "conversation.member_added"
                && event.fields.get("account_id").and_then(|id| id.as_str())
                    == Some(sal.account_id.as_str())),
        "the buyer learns who joined"
    );
    // And is in every new order's from the start.
    let newer = place(&bea, &shop, variant).await;
    let newer_chat = chat(&bea, &newer).await;
    assert_eq!(texts(&sal, &newer_chat).await, ["Order placed"]);

    // Removed, Sal leaves them all; the buyer and the owner stay.
    nonna
        .client
        .set_shop_staff(&shop, &sal.account_id, false)
        .await
        .unwrap();
    for chat in [&open_chat, &newer_chat] {
        let history = sal.client.history(chat, None, Some(10)).await;
        assert_problem(&history.unwrap_err(), 403, "not_a_member");
        let sent = sal
            .client
            .send(chat, "s-9", MessageContent::text("still here?"));
        assert_problem(&sent.await.unwrap_err(), 403, "not_a_member");
        say(&bea, chat, &format!("b-{chat}"), "just us").await;
        assert_eq!(texts(&nonna, chat).await.last().unwrap(), "just us");
    }
    admin_check_passes("check", app.data_dir());
    app.shut_down().await;
}
