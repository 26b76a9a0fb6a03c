//! The isolation matrix (api-v1 guarantee 4): one account owns one of
//! everything that has an id, and a stranger tries every endpoint that
//! takes such an id. Each attempt must be refused as the route documents
//! (403 or 404), with exactly the answer an id that does not exist gets
//! (so refusals do not reveal what exists), with nothing of the owner's in
//! the problem body, and with nothing changed.
//!
//! A new area adds its ids to `Owned`, its endpoints to `attempts` and what
//! it must leave unchanged to `snapshot`; nothing else.
//!
//! Shops are public (anyone reads a shop, and its page is on the web), so
//! a change to one refused with the 403 of one who is not its owner or
//! staff says nothing that was not known; those attempts name the answer
//! a missing shop gets instead (`Attempt::public`). A shop's orders are
//! tried twice: by the stranger, and by eve, who bought from the same
//! shop (a buyer of another order).

use piazza_api::{
    ClientFrame, CreateProduct, CreateShop, NewVariant, OrderItemRequest, PatchProduct, PlaceOrder,
    ServerFrame, ShippingAddress,
};
use piazza_client::{IdempotencyKey, Incoming};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::merchants::{collect, merchant_balance, payload, payment_code};
use crate::wallet::{PIN, balance, call, set_pin, top_up};

/// Amounts nobody else uses, so a problem body that echoes one is caught.
const TOP_UP_MINOR: i64 = 97_531;
const TRANSFER_MINOR: i64 = 4_321;
const RED_PACKET_MINOR: i64 = 777;
const PAYMENT_MINOR: i64 = 1_357;
const COLLECTION_MINOR: i64 = 2_468;
const PRICE_MINOR: i64 = 1_113;
const ASKED_BACK_MINOR: i64 = 864;

/// What ann (the owner) holds, by kind of id.
struct Owned {
    ann: User,
    cat: User,
    dan: User,
    direct: String,
    group: String,
    /// Ann's message in the direct conversation.
    message: String,
    /// A picture and a file ann sent cat (so cat may fetch them, and
    /// nobody else).
    picture: String,
    file: String,
    phone_device: String,
    request: String,
    transfer: String,
    red_packet: String,
    merchant: String,
    payment_done: String,
    payment_waiting: String,
    /// A QR log-in a page asked for, and the page's secret; its code is
    /// on the page's screen only.
    login_request: String,
    login_secret: String,
    /// Ann's post in Moments (cat may see it), with a comment of cat's.
    moment: String,
    moment_comment: String,
    /// Ann's channel's article, and cat's comment on it, held.
    article: String,
    held_comment: String,
    /// Ann's shop, and the rest of what `ShopOwned` holds.
    shop: ShopOwned,
    /// An export ann asked for: everything she holds.
    export: String,
}

/// Ann's shop: a listed product and an unlisted one (a variant each), and
/// cat's order, paid, with a refund request waiting for the shop.
struct ShopOwned {
    shop: String,
    product: String,
    variant: String,
    unlisted_product: String,
    unlisted_variant: String,
    order: String,
}

