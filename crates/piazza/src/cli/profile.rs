//! The account-basics commands: `piazza profile` (show or set), `piazza
//! password change`, and the contact requests both ways (`piazza contacts
//! requests`, `piazza contacts decline`).

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use piazza_api::{AccountBrief, ProfileView, UpdateProfile};
use piazza_client::ClientError;

use super::render::{shown, shown_block};
use super::{Cli, Session, read_image, secret_line};

/// The environment variable `piazza password change` reads the new
/// password from (the current one is `PIAZZA_PASSWORD`, as for `login`).
const NEW_PASSWORD_ENV: &str = "PIAZZA_NEW_PASSWORD";

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub command: Option<ProfileCommand>,
    /// Whose profile to show (default: yours); you see all of it for
    /// yourself, your contacts and people you share a group with
    pub username: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum ProfileCommand {
    /// Change your display name, bio or picture; what you leave out stays
    Set {
        /// The name others see (1 to 64 characters)
        #[arg(long)]
        display_name: Option<String>,
        /// A few words about you, on one line (at most 300 characters;
        /// "" clears it)
        #[arg(long)]
        bio: Option<String>,
        /// A picture to upload and show as your avatar (PNG, JPEG, WebP or GIF)
        #[arg(long, value_name = "FILE", conflicts_with = "no_avatar")]
        avatar: Option<PathBuf>,
        /// Remove your avatar
        #[arg(long)]
        no_avatar: bool,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum PasswordCommand {
    /// Change your password; every device of yours is told
    Change {
        /// The current password (else $PIAZZA_PASSWORD, else one line of stdin)
        #[arg(long, env = "PIAZZA_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The new password, at least 8 characters (else
        /// $PIAZZA_NEW_PASSWORD, else the next line of stdin)
        #[arg(long, env = NEW_PASSWORD_ENV, hide_env_values = true)]
        new_password: Option<String>,
        /// Log every other device of yours out (this one stays)
        #[arg(long)]
        sign_out_others: bool,
    },
}

pub async fn profile(cli: &Cli, args: ProfileArgs) -> anyhow::Result<()> {
    let session = cli.session()?;
    match args.command {
        Some(ProfileCommand::Set {
            display_name,
            bio,
            avatar,
            no_avatar,
        }) => set(&session, display_name, bio, avatar.as_deref(), no_avatar).await,
        None => show(&session, args.username.as_deref()).await,
    }
}

async fn show(session: &Session, username: Option<&str>) -> anyhow::Result<()> {
    let client = &session.client;
    let me = client.me().await.map_err(|e| session.explain(e))?;
    let profile = match username {
        None => own_profile(me),
        Some(username) => {
            let card = client.find_account(username).await.map_err(|error| {
                not_found(error, session, || format!("nobody is called {username}"))
            })?;
            // The whole profile if this account may see it, else the card.
            match client.profile(&card.account_id).await {
                Ok(profile) => profile,
                Err(ClientError::Api { status: 404, .. }) => card,
                Err(error) => return Err(session.explain(error)),
            }
        }
    };
    print!("{}", render_profile(&profile));
    Ok(())
}

/// A profile as the CLI prints it, one fact a line.
pub fn render_profile(profile: &ProfileView) -> String {
    let mut text = format!(
        "{} (@{})\n",
        shown(&profile.display_name),
        shown(&profile.username)
    );
    text.push_str(&format!("  account: {}\n", shown(&profile.account_id)));
    if let Some(bio) = profile.bio.as_deref().filter(|bio| !bio.is_empty()) {
        text.push_str(&format!("  bio:     {}\n", shown_block(bio)));
    }
    match &profile.avatar_media_id {
        Some(media) => text.push_str(&format!("  avatar:  {media}\n")),
        None => text.push_str("  avatar:  none\n"),
    }
    match profile.is_contact {
        Some(true) => text.push_str("  a contact of yours\n"),
        Some(false) => {}
        None => text.push_str("  not a contact: this is what a contact request shows\n"),
    }
    text
}

async fn set(
    session: &Session,
    display_name: Option<String>,
    bio: Option<String>,
    avatar: Option<&Path>,
    no_avatar: bool,
) -> anyhow::Result<()> {
    if display_name.is_none() && bio.is_none() && avatar.is_none() && !no_avatar {
        bail!("nothing to change: pass --display-name, --bio, --avatar FILE or --no-avatar");
    }
    let avatar_media_id = match avatar {
        Some(path) => Some(Some(upload_picture(session, path).await?)),
        None if no_avatar => Some(None),
        None => None,
    };
    let change = UpdateProfile {
        display_name,
        avatar_media_id,
        bio: bio.map(Some),
    };
    let me = session
        .client
        .update_profile(&change)
        .await
        .map_err(|e| session.explain(e))?;
    println!("your profile is now:");
    print!("{}", render_profile(&own_profile(me)));
    Ok(())
}

/// The caller's own account as a profile (everything, no contact line).
fn own_profile(me: piazza_api::AccountView) -> ProfileView {
    ProfileView {
        account_id: me.account_id,
        username: me.username,
        display_name: me.display_name,
        avatar_media_id: me.avatar_media_id,
        bio: me.bio,
        is_contact: Some(false),
    }
}

/// Uploads a picture file; answers its media id.
pub(super) async fn upload_picture(session: &Session, path: &Path) -> anyhow::Result<String> {
    let bytes = read_image(path)?;
    // The type is what the bytes are, whatever the file is called.
    let media_type = piazza_domain::media::MediaType::ALL
        .into_iter()
        .find(|kind| kind.matches(&bytes))
        .ok_or_else(|| anyhow!("{} is not a PNG, JPEG, WebP or GIF image", path.display()))?;
    let (uploaded, _replayed) = session
        .client
        .upload_media(bytes, media_type.as_mime())
        .await
        .map_err(|e| session.explain(e))?;
    Ok(uploaded.media_id)
}

pub async fn password(cli: &Cli, command: PasswordCommand) -> anyhow::Result<()> {
    let PasswordCommand::Change {
        password,
        new_password,
        sign_out_others,
    } = command;
    let session = cli.session()?;
    let old = match password {
        Some(password) => password,
        None => secret_line("current password")?,
    };
    let new = match new_password {
        Some(password) => password,
        None => secret_line("new password")?,
    };
    if old.is_empty() || new.is_empty() {
        bail!(
            "give the current and the new password: --password and --new-password, \
             PIAZZA_PASSWORD and {NEW_PASSWORD_ENV}, or two lines of standard input"
        );
    }
    session
        .client
        .change_password(&old, &new, sign_out_others)
        .await
        .map_err(|e| session.explain(e))?;
    if sign_out_others {
        println!("password changed; every other device of yours is logged out");
    } else {
        println!("password changed; your other devices stay logged in and are told");
    }
    Ok(())
}

/// `piazza contacts requests`: the requests waiting for you, and yours
/// waiting for others.
pub async fn requests(session: &Session) -> anyhow::Result<()> {
    let client = &session.client;
    let incoming = client
        .contact_requests()
        .await
        .map_err(|e| session.explain(e))?;
    let outgoing = client
        .outgoing_requests()
        .await
        .map_err(|e| session.explain(e))?;
    if incoming.requests.is_empty() {
        println!("no contact requests waiting for you");
    } else {
        println!("waiting for you:");
    }
    let directory = session.names().await?;
    for request in &incoming.requests {
        println!("  {}", super::render::request_line(request, &directory));
    }
    if let Some(first) = incoming.requests.first() {
        println!(
            "  accept with `piazza contacts accept {id}`, or `piazza contacts decline {id}`",
            id = first.request_id
        );
    }
    if !outgoing.requests.is_empty() {
        println!("sent by you, not answered yet:");
    }
    for request in &outgoing.requests {
        println!(
            "  {}  to {}  {}{}",
            request.request_id,
            who(&request.to),
            request.created_at,
            greeting(&request.greeting)
        );
    }
    Ok(())
}

/// `Ann A. (@ann)`, or just `@ann` when the name is the username.
fn who(account: &AccountBrief) -> String {
    if account.display_name.is_empty() || account.display_name == account.username {
        format!("@{}", shown(&account.username))
    } else {
        format!(
            "{} (@{})",
            shown(&account.display_name),
            shown(&account.username)
        )
    }
}

fn greeting(greeting: &str) -> String {
    if greeting.is_empty() {
        String::new()
    } else {
        format!("  \"{}\"", shown_block(greeting))
    }
}

pub async fn decline(session: &Session, named: &str) -> anyhow::Result<()> {
    let (request_id, from) = session.incoming_request(named).await?;
    session
        .client
        .decline_request(&request_id)
        .await
        .map_err(|error| {
            not_found(error, session, || {
                format!("no request {request_id} waits for you: see `piazza contacts requests`")
            })
        })?;
    println!(
        "declined the contact request of {} ({request_id}); they are not told",
        shown(&from)
    );
    Ok(())
}

/// A 404 said in the command's words; anything else explained as usual.
fn not_found(
    error: ClientError,
    session: &Session,
    message: impl FnOnce() -> String,
) -> anyhow::Error {
    match error {
        ClientError::Api { status: 404, .. } => anyhow!(message()),
        other => session.explain(other),
    }
}

/// `piazza delete-account`: deletes the account and forgets its login here.
pub async fn delete_account(cli: &Cli, password: Option<String>, yes: bool) -> anyhow::Result<()> {
    if !yes {
        bail!(
            "deleting your account logs out every device and hides it from everyone; say \
             --yes to do it (logging in within the grace period restores it)"
        );
    }
    let session = cli.session()?;
    let password = match password {
        Some(password) => password,
        None => secret_line("password")?,
    };
    let deleted = session
        .client
        .delete_account(&password)
        .await
        .map_err(|e| session.explain(e))?;
    let saved = &session.saved;
    super::config::update(&cli.config_path, |config| {
        config.forget(&saved.server, &saved.username);
    })?;
    println!(
        "deleted {}: log in with your password before {} to restore it; after that it is erased",
        saved.username, deleted.erase_at
    );
    Ok(())
}

/// `piazza export --to FILE`: asks for an export and downloads its zip,
/// showing how much has come.
pub async fn export(cli: &Cli, to: &Path) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    let session = cli.session()?;
    // Made first, and new: a name taken, or a folder that cannot be
    // written, costs no export of the three a day.
    let partial = to.with_extension("zip.partial");
    if to.exists() {
        bail!("{} exists already: name a new file", to.display());
    }
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .await
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let asked = session.client.start_export().await;
    let response = match asked {
        Ok(asked) => session.client.export_download(&asked.export_id).await,
        Err(error) => Err(error),
    };
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(session.explain(error));
        }
    };
    let got = Arc::new(AtomicU64::new(0));
    let status = crate::bench::progress::StatusLine::start({
        let got = Arc::clone(&got);
        move || {
            format!(
                "downloading the export… {:.1} MiB",
                got.load(Ordering::Relaxed) as f64 / 1048576.0
            )
        }
    });
    let mut body = response.bytes_stream();
    let written: anyhow::Result<()> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await?;
            got.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        file.sync_all().await?;
        // A zip whose end is whole: an export that failed midway is not.
        let whole = std::fs::File::open(&partial)?;
        zip::ZipArchive::new(whole).context("the export arrived damaged")?;
        Ok(())
    }
    .await;
    status.finish();
    if let Err(error) = written {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(error.context("the download stopped; nothing was kept: run it again"));
    }
    tokio::fs::rename(&partial, to).await?;
    println!(
        "exported {} to {} ({} bytes); its README.txt explains the files",
        session.saved.username,
        to.display(),
        got.load(Ordering::Relaxed)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_reads_as_lines() {
        let mut profile = ProfileView {
            account_id: "acct_1".into(),
            username: "ann".into(),
            display_name: "Ann A.".into(),
            avatar_media_id: Some("med_3".into()),
            bio: Some("likes tea".into()),
            is_contact: Some(true),
        };
        assert_eq!(
            render_profile(&profile),
            "Ann A. (@ann)\n  account: acct_1\n  bio:     likes tea\n  avatar:  med_3\n  a contact of yours\n"
        );
        profile.bio = None;
        profile.is_contact = None;
        profile.avatar_media_id = None;
        assert!(render_profile(&profile).contains("avatar:  none\n"));
        assert!(render_profile(&profile).contains("what a contact request shows"));
    }

    #[test]
    fn a_profile_shows_others_words_safely() {
        let profile = ProfileView {
            account_id: "acct_2".into(),
            username: "eve".into(),
            display_name: "Eve\r\u{1b}[2K".into(),
            avatar_media_id: None,
            bio: Some("line one\nline two\r".into()),
            is_contact: Some(false),
        };
        let text = render_profile(&profile);
        assert!(text.starts_with("Eve\\r\\u{1b}[2K (@eve)\n"), "{text}");
        assert!(
            text.contains("  bio:     line one\n    line two\\r\n"),
            "{text}"
        );
        assert_eq!(greeting("hi\r"), "  \"hi\\r\"");
    }

    #[test]
    fn names_show_the_username_beside_a_different_display_name() {
        let brief = |display_name: &str| AccountBrief {
            account_id: "acct_1".into(),
            username: "ann".into(),
            display_name: display_name.into(),
            avatar_media_id: None,
        };
        assert_eq!(who(&brief("Ann A.")), "Ann A. (@ann)");
        assert_eq!(who(&brief("ann")), "@ann");
        assert_eq!(who(&brief("")), "@ann");
        assert_eq!(greeting(""), "");
        assert_eq!(greeting("hi"), "  \"hi\"");
    }
}
