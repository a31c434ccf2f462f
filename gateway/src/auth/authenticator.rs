//! The device port's check of a CONNECT: who is connecting (username and password against
//! the credentials file), and whether the client id is theirs to use.
//!
//! The files are read at start (a broken file stops the gateway with its file and line).
//! They are looked at again at most once a second, on a connect: when either changed
//! (`gateway credentials add`, `rotate`, `revoke` rename new files into place), they are
//! read again, and a broken file is logged and the previous identities kept. A change
//! applies to connections made after it; connections already open keep their identity until
//! they reconnect.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::cache::VerifiedCache;
use super::{file, AuthError, Credentials, Identity};

/// How often the files are looked at for changes, at most.
const RECHECK: Duration = Duration::from_secs(1);

/// Checks CONNECTs against the credentials files.
#[derive(Debug)]
pub struct Authenticator {
    path: PathBuf,
    creds: RwLock<Arc<Credentials>>,
    seen: Mutex<Seen>,
    recheck: Duration,
    cache: VerifiedCache,
}

#[derive(Debug)]
struct Seen {
    checked: Instant,
    stamp: Option<Stamp>,
}

/// What identifies a version of the two files: modification time, length and inode of each.
type Stamp = [(SystemTime, u64, u64); 2];

/// Why a CONNECT is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No username, an unknown one, or a wrong password (CONNACK "bad user name or
    /// password").
    BadCredentials(String),
    /// A client id outside the identity's namespace (CONNACK "identifier rejected").
    ClientId(String),
}

impl Authenticator {
    /// Reads password file `path` and its roles file.
    pub fn open(path: &Path) -> Result<Authenticator, AuthError> {
        let stamp = stamp(path);
        let creds = file::load(path)?;
        if creds.is_empty() {
            tracing::warn!(file = %path.display(), "the credentials file holds no identity: every device will be refused");
        }
        warn_if_readable(path);
        Ok(Authenticator {
            path: path.to_path_buf(),
            creds: RwLock::new(Arc::new(creds)),
            seen: Mutex::new(Seen {
                checked: Instant::now(),
                stamp,
            }),
            recheck: RECHECK,
            cache: VerifiedCache::default(),
        })
    }

    /// The same, looking at the files on every connect (tests).
    pub fn always_recheck(mut self) -> Self {
        self.recheck = Duration::ZERO;
        self
    }

    /// The password file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The identities now.
    pub fn credentials(&self) -> Arc<Credentials> {
        self.creds.read().expect("credentials lock").clone()
    }

    /// The identity `username` when `password` is its password. A password verified before
    /// for the same stored hash is recognised from the cache; otherwise the hash is checked
    /// on the blocking pool (PBKDF2 is CPU work).
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Arc<Identity>, Refusal> {
        self.refresh();
        let creds = self.credentials();
        let entry = creds
            .get(username)
            .ok_or_else(|| Refusal::BadCredentials(format!("unknown identity \"{username}\"")))?;
        if self.cache.hit(username, &entry.hash, password) {
            return Ok(entry.identity.clone());
        }
        let (hash, pw) = (entry.hash.clone(), password.to_string());
        let ok = tokio::task::spawn_blocking(move || hash.verify(&pw))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(Refusal::BadCredentials(format!(
                "wrong password for identity \"{username}\""
            )));
        }
        self.cache.remember(username, &entry.hash, password);
        Ok(entry.identity.clone())
    }

    /// The identity `id`, without a password: for a device whose TLS client certificate,
    /// verified by the handshake, names it (`[devices] tls`, `client_ca`).
    pub fn identity(&self, id: &str) -> Result<Arc<Identity>, Refusal> {
        self.refresh();
        self.credentials()
            .get(id)
            .map(|e| e.identity.clone())
            .ok_or_else(|| {
                Refusal::BadCredentials(format!(
                    "the client certificate's CN \"{id}\" is not an identity of the credentials file"
                ))
            })
    }

    /// Whether `identity` may connect with MQTT client id `client_id`: the client id must be
    /// in its own namespace ([`Credentials::owner_of_client_id`]).
    pub fn check_client_id(&self, identity: &Identity, client_id: &str) -> Result<(), Refusal> {
        let creds = self.credentials();
        match creds.owner_of_client_id(client_id) {
            Some(e) if e.identity.id == identity.id => Ok(()),
            Some(e) => Err(Refusal::ClientId(format!(
                "client id \"{client_id}\" belongs to identity \"{}\", not \"{}\"",
                e.identity.id, identity.id
            ))),
            None => Err(Refusal::ClientId(format!(
                "client id \"{client_id}\" must be \"{0}\" or start with \"{0}-\"",
                identity.id
            ))),
        }
    }

    /// Reads the files again when they changed (looked at most once per `recheck`).
    fn refresh(&self) {
        let mut seen = self.seen.lock().expect("seen lock");
        if seen.checked.elapsed() < self.recheck {
            return;
        }
        seen.checked = Instant::now();
        let now = stamp(&self.path);
        if now == seen.stamp {
            return;
        }
        seen.stamp = now;
        match file::load(&self.path) {
            Ok(creds) => {
                tracing::info!(file = %self.path.display(), identities = creds.len(), "device credentials reloaded");
                self.cache.retain(|id| creds.get(id).is_some());
                *self.creds.write().expect("credentials lock") = Arc::new(creds);
            }
            Err(e) => {
                tracing::error!(error = %e, "device credentials not reloaded: the previous identities stay in force");
            }
        }
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    let one = |p: &Path| {
        let m = std::fs::metadata(p).ok()?;
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let ino = 0;
        Some((m.modified().ok()?, m.len(), ino))
    };
    Some([one(path)?, one(&file::roles_path(path))?])
}

