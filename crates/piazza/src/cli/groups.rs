//! `piazza group …` beyond creating, adding and removing: a group's roles
//! and announcement, admins, the title, leaving, invitations by link or
//! QR code and the join requests of approval mode. A group is named as
//! everywhere else (its title, or its id); a member by a contact's
//! username or an account id (as `group remove` takes one).

use std::path::PathBuf;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use piazza_api::{GroupView, UpdateGroup};
use piazza_client::JoinDecision;

use super::render::{self, Directory};
use super::{Session, find_by_username};

/// The subcommands of `piazza group` this module runs.
#[derive(clap::Subcommand, Debug)]
pub enum GroupAdminCommand {
    /// Show a group: its announcement, approval mode and every member's role
    Show {
        /// A group's title or a conversation id
        group: String,
    },
    /// Make a member an admin (the owner only)
    Admin { group: String, member: String },
    /// Make an admin a plain member again (the owner only)
    Unadmin { group: String, member: String },
    /// Rename a group (the owner and admins)
    Title { group: String, title: String },
    /// Set the group's announcement; "" clears it (the owner and admins)
    Announce { group: String, text: String },
    /// Make joins by invitation wait for approval, or not (the owner and admins)
    Approval {
        group: String,
        #[arg(value_parser = ["on", "off"])]
        mode: String,
    },
    /// Leave a group; if you own it, its longest-standing admin (else member) will
    Leave { group: String },
    /// Invite people by link or QR code (any member); prints the payload
    Invite {
        group: String,
        /// Also write the QR code to this file (.png or .svg)
        #[arg(long, value_name = "FILE")]
        qr: Option<PathBuf>,
    },
    /// Join a group with an invitation's payload (piazza-invite:…)
    Join { payload: String },
    /// List the join requests waiting for you (the owner and admins)
    Requests { group: String },
    /// Let a waiting requester in (the owner and admins)
    Approve { group: String, member: String },
    /// Turn a waiting request down (the owner and admins)
    Decline { group: String, member: String },
}

/// Runs one of this module's subcommands.
pub async fn run(session: &Session, command: GroupAdminCommand) -> anyhow::Result<()> {
    use GroupAdminCommand as C;
    match command {
        C::Show { group } => show(session, &group).await,
        C::Admin { group, member } => admin(session, &group, &member, Role::Admin).await,
        C::Unadmin { group, member } => admin(session, &group, &member, Role::Member).await,
        C::Title { group, title } => {
            let change = UpdateGroup {
                title: Some(title),
                ..UpdateGroup::default()
            };
            update(session, &group, &change, "renamed").await
        }
        C::Announce { group, text } => {
            let change = UpdateGroup {
                announcement: Some(text),
                ..UpdateGroup::default()
            };
            update(session, &group, &change, "set the announcement of").await
        }
        C::Approval { group, mode } => {
            let change = UpdateGroup {
                join_approval: Some(mode == "on"),
                ..UpdateGroup::default()
            };
            update(session, &group, &change, "set approval mode of").await
        }
        C::Leave { group } => leave(session, &group).await,
        C::Invite { group, qr } => invite(session, &group, qr).await,
        C::Join { payload } => join(session, &payload).await,
        C::Requests { group } => requests(session, &group).await,
        C::Approve { group, member } => {
            decide(session, &group, &member, JoinDecision::Approve).await
        }
        C::Decline { group, member } => {
            decide(session, &group, &member, JoinDecision::Decline).await
        }
    }
}

/// The directory with every member of `view` named, strangers included.
async fn names_of(session: &Session, view: &GroupView) -> anyhow::Result<Directory> {
    let mut directory = session.names().await?;
    let ids = view.members.iter().map(|member| member.account_id.as_str());
    session.name_strangers(&mut directory, ids).await;
    Ok(directory)
}

async fn show(session: &Session, group: &str) -> anyhow::Result<()> {
    let conversation = session.conversation_for(group).await?;
    let view = session
        .client
        .group(&conversation)
        .await
        .map_err(|e| session.explain(e))?;
    let directory = names_of(session, &view).await?;
    println!("{} [{conversation}]", directory.conversation(&conversation));
    if !view.announcement.is_empty() {
        let by = view.announcement_by.as_deref().map(|by| directory.name(by));
        println!("announcement (by {}):", by.as_deref().unwrap_or("?"));
        // `shown_block` indents its continuation lines as deep as this one.
        println!("    {}", render::shown_block(&view.announcement));
    }
    if view.join_approval {
        println!("joining by invitation waits for an admin's approval");
    }
    println!(
        "{} members, you are {}:",
        view.members.len(),
        view.your_role
    );
    for member in &view.members {
        println!("  {} ({})", directory.name(&member.account_id), member.role);
    }
    Ok(())
}

