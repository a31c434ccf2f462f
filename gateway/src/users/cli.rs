//! `gateway users`: the API's accounts from the command line.
//!
//! A new token is 32 random bytes from the operating system, base64url, printed once on
//! standard output and never stored (the users file holds its SHA-256). Notes go to standard
//! error, so `gateway users add screen --role viewer > screen.token` keeps only the token.
//! Nothing here prints a token's hash. A running gateway notices a changed file within a few
//! seconds; no restart is needed.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{file, token, Account, Accounts, ApiRole, TokenHash, UsersError};

/// `gateway users`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The users file is TOML (one [[user]] per account: name, role, token_sha256, \
created), written with mode 0600. Its place: --file, else the [http] users_file or \
users.toml in the data folder of --config, else data/users.toml. Send the token as \
`Authorization: Bearer TOKEN`."
)]
pub struct UsersArgs {
    /// The users file (default: from --config, else data/users.toml).
    #[arg(long, global = true)]
    pub file: Option<PathBuf>,
    /// The gateway configuration whose users file to manage.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: UsersCommand,
}

/// The `gateway users` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Add an account and print its new bearer token once.
    Add {
        /// The account's name: the audit trail's `who`.
        name: String,
        /// What the account may do.
        #[arg(long, value_enum)]
        role: ApiRole,
    },
    /// Give an account a new token and print it once; the old one stops working.
    Rotate {
        /// The account.
        name: String,
    },
    /// Remove an account; its token stops working.
    Revoke {
        /// The account.
        name: String,
    },
    /// List the accounts with their roles (never a token or a hash).
    List,
}

impl UsersArgs {
    /// The users file these arguments name.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        if let Some(f) = &self.file {
            return Ok(f.clone());
        }
        let cfg = match &self.config {
            Some(c) => crate::config::GatewayConfig::load(c)?,
            None => crate::config::GatewayConfig::default(),
        };
        Ok(file::default_path(
            cfg.http.users_file.as_deref(),
            &cfg.store.data_dir,
        ))
    }
}

/// Runs one `gateway users` command on users file `path`; tokens and listings go to `out`.
pub fn run(path: &Path, command: UsersCommand, out: &mut dyn Write) -> Result<(), UsersError> {
    let stdout = |e| UsersError::io("standard output", e);
    match command {
        UsersCommand::Add { name, role } => {
            let t = add(path, &name, role)?;
            writeln!(out, "{t}").map_err(stdout)?;
            eprintln!(
                "added {role} \"{name}\" to {}; its token is printed above, once",
                path.display()
            );
        }
        UsersCommand::Rotate { name } => {
            let mut accounts = file::load(path)?;
            let t = token::new_token();
            accounts.set_hash(&name, TokenHash::of(&t))?;
            file::save(path, &accounts)?;
            writeln!(out, "{t}").map_err(stdout)?;
            eprintln!(
                "new token for \"{name}\" in {}, printed above, once",
                path.display()
            );
        }
        UsersCommand::Revoke { name } => {
            let mut accounts = file::load(path)?;
            accounts.remove(&name)?;
            file::save(path, &accounts)?;
            eprintln!("revoked \"{name}\" in {}", path.display());
        }
        UsersCommand::List => {
            let accounts = file::load_or_empty(path)?;
            list(&accounts, out).map_err(stdout)?;
        }
    }
    Ok(())
}

/// Adds account `name` with `role` to users file `path` (created if missing); its new token.
pub fn add(path: &Path, name: &str, role: ApiRole) -> Result<String, UsersError> {
    let mut accounts = file::load_or_empty(path)?;
    let t = token::new_token();
    accounts.add(new_account(name, role, &t))?;
    file::save(path, &accounts)?;
    Ok(t)
}

/// Gives account `name` a new token with `role`, adding it if it does not exist (the
/// demo's own account, new on every start); the new token.
pub fn upsert(path: &Path, name: &str, role: ApiRole) -> Result<String, UsersError> {
    let mut accounts = file::load_or_empty(path)?;
    let t = token::new_token();
    if accounts.get(name).is_some() {
        accounts.remove(name)?;
    }
    accounts.add(new_account(name, role, &t))?;
    file::save(path, &accounts)?;
    Ok(t)
}

fn new_account(name: &str, role: ApiRole, token: &str) -> Account {
    Account {
        name: name.to_string(),
        role,
        hash: TokenHash::of(token),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

fn list(accounts: &Accounts, out: &mut dyn Write) -> std::io::Result<()> {
    let width = accounts
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(out, "{:width$}  {:11}  CREATED", "NAME", "ROLE")?;
    for a in accounts.iter() {
        writeln!(
            out,
            "{:width$}  {:11}  {}",
            a.name,
            a.role.as_str(),
            a.created
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: UsersArgs,
    }

    fn run_cli(file: &Path, argv: &[&str]) -> Result<String, String> {
        let mut all = vec!["users", "--file", file.to_str().unwrap()];
        all.extend_from_slice(argv);
        let cli = Cli::try_parse_from(all).map_err(|e| e.to_string())?;
        let path = cli.args.path().map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        run(&path, cli.args.command, &mut out).map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn add_rotate_revoke_list() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("users.toml");
        let t1 = run_cli(&f, &["add", "ops", "--role", "operator"]).unwrap();
        let t1 = t1.trim();
        assert_eq!(t1.len(), 43);
        assert_eq!(file::load(&f).unwrap().find(t1).unwrap().name, "ops");
        let e = run_cli(&f, &["add", "ops", "--role", "viewer"]).unwrap_err();
        assert!(e.contains("exists already"), "{e}");
        assert!(run_cli(&f, &["add", "x", "--role", "root"]).is_err());
        run_cli(&f, &["add", "wx", "--role", "parking-app"]).unwrap();

        let t2 = run_cli(&f, &["rotate", "ops"]).unwrap();
        let back = file::load(&f).unwrap();
        assert!(back.find(t1).is_none());
        assert_eq!(back.find(t2.trim()).unwrap().name, "ops");
        assert!(run_cli(&f, &["rotate", "nobody"])
            .unwrap_err()
            .contains("unknown account \"nobody\""));

        let listed = run_cli(&f, &["list"]).unwrap();
        let rows: Vec<&str> = listed.lines().collect();
        assert!(
            rows[0].starts_with("NAME  ROLE         CREATED"),
            "{listed}"
        );
        assert!(rows[1].starts_with("ops   operator     20"), "{listed}");
        assert!(rows[2].starts_with("wx    parking-app  20"), "{listed}");
        assert!(!listed.contains(t2.trim()));
        assert!(!listed.contains(&TokenHash::of(t2.trim()).to_hex()));

        run_cli(&f, &["revoke", "wx"]).unwrap();
        assert_eq!(file::load(&f).unwrap().len(), 1);
        assert!(run_cli(&f, &["revoke", "wx"]).is_err());
    }

    #[test]
    fn upsert_gives_a_new_token_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("users.toml");
        let a = upsert(&f, "demo", ApiRole::Operator).unwrap();
        let b = upsert(&f, "demo", ApiRole::Operator).unwrap();
        let back = file::load(&f).unwrap();
        assert_eq!(back.len(), 1);
        assert!(back.find(&a).is_none());
        assert_eq!(back.find(&b).unwrap().role, ApiRole::Operator);
        let c = upsert(&f, "demo", ApiRole::Admin).unwrap();
        assert_eq!(
            file::load(&f).unwrap().find(&c).unwrap().role,
            ApiRole::Admin
        );
    }
}
