//! The CLI's saved logins: one TOML file per user, holding tokens, so it is
//! written with mode 0600 and replaced atomically (a crash mid-write must
//! not lose every login at once).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};

/// Everything the CLI remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// For each server, the username of the login to use when `--account`
    /// is not given: the last one logged in.
    #[serde(default)]
    pub current: BTreeMap<String, String>,
    /// One entry per server and username.
    #[serde(default)]
    pub accounts: Vec<SavedAccount>,
}

/// One logged-in device of one account on one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAccount {
    pub server: String,
    pub username: String,
    pub account_id: String,
    pub device_id: String,
    pub token: String,
    /// Where `piazza watch` stopped reading the account's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl Config {
    /// Where the config lives: `$PIAZZA_CONFIG`, else
    /// `$XDG_CONFIG_HOME/piazza/cli.toml`, else `~/.config/piazza/cli.toml`.
    pub fn default_path() -> anyhow::Result<PathBuf> {
        path_from_env(|name| std::env::var_os(name))
    }

    /// Reads the config; a missing file is an empty config, since nobody
    /// has logged in yet.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Config::default());
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()));
            }
        };
        toml::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid piazza CLI config: fix or delete it, then log in again",
                path.display()
            )
        })
    }

    /// Writes the config readable by its owner only, through a temporary
    /// file renamed over the old one.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(self).context("cannot encode the config")?;
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        create_private_dir(directory)
            .with_context(|| format!("cannot create {}", directory.display()))?;
        let file_name = path
            .file_name()
            .ok_or_else(|| anyhow!("config path {} names no file", path.display()))?;
        let mut temporary_name = OsString::from(".");
        temporary_name.push(file_name);
        temporary_name.push(format!(".{}.tmp", std::process::id()));
        let temporary = directory.join(temporary_name);

        let written = write_private_file(&temporary, text.as_bytes())
            .and_then(|()| fs::rename(&temporary, path));
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(error).with_context(|| format!("cannot write {}", path.display()));
        }
        Ok(())
    }

    /// The login to act as on `server`: the one named by `--account`, or
    /// else the current one. The errors say how to get a login.
    pub fn selected(&self, server: &str, account: Option<&str>) -> anyhow::Result<&SavedAccount> {
        if let Some(username) = account {
            return self.find(server, username).ok_or_else(|| {
                anyhow!(
                    "no saved login for {username} on {server}: run `piazza login {username}` first"
                )
            });
        }
        if let Some(saved) = self
            .current
            .get(server)
            .and_then(|username| self.find(server, username))
        {
            return Ok(saved);
        }
        let mut elsewhere: Vec<&str> = self
            .accounts
            .iter()
            .map(|saved| saved.server.as_str())
            .collect();
        elsewhere.sort_unstable();
        elsewhere.dedup();
        if elsewhere.is_empty() {
            bail!("not logged in: run `piazza login <username>` first");
        }
        bail!(
            "not logged in to {server}: run `piazza login <username>` first, \
             or pass --server {} where you are logged in",
            elsewhere.join(" or --server ")
        )
    }

    pub fn find(&self, server: &str, username: &str) -> Option<&SavedAccount> {
        self.accounts
            .iter()
            .find(|saved| saved.server == server && saved.username == username)
    }

    /// Saves a fresh login and makes it current on its server. Returns the
    /// login it replaces, if any, so its device can be revoked.
    pub fn remember(&mut self, account: SavedAccount) -> Option<SavedAccount> {
        self.current
            .insert(account.server.clone(), account.username.clone());
        let existing = self
            .accounts
            .iter_mut()
            .find(|saved| saved.server == account.server && saved.username == account.username);
        match existing {
            Some(saved) => Some(std::mem::replace(saved, account)),
            None => {
                self.accounts.push(account);
                None
            }
        }
    }

    /// Drops a login. If it was current, the most recently saved other
    /// login on that server becomes current.
    pub fn forget(&mut self, server: &str, username: &str) {
        self.accounts
            .retain(|saved| !(saved.server == server && saved.username == username));
        if self.current.get(server).map(String::as_str) == Some(username) {
            match self
                .accounts
                .iter()
                .rev()
                .find(|saved| saved.server == server)
            {
                Some(other) => {
                    self.current
                        .insert(server.to_owned(), other.username.clone());
                }
                None => {
                    self.current.remove(server);
                }
            }
        }
    }

    /// Records how far `watch` got; a login forgotten meanwhile (a logout in
    /// another terminal) stays forgotten.
    pub fn set_cursor(&mut self, server: &str, username: &str, cursor: &str) {
        if let Some(saved) = self
            .accounts
            .iter_mut()
            .find(|saved| saved.server == server && saved.username == username)
        {
            saved.cursor = Some(cursor.to_owned());
        }
    }
}

/// Loads the config, applies `change` and saves it, keeping the window in
/// which another `piazza` process could interleave as short as possible.
pub fn update(path: &Path, change: impl FnOnce(&mut Config)) -> anyhow::Result<()> {
    let mut config = Config::load(path)?;
    change(&mut config);
    config.save(path)
}

