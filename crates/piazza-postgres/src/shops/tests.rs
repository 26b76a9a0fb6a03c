//! The shops' SQL on its own, over a connection to a fresh database:
//! searches and lists against rows laid out by hand, orders of every
//! state written and read back, and stored rows that do not make an order
//! refused as corrupt. The rules over it, and races between processes,
//! are `tests/shops.rs`.

use piazza_core::Error;
use piazza_core::shops::{ItemNames, NewOrder, OrderSide, ProductQuery, Reads, StoredOrder};
use piazza_domain::money::{AmountMinor, Currency};
use piazza_domain::order::{
    self, Order, OrderCommand, OrderItem, OrderPolicy, OrderStatus, Party, RefundReason, Shipment,
};
use piazza_domain::shop::ShippingAddress;
use piazza_domain::{AccountId, MediaId, OrderId, ProductId, ShopId, Timestamp, VariantId};

use super::orders;
use crate::testing::TestDatabase;
use crate::{Conn, Db};

/// Accounts 1 (owner of shop 1, logo media 1), 2 (its staff), 3 (a
/// buyer) and 4 (owner of shop 2); products 1–3 of shop 1 (3 unlisted,
/// 1 and 3 with a picture each: media 2 and 3) and 4 of shop 2; one
/// variant each for 1 and 4. Media 4 is nobody's picture.
const FIXTURE: &str = "
    INSERT INTO accounts (id, username, display_name, password_hash, created_at) VALUES
        (1, 'owner', 'Owner', 'x', 0), (2, 'staff', 'Staff', 'x', 0),
        (3, 'buyer', 'Buyer', 'x', 0), (4, 'other', 'Other', 'x', 0);
    INSERT INTO media (id, uploader_id, sha256, content_type, bytes, created_at)
        SELECT n, 1, decode(repeat(lpad(n::TEXT, 2, '0'), 32), 'hex'), 'image/png', 10, 0
        FROM generate_series(1, 4) AS n;
    INSERT INTO merchants (id, owner_id, name, city, created_at) VALUES
        (1, 1, 'Corner', '', 0), (2, 4, 'Other', '', 0);
    INSERT INTO shops (id, owner_id, handle, name, description, logo_media_id, merchant_id,
                       created_at) VALUES
        (1, 1, 'corner', 'Corner', '', 1, 1, 0), (2, 4, 'other', 'Other', '', NULL, 2, 0);
    INSERT INTO shop_staff (shop_id, account_id, added_at) VALUES (1, 2, 0);
    INSERT INTO products (id, shop_id, title, description, listed, created_at, updated_at) VALUES
        (1, 1, 'Big BOX', 'plain', TRUE, 0, 0), (2, 1, '50% off', 'Sale', TRUE, 0, 0),
        (3, 1, '500 off', 'Ünïcode box', FALSE, 0, 0), (4, 2, 'a_b', 'HELLO', TRUE, 0, 0);
    INSERT INTO product_media (product_id, position, media_id) VALUES (1, 0, 2), (3, 0, 3);
    INSERT INTO variants (id, product_id, shop_id, sku, name, price_minor, available, reserved,
                          sold) VALUES
        (1, 1, 1, 'BOX', 'Box', 100, 10, 0, 0), (2, 4, 2, 'AB', 'Ab', 250, 10, 0, 0);
";

fn fixture() -> (TestDatabase, Conn) {
    let database = TestDatabase::create();
    let mut conn = Conn::connect(&database.url).unwrap();
    conn.client().batch_execute(FIXTURE).unwrap();
    (database, conn)
}

fn find(conn: &mut Conn, needle: &str, shop: Option<i64>, listed_only: bool) -> Vec<i64> {
    let query = ProductQuery {
        needle: needle.to_owned(),
        shop: shop.map(ShopId::from_row),
        listed_only,
        before: None,
        limit: 10,
    };
    let found = Db(conn).find_products(&query).unwrap();
    found
        .iter()
        .map(|product| product.product_id.row())
        .collect()
}

#[test]
fn products_are_found_by_literal_needles_folding_ascii_only() {
    let (_database, mut conn) = fixture();
    let conn = &mut conn;
    assert_eq!(find(conn, "box", None, true), [1]);
    assert_eq!(find(conn, "box", None, false), [3, 1], "unlisted too");
    assert_eq!(find(conn, "50%", None, true), [2], "a % is literal");
    assert_eq!(find(conn, "a_b", None, true), [4], "so is an _");
    assert_eq!(find(conn, "hello", None, true), [4], "descriptions too");
    assert_eq!(
        find(conn, "ünï", None, false),
        [0; 0],
        "as SQLite, no Unicode folding"
    );
    assert_eq!(find(conn, "", Some(1), false), [3, 2, 1]);
    assert_eq!(find(conn, "", Some(1), true), [2, 1]);
    let page = ProductQuery {
        needle: String::new(),
        shop: Some(ShopId::from_row(1)),
        listed_only: false,
        before: Some(ProductId::from_row(3)),
        limit: 1,
    };
    let found = Db(conn).find_products(&page).unwrap();
    assert_eq!(found[0].product_id, ProductId::from_row(2));
    assert_eq!(found.len(), 1);
    let product = Db(conn).product(ProductId::from_row(1)).unwrap().unwrap();
    assert_eq!(product.media, [MediaId::from_row(2)]);
}

