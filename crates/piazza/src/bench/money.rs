//! Piazza Pay calls shared by the money benches, made through the client's
//! raw requests: the wallet endpoints need an `Idempotency-Key` header,
//! which the typed client does not send.

use anyhow::{Context, bail};
use piazza_client::{Client, RawResponse};
use reqwest::Method;
use serde_json::{Value, json};

use super::setup::{self, Account};

/// Every bench account's payment PIN.
pub const PIN: &str = "135790";

/// One answer: its status and its JSON body (null when empty or not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The problem code of an error answer, or the status when it has none.
    pub fn code(&self) -> String {
        match self.body["code"].as_str() {
            Some(code) => format!("{} {code}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// A JSON call; only a transport failure is an error here.
pub async fn call(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
    idempotency_key: Option<&str>,
) -> anyhow::Result<Answer> {
    let headers: Vec<(&str, &str)> = idempotency_key
        .map(|key| ("Idempotency-Key", key))
        .into_iter()
        .collect();
    let body = body.map(|body| body.to_string().into_bytes());
    let content_type = body.as_ref().map(|_| "application/json");
    let RawResponse { status, body, .. } = client
        .raw_with_headers(method, path, body, content_type, &headers)
        .await
        .with_context(|| format!("{path}: no answer"))?;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(Answer { status, body })
}

/// Sets the bench PIN and tops the wallet up by `amount_minor` through the
/// sandbox gateway.
pub async fn fund(account: &Account, amount_minor: i64) -> anyhow::Result<()> {
    let pin = json!({ "pin": PIN, "password": setup::PASSWORD });
    let answer = call(
        &account.device,
        Method::PUT,
        "/api/v1/wallet/pin",
        Some(&pin),
        None,
    )
    .await?;
    if answer.status != 204 {
        bail!(
            "{}: setting the PIN answered {}",
            account.username,
            answer.code()
        );
    }
    let top_up = json!({ "amount_minor": amount_minor });
    let key = format!("bench-fund-{}", account.account_id);
    let answer = call(
        &account.device,
        Method::POST,
        "/api/v1/wallet/topups",
        Some(&top_up),
        Some(&key),
    )
    .await?;
    if answer.status != 201 {
        bail!(
            "{}: the top-up answered {} (is the sandbox gateway on?)",
            account.username,
            answer.code()
        );
    }
    Ok(())
}

/// The caller's wallet balance.
pub async fn balance(client: &Client) -> anyhow::Result<i64> {
    let answer = call(client, Method::GET, "/api/v1/wallet", None, None).await?;
    match answer.body["balance_minor"].as_i64() {
        Some(balance) if answer.status == 200 => Ok(balance),
        _ => bail!("the balance answered {}", answer.code()),
    }
}
