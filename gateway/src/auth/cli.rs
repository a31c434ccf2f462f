//! `gateway credentials`: managing the device port's identities from the command line.
//!
//! A new secret is 32 random bytes from the operating system, base64url, printed once on
//! standard output and never stored (the files hold its hash). Notes go to standard error,
//! so `gateway credentials add ps-1 --role device > ps-1.secret` keeps only the secret.
//! Nothing here prints a hash.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{acl, file, import, secret, AuthError, Credentials, Identity, PasswordHash, Role};

/// `gateway credentials`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The password file is in mosquitto's format (id:$7$101$SALT$HASH, \
PBKDF2-SHA512), so an external mosquitto can use it as its password_file; the roles live \
beside it in FILE.roles (id role [devices]). Point `[devices] credentials` at FILE to require \
these identities on the device port. Both files are written with mode 0600."
)]
pub struct CredentialsArgs {
    /// The password file; its roles file is the same path with `.roles` appended.
    #[arg(long, global = true, default_value = "devices.passwd")]
    pub file: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: CredentialsCommand,
}

/// The `gateway credentials` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CredentialsCommand {
    /// Add an identity and print its new secret once (the MQTT password; the username is
    /// the id).
    Add {
        /// The id: the MQTT username; a device's id is its device id (as in the district
        /// file), and its client id must be the id or start with "ID-".
        id: String,
        /// What the identity may do.
        #[arg(long, value_enum)]
        role: Role,
        /// The devices a bridge publishes for, comma-separated (bridges only).
        #[arg(long, value_delimiter = ',')]
        devices: Vec<String>,
    },
    /// Give an identity a new secret and print it once; the old one stops working for new
    /// connections.
    Rotate {
        /// The identity.
        id: String,
    },
    /// Remove an identity; it can no longer connect.
    Revoke {
        /// The identity.
        id: String,
    },
    /// List the identities with their roles and devices (never a hash or a secret).
    List,
    /// Add every identity of a CSV file (columns id,role,devices; devices for bridges,
    /// separated by ";" or quoted with commas) and print their new secrets once, as CSV
    /// (id,secret) on standard output. Nothing is added if any row is wrong.
    Import {
        /// The CSV file.
        csv: PathBuf,
    },
    /// Write mosquitto's ACL file for these identities (each device may write only its own
    /// topics, bridges those of their devices, readers read district/#, the gateway all).
    MosquittoAcl {
        /// Where to write it (default: the password file's path with `.acl` appended).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs one `gateway credentials` command; secrets and listings go to `out`.
pub fn run(args: CredentialsArgs, out: &mut dyn Write) -> Result<(), AuthError> {
    let path = args.file.as_path();
    let stdout = |e| AuthError::io("standard output", e);
    match args.command {
        CredentialsCommand::Add { id, role, devices } => {
            let mut creds = file::load_or_empty(path)?;
            let identity = Identity::new(&id, role, devices.into_iter().collect())?;
            let secret = secret::new_secret();
            creds.insert(identity, PasswordHash::new(&secret))?;
            file::save(path, &creds)?;
            writeln!(out, "{secret}").map_err(stdout)?;
            eprintln!(
                "added {role} \"{id}\" to {}; its secret is printed above, once",
                path.display()
            );
        }
        CredentialsCommand::Rotate { id } => {
            let mut creds = file::load(path)?;
            let secret = secret::new_secret();
            creds.set_hash(&id, PasswordHash::new(&secret))?;
            file::save(path, &creds)?;
            writeln!(out, "{secret}").map_err(stdout)?;
            eprintln!(
                "new secret for \"{id}\" in {}, printed above, once",
                path.display()
            );
        }
        CredentialsCommand::Revoke { id } => {
            let mut creds = file::load(path)?;
            creds.remove(&id)?;
            file::save(path, &creds)?;
            eprintln!("revoked \"{id}\" in {}", path.display());
        }
        CredentialsCommand::List => {
            let creds = file::load(path)?;
            list(&creds, out).map_err(stdout)?;
        }
        CredentialsCommand::Import { csv } => {
            let text = std::fs::read_to_string(&csv).map_err(|e| AuthError::io(&csv, e))?;
            let rows = import::parse(&csv, &text)?;
            let mut creds = file::load_or_empty(path)?;
            if let Some((n, i)) = rows.iter().find(|(_, i)| creds.get(&i.id).is_some()) {
                return Err(AuthError::Line {
                    path: csv,
                    line: *n,
                    what: format!("identity \"{}\" exists already in {}", i.id, path.display()),
                });
            }
            let mut secrets = Vec::with_capacity(rows.len());
            for (_, identity) in rows {
                let secret = secret::new_secret();
                secrets.push((identity.id.clone(), secret.clone()));
                creds.insert(identity, PasswordHash::new(&secret))?;
            }
            file::save(path, &creds)?;
            writeln!(out, "id,secret").map_err(stdout)?;
            for (id, secret) in &secrets {
                writeln!(out, "{id},{secret}").map_err(stdout)?;
            }
            eprintln!(
                "imported {} identities into {}; their secrets are printed above, once",
                secrets.len(),
                path.display()
            );
        }
        CredentialsCommand::MosquittoAcl { out: acl_out } => {
            let creds = file::load(path)?;
            let dest = acl_out.unwrap_or_else(|| with_suffix(path, ".acl"));
            let text = acl::render(&creds, &path.display().to_string());
            file::write_private(&dest, text.as_bytes())?;
            eprintln!(
                "wrote {} ({} identities); set acl_file {} and password_file {} in mosquitto.conf",
                dest.display(),
                creds.len(),
                dest.display(),
                path.display()
            );
        }
    }
    Ok(())
}

fn list(creds: &Credentials, out: &mut dyn Write) -> std::io::Result<()> {
    let width = creds
        .iter()
        .map(|e| e.identity.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    writeln!(out, "{:width$}  {:7}  DEVICES", "ID", "ROLE")?;
    for e in creds.iter() {
        let i = &e.identity;
        let devices: Vec<&str> = i.devices.iter().map(String::as_str).collect();
        writeln!(
            out,
            "{:width$}  {:7}  {}",
            i.id,
            i.role.as_str(),
            devices.join(",")
        )?;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CredentialsArgs,
    }

    fn run_cli(file: &Path, argv: &[&str]) -> Result<String, AuthError> {
        let mut all = vec!["credentials", "--file", file.to_str().unwrap()];
        all.extend_from_slice(argv);
        let cli = Cli::try_parse_from(all).map_err(|e| AuthError::Role(e.to_string()))?;
        let mut out = Vec::new();
        run(cli.args, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn add_rotate_revoke_list_import() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("devices.passwd");
        let s1 = run_cli(&f, &["add", "ps-1", "--role", "device"]).unwrap();
        let s1 = s1.trim();
        assert_eq!(s1.len(), 43);
        assert!(file::load(&f).unwrap().get("ps-1").unwrap().hash.verify(s1));
        let e = run_cli(&f, &["add", "ps-1", "--role", "reader"]).unwrap_err();
        assert!(e.to_string().contains("exists already"), "{e}");
        run_cli(
            &f,
            &["add", "lns", "--role", "bridge", "--devices", "ps-2,ps-3"],
        )
        .unwrap();

        let s2 = run_cli(&f, &["rotate", "ps-1"]).unwrap();
        let h = file::load(&f).unwrap().get("ps-1").unwrap().hash.clone();
        assert!(h.verify(s2.trim()) && !h.verify(s1));
        assert!(run_cli(&f, &["rotate", "nobody"])
            .unwrap_err()
            .to_string()
            .contains("unknown identity \"nobody\""));

        let csv = dir.path().join("bays.csv");
        std::fs::write(&csv, "id,role,devices\nps-4,device,\ntwin,reader,\n").unwrap();
        let printed = run_cli(&f, &["import", csv.to_str().unwrap()]).unwrap();
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines[0], "id,secret");
        let (id, secret) = lines[1].split_once(',').unwrap();
        assert_eq!(id, "ps-4");
        assert!(file::load(&f)
            .unwrap()
            .get("ps-4")
            .unwrap()
            .hash
            .verify(secret));
        // Importing again adds nothing: the first existing id is named.
        let e = run_cli(&f, &["import", csv.to_str().unwrap()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("bays.csv:2: identity \"ps-4\" exists already"),
            "{e}"
        );

        run_cli(&f, &["revoke", "ps-4"]).unwrap();
        let listed = run_cli(&f, &["list"]).unwrap();
        assert_eq!(
            listed,
            "ID    ROLE     DEVICES\nlns   bridge   ps-2,ps-3\nps-1  device   \ntwin  reader   \n"
        );
        assert!(!listed.contains('$'));

        run_cli(&f, &["mosquitto-acl"]).unwrap();
        let acl = std::fs::read_to_string(dir.path().join("devices.passwd.acl")).unwrap();
        assert!(acl.contains("user ps-1\ntopic write district/+/sensors/+/ps-1\n"));
    }

    #[test]
    fn a_bridge_without_devices_and_a_device_with_them_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("devices.passwd");
        assert!(run_cli(&f, &["add", "lns", "--role", "bridge"]).is_err());
        assert!(run_cli(&f, &["add", "ps-1", "--role", "device", "--devices", "x"]).is_err());
        assert!(run_cli(&f, &["add", "ps-1", "--role", "admin"]).is_err());
        assert!(!f.exists(), "nothing written");
    }
}