#[test]
fn shop_media_is_a_logo_or_a_listed_product_s_picture() {
    let (_database, mut conn) = fixture();
    let mut db = Db(&mut conn);
    let shown = |db: &mut Db, media| db.is_shop_media(MediaId::from_row(media)).unwrap();
    assert!(shown(&mut db, 1), "a logo");
    assert!(shown(&mut db, 2), "a listed product's picture");
    assert!(!shown(&mut db, 3), "an unlisted product's picture");
    assert!(!shown(&mut db, 4), "nobody's");
}

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Ada".into(),
        line1: "Via Roma 1".into(),
        city: "Torino".into(),
        country: "IT".into(),
        ..ShippingAddress::default()
    }
}

fn at(unix_ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(unix_ms)
}

/// An order of `quantity` of variant `variant` at `price`, as placing
/// makes it at time 1000.
fn placed(variant: i64, quantity: u32, price: i64) -> Order {
    let item = OrderItem {
        variant: VariantId::from_row(variant),
        quantity,
        unit_price: AmountMinor::positive(price).unwrap(),
    };
    order::place(vec![item], at(1_000), &OrderPolicy::default())
        .unwrap()
        .order
}

fn moved(order: &Order, command: OrderCommand, now: i64) -> Order {
    order
        .apply(&command, at(now), &OrderPolicy::default())
        .unwrap()
        .order
}

fn refund(minor: i64) -> OrderCommand {
    OrderCommand::RequestRefund {
        amount: AmountMinor::positive(minor).unwrap(),
        reason: RefundReason::parse("torn").unwrap(),
    }
}

fn insert(conn: &mut Conn, shop: i64, buyer: i64, order: &Order) -> OrderId {
    let shipping = address();
    let names = names_of(order);
    let new = NewOrder {
        shop_id: ShopId::from_row(shop),
        buyer: AccountId::from_row(buyer),
        currency: Currency::CNY,
        shipping: &shipping,
        order,
        names: &names,
    };
    orders::insert(conn, &new).unwrap()
}

/// Names for each item, told apart by position.
fn names_of(order: &Order) -> Vec<ItemNames> {
    (0..order.items.len())
        .map(|position| ItemNames {
            title: format!("Tajarin «{position}»"),
            variant_name: format!("{position}00 g"),
            sku: format!("PASTA-{position}"),
        })
        .collect()
}

/// What `order` must read back as.
fn stored(id: OrderId, shop: i64, buyer: i64, order: &Order) -> StoredOrder {
    StoredOrder {
        order_id: id,
        shop_id: ShopId::from_row(shop),
        buyer: AccountId::from_row(buyer),
        conversation: None,
        currency: Currency::CNY,
        shipping: address(),
        order: order.clone(),
        names: names_of(order).into_iter().map(Some).collect(),
    }
}

/// Orders in every state, refund requests of every status among them:
/// each written whole (insert and save) reads back exactly.
#[test]
fn orders_of_every_state_read_back_as_written() {
    let (_database, mut conn) = fixture();
    let conn = &mut conn;
    let paid = moved(&placed(1, 3, 100), OrderCommand::Pay, 2_000);
    let shipment = Shipment::parse("Poste", "RR1").unwrap();
    let shipped = moved(&paid, OrderCommand::Ship(shipment), 3_000);
    let asked = moved(&moved(&shipped, refund(50), 4_000), refund(70), 4_500);
    let approved = moved(&asked, OrderCommand::ApproveRefund(0), 5_000);
    let id = insert(conn, 1, 3, &approved);
    let read = orders::for_update(conn, id).unwrap();
    assert_eq!(
        read,
        Some(stored(id, 1, 3, &approved)),
        "inserted with its refunds"
    );

    let rejected = moved(&approved, OrderCommand::RejectRefund(1), 6_000);
    orders::save(conn, id, &rejected, &[1]).unwrap();
    let confirmed = moved(&rejected, OrderCommand::Confirm, 7_000);
    orders::save(conn, id, &confirmed, &[]).unwrap();
    let read = orders::order(conn, id).unwrap();
    assert_eq!(read, Some(stored(id, 1, 3, &confirmed)));

    let unpaid = placed(2, 1, 250);
    let id = insert(conn, 2, 3, &unpaid);
    let asked = moved(
        &moved(&unpaid, OrderCommand::Pay, 2_000),
        refund(100),
        3_000,
    );
    orders::save(conn, id, &asked, &[0]).unwrap();
    let cancelled = moved(&asked, OrderCommand::Cancel(Party::Shop), 4_000);
    orders::save(conn, id, &cancelled, &[0]).unwrap();
    let read = orders::for_update(conn, id).unwrap();
    assert_eq!(read, Some(stored(id, 2, 3, &cancelled)), "superseded");
    assert_eq!(
        orders::for_update(conn, OrderId::from_row(999)).unwrap(),
        None
    );
}

