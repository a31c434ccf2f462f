//! The two files of the device credentials, read and written.
//!
//! - The **password file** (`[devices] credentials`, say `devices.passwd`): one line per
//!   identity, `id:$7$101$SALT$HASH`, exactly mosquitto's password-file format, so the same
//!   file is mosquitto's `password_file`. Blank lines and lines starting with `#` are
//!   skipped when reading (mosquitto 2 skips them too); none are written.
//! - The **roles file**, beside it with `.roles` appended (`devices.passwd.roles`): one line
//!   per identity, `id role [device,device,...]` (the device list for bridges only), `#`
//!   comments allowed. mosquitto never reads it; `gateway credentials mosquitto-acl` turns it
//!   into mosquitto's ACL file.
//!
//! Every identity must be in both files. Both are written whole, to a temporary file in the
//! same folder with mode 0600, synced, then renamed over the old one.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{AuthError, Credentials, Identity, PasswordHash, Role};

/// The roles file that goes with password file `passwd`: its path with `.roles` appended.
pub fn roles_path(passwd: &Path) -> PathBuf {
    let mut s = passwd.as_os_str().to_owned();
    s.push(".roles");
    PathBuf::from(s)
}

/// Reads a password file and its roles file.
pub fn load(passwd: &Path) -> Result<Credentials, AuthError> {
    let roles = roles_path(passwd);
    let hashes = parse_passwd(passwd, &read(passwd)?)?;
    let identities = parse_roles(&roles, &read(&roles)?)?;
    pair(passwd, hashes, &roles, identities)
}

/// [`load`], or no identities when neither file exists (the command line's first `add`).
pub fn load_or_empty(passwd: &Path) -> Result<Credentials, AuthError> {
    if !passwd.exists() && !roles_path(passwd).exists() {
        return Ok(Credentials::default());
    }
    load(passwd)
}

/// Writes both files (mode 0600, each replaced whole).
pub fn save(passwd: &Path, creds: &Credentials) -> Result<(), AuthError> {
    let mut roles = String::from(
        "# Roles of the identities in the password file beside this one (same name without\n\
         # .roles): id role [device,device,...]. Roles: device, bridge (with its devices),\n\
         # reader, gateway. Managed by `gateway credentials`.\n",
    );
    let mut hashes = String::new();
    for e in creds.iter() {
        let i = &e.identity;
        hashes.push_str(&format!("{}:{}\n", i.id, e.hash));
        roles.push_str(&format!("{} {}", i.id, i.role));
        if !i.devices.is_empty() {
            let list: Vec<&str> = i.devices.iter().map(String::as_str).collect();
            roles.push_str(&format!(" {}", list.join(",")));
        }
        roles.push('\n');
    }
    // Roles first: a crash between the two renames leaves an identity without a password,
    // which `load` names, rather than a password without its role.
    write_private(&roles_path(passwd), roles.as_bytes())?;
    write_private(passwd, hashes.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file with mode 0600 in the same folder.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e| AuthError::io(&tmp, e);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| AuthError::io(path, e))
}

fn read(path: &Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|e| AuthError::io(path, e))
}

/// Numbered lines that are not blank or comments.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn line_error(path: &Path, line: usize, what: impl Into<String>) -> AuthError {
    AuthError::Line {
        path: path.to_path_buf(),
        line,
        what: what.into(),
    }
}

/// `(line, id, hash)` of each identity in a password file.
fn parse_passwd(path: &Path, text: &str) -> Result<Vec<(usize, String, PasswordHash)>, AuthError> {
    let mut out: Vec<(usize, String, PasswordHash)> = Vec::new();
    for (n, l) in lines(text) {
        let (id, hash) = l
            .split_once(':')
            .ok_or_else(|| line_error(path, n, "expected id:$7$ITERATIONS$SALT$HASH"))?;
        super::identity::check_id(id).map_err(|e| line_error(path, n, e.to_string()))?;
        let hash = PasswordHash::parse(hash)
            .map_err(|e| line_error(path, n, format!("identity \"{id}\": {e}")))?;
        if let Some((first, ..)) = out.iter().find(|(_, i, _)| i == id) {
            return Err(line_error(
                path,
                n,
                format!("identity \"{id}\" again (first on line {first})"),
            ));
        }
        out.push((n, id.to_string(), hash));
    }
    Ok(out)
}

/// `(line, identity)` of each line of a roles file.
fn parse_roles(path: &Path, text: &str) -> Result<Vec<(usize, Identity)>, AuthError> {
    let mut out: Vec<(usize, Identity)> = Vec::new();
    for (n, l) in lines(text) {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let (id, role, devices) = match fields.as_slice() {
            [id, role] => (*id, *role, ""),
            [id, role, devices] => (*id, *role, *devices),
            _ => return Err(line_error(path, n, "expected: id role [device,device,...]")),
        };
        let role: Role = role.parse().map_err(|e: String| line_error(path, n, e))?;
        let devices = devices
            .split(',')
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect();
        let identity =
            Identity::new(id, role, devices).map_err(|e| line_error(path, n, e.to_string()))?;
        if let Some((first, _)) = out.iter().find(|(_, i)| i.id == id) {
            return Err(line_error(
                path,
                n,
                format!("identity \"{id}\" again (first on line {first})"),
            ));
        }
        out.push((n, identity));
    }
    Ok(out)
}