/// A member named by a contact's username or an account id.
async fn member_id(session: &Session, member: &str) -> anyhow::Result<String> {
    if member.starts_with("acct_") {
        return Ok(member.to_owned());
    }
    let contacts = session.contacts().await?;
    match find_by_username(&contacts, member) {
        Some(contact) => Ok(contact.account_id.clone()),
        None => bail!(
            "{member} is not one of your contacts: name a member by the account id \
             `piazza group show` lists"
        ),
    }
}

/// The role `group admin` and `group unadmin` give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Admin,
    Member,
}

async fn admin(session: &Session, group: &str, member: &str, role: Role) -> anyhow::Result<()> {
    let conversation = session.conversation_for(group).await?;
    let account = member_id(session, member).await?;
    let answer = match role {
        Role::Admin => session.client.make_admin(&conversation, &account).await,
        Role::Member => session.client.unmake_admin(&conversation, &account).await,
    };
    answer.map_err(|e| session.explain(e))?;
    let mut directory = session.names().await?;
    session
        .name_strangers(&mut directory, [account.as_str()])
        .await;
    let role = match role {
        Role::Admin => "an admin",
        Role::Member => "a member, not an admin",
    };
    println!(
        "{} is now {role} of {}",
        directory.name(&account),
        directory.conversation(&conversation)
    );
    Ok(())
}

async fn update(
    session: &Session,
    group: &str,
    change: &UpdateGroup,
    done: &str,
) -> anyhow::Result<()> {
    let conversation = session.conversation_for(group).await?;
    session
        .client
        .update_group(&conversation, change)
        .await
        .map_err(|e| session.explain(e))?;
    let directory = session.names().await?;
    println!("{done} {}", directory.conversation(&conversation));
    Ok(())
}

async fn leave(session: &Session, group: &str) -> anyhow::Result<()> {
    let conversation = session.conversation_for(group).await?;
    let directory = session.names().await?;
    session
        .client
        .leave(&conversation)
        .await
        .map_err(|e| session.explain(e))?;
    println!("left {}", directory.conversation(&conversation));
    Ok(())
}

async fn invite(session: &Session, group: &str, qr: Option<PathBuf>) -> anyhow::Result<()> {
    let conversation = session.conversation_for(group).await?;
    let png = qr.as_ref().is_some_and(|path| {
        path.extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("png"))
    });
    let format = png.then_some("png");
    let created = session
        .client
        .create_invite(&conversation, format)
        .await
        .map_err(|e| session.explain(e))?;
    if let Some(path) = qr {
        let bytes = match created.qr_png_base64.as_deref() {
            Some(png) => STANDARD
                .decode(png)
                .context("the server's PNG is not base64")?,
            None => created.qr_svg.clone().into_bytes(),
        };
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("QR code written to {}", path.display());
    }
    let directory = session.names().await?;
    println!(
        "invitation {} into {} until {}:",
        created.invite_id,
        directory.conversation(&conversation),
        created.expires_at
    );
    println!("{}", created.payload);
    println!("(they join with: piazza group join {})", created.payload);
    Ok(())
}

async fn join(session: &Session, payload: &str) -> anyhow::Result<()> {
    let accepted = session
        .client
        .accept_invite(payload)
        .await
        .map_err(|e| session.explain(e))?;
    let directory = session.names().await?;
    let place = directory.conversation(&accepted.conversation_id);
    match accepted.state.as_str() {
        "pending" => println!("asked to join {place}: an admin will decide"),
        _ => println!("you are a member of {place} [{}]", accepted.conversation_id),
    }
    Ok(())
}

async fn requests(session: &Session, group: &str) -> anyhow::Result<()> {
    let conversation = session.conversation_for(group).await?;
    let list = session
        .client
        .join_requests(&conversation)
        .await
        .map_err(|e| session.explain(e))?;
    if list.requests.is_empty() {
        println!("no join requests wait");
        return Ok(());
    }
    let mut directory = session.names().await?;
    let ids = list
        .requests
        .iter()
        .map(|request| request.account_id.as_str());
    session.name_strangers(&mut directory, ids).await;
    for request in &list.requests {
        println!(
            "{} [{}] asked at {}",
            directory.name(&request.account_id),
            request.account_id,
            request.requested_at
        );
    }
    Ok(())
}

async fn decide(
    session: &Session,
    group: &str,
    member: &str,
    decision: JoinDecision,
) -> anyhow::Result<()> {
    let conversation = session.conversation_for(group).await?;
    let account = member_id(session, member).await?;
    session
        .client
        .decide_join_request(&conversation, &account, decision)
        .await
        .map_err(|e| session.explain(e))?;
    let mut directory = session.names().await?;
    session
        .name_strangers(&mut directory, [account.as_str()])
        .await;
    let (verb, place) = (
        match decision {
            JoinDecision::Approve => "let in",
            JoinDecision::Decline => "turned down",
        },
        directory.conversation(&conversation),
    );
    println!("{verb} {} ({place})", directory.name(&account));
    Ok(())
}
