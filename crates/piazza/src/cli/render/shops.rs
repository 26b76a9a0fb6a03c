//! What the shop commands print: shops, products and their variants, the
//! cart, and orders and their moves. Ids are in brackets where a later
//! command takes them (`[var_1]` for `cart add`, `[ord_1]` for `order
//! pay`), amounts are money, and people are named as the [`Directory`]
//! names them. A shop's staff often cannot read a buyer's profile (they
//! share nothing), so a buyer it cannot name goes by the name on the
//! shipping address rather than by an account id. Shops', products' and
//! buyers' words are others': every line goes through [`shown`] (or
//! [`shown_block`] for a description of several lines).

use piazza_api::{
    CartLine, CartView, OrderItemView, OrderView, ProductView, RefundRequestView, ShippingAddress,
    ShopSummary, ShopView, VariantView,
};

use super::{Directory, money, short_time, shown, shown_block};

/// What a command did to an order, for the sentence that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderMove {
    Placed,
    Paid,
    Shipped,
    Confirmed,
    Cancelled,
    RefundRequested(u32),
    RefundApproved(u32),
    RefundRejected(u32),
}

/// "Nonna's Pasta (@nonna.pasta)".
pub fn shop_label(shop: &ShopSummary) -> String {
    shown(&format!("{} (@{})", shop.name, shop.handle))
}

/// `piazza shop show`: the shop, who owns it and what the caller is to
/// it; its staff and merchant to its owner and staff. `server` makes the
/// public page's address whole.
pub fn shop_lines(view: &ShopView, directory: &Directory, server: &str) -> Vec<String> {
    let shop = &view.shop;
    let role = match view.your_role.as_str() {
        "owner" => "you own it",
        "staff" => "you are its staff",
        _ => "you are a customer",
    };
    let mut lines = vec![shown(&format!(
        "{} [{}]  owned by {}  ({role})",
        shop_label(shop),
        shop.shop_id,
        directory.who(&view.owner)
    ))];
    if !shop.description.is_empty() {
        lines.push(format!("  {}", shown_block(&shop.description)));
    }
    lines.push(shown(&format!("  public page: {server}{}", shop.url)));
    if view.your_role != "customer" {
        let staff: Vec<String> = view.staff.iter().map(|id| directory.who(id)).collect();
        let staff = if staff.is_empty() {
            "none yet (`piazza shop staff add` names one of your contacts)".to_owned()
        } else {
            staff.join(", ")
        };
        lines.push(shown(&format!("  staff: {staff}")));
    }
    if let Some(merchant) = &view.merchant_id {
        lines.push(shown(&format!("  sales settle into merchant [{merchant}]")));
    }
    lines
}

/// `piazza shop list`: one of the caller's shops, its id and the
/// caller's role in it.
pub fn my_shop_line(view: &ShopView) -> String {
    let role = match view.your_role.as_str() {
        "owner" => "owner",
        _ => "staff",
    };
    shown(&format!(
        "{} [{}]  {role}",
        shop_label(&view.shop),
        view.shop.shop_id
    ))
}

/// One variant: name, SKU, price, stock (with what is reserved and sold,
/// which only the shop's staff are shown) and its id.
pub fn variant_line(variant: &VariantView) -> String {
    let counts = match (variant.reserved, variant.sold) {
        (Some(reserved), Some(sold)) => format!(", {reserved} reserved, {sold} sold"),
        _ => String::new(),
    };
    shown(&format!(
        "{} ({})  {}  {} available{counts}  [{}]",
        variant.name,
        variant.sku,
        money(variant.price_minor, &variant.currency),
        variant.available,
        variant.variant_id
    ))
}

/// A product: its title and shop, each with its id (an order names the
/// shop), its description, then a line per variant (indented).
pub fn product_lines(product: &ProductView) -> Vec<String> {
    let unlisted = if product.listed { "" } else { "  (unlisted)" };
    let mut lines = vec![shown(&format!(
        "{} [{}] — {} [{}]{unlisted}",
        product.title,
        product.product_id,
        shop_label(&product.shop),
        product.shop.shop_id
    ))];
    if !product.description.is_empty() {
        lines.push(format!("  {}", shown_block(&product.description)));
    }
    for variant in &product.variants {
        lines.push(format!("    {}", variant_line(variant)));
    }
    lines
}