fn listed(conn: &mut Conn, side: OrderSide, status: Option<OrderStatus>) -> Vec<i64> {
    let found = orders::orders(conn, side, status, None, 10).unwrap();
    found.iter().map(|stored| stored.order_id.row()).collect()
}

/// A buyer sees the orders it placed; an owner or a staff member those
/// of the shops they manage, of one of them when asked, newest first.
#[test]
fn orders_are_listed_by_buyer_and_by_the_shops_one_manages() {
    let (_database, mut conn) = fixture();
    let conn = &mut conn;
    let first = insert(conn, 1, 3, &placed(1, 1, 100)).row();
    let paid = moved(&placed(1, 2, 100), OrderCommand::Pay, 2_000);
    let second = insert(conn, 1, 3, &paid).row();
    let third = insert(conn, 2, 3, &placed(2, 1, 250)).row();
    let fourth = insert(conn, 1, 4, &placed(1, 1, 100)).row();
    let buyer = OrderSide::Buyer(AccountId::from_row(3));
    let shop_side = |account, shop: Option<i64>| OrderSide::Shop {
        account: AccountId::from_row(account),
        shop: shop.map(ShopId::from_row),
    };
    assert_eq!(listed(conn, buyer, None), [third, second, first]);
    assert_eq!(listed(conn, buyer, Some(OrderStatus::Paid)), [second]);
    assert_eq!(
        listed(conn, shop_side(2, None), None),
        [fourth, second, first]
    );
    assert_eq!(
        listed(conn, shop_side(1, Some(1)), None),
        [fourth, second, first]
    );
    assert_eq!(
        listed(conn, shop_side(1, Some(2)), None),
        [0; 0],
        "not its shop"
    );
    assert_eq!(listed(conn, shop_side(4, None), None), [third]);
    let page = orders::orders(conn, buyer, None, Some(OrderId::from_row(third)), 1).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].order_id.row(), second);
}

/// Each statement damages a fresh order's rows in one way; `$1` is its id.
const DAMAGES: &[&str] = &[
    "UPDATE orders SET status = 'lost' WHERE id = $1",
    "UPDATE orders SET currency = 'cny' WHERE id = $1",
    "UPDATE orders SET shipping_address = 'a street' WHERE id = $1",
    "UPDATE orders SET shipped_at = 5 WHERE id = $1",
    "UPDATE orders SET confirmed_by = 'auto' WHERE id = $1",
    "UPDATE orders SET completed_at = 5, confirmed_by = 'someone' WHERE id = $1",
    "UPDATE orders SET cancelled_at = 5, cancelled_by = 'buyer' WHERE id = $1",
    "UPDATE order_items SET position = 1 WHERE order_id = $1",
    "INSERT INTO order_refund_requests (order_id, idx, amount_minor, reason, status,
                                        requested_at)
     VALUES ($1, 0, 10, 'x', 'maybe', 5)",
    "INSERT INTO order_refund_requests (order_id, idx, amount_minor, reason, status,
                                        requested_at)
     VALUES ($1, 1, 10, 'x', 'requested', 5)",
];

/// A row that does not rebuild into an order is corrupt, never a panic;
/// one that rebuilds but breaks the order's invariants is shown, but is
/// corrupt to whoever would move it.
#[test]
fn rows_that_do_not_make_an_order_are_corrupt() {
    let (_database, mut conn) = fixture();
    let conn = &mut conn;
    for damage in DAMAGES {
        let id = insert(conn, 1, 3, &placed(1, 1, 100));
        conn.client().execute(*damage, &[&id.row()]).unwrap();
        let read = orders::order(conn, id);
        assert!(matches!(read, Err(Error::Corrupt(_))), "{damage}: {read:?}");
    }
    let id = insert(conn, 1, 3, &placed(1, 1, 100));
    let released = "UPDATE orders SET released_minor = 100 WHERE id = $1";
    conn.client().execute(released, &[&id.row()]).unwrap();
    assert!(orders::order(conn, id).unwrap().is_some());
    let locked = orders::for_update(conn, id);
    assert!(matches!(locked, Err(Error::Corrupt(_))), "{locked:?}");
}