/// Joins hashes and roles; every identity must be in both.
fn pair(
    passwd: &Path,
    hashes: Vec<(usize, String, PasswordHash)>,
    roles: &Path,
    identities: Vec<(usize, Identity)>,
) -> Result<Credentials, AuthError> {
    let mut by_id: std::collections::HashMap<String, (usize, Identity)> = identities
        .into_iter()
        .map(|(n, i)| (i.id.clone(), (n, i)))
        .collect();
    let mut creds = Credentials::default();
    for (n, id, hash) in hashes {
        let (_, identity) = by_id.remove(&id).ok_or_else(|| AuthError::Unpaired {
            path: passwd.to_path_buf(),
            line: n,
            id: id.clone(),
            other: roles.to_path_buf(),
        })?;
        creds.insert(identity, hash)?;
    }
    if let Some((id, (n, _))) = by_id.into_iter().min_by_key(|(_, (n, _))| *n) {
        return Err(AuthError::Unpaired {
            path: roles.to_path_buf(),
            line: n,
            id,
            other: passwd.to_path_buf(),
        });
    }
    Ok(creds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mosquitto_passwd -b -c pw alice s3cret`.
    const ALICE: &str = "alice:$7$101$w/avwkD9zcRqWDD5$3bsl/rkt5X6FxwQYJwsLj7aq4xNPl4isWR0s0BLev8/3aD7VTD4Sm9CKAjfYsaZALz5alKAGSWITZXKEWsUBaw==";

    fn write(dir: &Path, passwd: &str, roles: &str) -> PathBuf {
        let p = dir.join("devices.passwd");
        std::fs::write(&p, passwd).unwrap();
        std::fs::write(roles_path(&p), roles).unwrap();
        p
    }

    #[test]
    fn a_file_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("devices.passwd");
        let mut c = Credentials::default();
        c.insert(
            Identity::new("ps-1", Role::Device, Default::default()).unwrap(),
            PasswordHash::new("one"),
        )
        .unwrap();
        c.insert(
            Identity::new(
                "lns",
                Role::Bridge,
                ["ps-2".to_string(), "ps-3".to_string()].into(),
            )
            .unwrap(),
            PasswordHash::new("two"),
        )
        .unwrap();
        save(&p, &c).unwrap();
        let back = load(&p).unwrap();
        assert_eq!(back.len(), 2);
        let lns = back.get("lns").unwrap();
        assert_eq!(lns.identity.role, Role::Bridge);
        assert!(lns.identity.devices.contains("ps-3"));
        assert!(lns.hash.verify("two"));
        assert!(back.get("ps-1").unwrap().hash.verify("one"));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.lines().all(|l| l.contains(":$7$101$")), "{text}");
        assert!(std::fs::read_to_string(roles_path(&p))
            .unwrap()
            .contains("lns bridge ps-2,ps-3\n"));
        #[cfg(unix)]
        for f in [p.clone(), roles_path(&p)] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }

    #[test]
    fn a_mosquitto_passwd_line_loads_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            &format!("# made by mosquitto_passwd\n\n{ALICE}\n"),
            "alice device\n",
        );
        let c = load(&p).unwrap();
        assert!(c.get("alice").unwrap().hash.verify("s3cret"));
        assert!(!c.get("alice").unwrap().hash.verify("wrong"));
    }

    #[test]
    fn broken_lines_name_their_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "alice\n",
                "alice device\n",
                "devices.passwd:1: expected id:$7$",
            ),
            (
                &format!("{ALICE}\nbob:secret\n"),
                "alice device\nbob device\n",
                "devices.passwd:2: identity \"bob\": not a hashed password",
            ),
            (
                &format!("{ALICE}\n{ALICE}\n"),
                "alice device\n",
                "devices.passwd:2: identity \"alice\" again (first on line 1)",
            ),
            (
                &format!("{ALICE}\n"),
                "# c\nalice admin\n",
                "devices.passwd.roles:2: unknown role \"admin\"",
            ),
            (
                &format!("{ALICE}\n"),
                "alice bridge\n",
                "devices.passwd.roles:1: bridge \"alice\" needs the devices",
            ),
            (
                &format!("{ALICE}\n"),
                "alice device a b\n",
                "devices.passwd.roles:1: expected: id role",
            ),
            (
                &format!("{ALICE}\n"),
                "\n",
                "devices.passwd:1: identity \"alice\" has no entry in",
            ),
            (
                &format!("{ALICE}\n"),
                "alice device\nbob reader\n",
                "devices.passwd.roles:2: identity \"bob\" has no entry in",
            ),
        ];
        for (passwd, roles, want) in cases {
            let p = write(dir.path(), passwd, roles);
            let e = load(&p).unwrap_err().to_string();
            assert!(e.contains(want), "want {want:?}, got {e:?}");
            assert!(!e.contains("w/avwkD9"), "no hash in errors: {e}");
        }
    }

    #[test]
    fn a_missing_file_is_an_error_but_none_at_all_is_empty_for_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("none.passwd");
        assert!(load(&p).unwrap_err().to_string().contains("none.passwd"));
        assert!(load_or_empty(&p).unwrap().is_empty());
    }
}
