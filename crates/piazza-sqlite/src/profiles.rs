//! Profiles, passwords, declined contact requests and group pictures: the
//! account basics beside `writes.rs`, each run by the writer in its own
//! savepoint with its rules checked in the same transaction.
//!
//! Who hears of a change: a profile change goes to the account's own log
//! and its contacts' logs, not to everyone it shares a group with (a
//! group holds up to 500 members and an account may sit in many, so one
//! rename could grow hundreds of thousands of strangers' logs); members
//! read a co-member's current profile when they show it. A group's change
//! goes to its members, as its membership changes do.

use piazza_domain::event::{ConversationKind, Event, Notice};
use piazza_domain::store::{Account, FieldChange, GroupChange, OtherDevices, ProfileChange};
use piazza_domain::{AccountId, ContactRequestId, ConversationId, DeviceId, MediaId, Rejection};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::reads;
use crate::writer::WriteCtx;

/// Changes the account's own profile; logs `account.updated` to it and
/// its contacts when something changed.
pub fn update_profile(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    change: ProfileChange,
) -> Result<Account> {
    let before = reads::account(ctx.conn, account)?;
    let avatar_media_id = match change.avatar {
        FieldChange::Keep => before.avatar_media_id,
        FieldChange::Clear => None,
        FieldChange::Set(media) => Some(own_image(ctx.conn, account, media)?),
    };
    let after = Account {
        display_name: change.display_name.map_or_else(
            || before.display_name.clone(),
            |name| name.as_str().to_owned(),
        ),
        avatar_media_id,
        bio: change
            .bio
            .map_or_else(|| before.bio.clone(), |bio| bio.as_str().to_owned()),
        ..before.clone()
    };
    if after == before {
        return Ok(after);
    }
    ctx.conn
        .prepare_cached(
            "UPDATE accounts SET display_name = ?1, avatar_media_id = ?2, bio = ?3 WHERE id = ?4",
        )?
        .execute(params![
            after.display_name,
            after.avatar_media_id.map(MediaId::row),
            (!after.bio.is_empty()).then_some(after.bio.as_str()),
            account.row()
        ])?;
    let event = Event::AccountUpdated {
        account_id: account,
        display_name: after.display_name.clone(),
        avatar_media_id: after.avatar_media_id,
        bio: after.bio.clone(),
    };
    ctx.append_log(account, event.clone())?;
    for contact in contact_ids(ctx.conn, account)? {
        ctx.append_log(contact, event.clone())?;
    }
    Ok(after)
}

/// `media` if `account` uploaded it; `MediaNotFound` otherwise, as for
/// an id that does not exist.
fn own_image(conn: &Connection, account: AccountId, media: MediaId) -> Result<MediaId> {
    let uploader: Option<i64> = conn
        .prepare_cached("SELECT uploader_id FROM media WHERE id = ?1")?
        .query_row([media.row()], |row| row.get(0))
        .optional()?;
    match uploader {
        Some(uploader) if uploader == account.row() => Ok(media),
        _ => Err(Rejection::MediaNotFound.into()),
    }
}

