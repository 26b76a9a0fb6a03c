//! A shop's product shared into a chat (`product_card`): the message
//! carries the product as it was when shared (title, first picture, price
//! range, shop, public page) and keeps it when the product changes; the
//! members see it in their sync and may fetch its picture's thumbnail; a
//! forward carries it on and a recall takes it back; only a listed
//! product may be shared, and a product id that is not one, one that does
//! not exist, or a card with text or another kind is refused with nothing
//! sent.

use piazza_api::{
    MessageContent, MessageRefView, PatchProduct, PatchVariant, ProductCardView, events,
};

use crate::helpers::*;
use crate::shop_pages::{picture, product, shop_with_logo};

/// Nonna's shop `nonna.pasta` ("Nonna's Pasta") and a product of it with
/// two pictures: `(shop_id, product_id, first picture, first variant)`.
async fn shared_product(nonna: &User) -> (String, String, String, String) {
    let shop = shop_with_logo(nonna, "nonna.pasta", "Nonna's Pasta", "", None).await;
    let first = picture(nonna, 20).await;
    let second = picture(nonna, 21).await;
    let created = product(
        nonna,
        &shop,
        "Tajarin",
        "Egg pasta.",
        vec![first.clone(), second],
    )
    .await;
    let variant = created.variants[0].variant_id.clone();
    (shop, created.product_id, first, variant)
}

fn product_card(product_id: &str) -> MessageContent {
    MessageContent {
        product_id: Some(product_id.to_owned()),
        ..MessageContent::default()
    }
}

