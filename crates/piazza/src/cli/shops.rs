//! The shop commands: `piazza shop`, `product`, `cart` and `order`.
//!
//! Shops, products, variants and orders are named by the ids the commands
//! print in brackets (`[shop_1]`, `[prd_1]`, `[var_1]`, `[ord_1]`); people
//! by username. Prices and refunds are typed in major units ("12.50") and
//! converted exactly, as Pay's amounts are (`money.rs`). Every move of an
//! order sends an `Idempotency-Key` made and printed as Pay's commands do
//! (`pay.rs`): retrying an interrupted `order pay` with the key it printed
//! pays at most once. What is printed is made in `render/shops.rs`.

use anyhow::{anyhow, bail};
use piazza_api::{
    CreateProduct, CreateShop, NewVariant, OrderItemRequest, OrderView, PatchVariant, PlaceOrder,
    ShippingAddress,
};
use piazza_client::OrderFilter;

use super::money::{TypedAmount, minor_digits};
use super::pay::{KeyOpts, currency, key_for, pin};
use super::render::{self, Directory, OrderMove};
use super::{Cli, Session, find_by_username};

/// The prefix of a shop's id, the only way the API names a shop.
const SHOP_PREFIX: &str = "shop_";

// ------------------------------------------------------------ commands

#[derive(clap::Subcommand, Debug)]
pub enum ShopCommand {
    /// Open a shop you own; its sales settle into a merchant of the same
    /// name, and its public page is /s/HANDLE
    Create {
        /// 3 to 32 of a-z, 0-9, `_` and `.`, unique among shops
        handle: String,
        /// What buyers see it called
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// The shops you own or are staff of, wherever you log in
    List,
    /// Show a shop: who owns it, its public page, and (to its owner and
    /// staff) its staff and merchant
    Show {
        /// The shop's id, as `shop create` or `product list` prints it
        shop: String,
    },
    /// Name staff of a shop you own, or take the role back
    #[command(subcommand)]
    Staff(StaffCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum StaffCommand {
    /// Let one of your contacts manage the shop's products, stock and orders
    Add { shop: String, username: String },
    /// Take a staff member's role back
    Remove {
        shop: String,
        /// Their username (or account id, if no longer your contact)
        username: String,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum ProductCommand {
    /// Add a product to a shop you own or are staff of; it is listed at once
    Add {
        /// The shop's id
        shop: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        description: Option<String>,
        /// A variant, SKU:NAME:PRICE:STOCK, such as "PASTA-500:500 g:12.50:10"
        /// (the price in major units); one or more
        #[arg(long = "variant", required = true, value_parser = VariantSpec::parse)]
        variants: Vec<VariantSpec>,
    },
    /// List products, newest first: every shop's, or one shop's (its staff
    /// also see its unlisted ones)
    List {
        /// Only this shop's (its id)
        #[arg(long)]
        shop: Option<String>,
        /// Go on from where an earlier list stopped
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Find products whose title or description holds these words
    Search {
        #[arg(required = true)]
        words: Vec<String>,
        /// Only this shop's (its id)
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Set or move a variant's available stock (units held by orders are
    /// never touched)
    Stock {
        /// The variant's id, as `product list` prints it
        variant: String,
        #[command(flatten)]
        change: StockChange,
    },
    /// Change a variant's price (orders placed keep theirs)
    Price {
        variant: String,
        /// In major units, such as 12.50
        #[arg(allow_hyphen_values = true, value_parser = TypedAmount::parse)]
        price: TypedAmount,
    },
}

#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct StockChange {
    /// Make this many units available
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    set: Option<i64>,
    /// Make this many more units available
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    add: Option<i64>,
    /// Take this many units out of what is available
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    remove: Option<i64>,
}

#[derive(clap::Args, Debug)]
pub struct CartArgs {
    #[command(subcommand)]
    pub command: Option<CartCommand>,
}

#[derive(clap::Subcommand, Debug)]
pub enum CartCommand {
    /// Put units of a variant in your cart (on top of those already there)
    Add {
        /// The variant's id, as `product list` prints it
        variant: String,
        #[arg(default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        quantity: u32,
    },
    /// Take a variant out of your cart
    Remove { variant: String },
}

#[derive(clap::Subcommand, Debug)]
pub enum OrderCommand {
    /// Place an order with one shop: its stock is reserved at once, and it
    /// waits for payment (15 minutes by default)
    Place(PlaceArgs),
    /// Pay an order you placed (needs the payment PIN): the money is held
    /// for the shop until you confirm the order arrived
    Pay {
        order: String,
        #[command(flatten)]
        key: KeyOpts,
    },
    /// Ship a paid order of a shop you own or are staff of
    Ship {
        order: String,
        #[arg(long)]
        carrier: String,
        #[arg(long)]
        tracking: String,
        #[command(flatten)]
        key: KeyOpts,
    },
    /// Confirm an order you placed arrived: its money goes to the shop
    Confirm {
        order: String,
        #[command(flatten)]
        key: KeyOpts,
    },
    /// Cancel an order before it ships (its buyer or the shop): what was
    /// paid goes back in full
    Cancel {
        order: String,
        #[command(flatten)]
        key: KeyOpts,
    },
    /// Ask for (part of) your money back, or, for the shop, approve or
    /// reject such a request
    Refund(RefundArgs),
    /// List your orders, newest first, or with --shop your shops' orders
    List {
        /// Your shops' orders instead of yours; with a shop's id, that
        /// shop's only
        #[arg(long, value_name = "SHOP", num_args = 0..=1)]
        shop: Option<Option<String>>,
        /// pending_payment, paid, shipped, completed or cancelled
        #[arg(long)]
        status: Option<String>,
        /// Go on from where an earlier list stopped
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show an order you placed or your shop received
    Show { order: String },
    /// Open the order's conversation with the other side (its buyer, or
    /// the shop's owner and staff) and print its id, for `send` and
    /// `history`
    Chat { order: String },
}

#[derive(clap::Args, Debug)]
pub struct PlaceArgs {
    /// The shop's id
    #[arg(required_unless_present = "from_cart", conflicts_with = "from_cart")]
    shop: Option<String>,
    /// What to buy: variants' ids, each with `:QTY` for more than one
    /// (var_1:3)
    #[arg(value_parser = ItemSpec::parse, conflicts_with = "from_cart")]
    items: Vec<ItemSpec>,
    /// Order what your cart holds from this shop (its id) instead
    #[arg(long, value_name = "SHOP")]
    from_cart: Option<String>,
    #[command(flatten)]
    address: AddressArgs,
    #[command(flatten)]
    key: KeyOpts,
}

/// Where the order goes.
#[derive(clap::Args, Debug)]
pub struct AddressArgs {
    /// Whom the parcel is for
    #[arg(long)]
    name: String,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    line1: String,
    #[arg(long)]
    line2: Option<String>,
    #[arg(long)]
    city: String,
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    postal_code: Option<String>,
    #[arg(long)]
    country: String,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RefundArgs {
    #[command(subcommand)]
    command: Option<RefundCommand>,
    /// The order's id
    #[arg(required = true)]
    order: Option<String>,
    /// In major units, such as 5.00
    #[arg(required = true, allow_hyphen_values = true, value_parser = TypedAmount::parse)]
    amount: Option<TypedAmount>,
    /// Why, for the shop to read
    #[arg(long, required = true)]
    reason: Option<String>,
    #[command(flatten)]
    key: KeyOpts,
}

#[derive(clap::Subcommand, Debug)]
pub enum RefundCommand {
    /// Give the money of a refund request back to the buyer (the shop)
    Approve {
        order: String,
        /// The request's number, as `order show` lists it
        index: u32,
        #[command(flatten)]
        key: KeyOpts,
    },
    /// Turn a refund request down (the shop)
    Reject {
        order: String,
        index: u32,
        #[command(flatten)]
        key: KeyOpts,
    },
}

/// A variant to add, as typed: `SKU:NAME:PRICE:STOCK`. The name may hold
/// colons (the SKU is up to the first, the price and stock after the last
/// two); the price is scaled once the server's currency is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSpec {
    sku: String,
    name: String,
    price: TypedAmount,
    stock: i64,
}

impl VariantSpec {
    pub fn parse(text: &str) -> anyhow::Result<VariantSpec> {
        let expected = || {
            anyhow!(
                "`{text}` is not a variant: write SKU:NAME:PRICE:STOCK, such as \
                 \"PASTA-500:500 g:12.50:10\""
            )
        };
        let (sku, rest) = text.split_once(':').ok_or_else(expected)?;
        let (rest, stock) = rest.rsplit_once(':').ok_or_else(expected)?;
        let (name, price) = rest.rsplit_once(':').ok_or_else(expected)?;
        if sku.trim().is_empty() || name.trim().is_empty() {
            return Err(expected());
        }
        let price = TypedAmount::parse(price)?;
        let stock = stock
            .parse::<u32>()
            .map_err(|_| anyhow!("`{stock}` is not a stock: write a whole number of units"))?;
        Ok(VariantSpec {
            sku: sku.to_owned(),
            name: name.to_owned(),
            price,
            stock: i64::from(stock),
        })
    }
}

/// One item of an order, as typed: `var_1` or `var_1:3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSpec {
    variant: String,
    quantity: u32,
}

impl ItemSpec {
    pub fn parse(text: &str) -> anyhow::Result<ItemSpec> {
        let (variant, quantity) = match text.rsplit_once(':') {
            Some((variant, quantity)) => {
                let quantity =
                    quantity
                        .parse::<u32>()
                        .ok()
                        .filter(|q| *q > 0)
                        .ok_or_else(|| {
                            anyhow!("`{text}`: the quantity after `:` is a whole number from 1")
                        })?;
                (variant, quantity)
            }
            None => (text, 1),
        };
        if variant.is_empty() {
            bail!("`{text}` names no variant: write its id, such as var_1 or var_1:3");
        }
        Ok(ItemSpec {
            variant: variant.to_owned(),
            quantity,
        })
    }
}

/// A shop's id as typed; a handle is refused with where to find the id,
/// since the API names shops by id alone.
fn shop_id(text: &str) -> anyhow::Result<&str> {
    if text.starts_with(SHOP_PREFIX) {
        Ok(text)
    } else {
        bail!(
            "name the shop by its id ({SHOP_PREFIX}…), not `{text}`: `piazza shop create` \
             printed it, and `piazza product list` shows each product's shop's"
        )
    }
}

// ------------------------------------------------------------ handlers

pub(super) async fn shop(cli: &Cli, command: ShopCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    match command {
        ShopCommand::Create {
            handle,
            name,
            description,
        } => {
            let new = CreateShop {
                handle,
                name,
                description: description.unwrap_or_default(),
                logo_media_id: None,
            };
            let created = client
                .create_shop(&new)
                .await
                .map_err(|e| session.explain(e))?;
            let view = client
                .shop(&created.shop_id)
                .await
                .map_err(|e| session.explain(e))?;
            let id = &created.shop_id;
            println!(
                "opened {} [{id}], public page {}{}; add products with \
                 `piazza product add {id} --title … --variant SKU:NAME:PRICE:STOCK`",
                render::shop_label(&view.shop),
                client.base_url(),
                view.shop.url
            );
        }
        ShopCommand::List => {
            let shops = client.my_shops().await.map_err(|e| session.explain(e))?;
            if shops.is_empty() {
                println!("You own no shop and are staff of none (`piazza shop create` opens one).");
            }
            for view in &shops {
                println!("{}", render::my_shop_line(view));
            }
        }
        ShopCommand::Show { shop } => {
            let view = client
                .shop(shop_id(&shop)?)
                .await
                .map_err(|e| session.explain(e))?;
            let mut directory = session.names().await?;
            let people =
                std::iter::once(view.owner.as_str()).chain(view.staff.iter().map(String::as_str));
            session.name_strangers(&mut directory, people).await;
            for line in render::shop_lines(&view, &directory, client.base_url()) {
                println!("{line}");
            }
        }
        ShopCommand::Staff(command) => staff(&session, command).await?,
    }
    Ok(())
}

async fn staff(session: &Session, command: StaffCommand) -> anyhow::Result<()> {
    let client = &session.client;
    let (shop, username, on) = match command {
        StaffCommand::Add { shop, username } => (shop, username, true),
        StaffCommand::Remove { shop, username } => (shop, username, false),
    };
    let shop = shop_id(&shop)?;
    let view = client.shop(shop).await.map_err(|e| session.explain(e))?;
    let mut directory = session.names().await?;
    session
        .name_strangers(&mut directory, view.staff.iter().map(String::as_str))
        .await;
    let contacts = session.contacts().await?;
    let account_id = match find_by_username(&contacts, &username) {
        Some(contact) => contact.account_id.clone(),
        None if !on => staff_named(&view.staff, &username, &directory)?,
        None => bail!("{username} is not one of your contacts: staff is one of the owner's"),
    };
    client
        .set_shop_staff(shop, &account_id, on)
        .await
        .map_err(|e| session.explain(e))?;
    let (who, label) = (directory.name(&account_id), render::shop_label(&view.shop));
    if on {
        println!("{who} is now staff of {label}: they manage its products, stock and orders");
    } else {
        println!("{who} is no longer staff of {label}");
    }
    Ok(())
}

/// A staff member who is no longer a contact, by the username the
/// directory knows them by, or by account id.
fn staff_named(staff: &[String], named: &str, directory: &Directory) -> anyhow::Result<String> {
    let wanted = format!("(@{})", named.to_ascii_lowercase());
    let found = staff.iter().find(|id| {
        *id == named || {
            let name = directory.name(id);
            name == format!("@{}", named.to_ascii_lowercase()) || name.ends_with(&wanted)
        }
    });
    found
        .cloned()
        .ok_or_else(|| anyhow!("{named} is not staff of this shop: see `piazza shop show`"))
}

pub(super) async fn product(cli: &Cli, command: ProductCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    match command {
        ProductCommand::Add {
            shop,
            title,
            description,
            variants,
        } => add_product(&session, shop_id(&shop)?, title, description, &variants).await,
        ProductCommand::List { shop, cursor } => {
            list_products(&session, None, shop.as_deref(), cursor.as_deref()).await
        }
        ProductCommand::Search {
            words,
            shop,
            cursor,
        } => {
            let words = words.join(" ");
            list_products(&session, Some(&words), shop.as_deref(), cursor.as_deref()).await
        }
        ProductCommand::Stock { variant, change } => {
            let patch = PatchVariant {
                stock: change.set,
                stock_delta: change.add.or(change.remove.map(|units| -units)),
                ..PatchVariant::default()
            };
            change_variant(&session, &variant, &patch).await
        }
        ProductCommand::Price { variant, price } => {
            let patch = PatchVariant {
                price_minor: Some(currency(&session).await?.minor(&price)?),
                ..PatchVariant::default()
            };
            change_variant(&session, &variant, &patch).await
        }
    }
}

async fn add_product(
    session: &Session,
    shop: &str,
    title: String,
    description: Option<String>,
    variants: &[VariantSpec],
) -> anyhow::Result<()> {
    let currency = currency(session).await?;
    let variants = variants
        .iter()
        .map(|spec| {
            Ok(NewVariant {
                sku: spec.sku.clone(),
                name: spec.name.clone(),
                price_minor: currency.minor(&spec.price)?,
                stock: spec.stock,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let new = CreateProduct {
        title,
        description: description.unwrap_or_default(),
        media_ids: Vec::new(),
        variants,
    };
    let client = &session.client;
    let created = client
        .add_product(shop, &new)
        .await
        .map_err(|e| session.explain(e))?;
    let product = client
        .product(&created.product_id)
        .await
        .map_err(|e| session.explain(e))?;
    println!("added, and listed:");
    for line in render::product_lines(&product) {
        println!("{line}");
    }
    Ok(())
}

async fn list_products(
    session: &Session,
    words: Option<&str>,
    shop: Option<&str>,
    cursor: Option<&str>,
) -> anyhow::Result<()> {
    let shop = shop.map(shop_id).transpose()?;
    let page = session
        .client
        .products(words, shop, cursor)
        .await
        .map_err(|e| session.explain(e))?;
    if page.products.is_empty() {
        println!("no products found");
    }
    for product in &page.products {
        for line in render::product_lines(product) {
            println!("{line}");
        }
    }
    if let Some(next) = page.next_cursor {
        println!("(more: run it again with --cursor {next})");
    }
    Ok(())
}

async fn change_variant(
    session: &Session,
    variant: &str,
    patch: &PatchVariant,
) -> anyhow::Result<()> {
    let changed = session
        .client
        .patch_variant(variant, patch)
        .await
        .map_err(|e| session.explain(e))?;
    println!("now {}", render::variant_line(&changed));
    Ok(())
}

pub(super) async fn cart(cli: &Cli, args: CartArgs) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    let cart = match args.command {
        None => client.cart().await,
        Some(CartCommand::Add { variant, quantity }) => {
            let held = client.cart().await.map_err(|e| session.explain(e))?;
            let already = held
                .lines
                .iter()
                .find(|line| line.variant_id == variant)
                .map_or(0, |line| line.quantity);
            client
                .put_cart_item(&variant, already.saturating_add(quantity))
                .await
        }
        Some(CartCommand::Remove { variant }) => client.put_cart_item(&variant, 0).await,
    }
    .map_err(|e| session.explain(e))?;
    for line in render::cart_lines(&cart) {
        println!("{line}");
    }
    Ok(())
}

pub(super) async fn order(cli: &Cli, command: OrderCommand) -> anyhow::Result<()> {
    let session = cli.session()?;
    let client = &session.client;
    let (done, moved) = match command {
        OrderCommand::Place(args) => (OrderMove::Placed, place(&session, args).await?),
        OrderCommand::Pay { order, key } => {
            let pin = pin()?;
            let key = key_for(key);
            (OrderMove::Paid, client.pay_order(&order, &pin, &key).await)
        }
        OrderCommand::Ship {
            order,
            carrier,
            tracking,
            key,
        } => {
            let key = key_for(key);
            let shipped = client.ship_order(&order, &carrier, &tracking, &key).await;
            (OrderMove::Shipped, shipped)
        }
        OrderCommand::Confirm { order, key } => {
            let key = key_for(key);
            (
                OrderMove::Confirmed,
                client.confirm_order(&order, &key).await,
            )
        }
        OrderCommand::Cancel { order, key } => {
            let key = key_for(key);
            (
                OrderMove::Cancelled,
                client.cancel_order(&order, &key).await,
            )
        }
        OrderCommand::Refund(args) => refund(&session, args).await?,
        OrderCommand::List {
            shop,
            status,
            cursor,
        } => return list_orders(&session, shop, status, cursor).await,
        OrderCommand::Chat { order } => {
            let conversation = client
                .order_conversation(&order)
                .await
                .map_err(|e| session.explain(e))?;
            println!(
                "order [{order}]'s conversation is [{conversation}]: \
                 piazza send {conversation} …, piazza history {conversation}"
            );
            return Ok(());
        }
        OrderCommand::Show { order } => {
            let order = client.order(&order).await.map_err(|e| session.explain(e))?;
            let directory = order_directory(&session, std::slice::from_ref(&order)).await?;
            for line in render::order_lines(&order, &directory) {
                println!("{line}");
            }
            return Ok(());
        }
    };
    let order = moved.map_err(|e| session.explain(e))?;
    let directory = order_directory(&session, std::slice::from_ref(&order)).await?;
    println!("{}", render::order_moved(done, &order, &directory));
    Ok(())
}

/// Places the order `args` describes: its items as typed, or what the
/// cart holds from the shop.
async fn place(
    session: &Session,
    args: PlaceArgs,
) -> anyhow::Result<Result<OrderView, piazza_client::ClientError>> {
    let (shop, items) = match (args.from_cart, args.shop) {
        (Some(shop), _) => {
            let shop = shop_id(&shop)?.to_owned();
            let cart = session
                .client
                .cart()
                .await
                .map_err(|e| session.explain(e))?;
            let items: Vec<OrderItemRequest> = cart
                .lines
                .iter()
                .filter(|line| line.shop.shop_id == shop)
                .map(|line| OrderItemRequest {
                    variant_id: line.variant_id.clone(),
                    quantity: line.quantity,
                })
                .collect();
            if items.is_empty() {
                bail!("your cart holds nothing from {shop}: see `piazza cart`");
            }
            (shop, items)
        }
        (None, Some(shop)) => {
            if args.items.is_empty() {
                bail!("say what to buy after the shop: variants' ids, such as var_1 or var_1:3");
            }
            let items = args
                .items
                .into_iter()
                .map(|item| OrderItemRequest {
                    variant_id: item.variant,
                    quantity: item.quantity,
                })
                .collect();
            (shop_id(&shop)?.to_owned(), items)
        }
        // clap asks for one of the two.
        (None, None) => bail!("name a shop and what to buy, or --from-cart SHOP"),
    };
    let address = args.address;
    let order = PlaceOrder {
        shop_id: shop,
        items,
        shipping_address: ShippingAddress {
            name: address.name,
            phone: address.phone.unwrap_or_default(),
            line1: address.line1,
            line2: address.line2.unwrap_or_default(),
            city: address.city,
            region: address.region.unwrap_or_default(),
            postal_code: address.postal_code.unwrap_or_default(),
            country: address.country,
        },
    };
    let key = key_for(args.key);
    Ok(session.client.place_order(&order, &key).await)
}

/// A refund request (with its amount in the order's currency), or the
/// shop's answer to one.
async fn refund(
    session: &Session,
    args: RefundArgs,
) -> anyhow::Result<(OrderMove, Result<OrderView, piazza_client::ClientError>)> {
    let client = &session.client;
    let decision = match args.command {
        Some(RefundCommand::Approve { order, index, key }) => (order, index, true, key),
        Some(RefundCommand::Reject { order, index, key }) => (order, index, false, key),
        None => {
            let (Some(order), Some(amount), Some(reason)) = (args.order, args.amount, args.reason)
            else {
                // clap asks for all three when there is no subcommand.
                bail!("give the order, an amount and --reason: piazza order refund ORDER AMOUNT");
            };
            let shown = client.order(&order).await.map_err(|e| session.explain(e))?;
            let minor = amount.to_minor(minor_digits(&shown.currency)?)?;
            let key = key_for(args.key);
            let asked = client.request_refund(&order, minor, &reason, &key).await;
            let index = asked
                .as_ref()
                .ok()
                .and_then(|order| order.refund_requests.last())
                .map_or(0, |request| request.index);
            return Ok((OrderMove::RefundRequested(index), asked));
        }
    };
    let (order, index, approve, key) = decision;
    let key = key_for(key);
    let decided = client.decide_refund(&order, index, approve, &key).await;
    let done = if approve {
        OrderMove::RefundApproved(index)
    } else {
        OrderMove::RefundRejected(index)
    };
    Ok((done, decided))
}

async fn list_orders(
    session: &Session,
    shop: Option<Option<String>>,
    status: Option<String>,
    cursor: Option<String>,
) -> anyhow::Result<()> {
    let shop_id = match shop.as_ref().and_then(Option::as_deref) {
        Some(shop) => Some(shop_id(shop)?.to_owned()),
        None => None,
    };
    let filter = OrderFilter {
        as_shop: shop.is_some(),
        shop_id,
        status,
        cursor,
        limit: None,
    };
    let page = session
        .client
        .orders(&filter)
        .await
        .map_err(|e| session.explain(e))?;
    if page.orders.is_empty() {
        println!("no orders");
    }
    let directory = order_directory(session, &page.orders).await?;
    for order in &page.orders {
        println!("{}", render::order_line(order, &directory));
    }
    if let Some(next) = page.next_cursor {
        println!("(more: run it again with --cursor {next})");
    }
    Ok(())
}

/// The directory, with the buyers of `orders` this account may name.
async fn order_directory(session: &Session, orders: &[OrderView]) -> anyhow::Result<Directory> {
    let mut directory = session.names().await?;
    let buyers = orders.iter().map(|order| order.buyer.as_str());
    session.name_strangers(&mut directory, buyers).await;
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::ClientCommand;

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(subcommand)]
        command: ClientCommand,
    }

    fn parse(args: &[&str]) -> Result<ClientCommand, clap::Error> {
        TestCli::try_parse_from(std::iter::once("piazza").chain(args.iter().copied()))
            .map(|cli| cli.command)
    }

    const ADDRESS: [&str; 8] = [
        "--name",
        "Bea",
        "--line1",
        "Via Roma 1",
        "--city",
        "Torino",
        "--country",
        "IT",
    ];

    #[test]
    fn an_order_is_placed_from_items_or_from_the_cart() {
        let with = |args: &[&str]| parse(&[&["order", "place"], args, &ADDRESS[..]].concat());
        let Ok(ClientCommand::Order(OrderCommand::Place(place))) =
            with(&["shop_1", "var_1:3", "var_2"])
        else {
            panic!("expected order place");
        };
        assert_eq!(place.shop.as_deref(), Some("shop_1"));
        assert_eq!(
            place
                .items
                .iter()
                .map(|item| item.quantity)
                .collect::<Vec<_>>(),
            [3, 1]
        );
        assert_eq!(place.address.city, "Torino");
        assert!(with(&["--from-cart", "shop_1"]).is_ok());
        for refused in [
            &[][..],
            &["--from-cart", "shop_1", "var_1"],
            &["shop_1", "--from-cart", "shop_2"],
            &["shop_1", "var_1:0"],
        ] {
            assert!(with(refused).is_err(), "{refused:?}");
        }
        let no_address = parse(&["order", "place", "shop_1", "var_1"]);
        assert!(no_address.is_err());
    }

    #[test]
    fn a_refund_is_asked_with_an_amount_or_answered_by_number() {
        let Ok(ClientCommand::Order(OrderCommand::Refund(args))) =
            parse(&["order", "refund", "ord_1", "5.00", "--reason", "late"])
        else {
            panic!("expected order refund");
        };
        assert!(args.command.is_none());
        assert_eq!(args.amount.map(|a| a.to_minor(2).unwrap()), Some(500));
        let Ok(ClientCommand::Order(OrderCommand::Refund(args))) =
            parse(&["order", "refund", "approve", "ord_1", "0"])
        else {
            panic!("expected order refund approve");
        };
        assert!(matches!(
            args.command,
            Some(RefundCommand::Approve { index: 0, .. })
        ));
        for refused in [
            &["order", "refund", "ord_1", "5.00"][..],
            &["order", "refund", "ord_1", "-5", "--reason", "x"],
            &["order", "refund", "reject", "ord_1"],
        ] {
            assert!(parse(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn order_list_takes_the_shop_side_with_or_without_a_shop() {
        let shop_of = |args: &[&str]| match parse(args) {
            Ok(ClientCommand::Order(OrderCommand::List { shop, .. })) => shop,
            other => panic!("expected order list: {other:?}"),
        };
        assert_eq!(shop_of(&["order", "list"]), None);
        assert_eq!(shop_of(&["order", "list", "--shop"]), Some(None));
        assert_eq!(
            shop_of(&["order", "list", "--shop", "shop_1", "--status", "paid"]),
            Some(Some("shop_1".to_owned()))
        );
    }

    #[test]
    fn stock_is_set_added_or_removed_and_carts_take_a_quantity() {
        assert!(parse(&["product", "stock", "var_1", "--remove", "2"]).is_ok());
        for refused in [
            &["product", "stock", "var_1"][..],
            &["product", "stock", "var_1", "--set", "3", "--add", "1"],
            &["product", "stock", "var_1", "--add", "-1"],
            &["product", "price", "var_1", "1.2.3"],
            &["product", "add", "shop_1", "--title", "T"],
            &["cart", "add", "var_1", "0"],
        ] {
            assert!(parse(refused).is_err(), "{refused:?}");
        }
        assert!(matches!(
            parse(&["cart", "add", "var_1"]),
            Ok(ClientCommand::Cart(CartArgs {
                command: Some(CartCommand::Add { quantity: 1, .. })
            }))
        ));
        assert!(matches!(
            parse(&["cart"]),
            Ok(ClientCommand::Cart(CartArgs { command: None }))
        ));
    }

    #[test]
    fn a_variant_is_sku_name_price_and_stock() {
        let spec = VariantSpec::parse("PASTA-500:500 g:12.50:10").unwrap();
        assert_eq!(
            (spec.sku.as_str(), spec.name.as_str(), spec.stock),
            ("PASTA-500", "500 g", 10)
        );
        assert_eq!(spec.price.to_minor(2).unwrap(), 1_250);
        // A name may hold colons.
        let spec = VariantSpec::parse("T-1:Tea: green:3:0").unwrap();
        assert_eq!((spec.name.as_str(), spec.stock), ("Tea: green", 0));
        for bad in [
            "PASTA-500",
            "PASTA-500:500 g:12.50",
            ":500 g:12.50:10",
            "P::12.50:10",
            "P:n:12.5.0:10",
            "P:n:-1:10",
            "P:n:1:-3",
            "P:n:1:ten",
        ] {
            assert!(VariantSpec::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn an_item_is_a_variant_with_an_optional_quantity() {
        let item = |text| ItemSpec::parse(text).unwrap();
        assert_eq!(
            (item("var_1").variant, item("var_1").quantity),
            ("var_1".into(), 1)
        );
        assert_eq!(item("var_1:3").quantity, 3);
        for bad in ["var_1:0", "var_1:x", ":3", ""] {
            assert!(ItemSpec::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_shop_is_named_by_its_id() {
        assert_eq!(shop_id("shop_3").unwrap(), "shop_3");
        let refused = shop_id("nonna.pasta").unwrap_err().to_string();
        assert!(refused.contains("shop_…"), "{refused}");
    }

    #[test]
    fn staff_no_longer_a_contact_is_found_by_username() {
        let mut directory = Directory::default();
        directory.add_person("acct_4", "dan", "Dan Ho");
        directory.add_person("acct_5", "eve", "eve");
        let staff = ["acct_4".to_owned(), "acct_5".to_owned()];
        assert_eq!(staff_named(&staff, "Dan", &directory).unwrap(), "acct_4");
        assert_eq!(staff_named(&staff, "eve", &directory).unwrap(), "acct_5");
        assert_eq!(staff_named(&staff, "acct_5", &directory).unwrap(), "acct_5");
        assert!(staff_named(&staff, "an", &directory).is_err());
    }
}
