//! Shops: shops and their staff, products and variants, the cart, and
//! orders with their refunds; sharing a product into a chat as a card.
//! Every move of an order takes an
//! [`IdempotencyKey`] from the caller, as every money move does (see
//! `pay.rs`): a retry with the same key gets the first answer.

use piazza_api::{
    CartView, CreateProduct, CreateShop, MessageContent, MessageSent, OrderConversation, OrderList,
    OrderView, PatchProduct, PatchVariant, PayOrder, PlaceOrder, ProductCreated, ProductList,
    ProductView, PutCartItem, RequestRefund, ShipOrder, ShopCreated, ShopList, ShopView,
    VariantView,
};
use reqwest::Method;
use serde::Serialize;

use crate::pay::IdempotencyKey;
use crate::{Client, ClientError, decode, encode_segment};

fn shop_path(shop_id: &str, rest: &str) -> String {
    format!("/api/v1/shops/{}{rest}", encode_segment(shop_id))
}

fn order_path(order_id: &str, rest: &str) -> String {
    format!("/api/v1/orders/{}{rest}", encode_segment(order_id))
}

/// Which orders a list holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// The shops' side (`role=shop`) rather than the buyer's.
    pub as_shop: bool,
    pub shop_id: Option<String>,
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl Client {
    /// `GET /api/v1/me/shops`: the shops this account owns or is staff of.
    pub async fn my_shops(&self) -> Result<Vec<ShopView>, ClientError> {
        let list: ShopList = decode(
            &self
                .call(self.request(Method::GET, "/api/v1/me/shops"))
                .await?,
        )?;
        Ok(list.shops)
    }

    /// `POST /api/v1/shops`: a shop this account owns.
    pub async fn create_shop(&self, shop: &CreateShop) -> Result<ShopCreated, ClientError> {
        decode(
            &self
                .call(self.request(Method::POST, "/api/v1/shops").json(shop))
                .await?,
        )
    }

    /// `GET /api/v1/shops/{id}`.
    pub async fn shop(&self, shop_id: &str) -> Result<ShopView, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, &shop_path(shop_id, "")))
                .await?,
        )
    }

    /// `PUT` (`on`) or `DELETE /api/v1/shops/{id}/staff/{account_id}` (the
    /// owner).
    pub async fn set_shop_staff(
        &self,
        shop_id: &str,
        account_id: &str,
        on: bool,
    ) -> Result<(), ClientError> {
        let path = shop_path(shop_id, &format!("/staff/{}", encode_segment(account_id)));
        let method = if on { Method::PUT } else { Method::DELETE };
        self.call(self.request(method, &path)).await?;
        Ok(())
    }

    /// `POST /api/v1/shops/{id}/products` (the owner or staff).
    pub async fn add_product(
        &self,
        shop_id: &str,
        product: &CreateProduct,
    ) -> Result<ProductCreated, ClientError> {
        let request = self
            .request(Method::POST, &shop_path(shop_id, "/products"))
            .json(product);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/products/{id}`.
    pub async fn product(&self, product_id: &str) -> Result<ProductView, ClientError> {
        let path = format!("/api/v1/products/{}", encode_segment(product_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `GET /api/v1/products?q=&shop_id=&cursor=`.
    pub async fn products(
        &self,
        q: Option<&str>,
        shop_id: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<ProductList, ClientError> {
        let query: Vec<(&str, &str)> = [("q", q), ("shop_id", shop_id), ("cursor", cursor)]
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name, value)))
            .collect();
        let request = self.request(Method::GET, "/api/v1/products").query(&query);
        decode(&self.call(request).await?)
    }

    /// Shares the listed product `product_id` into a conversation as a
    /// `product_card` message (the product as it is now: title, first
    /// picture, prices, its shop), idempotent by `client_msg_id` as
    /// [`Client::send`] (the `bool`: replayed).
    pub async fn share_product(
        &self,
        conversation_id: &str,
        client_msg_id: &str,
        product_id: &str,
    ) -> Result<(MessageSent, bool), ClientError> {
        let message = MessageContent {
            product_id: Some(product_id.to_owned()),
            ..MessageContent::default()
        };
        self.send(conversation_id, client_msg_id, message).await
    }

    /// `PATCH /api/v1/products/{id}`.
    pub async fn patch_product(
        &self,
        product_id: &str,
        patch: &PatchProduct,
    ) -> Result<ProductView, ClientError> {
        let path = format!("/api/v1/products/{}", encode_segment(product_id));
        decode(
            &self
                .call(self.request(Method::PATCH, &path).json(patch))
                .await?,
        )
    }

    /// `PATCH /api/v1/variants/{id}`.
    pub async fn patch_variant(
        &self,
        variant_id: &str,
        patch: &PatchVariant,
    ) -> Result<VariantView, ClientError> {
        let path = format!("/api/v1/variants/{}", encode_segment(variant_id));
        decode(
            &self
                .call(self.request(Method::PATCH, &path).json(patch))
                .await?,
        )
    }

    /// `PUT /api/v1/cart/items` (quantity 0 takes the line out).
    pub async fn put_cart_item(
        &self,
        variant_id: &str,
        quantity: u32,
    ) -> Result<CartView, ClientError> {
        let body = PutCartItem {
            variant_id: variant_id.to_owned(),
            quantity,
        };
        decode(
            &self
                .call(self.request(Method::PUT, "/api/v1/cart/items").json(&body))
                .await?,
        )
    }

    /// `GET /api/v1/cart`.
    pub async fn cart(&self) -> Result<CartView, ClientError> {
        decode(&self.call(self.request(Method::GET, "/api/v1/cart")).await?)
    }

    /// A keyed POST of an order's.
    async fn order_move<B: Serialize>(
        &self,
        path: &str,
        key: &IdempotencyKey,
        body: Option<&B>,
    ) -> Result<OrderView, ClientError> {
        let mut request = self
            .request(Method::POST, path)
            .header("Idempotency-Key", key.as_str());
        if let Some(body) = body {
            request = request.json(body);
        }
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/orders`: places an order, reserving its stock.
    pub async fn place_order(
        &self,
        order: &PlaceOrder,
        key: &IdempotencyKey,
    ) -> Result<OrderView, ClientError> {
        self.order_move("/api/v1/orders", key, Some(order)).await
    }

    /// `POST /api/v1/orders/{id}/conversation`: the order's conversation
    /// with the other side, opened by the first call of either.
    pub async fn order_conversation(&self, order_id: &str) -> Result<String, ClientError> {
        let path = order_path(order_id, "/conversation");
        let opened: OrderConversation =
            decode(&self.call(self.request(Method::POST, &path)).await?)?;
        Ok(opened.conversation_id)
    }

    /// `POST /api/v1/orders/{id}/pay` with the payment PIN.
    pub async fn pay_order(
        &self,
        order_id: &str,
        pin: &str,
        key: &IdempotencyKey,
    ) -> Result<OrderView, ClientError> {
        let body = PayOrder {
            pin: pin.to_owned(),
        };
        self.order_move(&order_path(order_id, "/pay"), key, Some(&body))
            .await
    }

    /// `POST /api/v1/orders/{id}/ship` (the shop).
    pub async fn ship_order(
        &self,
        order_id: &str,
        carrier: &str,
        tracking: &str,
        key: &IdempotencyKey,
    ) -> Result<OrderView, ClientError> {
        let body = ShipOrder {
            carrier: carrier.to_owned(),
            tracking: tracking.to_owned(),
        };
        self.order_move(&order_path(order_id, "/ship"), key, Some(&body))
            .await
    }

    /// `POST /api/v1/orders/{id}/confirm` (the buyer).
    pub async fn confirm_order(
        &self,
        order_id: &str,
        key: &IdempotencyKey,
    ) -> Result<OrderView, ClientError> {
        self.order_move::<()>(&order_path(order_id, "/confirm"), key, None)
            .await
    }

    /// `POST /api/v1/orders/{id}/cancel` (the buyer or the shop).
    pub async fn cancel_order(
        &self,
        order_id: &str,
        key: &IdempotencyKey,
    ) -> Result<OrderView, ClientError> {
        self.order_move::<()>(&order_path(order_id, "/cancel"), key, None)
            .await
    }

    /// `POST /api/v1/orders/{id}/refund-requests` (the buyer).
    pub async fn request_refund(
        &self,
        order_id: &str,
        amount_minor: i64,
        reason: &str,
        key: &IdempotencyKey,
    ) -> Result<OrderView, ClientError> {
        let body = RequestRefund {
            amount_minor,
            reason: reason.to_owned(),
        };
        self.order_move(&order_path(order_id, "/refund-requests"), key, Some(&body))
            .await
    }

    /// `POST /api/v1/orders/{id}/refund-requests/{n}/approve` (`approve`)
    /// or `…/reject` (the shop).
    pub async fn decide_refund(
        &self,
        order_id: &str,
        index: u32,
        approve: bool,
        key: &IdempotencyKey,
    ) -> Result<OrderView, ClientError> {
        let verb = if approve { "approve" } else { "reject" };
        let path = order_path(order_id, &format!("/refund-requests/{index}/{verb}"));
        self.order_move::<()>(&path, key, None).await
    }

    /// `GET /api/v1/orders/{id}`.
    pub async fn order(&self, order_id: &str) -> Result<OrderView, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, &order_path(order_id, "")))
                .await?,
        )
    }

    /// `GET /api/v1/orders?role=&shop_id=&status=&cursor=&limit=`.
    pub async fn orders(&self, filter: &OrderFilter) -> Result<OrderList, ClientError> {
        let mut query = vec![(
            "role",
            if filter.as_shop { "shop" } else { "buyer" }.to_owned(),
        )];
        for (name, value) in [
            ("shop_id", &filter.shop_id),
            ("status", &filter.status),
            ("cursor", &filter.cursor),
        ] {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        if let Some(limit) = filter.limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self.request(Method::GET, "/api/v1/orders").query(&query);
        decode(&self.call(request).await?)
    }
}
