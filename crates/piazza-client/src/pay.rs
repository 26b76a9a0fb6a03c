//! Piazza Pay: the wallet, transfers, red packets, merchants and payments.
//!
//! Every call that moves money takes an [`IdempotencyKey`] from the
//! caller and sends it as the `Idempotency-Key` header. The client never
//! makes one up: only the caller knows whether a call is a retry of an
//! earlier one (same key, the server replays its first answer) or a new
//! operation (fresh key), so only the caller can choose.

use piazza_api::{
    Collect, ConfirmPayment, CreateMerchant, MerchantCreated, MerchantView, Pay, PaymentCodeIssued,
    PaymentCodeRequest, PaymentDone, PaymentView, PinResetStarted, QrPayload, RedPacketClaimed,
    RedPacketSent, RedPacketView, RefundDone, RefundPayment, SendRedPacket, SendTransfer, SetPin,
    Statement, StatementEntryView, TopUp, TopUpDone, TransferSent, TransferStatusView,
    TransferView, WalletView, Withdraw, WithdrawalDone,
};
use reqwest::Method;

use crate::{Client, ClientError, decode, encode_segment};

/// The header the server reads the key from.
pub(crate) const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// The server takes 1 to 255 visible ASCII characters.
const IDEMPOTENCY_KEY_LEN_MAX: usize = 255;
/// Pages of statement `all_statement` follows at most, at 200 entries a
/// page: a CLI or test that wants more should page by hand.
pub const STATEMENT_PAGES_MAX: usize = 50;

/// The `Idempotency-Key` of one money-moving operation: 1 to 255 visible
/// ASCII characters, as the server accepts. Reuse the same key to retry an
/// operation whose answer was lost; use a fresh one for a new operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A key the caller chose (for instance one printed by an earlier,
    /// interrupted attempt). `None` if the server would refuse it.
    pub fn parse(text: &str) -> Option<IdempotencyKey> {
        let valid = !text.is_empty()
            && text.len() <= IDEMPOTENCY_KEY_LEN_MAX
            && text.bytes().all(|byte| byte.is_ascii_graphic());
        valid.then(|| IdempotencyKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The image formats of a merchant's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrImageFormat {
    Png,
    Svg,
}

impl QrImageFormat {
    pub(crate) fn as_query(self) -> &'static str {
        match self {
            QrImageFormat::Png => "png",
            QrImageFormat::Svg => "svg",
        }
    }
}

/// The red packet split modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitMode {
    /// Random shares.
    Lucky,
    /// The same share for everyone.
    Equal,
}

impl SplitMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SplitMode::Lucky => "lucky",
            SplitMode::Equal => "equal",
        }
    }
}

impl Client {
    /// A money-moving POST: the body as JSON and the key as the header.
    fn money_request<B: serde::Serialize>(
        &self,
        path: &str,
        key: &IdempotencyKey,
        body: &B,
    ) -> reqwest::RequestBuilder {
        self.request(Method::POST, path)
            .header(IDEMPOTENCY_HEADER, key.as_str())
            .json(body)
    }

    // -------------------------------------------------------------- wallet

    /// `GET /api/v1/wallet`: the caller's balance and the currency.
    pub async fn wallet(&self) -> Result<WalletView, ClientError> {
        decode(
            &self
                .call(self.request(Method::GET, "/api/v1/wallet"))
                .await?,
        )
    }

    /// `PUT /api/v1/wallet/pin` with the account password: sets the first
    /// six-digit payment PIN (`None`: it works now), or, when one is set,
    /// resets a forgotten one (`Some`: it takes effect, and money may
    /// leave the wallet again, at the answer's `effective_at`). Wrong
    /// passwords count with the log-in failures.
    pub async fn set_pin(
        &self,
        pin: &str,
        password: &str,
    ) -> Result<Option<PinResetStarted>, ClientError> {
        let body = SetPin {
            pin: pin.to_owned(),
            password: Some(password.to_owned()),
            old_pin: None,
        };
        let answer = self
            .call(self.request(Method::PUT, "/api/v1/wallet/pin").json(&body))
            .await?;
        if answer.status == reqwest::StatusCode::ACCEPTED {
            return decode(&answer).map(Some);
        }
        Ok(None)
    }