/// Logs a warning when the password file can be read by others than its owner.
fn warn_if_readable(path: &Path) {
    #[cfg(unix)]
    if let Ok(m) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = m.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(file = %path.display(), mode = format!("{mode:o}"), "the credentials file is readable by others than its owner (chmod 600)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PasswordHash, Role};
    use super::*;

    fn write(path: &Path, ids: &[(&str, Role, &str)]) {
        let mut c = Credentials::default();
        for (id, role, pw) in ids {
            c.insert(
                Identity::new(id, *role, Default::default()).unwrap(),
                PasswordHash::new(pw),
            )
            .unwrap();
        }
        file::save(path, &c).unwrap();
    }

    #[tokio::test]
    async fn connects_are_checked_and_changes_to_the_files_apply() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("devices.passwd");
        write(
            &p,
            &[("ps-1", Role::Device, "one"), ("gw", Role::Gateway, "g")],
        );
        let a = Authenticator::open(&p).unwrap().always_recheck();
        let id = a.authenticate("ps-1", "one").await.unwrap();
        assert_eq!(id.role, Role::Device);
        assert!(a.authenticate("ps-1", "one").await.is_ok(), "cached");
        assert_eq!(a.cache.len(), 1);
        assert!(matches!(
            a.authenticate("ps-1", "two").await,
            Err(Refusal::BadCredentials(_))
        ));
        assert!(matches!(
            a.authenticate("nobody", "one").await,
            Err(Refusal::BadCredentials(_))
        ));
        assert!(a.check_client_id(&id, "ps-1").is_ok());
        assert!(a.check_client_id(&id, "ps-1-restarted").is_ok());
        let e = a.check_client_id(&id, "gw-relay").unwrap_err();
        assert_eq!(
            e,
            Refusal::ClientId(
                "client id \"gw-relay\" belongs to identity \"gw\", not \"ps-1\"".into()
            )
        );
        assert!(a.check_client_id(&id, "mosq-xyz").is_err());

        // Rotated: the old password, cached or not, no longer opens.
        write(
            &p,
            &[("ps-1", Role::Device, "new"), ("gw", Role::Gateway, "g")],
        );
        assert!(a.authenticate("ps-1", "one").await.is_err());
        assert!(a.authenticate("ps-1", "new").await.is_ok());
        // Revoked.
        write(&p, &[("gw", Role::Gateway, "g")]);
        assert!(a.authenticate("ps-1", "new").await.is_err());
        assert!(a.cache.is_empty());
        // A broken file keeps the identities in force.
        std::fs::write(&p, "gw:broken\n").unwrap();
        assert!(a.authenticate("gw", "g").await.is_ok());
    }
}