/// The product cards of `user`'s log, as its sync shows them.
async fn synced_cards(user: &User) -> Vec<ProductCardView> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events
        .iter()
        .filter(|event| event.type_ == "message.new")
        .filter_map(|event| match event.event().expect("a message.new reads") {
            events::Event::MessageNew(new) => new.message.product,
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_shared_product_arrives_as_it_was_with_a_picture_members_may_fetch() {
    let app = spawn_app().await;
    let nonna = app.signup("nonna").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let dan = app.signup("dan").await;
    let (shop, product_id, first, variant) = shared_product(&nonna).await;
    // Bob is no customer of the shop: a listed product is public.
    let bob_cat = befriend(&bob, &cat).await;
    let (sent, replayed) = bob
        .client
        .share_product(&bob_cat, "b-1", &product_id)
        .await
        .expect("shared");
    assert!(!replayed);
    let expected = ProductCardView {
        product_id: product_id.clone(),
        title: "Tajarin".to_owned(),
        picture_media_id: Some(first.clone()),
        min_price_minor: 1_250,
        max_price_minor: 2_200,
        currency: "CNY".to_owned(),
        shop_id: shop.clone(),
        handle: "nonna.pasta".to_owned(),
        shop_name: "Nonna's Pasta".to_owned(),
        url: format!("/s/nonna.pasta/{product_id}"),
    };
    assert_eq!(synced_cards(&cat).await, vec![expected.clone()]);
    let (again, replayed) = bob
        .client
        .share_product(&bob_cat, "b-1", &product_id)
        .await
        .unwrap();
    assert!(replayed, "the same client_msg_id is the same message");
    assert_eq!(again.message_id, sent.message_id);

    // The card keeps the product as it was: a new title and price later
    // change nothing in it.
    nonna
        .client
        .patch_product(
            &product_id,
            &PatchProduct {
                title: Some("Tajarin al tartufo".to_owned()),
                ..PatchProduct::default()
            },
        )
        .await
        .unwrap();
    let dearer = PatchVariant {
        price_minor: Some(9_900),
        ..PatchVariant::default()
    };
    nonna.client.patch_variant(&variant, &dearer).await.unwrap();
    let shown = cat
        .client
        .message(&bob_cat, &sent.message_id)
        .await
        .unwrap();
    assert_eq!(
        (shown.kind.as_str(), shown.text.as_str()),
        ("product_card", "")
    );
    assert_eq!(shown.product, Some(expected.clone()));

    // Cat, a member, fetches the picture's thumbnail and preview; the
    // whole picture stays its uploader's.
    let thumbnail = cat.client.media_thumbnail(&first).await.expect("thumbnail");
    assert!(thumbnail.content_type.starts_with("image/"));
    let whole = cat.client.media(&first).await.unwrap_err();
    assert_problem(&whole, 404, "media_not_found");

    // A forward carries the card on, as it was shared.
    let cat_dan = befriend(&cat, &dan).await;
    let forward = MessageContent {
        forward_of: Some(MessageRefView {
            conversation_id: bob_cat.clone(),
            message_id: sent.message_id.clone(),
        }),
        ..MessageContent::default()
    };
    cat.client.send(&cat_dan, "c-1", forward).await.unwrap();
    assert_eq!(synced_cards(&dan).await, vec![expected]);

    // A recall takes the card back from every member.
    let recalled = bob
        .client
        .recall_message(&bob_cat, &sent.message_id)
        .await
        .expect("a product card is recalled as any composed message");
    assert!(recalled.recalled && recalled.product.is_none());
    let shown = cat
        .client
        .message(&bob_cat, &sent.message_id)
        .await
        .unwrap();
    assert!(shown.product.is_none(), "{shown:?}");
    app.shut_down().await;
}

#[tokio::test]
async fn an_unlisted_unknown_or_bad_product_is_refused_and_nothing_is_sent() {
    let app = spawn_app().await;
    let nonna = app.signup("nonna").await;
    let bob = app.signup("bob").await;
    let (_, product_id, _, _) = shared_product(&nonna).await;
    let direct = befriend(&nonna, &bob).await;
    for (n, malformed) in ["prd_x", "prd_0", "", "art_1", "prd_99999999999999999999"]
        .into_iter()
        .enumerate()
    {
        let refused = bob
            .client
            .send(&direct, &format!("b-{n}"), product_card(malformed))
            .await
            .unwrap_err();
        assert_problem(&refused, 400, "invalid_product_id");
    }
    let refused = bob.client.send(&direct, "b-10", product_card("prd_999999"));
    assert_problem(&refused.await.unwrap_err(), 404, "product_not_found");
    let worded = MessageContent {
        text: "look".to_owned(),
        ..product_card(&product_id)
    };
    let refused = bob.client.send(&direct, "b-11", worded).await.unwrap_err();
    assert_problem(&refused, 400, "invalid_message");
    let mislabelled = MessageContent {
        kind: Some("article_card".to_owned()),
        ..product_card(&product_id)
    };
    let refused = bob.client.send(&direct, "b-12", mislabelled);
    assert_problem(&refused.await.unwrap_err(), 400, "invalid_kind");
    let both = MessageContent {
        article_id: Some("art_1".to_owned()),
        ..product_card(&product_id)
    };
    let refused = bob.client.send(&direct, "b-13", both).await.unwrap_err();
    assert_problem(&refused, 400, "invalid_message");
    let cat = app.signup("cat").await;
    let refused = cat.client.send(&direct, "c-1", product_card(&product_id));
    assert_problem(&refused.await.unwrap_err(), 403, "not_a_member");

    // Unlisted, it is shared by nobody, its own shop's staff included: a
    // card never shows what buyers cannot see.
    let unlisted = PatchProduct {
        listed: Some(false),
        ..PatchProduct::default()
    };
    nonna
        .client
        .patch_product(&product_id, &unlisted)
        .await
        .unwrap();
    for (user, id) in [(&bob, "b-20"), (&nonna, "n-20")] {
        let refused = user.client.send(&direct, id, product_card(&product_id));
        assert_problem(&refused.await.unwrap_err(), 404, "product_not_found");
    }
    assert_eq!(message_count(&bob, &direct).await, 0);
    assert!(synced_cards(&bob).await.is_empty());

    // Listed again, and the right kind named, it is taken.
    let listed = PatchProduct {
        listed: Some(true),
        ..PatchProduct::default()
    };
    nonna
        .client
        .patch_product(&product_id, &listed)
        .await
        .unwrap();
    let named = MessageContent {
        kind: Some("product_card".to_owned()),
        ..product_card(&product_id)
    };
    bob.client.send(&direct, "b-21", named).await.unwrap();
    assert_eq!(message_count(&nonna, &direct).await, 1);
    app.shut_down().await;
}
