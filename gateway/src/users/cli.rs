//! `gateway users`: the API's accounts from the command line.
//!
//! A new token is 32 random bytes from the operating system, base64url, printed once on
//! standard output and never stored (the users file holds its SHA-256). Notes go to standard
//! error, so `gateway users add screen --role viewer > screen.token` keeps only the token.
//! Nothing here prints a token's hash. A running gateway notices a changed file within a few
//! seconds; no restart is needed.
//!
//! A password (for people who log in at `POST /api/v1/login`) is read from standard input
//! (one line) or from `--password-file`, never from the command line, where other users of
//! the machine could see it; it is stored as a PBKDF2-SHA512 hash with
//! [`PASSWORD_ITERATIONS`].

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::{file, token, Account, Accounts, ApiRole, TokenHash, UsersError};
use crate::auth::hash::PasswordHash;

/// PBKDF2 iterations of a login password (people choose them, so each guess must be slow).
/// Measured on the 2-core development machine in a debug build (dependencies at opt-level
/// 1): about 0.6 s per hash (`time gateway users passwd`); a release build is faster (not
/// measured). Failed logins are throttled ([`crate::api::login`]), which also bounds this
/// cost per address.
pub const PASSWORD_ITERATIONS: u32 = 100_000;
/// The shortest password accepted, in characters.
pub const MIN_PASSWORD: usize = 8;

/// `gateway users`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The users file is TOML (one [[user]] per account: name, role, token_sha256, \
created, and an optional password hash), written with mode 0600. Its place: --file, else \
the [http] users_file or users.toml in the data folder of --config, else data/users.toml. \
Send the token as `Authorization: Bearer TOKEN`; a person with a password logs in at \
POST /api/v1/login."
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
        /// Also give it a password to log in with, read as one line from standard input.
        #[arg(long)]
        password: bool,
        /// Read the password from this file (its first line) instead of standard input.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Set an account's password (one line from standard input, or --password-file); its
    /// browser sessions end.
    Passwd {
        /// The account.
        name: String,
        /// Read the password from this file (its first line) instead of standard input.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Remove the password instead: the account can no longer log in (its token works).
        #[arg(long, conflicts_with = "password_file")]
        remove: bool,
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

/// Runs one `gateway users` command on users file `path`; tokens and listings go to `out`,
/// a password is read from standard input.
pub fn run(path: &Path, command: UsersCommand, out: &mut dyn Write) -> Result<(), UsersError> {
    run_with_input(path, command, &mut std::io::stdin().lock(), out)
}

/// [`run`], reading a password from `input`.
pub fn run_with_input(
    path: &Path,
    command: UsersCommand,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), UsersError> {
    let stdout = |e| UsersError::io("standard output", e);
    match command {
        UsersCommand::Add {
            name,
            role,
            password,
            password_file,
        } => {
            let pw = if password || password_file.is_some() {
                Some(read_password(password_file.as_deref(), input)?)
            } else {
                None
            };
            let mut accounts = file::load_or_empty(path)?;
            let t = token::new_token();
            accounts.add(new_account(&name, role, &t))?;
            if let Some(pw) = pw {
                accounts.set_password(&name, Some(hash_password(&pw)))?;
            }
            file::save(path, &accounts)?;
            writeln!(out, "{t}").map_err(stdout)?;
            eprintln!(
                "added {role} \"{name}\" to {}; its token is printed above, once",
                path.display()
            );
        }
        UsersCommand::Passwd {
            name,
            password_file,
            remove,
        } => {
            let mut accounts = file::load(path)?;
            if accounts.get(&name).is_none() {
                return Err(UsersError::Unknown(name));
            }
            let hash = if remove {
                None
            } else {
                Some(hash_password(&read_password(
                    password_file.as_deref(),
                    input,
                )?))
            };
            accounts.set_password(&name, hash)?;
            file::save(path, &accounts)?;
            eprintln!(
                "{} \"{name}\" in {}",
                if remove {
                    "password removed for"
                } else {
                    "new password for"
                },
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

/// The first line of `file`, or of `input` without it; at least [`MIN_PASSWORD`]
/// characters.
fn read_password(file: Option<&Path>, input: &mut dyn BufRead) -> Result<String, UsersError> {
    let mut line = String::new();
    match file {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| UsersError::io(f, e))?;
            line = text.lines().next().unwrap_or_default().to_string();
        }
        None => {
            input
                .read_line(&mut line)
                .map_err(|e| UsersError::io("standard input", e))?;
        }
    }
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.chars().count() < MIN_PASSWORD {
        return Err(UsersError::BadPassword("shorter than 8 characters"));
    }
    Ok(pw)
}

/// The stored hash of a new login password.
pub fn hash_password(password: &str) -> PasswordHash {
    PasswordHash::with_iterations(password, PASSWORD_ITERATIONS)
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
        run_cli_input(file, argv, "")
    }

    fn run_cli_input(file: &Path, argv: &[&str], input: &str) -> Result<String, String> {
        let mut all = vec!["users", "--file", file.to_str().unwrap()];
        all.extend_from_slice(argv);
        let cli = Cli::try_parse_from(all).map_err(|e| e.to_string())?;
        let path = cli.args.path().map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        run_with_input(&path, cli.args.command, &mut input.as_bytes(), &mut out)
            .map_err(|e| e.to_string())?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn passwords_come_from_stdin_or_a_file_never_argv() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("users.toml");
        let t = run_cli_input(
            &f,
            &["add", "alice", "--role", "operator", "--password"],
            "correct horse\n",
        )
        .unwrap();
        assert_eq!(t.trim().len(), 43, "the token is still printed");
        let back = file::load(&f).unwrap();
        let h = back.password("alice").unwrap();
        assert!(h.verify("correct horse") && !h.verify("correct horse\n"));
        assert!(h.to_string().starts_with("$7$100000$"));
        assert!(!std::fs::read_to_string(&f)
            .unwrap()
            .contains("correct horse"));

        let e = run_cli_input(&f, &["passwd", "alice"], "short\n").unwrap_err();
        assert!(
            e.contains("shorter than 8") && !e.contains("short\n"),
            "{e}"
        );
        let pf = dir.path().join("pw");
        std::fs::write(&pf, "battery staple\nignored\n").unwrap();
        run_cli(
            &f,
            &["passwd", "alice", "--password-file", pf.to_str().unwrap()],
        )
        .unwrap();
        assert!(file::load(&f)
            .unwrap()
            .password("alice")
            .unwrap()
            .verify("battery staple"));
        run_cli(&f, &["passwd", "alice", "--remove"]).unwrap();
        assert!(file::load(&f).unwrap().password("alice").is_none());
        assert!(run_cli_input(&f, &["passwd", "bob"], "long enough\n").is_err());
        // A password on the command line is not an option.
        assert!(run_cli(&f, &["passwd", "alice", "--password", "x"]).is_err());
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