fn path_from_env(variable: impl Fn(&str) -> Option<OsString>) -> anyhow::Result<PathBuf> {
    let non_empty = |name: &str| variable(name).filter(|value| !value.is_empty());
    if let Some(path) = non_empty("PIAZZA_CONFIG") {
        return Ok(PathBuf::from(path));
    }
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    if let Some(config_home) = non_empty("XDG_CONFIG_HOME").map(PathBuf::from)
        && config_home.is_absolute()
    {
        return Ok(config_home.join("piazza").join("cli.toml"));
    }
    if let Some(home) = non_empty("HOME") {
        return Ok(PathBuf::from(home)
            .join(".config")
            .join("piazza")
            .join("cli.toml"));
    }
    bail!("cannot tell where to keep the CLI's logins: set PIAZZA_CONFIG to a file path")
}

#[cfg(unix)]
fn create_private_dir(directory: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
}

#[cfg(not(unix))]
fn create_private_dir(directory: &Path) -> std::io::Result<()> {
    fs::create_dir_all(directory)
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // The mode above applies only when the file is created; a leftover
    // temporary file from a crashed run keeps its old mode otherwise.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(server: &str, username: &str) -> SavedAccount {
        SavedAccount {
            server: server.to_owned(),
            username: username.to_owned(),
            account_id: format!("a_{username}"),
            device_id: format!("d_{username}"),
            token: format!("t_{username}"),
            cursor: None,
        }
    }

    /// A fresh directory under the system's temporary one, removed on drop.
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new(name: &str) -> ScratchDir {
            let path = std::env::temp_dir().join(format!(
                "piazza-cli-{name}-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            ScratchDir(path)
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_path_comes_from_piazza_config_then_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        let all = env(&[
            ("PIAZZA_CONFIG", "/p/cli.toml"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(path_from_env(all).unwrap(), PathBuf::from("/p/cli.toml"));
        let xdg = env(&[
            ("PIAZZA_CONFIG", ""),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            path_from_env(xdg).unwrap(),
            PathBuf::from("/x/piazza/cli.toml")
        );
        let relative_xdg = env(&[("XDG_CONFIG_HOME", "x"), ("HOME", "/h")]);
        assert_eq!(
            path_from_env(relative_xdg).unwrap(),
            PathBuf::from("/h/.config/piazza/cli.toml")
        );
        assert!(path_from_env(env(&[])).is_err());
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let scratch = ScratchDir::new("missing");
        let config = Config::load(&scratch.0.join("cli.toml")).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn saving_creates_the_directory_and_a_private_file_that_loads_back() {
        let scratch = ScratchDir::new("save");
        let path = scratch.0.join("nested").join("cli.toml");
        let mut config = Config::default();
        config.remember(saved("http://127.0.0.1:8080", "alice"));
        config.set_cursor("http://127.0.0.1:8080", "alice", "v1.1f");
        config.save(&path).unwrap();
        config.save(&path).unwrap();

        assert_eq!(Config::load(&path).unwrap(), config);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            [OsString::from("cli.toml")],
            "no temporary file left"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_corrupt_file_is_reported_with_what_to_do() {
        let scratch = ScratchDir::new("corrupt");
        fs::create_dir_all(&scratch.0).unwrap();
        let path = scratch.0.join("cli.toml");
        fs::write(&path, "accounts = 3").unwrap();
        let error = Config::load(&path).unwrap_err();
        assert!(error.to_string().contains("fix or delete it"), "{error}");
    }

    #[test]
    fn the_last_login_on_a_server_is_current() {
        let server = "http://s";
        let mut config = Config::default();
        assert!(config.remember(saved(server, "alice")).is_none());
        config.remember(saved(server, "bob"));
        config.remember(saved("http://other", "carol"));
        assert_eq!(config.selected(server, None).unwrap().username, "bob");
        assert_eq!(
            config.selected(server, Some("alice")).unwrap().username,
            "alice"
        );
        assert_eq!(
            config.selected("http://other", None).unwrap().username,
            "carol"
        );

        let error = config.selected(server, Some("dave")).unwrap_err();
        assert!(error.to_string().contains("`piazza login dave`"), "{error}");
    }

    #[test]
    fn logging_in_again_replaces_the_old_login() {
        let server = "http://s";
        let mut config = Config::default();
        config.remember(saved(server, "alice"));
        let mut again = saved(server, "alice");
        again.device_id = "d_new".to_owned();
        let replaced = config.remember(again).unwrap();
        assert_eq!(replaced.device_id, "d_alice");
        assert_eq!(config.accounts.len(), 1);
        assert_eq!(config.accounts[0].device_id, "d_new");
    }

    #[test]
    fn forgetting_the_current_login_falls_back_to_another_on_that_server() {
        let server = "http://s";
        let mut config = Config::default();
        config.remember(saved(server, "alice"));
        config.remember(saved(server, "bob"));
        config.forget(server, "bob");
        assert_eq!(config.selected(server, None).unwrap().username, "alice");
        config.forget(server, "alice");
        let error = config.selected(server, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "not logged in: run `piazza login <username>` first"
        );
    }

    #[test]
    fn not_logged_in_here_points_at_the_servers_with_logins() {
        let mut config = Config::default();
        config.remember(saved("http://elsewhere:9000", "alice"));
        let error = config.selected("http://127.0.0.1:8080", None).unwrap_err();
        assert!(
            error.to_string().contains("--server http://elsewhere:9000"),
            "{error}"
        );
    }
}