    /// `PUT /api/v1/wallet/pin` with the current PIN: the new one works at
    /// once, and a reset still waiting is cancelled.
    pub async fn change_pin(&self, old_pin: &str, pin: &str) -> Result<(), ClientError> {
        let body = SetPin {
            pin: pin.to_owned(),
            password: None,
            old_pin: Some(old_pin.to_owned()),
        };
        self.call(self.request(Method::PUT, "/api/v1/wallet/pin").json(&body))
            .await?;
        Ok(())
    }

    /// `POST /api/v1/wallet/topups` through the server's payment gateway.
    pub async fn top_up(
        &self,
        key: &IdempotencyKey,
        amount_minor: i64,
    ) -> Result<TopUpDone, ClientError> {
        let body = TopUp {
            amount_minor: amount_minor.into(),
        };
        let request = self.money_request("/api/v1/wallet/topups", key, &body);
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/wallet/withdrawals`; needs the payment PIN.
    pub async fn withdraw(
        &self,
        key: &IdempotencyKey,
        amount_minor: i64,
        pin: &str,
    ) -> Result<WithdrawalDone, ClientError> {
        let body = Withdraw {
            amount_minor: amount_minor.into(),
            pin: pin.to_owned(),
        };
        let request = self.money_request("/api/v1/wallet/withdrawals", key, &body);
        decode(&self.call(request).await?)
    }

    /// One page of `GET /api/v1/wallet/statement`, newest first: the first
    /// without a cursor, the next with the `cursor` of the one before.
    pub async fn statement_page(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Statement, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self
            .request(Method::GET, "/api/v1/wallet/statement")
            .query(&query);
        decode(&self.call(request).await?)
    }

    /// The statement, newest first, following the pages (at most
    /// `STATEMENT_PAGES_MAX`).
    pub async fn all_statement(&self) -> Result<Vec<StatementEntryView>, ClientError> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..STATEMENT_PAGES_MAX {
            let page = self.statement_page(cursor.as_deref(), None).await?;
            entries.extend(page.entries);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(entries)
    }

    // ----------------------------------------------------------- transfers

    /// `POST /api/v1/transfers`: money to a contact (`to` is their
    /// `account_id`), held until they accept or decline.
    pub async fn send_transfer(
        &self,
        key: &IdempotencyKey,
        to_account_id: &str,
        amount_minor: i64,
        pin: &str,
        note: Option<&str>,
    ) -> Result<TransferSent, ClientError> {
        let body = SendTransfer {
            to: to_account_id.to_owned(),
            amount_minor: amount_minor.into(),
            pin: pin.to_owned(),
            note: note.map(str::to_owned),
        };
        let request = self.money_request("/api/v1/transfers", key, &body);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/transfers/{id}`, for its sender or recipient.
    pub async fn transfer(&self, transfer_id: &str) -> Result<TransferView, ClientError> {
        let path = format!("/api/v1/transfers/{}", encode_segment(transfer_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `POST /api/v1/transfers/{id}/accept`: the recipient takes the money.
    pub async fn accept_transfer(
        &self,
        transfer_id: &str,
    ) -> Result<TransferStatusView, ClientError> {
        self.decide_transfer(transfer_id, "accept").await
    }

    /// `POST /api/v1/transfers/{id}/decline`: the money goes back.
    pub async fn decline_transfer(
        &self,
        transfer_id: &str,
    ) -> Result<TransferStatusView, ClientError> {
        self.decide_transfer(transfer_id, "decline").await
    }

    async fn decide_transfer(
        &self,
        transfer_id: &str,
        decision: &str,
    ) -> Result<TransferStatusView, ClientError> {
        let path = format!(
            "/api/v1/transfers/{}/{decision}",
            encode_segment(transfer_id)
        );
        decode(&self.call(self.request(Method::POST, &path)).await?)
    }

    // --------------------------------------------------------- red packets

    /// `POST /api/v1/red-packets`: `total_minor` split into `count` shares
    /// for the members of a conversation.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_red_packet(
        &self,
        key: &IdempotencyKey,
        conversation_id: &str,
        total_minor: i64,
        count: u32,
        mode: SplitMode,
        pin: &str,
        greeting: Option<&str>,
    ) -> Result<RedPacketSent, ClientError> {
        let body = SendRedPacket {
            conversation_id: conversation_id.to_owned(),
            total_minor: total_minor.into(),
            count: count.into(),
            mode: mode.as_str().to_owned(),
            pin: pin.to_owned(),
            greeting: greeting.map(str::to_owned),
        };
        let request = self.money_request("/api/v1/red-packets", key, &body);
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/red-packets/{id}/claim`: the caller's share, the same
    /// on every claim (so it needs no idempotency key).
    pub async fn claim_red_packet(
        &self,
        red_packet_id: &str,
    ) -> Result<RedPacketClaimed, ClientError> {
        let path = format!(
            "/api/v1/red-packets/{}/claim",
            encode_segment(red_packet_id)
        );
        decode(&self.call(self.request(Method::POST, &path)).await?)
    }

    /// `GET /api/v1/red-packets/{id}`: the packet and its claims so far.
    pub async fn red_packet(&self, red_packet_id: &str) -> Result<RedPacketView, ClientError> {
        let path = format!("/api/v1/red-packets/{}", encode_segment(red_packet_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    // ----------------------------------------------------------- merchants

    /// `POST /api/v1/merchants`; returns the `merchant_id`.
    pub async fn create_merchant(
        &self,
        name: &str,
        city: Option<&str>,
    ) -> Result<String, ClientError> {
        let body = CreateMerchant {
            name: name.to_owned(),
            city: city.map(str::to_owned),
        };
        let request = self.request(Method::POST, "/api/v1/merchants").json(&body);
        let created: MerchantCreated = decode(&self.call(request).await?)?;
        Ok(created.merchant_id)
    }

    /// `GET /api/v1/merchants/{id}`, for its owner.
    pub async fn merchant(&self, merchant_id: &str) -> Result<MerchantView, ClientError> {
        let path = format!("/api/v1/merchants/{}", encode_segment(merchant_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `GET /api/v1/merchants/{id}/qr?format=payload`: the EMVCo payload,
    /// static, or dynamic with `amount_minor`.
    pub async fn merchant_qr(
        &self,
        merchant_id: &str,
        amount_minor: Option<i64>,
    ) -> Result<String, ClientError> {
        let request = self.qr_request(merchant_id, amount_minor, "payload");
        let payload: QrPayload = decode(&self.call(request).await?)?;
        Ok(payload.payload)
    }

    /// `GET /api/v1/merchants/{id}/qr?format=png|svg`: the image's bytes.
    pub async fn merchant_qr_image(
        &self,
        merchant_id: &str,
        amount_minor: Option<i64>,
        format: QrImageFormat,
    ) -> Result<Vec<u8>, ClientError> {
        let request = self.qr_request(merchant_id, amount_minor, format.as_query());
        Ok(self.call(request).await?.body)
    }

    fn qr_request(
        &self,
        merchant_id: &str,
        amount_minor: Option<i64>,
        format: &str,
    ) -> reqwest::RequestBuilder {
        let path = format!("/api/v1/merchants/{}/qr", encode_segment(merchant_id));
        let mut query = vec![("format", format.to_owned())];
        if let Some(amount_minor) = amount_minor {
            query.push(("amount_minor", amount_minor.to_string()));
        }
        self.request(Method::GET, &path).query(&query)
    }

    /// `POST /api/v1/payments`: pays the merchant of a scanned code.
    /// `amount_minor` is needed for a static code only.
    pub async fn pay(
        &self,
        key: &IdempotencyKey,
        qr_payload: &str,
        amount_minor: Option<i64>,
        pin: &str,
    ) -> Result<PaymentDone, ClientError> {
        let body = Pay {
            qr_payload: qr_payload.to_owned(),
            amount_minor: amount_minor.map(Into::into),
            pin: pin.to_owned(),
        };
        let request = self.money_request("/api/v1/payments", key, &body);
        decode(&self.call(request).await?)
    }

    /// `GET /api/v1/payments/{id}`, for its buyer or its merchant's owner.
    pub async fn payment(&self, payment_id: &str) -> Result<PaymentView, ClientError> {
        let path = format!("/api/v1/payments/{}", encode_segment(payment_id));
        decode(&self.call(self.request(Method::GET, &path)).await?)
    }

    /// `POST /api/v1/payments/{id}/confirm`: the buyer confirms, with the
    /// PIN, a collection that needs it; confirming again answers the same
    /// (so it needs no idempotency key).
    pub async fn confirm_payment(
        &self,
        payment_id: &str,
        pin: &str,
    ) -> Result<PaymentDone, ClientError> {
        let path = format!("/api/v1/payments/{}/confirm", encode_segment(payment_id));
        let body = ConfirmPayment {
            pin: pin.to_owned(),
        };
        decode(
            &self
                .call(self.request(Method::POST, &path).json(&body))
                .await?,
        )
    }

    /// `POST /api/v1/payments/{id}/decline`: the buyer refuses a
    /// collection that waits for them; nothing moves.
    pub async fn decline_payment(&self, payment_id: &str) -> Result<PaymentDone, ClientError> {
        let path = format!("/api/v1/payments/{}/decline", encode_segment(payment_id));
        decode(&self.call(self.request(Method::POST, &path)).await?)
    }

    /// `POST /api/v1/payments/{id}/refunds`, by the merchant's owner.
    pub async fn refund(
        &self,
        key: &IdempotencyKey,
        payment_id: &str,
        amount_minor: i64,
    ) -> Result<RefundDone, ClientError> {
        let path = format!("/api/v1/payments/{}/refunds", encode_segment(payment_id));
        let body = RefundPayment {
            amount_minor: amount_minor.into(),
        };
        decode(&self.call(self.money_request(&path, key, &body)).await?)
    }

    /// `POST /api/v1/wallet/payment-code`: a one-use 18-digit code, bound
    /// to this device, for a merchant to scan within a minute. It needs the
    /// payment PIN; `None` works only within a few minutes of this device
    /// entering it (else 403 `pin_required`).
    pub async fn payment_code(&self, pin: Option<&str>) -> Result<PaymentCodeIssued, ClientError> {
        let body = PaymentCodeRequest {
            pin: pin.map(str::to_owned),
        };
        let request = self
            .request(Method::POST, "/api/v1/wallet/payment-code")
            .json(&body);
        decode(&self.call(request).await?)
    }

    /// `POST /api/v1/merchants/{id}/collect`: the owner charges a buyer's
    /// payment code. The answer's status is `completed`, or
    /// `needs_confirmation` above the server's no-PIN limit.
    pub async fn collect(
        &self,
        key: &IdempotencyKey,
        merchant_id: &str,
        payment_code: &str,
        amount_minor: i64,
    ) -> Result<PaymentDone, ClientError> {
        let path = format!("/api/v1/merchants/{}/collect", encode_segment(merchant_id));
        let body = Collect {
            payment_code: payment_code.to_owned(),
            amount_minor: amount_minor.into(),
        };
        decode(&self.call(self.money_request(&path, key, &body)).await?)
    }
}