/// One attempt of the stranger: the request, the id it aims at, that id's
/// kind (for the id that does not exist), and the refusal the route
/// documents.
struct Attempt {
    method: Method,
    /// With `{id}` where the aimed id goes.
    path: &'static str,
    id: String,
    prefix: &'static str,
    body: Option<Value>,
    status: u16,
    code: &'static str,
    /// For a public id (a shop), the different answer a missing one gets.
    missing: Option<(u16, &'static str)>,
}

fn attempt(
    method: Method,
    path: &'static str,
    id: &str,
    prefix: &'static str,
    body: Option<Value>,
    (status, code): (u16, &'static str),
) -> Attempt {
    Attempt {
        method,
        path,
        id: id.to_owned(),
        prefix,
        body,
        status,
        code,
        missing: None,
    }
}

impl Attempt {
    /// An attempt on a public id (a shop), which may be refused as it
    /// exists (403) where a missing one is not found: `missing`.
    fn public(self, missing: (u16, &'static str)) -> Attempt {
        Attempt {
            missing: Some(missing),
            ..self
        }
    }
}

const NOT_A_MEMBER: (u16, &str) = (403, "not_a_member");
/// The `code` of an answer without a body.
const NO_BODY: &str = "";

/// Every endpoint that takes an id, aimed at ann's ids by `bob`.
fn attempts(owned: &Owned, bob: &User) -> Vec<Attempt> {
    let mut attempts = vec![
        attempt(
            Method::DELETE,
            "/api/v1/devices/{id}",
            &owned.phone_device,
            "dev_",
            None,
            (404, "device_not_found"),
        ),
        attempt(
            Method::POST,
            "/api/v1/contacts/requests/{id}/accept",
            &owned.request,
            "req_",
            None,
            (404, "request_not_found"),
        ),
    ];
    // Bob "removing" ann and cat, who are each other's contacts, not his:
    // removal is idempotent (204) whether the account exists or not, so it
    // tells nothing, and it must change nothing.
    for account in [&owned.ann.account_id, &owned.cat.account_id] {
        attempts.push(attempt(
            Method::DELETE,
            "/api/v1/contacts/{id}",
            account,
            "acct_",
            None,
            (204, NO_BODY),
        ));
        // A remark is for one's own contacts only; ann's remark for cat
        // (in the snapshot's contacts list) stays hers.
        attempts.push(attempt(
            Method::PATCH,
            "/api/v1/contacts/{id}",
            account,
            "acct_",
            Some(json!({"remark": "mine now"})),
            (404, "contact_not_found"),
        ));
    }
    // Media sent to someone else: the bytes, the variants, a range of
    // them; a file is not a picture, and is refused the same.
    for media in [&owned.picture, &owned.file] {
        for path in [
            "/api/v1/media/{id}",
            "/api/v1/media/{id}/thumbnail",
            "/api/v1/media/{id}/preview",
        ] {
            let not_found = (404, "media_not_found");
            attempts.push(attempt(Method::GET, path, media, "med_", None, not_found));
        }
    }
    for conversation in [&owned.direct, &owned.group] {
        attempts.extend([
            attempt(
                Method::GET,
                "/api/v1/conversations/{id}/messages",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::GET,
                "/api/v1/conversations/{id}/messages?before=2&limit=200",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::POST,
                "/api/v1/conversations/{id}/messages",
                conversation,
                "conv_",
                Some(json!({ "client_msg_id": "intrude-1", "text": "let me in" })),
                NOT_A_MEMBER,
            ),
            attempt(
                Method::POST,
                "/api/v1/conversations/{id}/read",
                conversation,
                "conv_",
                Some(json!({ "seq": 1 })),
                NOT_A_MEMBER,
            ),
            attempt(
                Method::POST,
                "/api/v1/conversations/{id}/members",
                conversation,
                "conv_",
                Some(json!({ "account_id": bob.account_id })),
                NOT_A_MEMBER,
            ),
            attempt(
                Method::PATCH,
                "/api/v1/conversations/{id}",
                conversation,
                "conv_",
                Some(json!({ "title": "bob's now", "avatar_media_id": null })),
                NOT_A_MEMBER,
            ),
            attempt(
                Method::POST,
                "/api/v1/conversations/{id}/messages/MSG/recall",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::DELETE,
                "/api/v1/conversations/{id}/messages/MSG",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::POST,
                "/api/v1/conversations/{id}/messages/MSG/reactions",
                conversation,
                "conv_",
                Some(json!({ "emoji": "👍" })),
                NOT_A_MEMBER,
            ),
            attempt(
                Method::DELETE,
                "/api/v1/conversations/{id}/messages/MSG/reactions/%F0%9F%91%8D",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::GET,
                "/api/v1/conversations/{id}/messages/MSG",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::PATCH,
                "/api/v1/conversations/{id}/settings",
                conversation,
                "conv_",
                Some(json!({ "pinned": true, "muted": true })),
                NOT_A_MEMBER,
            ),
            // Group administration: the view, leaving, inviting and the
            // pending requests (announcing is the PATCH above, whose
            // attempts the group-change rate already counts).
            attempt(
                Method::GET,
                "/api/v1/conversations/{id}",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::POST,
                "/api/v1/conversations/{id}/leave",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::POST,
                "/api/v1/conversations/{id}/invites",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
            attempt(
                Method::GET,
                "/api/v1/conversations/{id}/join-requests",
                conversation,
                "conv_",
                None,
                NOT_A_MEMBER,
            ),
        ]);
    }
    // Ann's and cat's profiles: bob shares nothing with them, not even a
    // request, so he learns nothing, not even that they exist.
    for account in [&owned.ann.account_id, &owned.cat.account_id] {
        attempts.push(attempt(
            Method::GET,
            "/api/v1/accounts/{id}",
            account,
            "acct_",
            None,
            (404, "account_not_found"),
        ));
        // Unblocking someone bob never blocked changes nothing, and says
        // nothing of whether they exist.
        attempts.push(attempt(
            Method::DELETE,
            "/api/v1/blocks/{id}",
            account,
            "acct_",
            None,
            (204, NO_BODY),
        ));
    }
    // Declining ann's request to dan, which bob did not receive.
    attempts.push(attempt(
        Method::POST,
        "/api/v1/contacts/requests/{id}/decline",
        &owned.request,
        "req_",
        None,
        (404, "request_not_found"),
    ));
    // Removing ann or cat from ann's conversations, and "leaving" them.
    for (conversation, member) in [
        (&owned.direct, &owned.cat.account_id),
        (&owned.group, &owned.cat.account_id),
        (&owned.group, &owned.ann.account_id),
        (&owned.group, &bob.account_id),
    ] {
        let path: &'static str = match member {
            m if *m == owned.cat.account_id => "/api/v1/conversations/{id}/members/CAT",
            m if *m == owned.ann.account_id => "/api/v1/conversations/{id}/members/ANN",
            _ => "/api/v1/conversations/{id}/members/BOB",
        };
        attempts.push(attempt(
            Method::DELETE,
            path,
            conversation,
            "conv_",
            None,
            NOT_A_MEMBER,
        ));
    }
    for path in [
        "/api/v1/transfers/{id}",
        "/api/v1/transfers/{id}/accept",
        "/api/v1/transfers/{id}/decline",
    ] {
        let method = if path.ends_with("{id}") {
            Method::GET
        } else {
            Method::POST
        };
        attempts.push(attempt(
            method,
            path,
            &owned.transfer,
            "trf_",
            None,
            (404, "transfer_not_found"),
        ));
    }
    for (method, path) in [
        (Method::GET, "/api/v1/red-packets/{id}"),
        (Method::POST, "/api/v1/red-packets/{id}/claim"),
    ] {
        attempts.push(attempt(
            method,
            path,
            &owned.red_packet,
            "rpk_",
            None,
            (404, "red_packet_not_found"),
        ));
    }
    for (method, path, body) in [
        (Method::GET, "/api/v1/merchants/{id}", None),
        (Method::GET, "/api/v1/merchants/{id}/qr", None),
        (
            Method::GET,
            "/api/v1/merchants/{id}/qr?format=payload&amount_minor=100",
            None,
        ),
        (Method::GET, "/api/v1/merchants/{id}/qr?format=svg", None),
        (
            Method::POST,
            "/api/v1/merchants/{id}/collect",
            // Filled in by the caller with bob's own payment code.
            Some(json!({ "amount_minor": 100 })),
        ),
    ] {
        attempts.push(attempt(
            method,
            path,
            &owned.merchant,
            "mer_",
            body,
            (404, "merchant_not_found"),
        ));
    }
    for payment in [&owned.payment_done, &owned.payment_waiting] {
        for (method, path, body) in [
            (Method::GET, "/api/v1/payments/{id}", None),
            (
                Method::POST,
                "/api/v1/payments/{id}/confirm",
                Some(json!({ "pin": PIN })),
            ),
            (Method::POST, "/api/v1/payments/{id}/decline", None),
            (
                Method::POST,
                "/api/v1/payments/{id}/refunds",
                Some(json!({ "amount_minor": 1 })),
            ),
        ] {
            attempts.push(attempt(
                method,
                path,
                payment,
                "pay_",
                body,
                (404, "payment_not_found"),
            ));
        }
    }
    // A QR log-in's id alone, without the code on the page's screen (or
    // the page's secret), shows and approves nothing.
    for (method, path, body) in [
        (
            Method::GET,
            "/api/v1/login-requests/{id}/details?code=guess",
            None,
        ),
        (
            Method::POST,
            "/api/v1/login-requests/{id}/approve",
            Some(json!({ "code": "guess", "confirm": true })),
        ),
        (
            Method::GET,
            "/api/v1/login-requests/{id}?secret=guess",
            None,
        ),
    ] {
        attempts.push(attempt(
            method,
            path,
            &owned.login_request,
            "lr_",
            body,
            (404, "login_request_not_found"),
        ));
    }
    for (method, path) in [
        (Method::GET, "/api/v1/exports/{id}"),
        (Method::GET, "/api/v1/exports/{id}/download"),
        (Method::POST, "/api/v1/exports/{id}/link"),
    ] {
        attempts.push(attempt(
            method,
            path,
            &owned.export,
            "exp_",
            None,
            (404, "export_not_found"),
        ));
    }
    moment_attempts(owned, &mut attempts);
    shop_attempts(&owned.shop, &mut attempts);
    attempts.extend(order_attempts(&owned.shop));
    attempts
}

/// Changes to ann's shop, products and variants by one who is not its
/// staff: a shop is public, so the owner's and staff's work is 403; a
/// product's and a variant's changes are 404, as if they did not exist;
/// an unlisted product is 404 even to read, cannot go in a cart, and an
/// order naming its variant is 404 as one naming no variant.
fn shop_attempts(shop: &ShopOwned, attempts: &mut Vec<Attempt>) {
    let shop_not_found = (404, "shop_not_found");
    let product = json!({ "title": "bob's now", "variants": [
        { "sku": "BOB-1", "name": "bob's", "price_minor": 1, "stock": 1 }] });
    attempts.extend([
        attempt(
            Method::POST,
            "/api/v1/shops/{id}/products",
            &shop.shop,
            "shop_",
            Some(product),
            (403, "not_shop_staff"),
        )
        .public(shop_not_found),
        attempt(
            Method::PUT,
            "/api/v1/shops/{id}/staff/BOB",
            &shop.shop,
            "shop_",
            None,
            (403, "not_shop_owner"),
        )
        .public(shop_not_found),
        attempt(
            Method::DELETE,
            "/api/v1/shops/{id}/staff/CAT",
            &shop.shop,
            "shop_",
            None,
            (403, "not_shop_owner"),
        )
        .public(shop_not_found),
        // The shop's orders, which only its owner and staff see.
        attempt(
            Method::GET,
            "/api/v1/orders?role=shop&shop_id={id}",
            &shop.shop,
            "shop_",
            None,
            shop_not_found,
        ),
        attempt(
            Method::GET,
            "/api/v1/products/{id}",
            &shop.unlisted_product,
            "prd_",
            None,
            (404, "product_not_found"),
        ),
    ]);
    for product in [&shop.product, &shop.unlisted_product] {
        attempts.push(attempt(
            Method::PATCH,
            "/api/v1/products/{id}",
            product,
            "prd_",
            Some(json!({ "title": "bob's now", "listed": true })),
            (404, "product_not_found"),
        ));
    }
    for variant in [&shop.variant, &shop.unlisted_variant] {
        for body in [json!({ "stock": 0 }), json!({ "price_minor": 1 })] {
            attempts.push(attempt(
                Method::PATCH,
                "/api/v1/variants/{id}",
                variant,
                "var_",
                Some(body),
                (404, "variant_not_found"),
            ));
        }
    }
    attempts.push(attempt(
        Method::PUT,
        "/api/v1/cart/items",
        &shop.unlisted_variant,
        "var_",
        Some(json!({ "variant_id": "{id}", "quantity": 1 })),
        (404, "variant_not_found"),
    ));
    let address = json!({ "name": "Bob", "line1": "1 Road", "city": "Town", "country": "IT" });
    attempts.push(attempt(
        Method::POST,
        "/api/v1/orders",
        &shop.unlisted_variant,
        "var_",
        Some(json!({ "shop_id": shop.shop, "shipping_address": address,
            "items": [{ "variant_id": "{id}", "quantity": 1 }] })),
        (404, "variant_not_found"),
    ));
}

/// Every move of cat's order, and reading it: to anyone but its buyer
/// and its shop's staff, the order does not exist.
fn order_attempts(shop: &ShopOwned) -> Vec<Attempt> {
    [
        (Method::GET, "/api/v1/orders/{id}", None),
        (Method::POST, "/api/v1/orders/{id}/conversation", None),
        (
            Method::POST,
            "/api/v1/orders/{id}/pay",
            Some(json!({ "pin": PIN })),
        ),
        (
            Method::POST,
            "/api/v1/orders/{id}/ship",
            Some(json!({ "carrier": "Poste", "tracking": "RR1" })),
        ),
        (Method::POST, "/api/v1/orders/{id}/confirm", None),
        (Method::POST, "/api/v1/orders/{id}/cancel", None),
        (
            Method::POST,
            "/api/v1/orders/{id}/refund-requests",
            Some(json!({ "amount_minor": 1, "reason": "mine now" })),
        ),
        (
            Method::POST,
            "/api/v1/orders/{id}/refund-requests/0/approve",
            None,
        ),
        (
            Method::POST,
            "/api/v1/orders/{id}/refund-requests/0/reject",
            None,
        ),
    ]
    .into_iter()
    .map(|(method, path, body)| {
        attempt(
            method,
            path,
            &shop.order,
            "ord_",
            body,
            (404, "order_not_found"),
        )
    })
    .collect()
}

/// Ann's post and cat's comment on it, her channel's held comment: a
/// stranger may not see the post, so every one of these is the 404 (or
/// the 403 of one who manages no channel) a missing id gets.
fn moment_attempts(owned: &Owned, attempts: &mut Vec<Attempt>) {
    let not_found = (404, "moment_not_found");
    for (method, path, body) in [
        (Method::GET, "/api/v1/moments/{id}", None),
        (Method::DELETE, "/api/v1/moments/{id}", None),
        (Method::POST, "/api/v1/moments/{id}/likes", None),
        (Method::DELETE, "/api/v1/moments/{id}/likes", None),
        (
            Method::POST,
            "/api/v1/moments/{id}/comments",
            Some(json!({ "text": "let me in" })),
        ),
    ] {
        attempts.push(attempt(
            method,
            path,
            &owned.moment,
            "mom_",
            body,
            not_found,
        ));
    }
    attempts.push(attempt(
        Method::DELETE,
        "/api/v1/moments/MOMENT/comments/{id}",
        &owned.moment_comment,
        "cmt_",
        None,
        not_found,
    ));
    for method in [Method::POST, Method::DELETE] {
        attempts.push(attempt(
            method,
            "/api/v1/articles/ARTICLE/comments/{id}/feature",
            &owned.held_comment,
            "cmt_",
            None,
            (403, "not_channel_editor"),
        ));
    }
    for account in [&owned.ann.account_id, &owned.cat.account_id] {
        attempts.push(attempt(
            Method::GET,
            "/api/v1/accounts/{id}/moments",
            account,
            "acct_",
            None,
            (404, "account_not_found"),
        ));
    }
}

/// What must not change, read by the owners themselves.
async fn snapshot(owned: &Owned) -> Value {
    let (ann, cat) = (&owned.ann, &owned.cat);
    let get = |user: &User, path: String| {
        let client = user.client.clone();
        async move {
            let (status, body) = call(&client, Method::GET, &path, None, None).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let devices: Vec<Value> = get(ann, "/api/v1/devices".into()).await["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|device| json!([device["device_id"], device["device_name"]]))
        .collect();
    json!({
        "ann_balance": balance(ann).await,
        "cat_balance": balance(cat).await,
        "merchant_balance": merchant_balance(ann, &owned.merchant).await,
        "ann_devices": devices,
        "ann_contacts": get(ann, "/api/v1/contacts".into()).await,
        "cat_contacts": get(cat, "/api/v1/contacts".into()).await,
        "dan_requests": get(&owned.dan, "/api/v1/contacts/requests".into()).await,
        "ann_outgoing": get(ann, "/api/v1/contacts/requests/outgoing".into()).await,
        "ann_profile": get(ann, "/api/v1/me".into()).await,
        "ann_conversations": get(ann, "/api/v1/conversations".into()).await,
        "cat_conversations": get(cat, "/api/v1/conversations".into()).await,
        "direct": get(ann, format!("/api/v1/conversations/{}/messages?limit=200", owned.direct)).await,
        "group": get(ann, format!("/api/v1/conversations/{}/messages?limit=200", owned.group)).await,
        "transfer": get(ann, format!("/api/v1/transfers/{}", owned.transfer)).await,
        "red_packet": get(ann, format!("/api/v1/red-packets/{}", owned.red_packet)).await,
        "payment_done": get(ann, format!("/api/v1/payments/{}", owned.payment_done)).await,
        "payment_waiting": get(cat, format!("/api/v1/payments/{}", owned.payment_waiting)).await,
        "login_request": owned.ann.client
            .login_request_status(&owned.login_request, &owned.login_secret)
            .await
            .expect("the page reads its request")
            .status,
        "moment": get(cat, format!("/api/v1/moments/{}", owned.moment)).await,
        "held_comments": get(ann, format!("/api/v1/articles/{}/comments?status=held", owned.article)).await,
        "shop": get(ann, format!("/api/v1/shops/{}", owned.shop.shop)).await,
        "shop_products": get(ann, format!("/api/v1/products?shop_id={}", owned.shop.shop)).await,
        "shop_orders": get(ann, "/api/v1/orders?role=shop".into()).await,
        "order": get(cat, format!("/api/v1/orders/{}", owned.shop.order)).await,
        "cat_cart": get(cat, "/api/v1/cart".into()).await,
        "ann_statement": statement_entries(&ann.client).await,
        "ann_log": sync_all(&ann.client, None, 200).await.0.len(),
        "cat_log": sync_all(&cat.client, None, 200).await.0.len(),
    })
}

/// Ann with one of everything; cat her contact (and customer); dan with a
/// pending request from her. Collections above 10.00 wait for the buyer.
async fn owner_with_one_of_everything(app: &TestApp) -> Owned {
    let ann = app.signup("ann").await;
    let cat = app.signup("cat").await;
    let dan = app.signup("dan").await;
    let phone = app.login("ann", "ann's phone").await;
    let direct = befriend(&ann, &cat).await;
    ann.client
        .set_remark(&cat.account_id, Some("ann's name for cat"))
        .await
        .expect("remark set");
    let group = ann
        .client
        .create_group("Ann's circle", std::slice::from_ref(&cat.account_id))
        .await
        .expect("group created");
    let mut sent = Vec::new();
    for (conversation, id) in [(&direct, "m1"), (&group, "m2")] {
        let (message, _) = ann
            .client
            .send_message(conversation, id, "ann's secret plans")
            .await
            .expect("message sent");
        sent.push(message.message_id);
    }
    let (picture, file) = media_sent_to(&ann, &direct).await;
    let request = ann
        .client
        .request_contact("dan", Some("hi dan"))
        .await
        .expect("request sent");
    for (user, key) in [(&ann, "fund-ann"), (&cat, "fund-cat")] {
        set_pin(user).await;
        let (status, body) = top_up(user, TOP_UP_MINOR, key).await;
        assert_eq!(status, 201, "{body}");
    }
    let post = |user: &User, path: &str, body: Value, key: &str| {
        let (client, path, key) = (user.client.clone(), path.to_owned(), key.to_owned());
        async move {
            let (status, body) = call(&client, Method::POST, &path, Some(body), Some(&key)).await;
            assert_eq!(status, 201, "{path}: {body}");
            body
        }
    };
    let transfer = post(
        &ann,
        "/api/v1/transfers",
        json!({ "to": cat.account_id, "amount_minor": TRANSFER_MINOR, "pin": PIN, "note": "rent" }),
        "t1",
    )
    .await["transfer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let red_packet = post(
        &ann,
        "/api/v1/red-packets",
        json!({ "conversation_id": group, "total_minor": RED_PACKET_MINOR, "count": 2,
                "mode": "lucky", "pin": PIN, "greeting": "for my circle" }),
        "rp1",
    )
    .await["red_packet_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let merchant = post(
        &ann,
        "/api/v1/merchants",
        json!({ "name": "Ann's Noodles", "city": "Shanghai" }),
        "m1",
    )
    .await["merchant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = payload(&ann, &merchant, None).await;
    let payment_done = post(
        &cat,
        "/api/v1/payments",
        json!({ "qr_payload": code, "amount_minor": PAYMENT_MINOR, "pin": PIN }),
        "p1",
    )
    .await["payment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cat_code = payment_code(&cat).await;
    let waiting = collect(&ann, &merchant, &cat_code, COLLECTION_MINOR, "c1").await;
    assert_eq!(waiting.0, 201, "{}", waiting.1);
    assert_eq!(waiting.1["status"], "needs_confirmation", "{}", waiting.1);
    let (moment, moment_comment, article, held_comment) = post_and_article(&ann, &cat).await;
    let shop = shop_with_an_order(&ann, &cat).await;
    let export = ann.client.start_export().await.expect("export asked for");
    let login = app
        .anonymous()
        .create_login_request(Some("ann's kitchen"))
        .await
        .expect("login request created");
    Owned {
        login_request: login.request_id,
        login_secret: login.secret,
        phone_device: phone.device_id,
        ann,
        cat,
        dan,
        direct,
        group,
        message: sent.swap_remove(0),
        picture,
        file,
        request,
        transfer,
        red_packet,
        merchant,
        payment_done,
        payment_waiting: waiting.1["payment_id"].as_str().unwrap().to_owned(),
        moment,
        moment_comment,
        article,
        held_comment,
        shop,
        export: export.export_id,
    }
}

fn key(name: &str) -> IdempotencyKey {
    IdempotencyKey::parse(name).expect("a valid key")
}

/// Where `buyer`'s orders go.
fn address(buyer: &str) -> ShippingAddress {
    ShippingAddress {
        name: format!("{buyer}'s secret plans"),
        line1: "Via Roma 1".to_owned(),
        city: "Torino".to_owned(),
        country: "IT".to_owned(),
        ..ShippingAddress::default()
    }
}

/// Places and pays an order of one unit of `variant` by `buyer`.
async fn bought(buyer: &User, shop: &str, variant: &str) -> String {
    let order = PlaceOrder {
        shop_id: shop.to_owned(),
        items: vec![OrderItemRequest {
            variant_id: variant.to_owned(),
            quantity: 1,
        }],
        shipping_address: address(&buyer.username),
    };
    let placed = buyer
        .client
        .place_order(&order, &key(&format!("place-{}", buyer.username)))
        .await
        .expect("order placed");
    buyer
        .client
        .pay_order(
            &placed.order_id,
            PIN,
            &key(&format!("pay-{}", buyer.username)),
        )
        .await
        .expect("order paid");
    placed.order_id
}

/// Ann's shop with a listed and an unlisted product, and cat's order of
/// the listed one, paid, with a refund request waiting for the shop.
async fn shop_with_an_order(ann: &User, cat: &User) -> ShopOwned {
    let shop = CreateShop {
        handle: "ann.pasta".to_owned(),
        name: "Ann's Pasta".to_owned(),
        description: "ann's secret plans, for sale".to_owned(),
        logo_media_id: None,
    };
    let shop = ann.client.create_shop(&shop).await.expect("shop").shop_id;
    let product = |title: &str, sku: &str| CreateProduct {
        title: title.to_owned(),
        description: String::new(),
        media_ids: Vec::new(),
        variants: vec![NewVariant {
            sku: sku.to_owned(),
            name: "secret plans".to_owned(),
            price_minor: PRICE_MINOR,
            stock: 10,
        }],
    };
    let added = |product: CreateProduct| {
        let (client, shop) = (ann.client.clone(), shop.clone());
        async move { client.add_product(&shop, &product).await.expect("added") }
    };
    let listed = added(product("Ann's tajarin", "TAJ-1")).await;
    let unlisted = added(product("Ann's secret recipe", "SECRET-1")).await;
    let hide = PatchProduct {
        listed: Some(false),
        ..PatchProduct::default()
    };
    ann.client
        .patch_product(&unlisted.product_id, &hide)
        .await
        .expect("unlisted");
    let variant = listed.variants[0].variant_id.clone();
    let order = bought(cat, &shop, &variant).await;
    cat.client
        .request_refund(
            &order,
            ASKED_BACK_MINOR,
            "cat's secret plans",
            &key("ask-cat"),
        )
        .await
        .expect("refund asked");
    ShopOwned {
        shop,
        product: listed.product_id,
        variant,
        unlisted_product: unlisted.product_id,
        unlisted_variant: unlisted.variants[0].variant_id.clone(),
        order,
    }
}

/// Ann's post, cat's comment on it, ann's channel's article and cat's
/// held comment on that: (post, its comment, article, held comment).
async fn post_and_article(ann: &User, cat: &User) -> (String, String, String, String) {
    let post = piazza_api::NewMoment {
        text: "ann's secret plans, posted".to_owned(),
        ..piazza_api::NewMoment::default()
    };
    let moment = ann
        .client
        .post_moment(&post)
        .await
        .expect("posted")
        .moment_id;
    let comment = cat
        .client
        .comment_moment(&moment, "cat's secret plans too", None)
        .await
        .expect("commented")
        .comment_id;
    let channel = piazza_api::CreateChannel {
        handle: "ann.circle".to_owned(),
        name: "Ann's circle".to_owned(),
        description: String::new(),
        avatar_media_id: None,
    };
    let channel = ann
        .client
        .create_channel(&channel)
        .await
        .expect("channel created")
        .channel_id;
    let article = piazza_api::PublishArticle {
        title: "Open to all".to_owned(),
        body_markdown: "Anyone may read this.".to_owned(),
        cover_media_id: None,
    };
    let article = ann
        .client
        .publish_article(&channel, &article)
        .await
        .expect("published")
        .article_id;
    let held = cat
        .client
        .comment_article(&article, "cat's secret plans, held")
        .await
        .expect("commented")
        .comment_id;
    (moment, comment, article, held)
}

/// Ann uploads a picture and a file and sends both into `direct`.
async fn media_sent_to(ann: &User, direct: &str) -> (String, String) {
    let (picture, _) = ann
        .client
        .upload_media(crate::media::TINY_PNG.to_vec(), "image/png")
        .await
        .expect("picture uploaded");
    ann.client
        .send_image(direct, "m3", &picture.media_id, "ann's secret plans")
        .await
        .expect("picture sent");
    let notes = b"ann's secret plans, in a file".to_vec();
    let (file, _) = ann
        .client
        .upload_file(notes, Some("plans.txt"))
        .await
        .expect("file uploaded");
    let content = piazza_api::MessageContent {
        kind: Some("file".into()),
        media_id: Some(file.media_id.clone()),
        ..piazza_api::MessageContent::text("")
    };
    ann.client
        .send(direct, "m4", content)
        .await
        .expect("file sent");
    (picture.media_id, file.media_id)
}

/// Everything of the owners' that must not appear in a stranger's
/// problem body, except the one id the stranger sent.
fn secrets(owned: &Owned) -> Vec<String> {
    let mut secrets: Vec<String> = [
        "ann",
        "cat",
        "dan",
        "secret plans",
        "circle",
        "Noodles",
        "rent",
        &owned.ann.account_id,
        &owned.cat.account_id,
        &owned.dan.account_id,
        &owned.ann.device_id,
        &owned.direct,
        &owned.group,
        &owned.phone_device,
        &owned.request,
        &owned.transfer,
        &owned.red_packet,
        &owned.merchant,
        &owned.payment_done,
        &owned.payment_waiting,
        &owned.login_request,
        &owned.login_secret,
        &owned.moment,
        &owned.moment_comment,
        &owned.held_comment,
        "Pasta",
        "tajarin",
        "recipe",
        &owned.shop.product,
        &owned.shop.variant,
        &owned.shop.unlisted_product,
        &owned.shop.unlisted_variant,
        &owned.shop.order,
    ]
    .iter()
    .map(|secret| (*secret).to_owned())
    .collect();
    for amount in [
        TOP_UP_MINOR,
        TOP_UP_MINOR - TRANSFER_MINOR - RED_PACKET_MINOR,
        TRANSFER_MINOR,
        RED_PACKET_MINOR,
        PAYMENT_MINOR,
        COLLECTION_MINOR,
        PRICE_MINOR,
        ASKED_BACK_MINOR,
    ] {
        secrets.push(amount.to_string());
    }
    secrets
}

/// Whether `text` shows `secret` as a word of its own: "ann" in
/// "channel" is no leak of ann's name.
fn leaks(text: &str, secret: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(secret).any(|(at, _)| {
        !word(text[..at].chars().next_back()) && !word(text[at + secret.len()..].chars().next())
    })
}

/// `body` with `sent` (the id the stranger chose) blanked, so the secrets
/// check and the comparison with a missing id see through it.
fn without(body: &Value, sent: &str) -> String {
    body.to_string().replace(sent, "<ID>")
}

/// An attempt's route: query variants and member ids count once.
fn route_of(attempt: &Attempt) -> (String, String) {
    let route = attempt.path.split('?').next().unwrap_or_default();
    let route = ["CAT", "ANN", "BOB"]
        .iter()
        .fold(route.to_owned(), |route, who| {
            route.replace(who, "{account_id}")
        })
        .replace("MSG", "{message_id}")
        .replace("MOMENT", "{moment_id}")
        .replace("ARTICLE", "{article_id}");
    (attempt.method.to_string(), route)
}

/// `attempt`'s path aimed at `id`, its other placeholders filled.
fn aimed(attempt: &Attempt, id: &str, owned: &Owned, intruder: &User) -> String {
    attempt
        .path
        .replace("{id}", id)
        .replace("MOMENT", &owned.moment)
        .replace("ARTICLE", &owned.article)
        .replace("CAT", &owned.cat.account_id)
        .replace("ANN", &owned.ann.account_id)
        .replace("BOB", &intruder.account_id)
        .replace("MSG", &owned.message)
}

/// Runs each of `attempts` as `intruder`, at the owner's id and at one
/// that does not exist (an `"{id}"` in the body is the aimed id too), and
/// checks every answer: the refusal the route documents, nothing of the
/// owners' in it, and the same answer for both ids (but for a public id,
/// whose missing one gets its own). Adds the routes tried to `endpoints`;
/// returns how many requests it made.
async fn try_all(
    intruder: &User,
    payment_code: &str,
    attempts: &[Attempt],
    owned: &Owned,
    secrets: &[String],
    endpoints: &mut Vec<(String, String)>,
) -> usize {
    let mut requests = 0;
    for (index, attempt) in attempts.iter().enumerate() {
        let endpoint = route_of(attempt);
        if !endpoints.contains(&endpoint) {
            endpoints.push(endpoint);
        }
        let missing = format!("{}999999999", attempt.prefix);
        let refused = (attempt.status, attempt.code);
        let mut answers = Vec::new();
        for (id, (status, code)) in [
            (&attempt.id, refused),
            (&missing, attempt.missing.unwrap_or(refused)),
        ] {
            let path = aimed(attempt, id, owned, intruder);
            let body = attempt.body.as_ref().map(|body| {
                let mut body: Value = serde_json::from_str(&body.to_string().replace("{id}", id))
                    .expect("still JSON");
                if attempt.path.ends_with("/collect") {
                    body["payment_code"] = json!(payment_code);
                }
                body
            });
            let key = format!("iso-{}-{index}-{id}", intruder.username);
            let (answered, problem) = call(
                &intruder.client,
                attempt.method.clone(),
                &path,
                body,
                Some(&key),
            )
            .await;
            requests += 1;
            let what = format!("{} {} {path}", intruder.username, attempt.method);
            assert_eq!(
                (answered, problem["code"].as_str()),
                (status, Some(code).filter(|code| !code.is_empty())),
                "{what}: {problem}"
            );
            let shown = without(&problem, id);
            for secret in secrets {
                assert!(!leaks(&shown, secret), "{what} leaks `{secret}`: {problem}");
            }
            answers.push(shown);
        }
        if attempt.missing.is_none() {
            assert_eq!(
                answers[0], answers[1],
                "{} {}: ann's id and a missing one must get the same answer",
                attempt.method, attempt.path
            );
        }
    }
    requests
}

#[tokio::test]
async fn a_stranger_is_refused_every_id_of_another_account() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.collect_without_pin_max_minor = 1_000;
    })
    .await;
    let owned = owner_with_one_of_everything(&app).await;
    let bob = app.signup("bob").await;
    set_pin(&bob).await;
    let (status, body) = top_up(&bob, 10_000, "fund-bob").await;
    assert_eq!(status, 201, "{body}");
    let bob_code = payment_code(&bob).await;
    let eve = app.signup("eve").await;
    set_pin(&eve).await;
    let (status, body) = top_up(&eve, 10_000, "fund-eve").await;
    assert_eq!(status, 201, "{body}");
    bought(&eve, &owned.shop.shop, &owned.shop.variant).await;
    let before = snapshot(&owned).await;
    let secrets = secrets(&owned);

    let attempts = attempts(&owned, &bob);
    let mut endpoints: Vec<(String, String)> = Vec::new();
    let mut requests = try_all(&bob, &bob_code, &attempts, &owned, &secrets, &mut endpoints).await;
    // A buyer of another order of the same shop is as much a stranger to
    // cat's order.
    let eves = order_attempts(&owned.shop);
    requests += try_all(&eve, "", &eves, &owned, &secrets, &mut endpoints).await;

    // The socket: sending into ann's conversations.
    let (mut socket, _) = live_socket(&bob).await;
    for conversation in [&owned.direct, &owned.group, &"conv_999999999".to_owned()] {
        socket
            .send(&ClientFrame::Send {
                conversation_id: conversation.clone(),
                client_msg_id: format!("ws-{conversation}"),
                message: piazza_api::MessageContent::text("let me in"),
            })
            .await
            .expect("frame sent");
        requests += 1;
        let answer = loop {
            match tokio::time::timeout(PATIENCE, socket.next())
                .await
                .expect("an answer in time")
            {
                Some(Ok(Incoming::Frame(frame @ ServerFrame::Error { .. }))) => break frame,
                Some(Ok(Incoming::Frame(ServerFrame::Ack { .. }))) => {
                    panic!("bob's send into {conversation} was stored")
                }
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        };
        let ServerFrame::Error {
            code,
            status,
            detail,
            ..
        } = answer
        else {
            unreachable!()
        };
        assert_eq!((status, code.as_str()), NOT_A_MEMBER, "{detail}");
        for secret in &secrets {
            assert!(!leaks(&detail, secret), "the socket leaks `{secret}`");
        }
    }

    // Cursors are not ids of anything: ann's, in bob's hands, page bob's
    // own data and nothing of hers.
    let ann_page = call(
        &owned.ann.client,
        Method::GET,
        "/api/v1/wallet/statement?limit=1",
        None,
        None,
    )
    .await;
    assert_eq!(ann_page.0, 200, "{}", ann_page.1);
    let ann_cursor = ann_page.1["cursor"]
        .as_str()
        .expect("ann has more than one entry");
    let bob_page = call(
        &bob.client,
        Method::GET,
        &format!("/api/v1/wallet/statement?limit=200&cursor={ann_cursor}"),
        None,
        None,
    )
    .await;
    requests += 1;
    assert!(
        bob_page.0 == 200 || bob_page.0 == 400,
        "statement with ann's cursor: {}",
        bob_page.1
    );
    let (_, ann_cursor) = sync_all(&owned.ann.client, None, 200).await;
    let bob_sync = bob.client.sync(Some(&ann_cursor), Some(200), None).await;
    requests += 1;
    for shown in [bob_page.1.to_string(), format!("{bob_sync:?}")] {
        for secret in &secrets {
            assert!(
                !leaks(&shown, secret),
                "a borrowed cursor shows `{secret}`: {shown}"
            );
        }
    }

    assert_eq!(snapshot(&owned).await, before, "bob changed ann's things");
    let mut kinds: Vec<&str> = attempts.iter().map(|attempt| attempt.prefix).collect();
    kinds.sort_unstable();
    kinds.dedup();
    println!(
        "isolation matrix: {} id-taking endpoints x ids of {} kinds ({}) = {} attempts ({} of them by a buyer of another order), plus 3 socket sends and 2 borrowed cursors; {requests} requests in all (each attempt also with an id that does not exist)",
        endpoints.len(),
        kinds.len(),
        kinds.join(" "),
        attempts.len() + eves.len(),
        eves.len(),
    );
    app.shut_down().await;
}