fn contact_ids(conn: &Connection, account: AccountId) -> Result<Vec<AccountId>> {
    let mut statement =
        conn.prepare_cached("SELECT contact_id FROM contacts WHERE account_id = ?1")?;
    let contacts = statement
        .query_map([account.row()], |row| Ok(AccountId::from_row(row.get(0)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(contacts)
}

/// Replaces the password hash if it is still the one the caller checked
/// the old password against and the acting `device` is still signed in,
/// logs `account.password_changed`, and with `OtherDevices::SignOut`
/// revokes every other live device of the account in the same commit.
/// Answers the devices revoked.
pub fn change_password(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    device: DeviceId,
    old_hash: String,
    new_hash: String,
    others: OtherDevices,
) -> Result<Vec<DeviceId>> {
    // The caller's token was checked before the old password's Argon2 ran
    // (a second or so); a device revoked meanwhile (by another device, or
    // by a password change that signed the others out) must not commit a
    // change, least of all one that signs the others out.
    let signed_in: bool = ctx
        .conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM devices
                            WHERE id = ?1 AND account_id = ?2 AND revoked_at IS NULL)",
        )?
        .query_row([device.row(), account.row()], |row| row.get(0))?;
    if !signed_in {
        return Err(Rejection::DeviceSignedOut.into());
    }
    // Another change committed since the caller verified the old password:
    // that password is no longer the account's.
    if reads::password_hash(ctx.conn, account)? != old_hash {
        return Err(Rejection::WrongPassword.into());
    }
    ctx.conn
        .prepare_cached("UPDATE accounts SET password_hash = ?1 WHERE id = ?2")?
        .execute(params![new_hash, account.row()])?;
    let mut revoked = Vec::new();
    if others == OtherDevices::SignOut {
        let mut statement = ctx.conn.prepare_cached(
            "SELECT id FROM devices WHERE account_id = ?1 AND revoked_at IS NULL AND id <> ?2",
        )?;
        revoked = statement
            .query_map([account.row(), device.row()], |row| {
                Ok(DeviceId::from_row(row.get(0)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(statement);
        ctx.conn
            .prepare_cached(
                "UPDATE devices SET revoked_at = ?1
                 WHERE account_id = ?2 AND revoked_at IS NULL AND id <> ?3",
            )?
            .execute(params![ctx.now.unix_ms(), account.row(), device.row()])?;
    }
    // Logged before the revocations' notices, so the hub pushes it to the
    // other devices' sockets before it closes them.
    ctx.append_log(
        account,
        Event::PasswordChanged {
            by_device_id: device,
            signed_out_other_devices: others == OtherDevices::SignOut,
        },
    )?;
    for other in &revoked {
        ctx.notice(Notice::DeviceRevoked {
            account,
            device: *other,
        });
    }
    Ok(revoked)
}

/// The recipient declines a pending request. The request stays open for
/// its sender (who is not told); the recipient's log says it was declined
/// so their other devices drop it. Declining again changes nothing.
pub fn decline_request(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: ContactRequestId,
) -> Result<()> {
    let found = crate::writes::request_parties(ctx, request)?;
    match found {
        Some((_, to, 2)) if to == account.row() => Ok(()),
        Some((from, to, 0)) if to == account.row() => {
            ctx.conn
                .prepare_cached(
                    "UPDATE contact_requests SET status = 2, declined_at = ?1 WHERE id = ?2",
                )?
                .execute(params![ctx.now.unix_ms(), request.row()])?;
            ctx.append_log(
                account,
                Event::ContactRequestDeclined {
                    request_id: request,
                    from: AccountId::from_row(from),
                },
            )?;
            Ok(())
        }
        // Not the recipient, no such request, or accepted already.
        _ => Err(Rejection::RequestNotFound.into()),
    }
}

/// The owner changes a group's title or picture; every member's log gets
/// `conversation.updated` when something changed.
pub fn update_group(
    ctx: &mut WriteCtx<'_>,
    actor: AccountId,
    conversation: ConversationId,
    change: GroupChange,
) -> Result<()> {
    let found = reads::membership(ctx.conn, actor, conversation)?.ok_or(Rejection::NotAMember)?;
    if found.kind == ConversationKind::Direct {
        return Err(Rejection::NotAGroup.into());
    }
    if found.owner != Some(actor) {
        return Err(Rejection::NotOwner.into());
    }
    let (title, avatar): (Option<String>, Option<i64>) = ctx
        .conn
        .prepare_cached("SELECT title, avatar_media_id FROM conversations WHERE id = ?1")?
        .query_row([conversation.row()], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let (title_before, avatar_before) = (title.unwrap_or_default(), avatar.map(MediaId::from_row));
    let avatar_after = match change.avatar {
        FieldChange::Keep => avatar_before,
        FieldChange::Clear => None,
        FieldChange::Set(media) => Some(own_image(ctx.conn, actor, media)?),
    };
    let title_after = change
        .title
        .map_or_else(|| title_before.clone(), |title| title.as_str().to_owned());
    if (&title_after, avatar_after) == (&title_before, avatar_before) {
        return Ok(());
    }
    ctx.conn
        .prepare_cached("UPDATE conversations SET title = ?1, avatar_media_id = ?2 WHERE id = ?3")?
        .execute(params![
            title_after,
            avatar_after.map(MediaId::row),
            conversation.row()
        ])?;
    let event = Event::ConversationUpdated {
        conversation_id: conversation,
        title: title_after,
        avatar_media_id: avatar_after,
        by: actor,
    };
    for member in reads::member_ids(ctx.conn, conversation)? {
        ctx.append_log(member, event.clone())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use piazza_domain::store::{OtherDevices, TokenHash};
    use piazza_domain::{Rejection, Store, StoreError};

    use crate::reads;
    use crate::test_support::{Nobody, account, device};
    use crate::{SqliteStore, StoreOptions};

    /// The route checks the token, then runs Argon2 on the old password
    /// (a second or so) before the store commits: a device signed out in
    /// between must not change the password, nor sign the others out.
    #[tokio::test]
    async fn a_device_signed_out_meanwhile_cannot_change_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap();
        let ann = account(&store, "ann").await;
        let mut devices = Vec::new();
        for (n, name) in ["laptop", "phone"].into_iter().enumerate() {
            let _ = name;
            let device = device(&store, ann, TokenHash([u8::try_from(n).unwrap(); 32])).await;
            devices.push(device);
        }
        let (stolen, phone) = (devices[0], devices[1]);
        // The thief's request has checked the old password; meanwhile the
        // owner signs that device out from the phone.
        store
            .writer
            .run(move |ctx| Ok(piazza_core::accounts::revoke_device(ctx, ann, stolen)?))
            .await
            .unwrap();
        let refused = store
            .change_password(ann, stolen, "x".into(), "new".into(), OtherDevices::SignOut)
            .await;
        assert!(
            matches!(
                refused,
                Err(StoreError::Rejected(Rejection::DeviceSignedOut))
            ),
            "{refused:?}"
        );
        assert_eq!(store.password_hash(ann).await.unwrap(), "x");
        let live = store
            .readers
            .read(move |conn| reads::devices(conn, ann, None, 10));
        assert_eq!(
            live.await
                .unwrap()
                .iter()
                .map(|d| d.device_id)
                .collect::<Vec<_>>(),
            [phone],
            "the phone is still signed in"
        );
    }
}
