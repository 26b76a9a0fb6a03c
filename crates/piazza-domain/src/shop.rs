//! Shops: the values a shop, a product, a variant and a shipping address
//! are made of, each parsed once from outside input, and the limits of
//! the area. An order's life is `order.rs`; the rules that need data are
//! in `piazza_core::shops`.

use serde::{Deserialize, Serialize};

use crate::channel::{channel_text, text};
use crate::values::ValueError;

pub use crate::channel::Handle;

/// Shops one account may own.
pub const SHOPS_PER_OWNER_MAX: usize = 20;
/// Staff (besides its owner) one shop may name.
pub const STAFF_PER_SHOP_MAX: usize = 50;
/// Shops one account's "my shops" lists at most: those it owns and those
/// it is staff of (staff roles are not capped per account; a list this
/// long is someone's whole trade).
pub const MANAGED_SHOPS_MAX: usize = 200;
/// Products one shop may hold.
pub const PRODUCTS_PER_SHOP_MAX: usize = 10_000;
/// Variants one product may have.
pub const VARIANTS_PER_PRODUCT_MAX: usize = 100;
/// Pictures one product may show.
pub const PRODUCT_MEDIA_MAX: usize = 9;
/// Distinct variants one cart may hold.
pub const CART_ITEMS_MAX: usize = 100;
/// The most units a variant's stock may hold.
pub const STOCK_MAX: i64 = 1_000_000_000;
/// A shop's name, a product's title, a variant's name, in characters.
pub const NAME_CHARS_MAX: usize = 120;
/// A shop's or a product's description, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 5_000;
/// A SKU, in characters.
pub const SKU_CHARS_MAX: usize = 64;
/// One line of a shipping address, in characters.
pub const ADDRESS_LINE_CHARS_MAX: usize = 200;
/// Products a page of a listing or search holds at most.
pub const PRODUCTS_PAGE_MAX: usize = 50;
/// Orders a page of a list holds at most.
pub const ORDERS_PAGE_MAX: usize = 50;

channel_text!(
    /// A shop's name ("Nonna's Pasta"); one line.
    ShopName, "name", "invalid_name", NAME_CHARS_MAX,
    allow_empty = false, prose = false
);
channel_text!(
    /// What a shop or a product is about; prose, may be empty.
    Description, "description", "invalid_description", DESCRIPTION_CHARS_MAX,
    allow_empty = true, prose = true
);
channel_text!(
    /// A product's title; one line.
    ProductTitle, "title", "invalid_title", NAME_CHARS_MAX,
    allow_empty = false, prose = false
);
channel_text!(
    /// A variant's name ("500 g", "Red, XL"); one line.
    VariantName, "name", "invalid_variant_name", NAME_CHARS_MAX,
    allow_empty = false, prose = false
);

/// A stock-keeping unit: the shop's own code for a variant, unique within
/// the shop; 1–64 of letters, digits and `-_.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Sku, ValueError> {
        let fits = (1..=SKU_CHARS_MAX).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !fits {
            return Err(ValueError::new(
                "sku",
                "invalid_sku",
                format!("must be 1 to {SKU_CHARS_MAX} of A-Z, a-z, 0-9, '-', '_' and '.'"),
            ));
        }
        Ok(Sku(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value the store wrote after parsing it.
    pub fn from_store(text: String) -> Sku {
        Sku(text)
    }
}

/// A count of units in stock: 0 to [`STOCK_MAX`].
pub fn parse_stock(value: i64) -> Result<i64, ValueError> {
    if !(0..=STOCK_MAX).contains(&value) {
        return Err(ValueError::new(
            "stock",
            "invalid_stock",
            format!("must be 0 to {STOCK_MAX}"),
        ));
    }
    Ok(value)
}

/// Where an order goes. Every line is one line of text within
/// [`ADDRESS_LINE_CHARS_MAX`]; `name`, `line1`, `city` and `country` must
/// be there, the others may be empty. Kept with the order as it was when
/// placed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingAddress {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub postal_code: String,
    pub country: String,
}

impl ShippingAddress {
    /// Every line trimmed and checked; `Err` names the first bad one.
    pub fn parse(raw: &ShippingAddress) -> Result<ShippingAddress, ValueError> {
        let line = |field: &'static str, value: &str, required: bool| {
            text(
                field,
                "invalid_shipping_address",
                value,
                ADDRESS_LINE_CHARS_MAX,
                !required,
                false,
            )
        };
        Ok(ShippingAddress {
            name: line("shipping_address.name", &raw.name, true)?,
            phone: line("shipping_address.phone", &raw.phone, false)?,
            line1: line("shipping_address.line1", &raw.line1, true)?,
            line2: line("shipping_address.line2", &raw.line2, false)?,
            city: line("shipping_address.city", &raw.city, true)?,
            region: line("shipping_address.region", &raw.region, false)?,
            postal_code: line("shipping_address.postal_code", &raw.postal_code, false)?,
            country: line("shipping_address.country", &raw.country, true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_codes() {
        assert!(Sku::parse("PASTA-500g.v2").is_ok());
        for bad in ["", "with space", "ü", &"x".repeat(SKU_CHARS_MAX + 1)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stock_is_bounded() {
        assert_eq!(parse_stock(0), Ok(0));
        assert!(parse_stock(-1).is_err());
        assert!(parse_stock(STOCK_MAX + 1).is_err());
    }

    #[test]
    fn an_address_needs_its_four_lines_and_no_controls() {
        let good = ShippingAddress {
            name: " Ada ".into(),
            line1: "Via Roma 1".into(),
            city: "Torino".into(),
            country: "IT".into(),
            ..ShippingAddress::default()
        };
        let parsed = ShippingAddress::parse(&good).unwrap();
        assert_eq!(parsed.name, "Ada");
        let mut missing = good.clone();
        missing.city = "  ".into();
        assert_eq!(
            ShippingAddress::parse(&missing).unwrap_err().field,
            "shipping_address.city"
        );
        let mut forged = good;
        forged.line2 = "a\u{1b}[2J".into();
        assert!(ShippingAddress::parse(&forged).is_err());
    }
}
