//! The users file: TOML, one `[[user]]` table per account, written whole with mode 0600.
//!
//! ```toml
//! [[user]]
//! name = "control-room"
//! role = "operator"
//! token_sha256 = "9f86d0…"   # SHA-256 of the token, 64 hex digits; the token itself is never stored
//! password = "$7$100000$…"    # optional: PBKDF2-SHA512 of the password people log in with
//! created = "2026-11-21T08:00:00Z"
//! ```
//!
//! Its place: `[http] users_file`, or `users.toml` in the data folder ([`default_path`]).
//! Errors name the file and the line; none contains a hash.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{Account, Accounts, ApiRole, TokenHash, UsersError};
use crate::auth::hash::PasswordHash;

/// The users file's name in the data folder when `[http] users_file` is not set.
pub const DEFAULT_NAME: &str = "users.toml";

/// Where the users file is: `configured`, or `users.toml` in `data_dir`.
pub fn default_path(configured: Option<&Path>, data_dir: &Path) -> PathBuf {
    configured
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join(DEFAULT_NAME))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    user: Vec<RawUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    role: Spanned<String>,
    token_sha256: Spanned<String>,
    #[serde(default)]
    password: Option<Spanned<String>>,
    #[serde(default)]
    created: String,
}

#[derive(Serialize)]
struct OutFile<'a> {
    user: Vec<OutUser<'a>>,
}

#[derive(Serialize)]
struct OutUser<'a> {
    name: &'a str,
    role: &'a str,
    token_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    created: &'a str,
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Parses the text of users file `path`.
pub fn parse(path: &Path, text: &str) -> Result<Accounts, UsersError> {
    let line_err = |at: usize, what: String| UsersError::Line {
        path: path.to_path_buf(),
        line: line_of(text, at),
        what,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        line_err(at, e.message().to_string())
    })?;
    let mut accounts = Accounts::default();
    for u in raw.user {
        let name = u.name.get_ref();
        let role: ApiRole = u
            .role
            .get_ref()
            .parse()
            .map_err(|e: String| line_err(u.role.span().start, e))?;
        let hash = TokenHash::from_hex(u.token_sha256.get_ref()).ok_or_else(|| {
            line_err(
                u.token_sha256.span().start,
                format!("account \"{name}\": token_sha256 must be 64 hex digits"),
            )
        })?;
        let password = match &u.password {
            Some(p) => Some(PasswordHash::parse(p.get_ref()).map_err(|e| {
                line_err(p.span().start, format!("account \"{name}\": password: {e}"))
            })?),
            None => None,
        };
        accounts
            .add(Account {
                name: name.clone(),
                role,
                hash,
                created: u.created,
            })
            .map_err(|e| line_err(u.name.span().start, e.to_string()))?;
        accounts.set_password(name, password)?;
    }
    Ok(accounts)
}

/// Reads users file `path`.
pub fn load(path: &Path) -> Result<Accounts, UsersError> {
    let text = std::fs::read_to_string(path).map_err(|e| UsersError::io(path, e))?;
    parse(path, &text)
}

/// [`load`], or no accounts when the file does not exist (a gateway without accounts yet,
/// the command line's first `add`).
pub fn load_or_empty(path: &Path) -> Result<Accounts, UsersError> {
    if !path.exists() {
        return Ok(Accounts::default());
    }
    load(path)
}

/// Writes users file `path` whole (mode 0600, through a temporary file and a rename),
/// creating its folder if needed.
pub fn save(path: &Path, accounts: &Accounts) -> Result<(), UsersError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| UsersError::io(dir, e))?;
    }
    let out = OutFile {
        user: accounts
            .iter()
            .map(|a| OutUser {
                name: &a.name,
                role: a.role.as_str(),
                token_sha256: a.hash.to_hex(),
                password: accounts.password(&a.name).map(|h| h.to_string()),
                created: &a.created,
            })
            .collect(),
    };
    let body = toml::to_string(&out).map_err(|e| {
        UsersError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    let text = format!(
        "# API accounts of the gateway's HTTP API. Managed by `gateway users`: add, rotate,\n\
         # revoke, passwd, list. token_sha256 is the SHA-256 of the bearer token; the token itself\n\
         # is never stored. password (optional, for logging in) is a PBKDF2-SHA512 hash.\n\
         # Roles: viewer, operator, parking-app, admin.\n\n{body}"
    );
    crate::auth::file::write_private(path, text.as_bytes()).map_err(|e| match e {
        crate::auth::AuthError::Io { path, source } => UsersError::Io { path, source },
        other => UsersError::io(path, std::io::Error::other(other.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/users.toml");
        let mut a = Accounts::default();
        a.add(Account {
            name: "ops".into(),
            role: ApiRole::Operator,
            hash: TokenHash::of("t1"),
            created: "2026-11-21T08:00:00Z".into(),
        })
        .unwrap();
        a.add(Account {
            name: "parking-wx".into(),
            role: ApiRole::ParkingApp,
            hash: TokenHash::of("t2"),
            created: String::new(),
        })
        .unwrap();
        a.set_password("ops", Some(PasswordHash::new("pw-of-ops")))
            .unwrap();
        save(&p, &a).unwrap();
        let back = load(&p).unwrap();
        assert_eq!(back.len(), 2);
        assert!(back.password("ops").unwrap().verify("pw-of-ops"));
        assert!(back.password("parking-wx").is_none());
        assert_eq!(back.find("t2").unwrap().role, ApiRole::ParkingApp);
        assert_eq!(back.get("ops").unwrap().created, "2026-11-21T08:00:00Z");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("t1\"") && text.contains("role = \"parking-app\""));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn broken_files_name_their_line_and_no_hash() {
        let p = Path::new("users.toml");
        let h = TokenHash::of("x").to_hex();
        let user = |name: &str, role: &str, hash: &str| {
            format!("[[user]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{hash}\"\n")
        };
        let cases = [
            (
                "[[user]]\nname = \"a\"\n".to_string(),
                "users.toml:1: missing field `role`",
            ),
            (
                format!("# c\n{}", user("a", "root", &h)),
                "users.toml:4: unknown role \"root\"",
            ),
            (
                user("a", "admin", "abc"),
                "users.toml:4: account \"a\": token_sha256",
            ),
            (
                format!("{}{}", user("a", "admin", &h), user("a", "viewer", &h)),
                "users.toml:6: account \"a\" exists already",
            ),
            (
                user("a b", "admin", &h),
                "users.toml:2: invalid account name",
            ),
            (
                "[[user]]\nnme = 1\n".to_string(),
                "users.toml:2: unknown field `nme`",
            ),
        ];
        for (text, want) in cases {
            let e = parse(p, &text).unwrap_err().to_string();
            assert!(e.starts_with(want), "want {want:?}, got {e:?}");
            assert!(!e.contains(&h), "{e}");
        }
        assert!(parse(p, "").unwrap().is_empty());
    }

    #[test]
    fn the_default_place_is_the_data_folder() {
        assert_eq!(
            default_path(None, Path::new("data")),
            Path::new("data/users.toml")
        );
        assert_eq!(
            default_path(Some(Path::new("/etc/u.toml")), Path::new("data")),
            Path::new("/etc/u.toml")
        );
    }
}
