//! Identities made by a program rather than typed by an operator: `gateway demo` gives its
//! simulator a bridge for every device of the district and its twin and security desk reader
//! identities, each with a new secret at every start.

use std::collections::BTreeSet;
use std::path::Path;

use district::District;

use super::{file, secret, AuthError, Identity, PasswordHash, Role};

/// Every device id of `districts`: what a bridge publishing for all of them declares (the
/// simulator, a protocol gateway in front of the whole district).
pub fn district_devices(districts: &[District]) -> BTreeSet<String> {
    districts
        .iter()
        .flat_map(|d| d.devices.iter().map(|dev| dev.id.clone()))
        .collect()
}

/// Adds `identity` to the password file at `path` (created with mode 0600 if missing), or
/// replaces its role, devices and secret if it exists; returns its new secret.
pub fn upsert(path: &Path, identity: Identity) -> Result<String, AuthError> {
    let secret = secret::new_secret();
    upsert_with(path, identity, &secret)?;
    Ok(secret)
}

/// As [`upsert`], with a secret the caller chose (tests that need the same secret in several
/// processes).
pub fn upsert_with(path: &Path, identity: Identity, secret: &str) -> Result<(), AuthError> {
    let mut creds = file::load_or_empty(path)?;
    if creds.get(&identity.id).is_some() {
        creds.remove(&identity.id)?;
    }
    creds.insert(identity, PasswordHash::new(secret))?;
    file::save(path, &creds)
}

/// A bridge for every device of `districts`.
pub fn bridge_for(id: &str, districts: &[District]) -> Result<Identity, AuthError> {
    Identity::new(id, Role::Bridge, district_devices(districts))
}

/// A reader (subscribes only).
pub fn reader(id: &str) -> Result<Identity, AuthError> {
    Identity::new(id, Role::Reader, BTreeSet::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_replaces_the_secret_and_keeps_other_identities() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("devices.passwd");
        let first = upsert(&path, reader("twin").unwrap()).unwrap();
        upsert_with(&path, reader("desk").unwrap(), "desk-secret").unwrap();
        let second = upsert(&path, reader("twin").unwrap()).unwrap();
        assert_ne!(first, second);
        let creds = file::load(&path).unwrap();
        assert_eq!(creds.len(), 2);
        assert!(creds.get("twin").unwrap().hash.verify(&second));
        assert!(!creds.get("twin").unwrap().hash.verify(&first));
        assert!(creds.get("desk").unwrap().hash.verify("desk-secret"));
    }
}
