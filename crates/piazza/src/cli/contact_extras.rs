//! Remarks and contact codes from the command line: `piazza contacts
//! remark`, `piazza contacts code` and `piazza contacts add-by-code`.

use anyhow::anyhow;

use super::{Session, find_by_username, render};

/// Names the contact `contact` (a username or account id) `remark`, for
/// this account's eyes only; an empty remark clears it.
pub async fn remark(session: &Session, contact: &str, remark: &str) -> anyhow::Result<()> {
    let contacts = session.contacts().await?;
    let found = find_by_username(&contacts, contact)
        .or_else(|| contacts.iter().find(|known| known.account_id == contact))
        .ok_or_else(|| {
            anyhow!("{contact} is not one of your contacts: see `piazza contacts list`")
        })?;
    let changed = session
        .client
        .set_remark(&found.account_id, Some(remark))
        .await
        .map_err(|e| session.explain(e))?;
    let who = render::person_label(&changed.username, &changed.display_name);
    match changed.remark {
        Some(remark) => println!("you now call {who} \"{remark}\" (only you see it)"),
        None => println!("cleared your remark for {who}"),
    }
    Ok(())
}

/// Prints this account's contact code, its payload and a QR code to scan;
/// `reset` first revokes the old one.
pub async fn code(session: &Session, reset: bool) -> anyhow::Result<()> {
    let client = &session.client;
    let payload = if reset {
        client.reset_contact_code().await
    } else {
        client.contact_code().await
    }
    .map_err(|e| session.explain(e))?;
    if reset {
        println!("your old contact code no longer works; the new one:");
    }
    println!("{payload}");
    println!("{}", super::pay::draw_qr(&payload)?);
    println!(
        "whoever scans it (or runs `piazza contacts add-by-code {payload}`) can ask to be your \
         contact; `piazza contacts code --reset` revokes it"
    );
    Ok(())
}

/// Asks the owner of a scanned or pasted contact code.
pub async fn add_by_code(
    session: &Session,
    payload: &str,
    greeting: Option<&str>,
) -> anyhow::Result<()> {
    let request_id = session
        .client
        .request_contact_by_code(payload, greeting)
        .await
        .map_err(|e| session.explain(e))?;
    // The answer names only the request; the outgoing list, whom.
    let outgoing = session.client.outgoing_requests().await.ok();
    let asked = outgoing.and_then(|list| {
        list.requests
            .into_iter()
            .find(|request| request.request_id == request_id)
    });
    match asked {
        Some(request) => println!(
            "asked {} to be a contact (request {request_id})",
            render::person_label(&request.to.username, &request.to.display_name)
        ),
        // Asking someone who had asked first accepted their request.
        None => println!("you are now contacts (request {request_id} accepted)"),
    }
    Ok(())
}