/// `piazza cart`: a line per item with the price of now (and what it was
/// when added, if it changed) and whether it can be ordered, the total,
/// and for each shop how to order its items.
pub fn cart_lines(cart: &CartView) -> Vec<String> {
    if cart.lines.is_empty() {
        return vec![
            "your cart is empty: `piazza cart add <variant>` puts something in".to_owned(),
        ];
    }
    let mut lines: Vec<String> = cart
        .lines
        .iter()
        .map(|line| cart_line(line, &cart.currency))
        .collect();
    lines.push(format!("total {}", money(cart.total_minor, &cart.currency)));
    let mut shops: Vec<&ShopSummary> = Vec::new();
    for line in &cart.lines {
        if !shops.iter().any(|shop| shop.shop_id == line.shop.shop_id) {
            shops.push(&line.shop);
        }
    }
    for shop in shops {
        lines.push(shown(&format!(
            "order from {} with `piazza order place --from-cart {} --name … --line1 … --city … \
             --country …`",
            shop_label(shop),
            shop.shop_id
        )));
    }
    lines
}

fn cart_line(line: &CartLine, currency: &str) -> String {
    let mut notes = String::new();
    if line.price_changed {
        notes.push_str(&format!(
            "  (was {} when added)",
            money(line.price_when_added_minor, currency)
        ));
    }
    if !line.orderable {
        if line.available > 0 {
            notes.push_str(&format!("  (only {} available)", line.available));
        } else {
            notes.push_str("  (not available now)");
        }
    }
    shown(&format!(
        "{} × {} ({}) — {}  {} each = {}{notes}  [{}]",
        line.quantity,
        line.title,
        line.variant_name,
        shop_label(&line.shop),
        money(line.price_minor, currency),
        money(line.line_total_minor, currency),
        line.variant_id
    ))
}

/// What an order's status means to a person.
pub fn order_status(status: &str) -> &str {
    match status {
        "pending_payment" => "waiting for payment",
        "paid" => "paid, not shipped",
        other => other,
    }
}

/// "you", the buyer's name, or (for a buyer the directory cannot name)
/// the name on the shipping address.
fn buyer(order: &OrderView, directory: &Directory) -> String {
    if directory.is_me(&order.buyer) {
        "you".to_owned()
    } else {
        directory.name_or(&order.buyer, &order.shipping_address.name)
    }
}

/// "3 × Tajarin (500 g) + 1 × Tajarin (1 kg)".
fn items_summary(items: &[OrderItemView]) -> String {
    let each: Vec<String> = items
        .iter()
        .map(|item| format!("{} × {} ({})", item.quantity, item.title, item.variant_name))
        .collect();
    each.join(" + ")
}

/// One line of `piazza order list`: its id, when, status, total, the
/// other side, and what it holds.
pub fn order_line(order: &OrderView, directory: &Directory) -> String {
    let other_side = if order.your_role == "shop" {
        format!(
            "for {}, {}",
            buyer(order, directory),
            shop_label(&order.shop)
        )
    } else {
        format!("from {}", shop_label(&order.shop))
    };
    let refunded = if order.refunded_minor > 0 {
        format!(
            ", {} refunded",
            money(order.refunded_minor, &order.currency)
        )
    } else {
        String::new()
    };
    shown(&format!(
        "[{}] {}  {}  {}{refunded}  {other_side}: {}",
        order.order_id,
        short_time(&order.placed_at),
        order_status(&order.status),
        money(order.total_minor, &order.currency),
        items_summary(&order.items)
    ))
}

/// `piazza order show`: the order, its items, where it goes, what
/// happened to it, its refund requests, and what can be done next.
pub fn order_lines(order: &OrderView, directory: &Directory) -> Vec<String> {
    let amount = |minor| money(minor, &order.currency);
    let mut lines = vec![format!(
        "order [{}]  {}  {}  from {} [{}]",
        order.order_id,
        order_status(&order.status),
        amount(order.total_minor),
        shop_label(&order.shop),
        order.shop.shop_id
    )];
    lines.push(format!(
        "  placed by {} at {}",
        buyer(order, directory),
        short_time(&order.placed_at)
    ));
    for item in &order.items {
        lines.push(format!(
            "  {} × {} ({}, {}) at {} = {}  [{}]",
            item.quantity,
            item.title,
            item.variant_name,
            item.sku,
            amount(item.unit_price_minor),
            amount(item.line_total_minor),
            item.variant_id
        ));
    }
    lines.push(format!(
        "  ship to: {}",
        address_text(&order.shipping_address)
    ));
    lines.extend(history_lines(order));
    for request in &order.refund_requests {
        lines.push(refund_request_line(request, &order.currency));
    }
    lines.extend(next_step(order));
    lines.iter().map(|line| shown(line)).collect()
}

/// An address on one line, its empty parts left out.
pub fn address_text(address: &ShippingAddress) -> String {
    let place = [&address.postal_code, &address.city]
        .iter()
        .filter(|part| !part.is_empty())
        .map(|part| part.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    [
        &address.name,
        &address.phone,
        &address.line1,
        &address.line2,
        &place,
        &address.region,
        &address.country,
    ]
    .iter()
    .filter(|part| !part.is_empty())
    .map(|part| part.as_str())
    .collect::<Vec<_>>()
    .join(", ")
}

/// What happened to an order, a line per step it reached.
fn history_lines(order: &OrderView) -> Vec<String> {
    let amount = |minor| money(minor, &order.currency);
    let mut lines = Vec::new();
    if order.status == "pending_payment" {
        lines.push(format!("  to be paid by {}", short_time(&order.pay_by)));
    }
    if let Some(paid) = &order.paid_at {
        // Escrow matters while it holds money: until the order completes
        // or is cancelled.
        let held = if matches!(order.status.as_str(), "paid" | "shipped") {
            format!("; held for the shop: {}", amount(order.escrow_minor))
        } else {
            String::new()
        };
        lines.push(format!("  paid at {}{held}", short_time(paid)));
    }
    if let Some(shipped) = &order.shipped_at {
        let by_itself = order
            .auto_confirm_at
            .as_deref()
            .filter(|_| order.status == "shipped")
            .map(|at| format!("; confirmed by itself at {}", short_time(at)))
            .unwrap_or_default();
        lines.push(format!(
            "  shipped at {} by {}, tracking {}{by_itself}",
            short_time(shipped),
            order.carrier.as_deref().unwrap_or("?"),
            order.tracking.as_deref().unwrap_or("?")
        ));
    }
    if let Some(completed) = &order.completed_at {
        let how = match order.confirmed_by.as_deref() {
            Some("auto") => "confirmed by itself",
            _ => "confirmed by the buyer",
        };
        lines.push(format!("  completed at {} ({how})", short_time(completed)));
    }
    if let Some(cancelled) = &order.cancelled_at {
        let by = match order.cancelled_by.as_deref() {
            Some("buyer") => "by the buyer",
            Some("shop") => "by the shop",
            Some("expiry") => "as it was not paid in time",
            _ => "",
        };
        lines.push(format!("  cancelled at {} {by}", short_time(cancelled)));
    }
    if order.refunded_minor > 0 {
        lines.push(format!(
            "  refunded in all: {}",
            amount(order.refunded_minor)
        ));
    }
    lines
}

/// One refund request with the number `order refund approve` takes.
fn refund_request_line(request: &RefundRequestView, currency: &str) -> String {
    let status = match request.status.as_str() {
        "requested" => "waiting for the shop",
        "superseded" => "superseded by the cancellation",
        other => other,
    };
    format!(
        "  refund request {}: {} \"{}\"  asked {}  {status}",
        request.index,
        money(request.amount_minor, currency),
        request.reason,
        short_time(&request.requested_at)
    )
}

/// What the caller can do with the order now, as the command to type.
fn next_step(order: &OrderView) -> Option<String> {
    let id = &order.order_id;
    let waiting = order
        .refund_requests
        .iter()
        .find(|request| request.status == "requested");
    let step = match (order.your_role.as_str(), order.status.as_str()) {
        ("buyer", "pending_payment") => {
            format!("pay it with `piazza order pay {id}` (or `piazza order cancel {id}`)")
        }
        ("buyer", "shipped") => format!("once it arrives: `piazza order confirm {id}`"),
        ("shop", "paid") => format!(
            "ship it with `piazza order ship {id} --carrier … --tracking …` \
             (or `piazza order cancel {id}`)"
        ),
        ("shop", _) if waiting.is_some() => {
            let index = waiting.map_or(0, |request| request.index);
            format!(
                "answer the refund request: `piazza order refund approve {id} {index}` (or reject)"
            )
        }
        _ => return None,
    };
    Some(format!("  next: {step}"))
}

/// The sentence a command prints after it moved an order.
pub fn order_moved(done: OrderMove, order: &OrderView, directory: &Directory) -> String {
    let amount = |minor| money(minor, &order.currency);
    let id = &order.order_id;
    let shop = shop_label(&order.shop);
    let request = |index: u32| {
        order
            .refund_requests
            .iter()
            .find(|request| request.index == index)
            .map_or_else(|| "?".to_owned(), |request| amount(request.amount_minor))
    };
    let sentence = match done {
        OrderMove::Placed => format!(
            "placed order [{id}] with {shop}: {} = {}; pay by {} with `piazza order pay {id}`",
            items_summary(&order.items),
            amount(order.total_minor),
            short_time(&order.pay_by)
        ),
        OrderMove::Paid => format!(
            "paid {} for order [{id}] with {shop}: it is held for the shop until you confirm \
             the order arrived (`piazza order confirm {id}`)",
            amount(order.total_minor)
        ),
        OrderMove::Shipped => format!(
            "shipped order [{id}] to {} by {}, tracking {}; the money is the shop's once the \
             buyer confirms{}",
            buyer(order, directory),
            order.carrier.as_deref().unwrap_or("?"),
            order.tracking.as_deref().unwrap_or("?"),
            order
                .auto_confirm_at
                .as_deref()
                .map(|at| format!(", or by itself at {}", short_time(at)))
                .unwrap_or_default()
        ),
        OrderMove::Confirmed => format!(
            "confirmed order [{id}] arrived: {} went to {shop}",
            amount(order.total_minor.saturating_sub(order.refunded_minor))
        ),
        OrderMove::Cancelled if order.refunded_minor > 0 => format!(
            "cancelled order [{id}] with {shop}: {} went back to {} and its stock was released",
            amount(order.refunded_minor),
            buyer(order, directory)
        ),
        OrderMove::Cancelled => format!(
            "cancelled order [{id}] with {shop}: nothing had been paid; its stock was released"
        ),
        OrderMove::RefundRequested(index) => format!(
            "asked {shop} for {} back on order [{id}] (refund request {index}); the shop \
             answers with `piazza order refund approve {id} {index}` (or reject)",
            request(index)
        ),
        OrderMove::RefundApproved(index) => format!(
            "approved refund request {index} of order [{id}]: {} went back to {}; refunded in \
             all {}",
            request(index),
            buyer(order, directory),
            amount(order.refunded_minor)
        ),
        OrderMove::RefundRejected(index) => format!(
            "rejected refund request {index} of order [{id}] ({} for {})",
            request(index),
            buyer(order, directory)
        ),
    };
    shown(&sentence)
}

#[cfg(test)]
mod tests {
    use super::super::tests::directory;
    use super::*;

    fn summary() -> ShopSummary {
        ShopSummary {
            shop_id: "shop_1".to_owned(),
            handle: "nonna.pasta".to_owned(),
            name: "Nonna's Pasta".to_owned(),
            description: "Fresh pasta\nfrom Torino".to_owned(),
            logo_media_id: None,
            url: "/s/nonna.pasta".to_owned(),
        }
    }

    fn variant(staff: bool) -> VariantView {
        VariantView {
            variant_id: "var_1".to_owned(),
            sku: "PASTA-500".to_owned(),
            name: "500 g".to_owned(),
            price_minor: 1_250,
            currency: "CNY".to_owned(),
            available: 7,
            reserved: staff.then_some(3),
            sold: staff.then_some(0),
        }
    }

    fn address() -> ShippingAddress {
        ShippingAddress {
            name: "Bea Rossi".to_owned(),
            line1: "Via Roma 1".to_owned(),
            postal_code: "10100".to_owned(),
            city: "Torino".to_owned(),
            country: "IT".to_owned(),
            ..ShippingAddress::default()
        }
    }

    /// An order of 3 × 12.50 by `buyer`, as `role` sees it.
    fn order(buyer: &str, role: &str, status: &str) -> OrderView {
        OrderView {
            order_id: "ord_1".to_owned(),
            status: status.to_owned(),
            total_minor: 3_750,
            currency: "CNY".to_owned(),
            pay_by: "2025-01-02T10:15:00Z".to_owned(),
            shop: summary(),
            buyer: buyer.to_owned(),
            your_role: role.to_owned(),
            conversation_id: Some("conv_9".to_owned()),
            items: vec![OrderItemView {
                variant_id: "var_1".to_owned(),
                product_id: "prd_1".to_owned(),
                title: "Tajarin".to_owned(),
                variant_name: "500 g".to_owned(),
                sku: "PASTA-500".to_owned(),
                quantity: 3,
                unit_price_minor: 1_250,
                line_total_minor: 3_750,
            }],
            shipping_address: address(),
            placed_at: "2025-01-02T10:00:00Z".to_owned(),
            paid_at: None,
            shipped_at: None,
            carrier: None,
            tracking: None,
            completed_at: None,
            confirmed_by: None,
            auto_confirm_at: None,
            cancelled_at: None,
            cancelled_by: None,
            refunded_minor: 0,
            escrow_minor: 0,
            refund_requests: Vec::new(),
        }
    }

    fn shipped(buyer: &str, role: &str) -> OrderView {
        OrderView {
            paid_at: Some("2025-01-02T10:01:00Z".to_owned()),
            shipped_at: Some("2025-01-02T11:00:00Z".to_owned()),
            carrier: Some("Poste".to_owned()),
            tracking: Some("RR123IT".to_owned()),
            auto_confirm_at: Some("2025-01-09T11:00:00Z".to_owned()),
            escrow_minor: 3_750,
            ..order(buyer, role, "shipped")
        }
    }

    #[test]
    fn a_shop_shows_its_people_to_its_staff_only() {
        let mut directory = directory();
        let view = ShopView {
            shop: summary(),
            owner: "acct_1".to_owned(),
            created_at: "2025-01-02T10:00:00Z".to_owned(),
            your_role: "owner".to_owned(),
            staff: vec!["acct_2".to_owned()],
            merchant_id: Some("mer_2".to_owned()),
        };
        assert_eq!(
            shop_lines(&view, &directory, "http://h:1"),
            [
                "Nonna's Pasta (@nonna.pasta) [shop_1]  owned by you  (you own it)",
                "  Fresh pasta\n    from Torino",
                "  public page: http://h:1/s/nonna.pasta",
                "  staff: Bob Chen (@bob)",
                "  sales settle into merchant [mer_2]",
            ]
        );
        directory.add_person("acct_7", "nonna", "Nonna Rosa");
        let seen = ShopView {
            owner: "acct_7".to_owned(),
            your_role: "customer".to_owned(),
            staff: Vec::new(),
            merchant_id: None,
            ..view
        };
        let lines = shop_lines(&seen, &directory, "http://h:1");
        assert_eq!(
            lines[0],
            "Nonna's Pasta (@nonna.pasta) [shop_1]  owned by Nonna Rosa (@nonna)  (you are a customer)"
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
    }

    #[test]
    fn products_show_prices_as_money_and_stock_counts_to_staff() {
        assert_eq!(
            variant_line(&variant(false)),
            "500 g (PASTA-500)  12.50 CNY  7 available  [var_1]"
        );
        assert_eq!(
            variant_line(&variant(true)),
            "500 g (PASTA-500)  12.50 CNY  7 available, 3 reserved, 0 sold  [var_1]"
        );
        let product = ProductView {
            product_id: "prd_1".to_owned(),
            shop: summary(),
            title: "Tajarin\r\u{1b}[2K".to_owned(),
            description: String::new(),
            media_ids: Vec::new(),
            listed: false,
            created_at: "2025-01-02T10:00:00Z".to_owned(),
            updated_at: "2025-01-02T10:00:00Z".to_owned(),
            variants: vec![variant(true)],
            url: "/s/nonna.pasta/prd_1".to_owned(),
        };
        assert_eq!(
            product_lines(&product),
            [
                r"Tajarin\r\u{1b}[2K [prd_1] — Nonna's Pasta (@nonna.pasta) [shop_1]  (unlisted)",
                "    500 g (PASTA-500)  12.50 CNY  7 available, 3 reserved, 0 sold  [var_1]",
            ]
        );
    }

    #[test]
    fn a_cart_says_what_changed_and_how_to_order_it() {
        let line = CartLine {
            variant_id: "var_1".to_owned(),
            product_id: "prd_1".to_owned(),
            shop: summary(),
            title: "Tajarin".to_owned(),
            variant_name: "500 g".to_owned(),
            quantity: 3,
            price_minor: 1_250,
            price_when_added_minor: 1_100,
            price_changed: true,
            available: 2,
            orderable: false,
            line_total_minor: 3_750,
        };
        let cart = CartView {
            lines: vec![line.clone(), line],
            total_minor: 7_500,
            currency: "CNY".to_owned(),
        };
        let lines = cart_lines(&cart);
        assert_eq!(
            lines[0],
            "3 × Tajarin (500 g) — Nonna's Pasta (@nonna.pasta)  12.50 CNY each = 37.50 CNY  \
             (was 11.00 CNY when added)  (only 2 available)  [var_1]"
        );
        assert_eq!(lines[2], "total 75.00 CNY");
        assert_eq!(lines.len(), 4, "one shop, one hint: {lines:?}");
        assert!(lines[3].contains("--from-cart shop_1"), "{lines:?}");
        let empty = CartView {
            lines: Vec::new(),
            total_minor: 0,
            currency: "CNY".to_owned(),
        };
        assert!(cart_lines(&empty)[0].starts_with("your cart is empty"));
    }

    #[test]
    fn an_order_names_the_other_side_never_by_id() {
        let directory = directory();
        // Ann's own order, and an order of a buyer Ann's shop cannot name.
        assert_eq!(
            order_line(&order("acct_1", "buyer", "pending_payment"), &directory),
            "[ord_1] 2025-01-02 10:00:00  waiting for payment  37.50 CNY  from Nonna's Pasta \
             (@nonna.pasta): 3 × Tajarin (500 g)"
        );
        let mut theirs = order("acct_9", "shop", "paid");
        theirs.refunded_minor = 500;
        let line = order_line(&theirs, &directory);
        assert_eq!(
            line,
            "[ord_1] 2025-01-02 10:00:00  paid, not shipped  37.50 CNY, 5.00 CNY refunded  for \
             Bea Rossi, Nonna's Pasta (@nonna.pasta): 3 × Tajarin (500 g)"
        );
        assert!(!line.contains("acct_"));
        let bobs = order_line(&order("acct_2", "shop", "paid"), &directory);
        assert!(bobs.contains("for Bob Chen (@bob),"), "{bobs}");
        // A buyer's name on the address cannot forge a line.
        let mut forged = order("acct_9", "shop", "paid");
        forged.shipping_address.name = "Bea\r[ord_2] paid".to_owned();
        assert!(
            !order_line(&forged, &directory)
                .chars()
                .any(char::is_control)
        );
    }

    #[test]
    fn an_order_shows_its_life_and_the_next_command() {
        let directory = directory();
        let mut order = shipped("acct_1", "buyer");
        order.refund_requests.push(RefundRequestView {
            index: 0,
            amount_minor: 500,
            reason: "one box was open".to_owned(),
            status: "requested".to_owned(),
            requested_at: "2025-01-03T09:00:00Z".to_owned(),
            decided_at: None,
        });
        assert_eq!(
            order_lines(&order, &directory),
            [
                "order [ord_1]  shipped  37.50 CNY  from Nonna's Pasta (@nonna.pasta) [shop_1]",
                "  placed by you at 2025-01-02 10:00:00",
                "  3 × Tajarin (500 g, PASTA-500) at 12.50 CNY = 37.50 CNY  [var_1]",
                "  ship to: Bea Rossi, Via Roma 1, 10100 Torino, IT",
                "  paid at 2025-01-02 10:01:00; held for the shop: 37.50 CNY",
                "  shipped at 2025-01-02 11:00:00 by Poste, tracking RR123IT; confirmed by \
                 itself at 2025-01-09 11:00:00",
                "  refund request 0: 5.00 CNY \"one box was open\"  asked 2025-01-03 09:00:00  \
                 waiting for the shop",
                "  next: once it arrives: `piazza order confirm ord_1`",
            ]
        );
        order.your_role = "shop".to_owned();
        order.buyer = "acct_9".to_owned();
        let lines = order_lines(&order, &directory);
        assert_eq!(lines[1], "  placed by Bea Rossi at 2025-01-02 10:00:00");
        assert_eq!(
            lines.last().map(String::as_str),
            Some(
                "  next: answer the refund request: `piazza order refund approve ord_1 0` (or reject)"
            )
        );
        let completed = OrderView {
            status: "completed".to_owned(),
            completed_at: Some("2025-01-03T10:00:00Z".to_owned()),
            confirmed_by: Some("auto".to_owned()),
            escrow_minor: 0,
            ..shipped("acct_1", "buyer")
        };
        let lines = order_lines(&completed, &directory);
        assert!(
            lines.contains(&"  paid at 2025-01-02 10:01:00".to_owned()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"  completed at 2025-01-03 10:00:00 (confirmed by itself)".to_owned()),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|line| line.contains("next:")),
            "{lines:?}"
        );
        let waiting = order_lines(
            &self::order("acct_1", "buyer", "pending_payment"),
            &directory,
        );
        assert!(waiting.contains(&"  to be paid by 2025-01-02 10:15:00".to_owned()));
        assert!(
            waiting
                .last()
                .is_some_and(|line| line.contains("`piazza order pay ord_1`")),
            "{waiting:?}"
        );
    }

    #[test]
    fn each_move_says_what_happened_to_the_money() {
        let directory = directory();
        let placed = order("acct_1", "buyer", "pending_payment");
        assert_eq!(
            order_moved(OrderMove::Placed, &placed, &directory),
            "placed order [ord_1] with Nonna's Pasta (@nonna.pasta): 3 × Tajarin (500 g) = \
             37.50 CNY; pay by 2025-01-02 10:15:00 with `piazza order pay ord_1`"
        );
        let paid = order("acct_1", "buyer", "paid");
        assert!(
            order_moved(OrderMove::Paid, &paid, &directory)
                .starts_with("paid 37.50 CNY for order [ord_1] with Nonna's Pasta")
        );
        assert_eq!(
            order_moved(OrderMove::Shipped, &shipped("acct_9", "shop"), &directory),
            "shipped order [ord_1] to Bea Rossi by Poste, tracking RR123IT; the money is the \
             shop's once the buyer confirms, or by itself at 2025-01-09 11:00:00"
        );
        let mut done = shipped("acct_1", "buyer");
        done.refunded_minor = 500;
        assert_eq!(
            order_moved(OrderMove::Confirmed, &done, &directory),
            "confirmed order [ord_1] arrived: 32.50 CNY went to Nonna's Pasta (@nonna.pasta)"
        );
        let mut cancelled = order("acct_2", "shop", "cancelled");
        assert!(
            order_moved(OrderMove::Cancelled, &cancelled, &directory)
                .contains("nothing had been paid")
        );
        cancelled.refunded_minor = 3_750;
        assert!(
            order_moved(OrderMove::Cancelled, &cancelled, &directory)
                .contains("37.50 CNY went back to Bob Chen (@bob)")
        );
        let mut asked = shipped("acct_2", "shop");
        asked.refund_requests.push(RefundRequestView {
            index: 0,
            amount_minor: 500,
            reason: "late".to_owned(),
            status: "approved".to_owned(),
            requested_at: "2025-01-03T09:00:00Z".to_owned(),
            decided_at: Some("2025-01-03T10:00:00Z".to_owned()),
        });
        asked.refunded_minor = 500;
        assert_eq!(
            order_moved(OrderMove::RefundApproved(0), &asked, &directory),
            "approved refund request 0 of order [ord_1]: 5.00 CNY went back to Bob Chen (@bob); \
             refunded in all 5.00 CNY"
        );
        assert_eq!(
            order_moved(OrderMove::RefundRejected(0), &asked, &directory),
            "rejected refund request 0 of order [ord_1] (5.00 CNY for Bob Chen (@bob))"
        );
        assert!(
            order_moved(OrderMove::RefundRequested(0), &asked, &directory)
                .contains("`piazza order refund approve ord_1 0`")
        );
    }
}
