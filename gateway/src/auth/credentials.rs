//! The set of identities with their password hashes, and which identity owns a client id.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{AuthError, Identity, PasswordHash};

/// One identity and its stored hash.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Who.
    pub identity: Arc<Identity>,
    /// Its password hash.
    pub hash: PasswordHash,
}

/// Every identity, by id.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    entries: BTreeMap<String, Entry>,
}

impl Credentials {
    /// The identity `id`.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    /// Every identity, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// How many identities.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an identity; refused when its id exists.
    pub fn insert(&mut self, identity: Identity, hash: PasswordHash) -> Result<(), AuthError> {
        if self.entries.contains_key(&identity.id) {
            return Err(AuthError::DuplicateId(identity.id));
        }
        let id = identity.id.clone();
        self.entries.insert(
            id,
            Entry {
                identity: Arc::new(identity),
                hash,
            },
        );
        Ok(())
    }

    /// Replaces the hash of identity `id`.
    pub fn set_hash(&mut self, id: &str, hash: PasswordHash) -> Result<(), AuthError> {
        let e = self
            .entries
            .get_mut(id)
            .ok_or_else(|| AuthError::UnknownId(id.to_string()))?;
        e.hash = hash;
        Ok(())
    }

    /// Removes identity `id`.
    pub fn remove(&mut self, id: &str) -> Result<Entry, AuthError> {
        self.entries
            .remove(id)
            .ok_or_else(|| AuthError::UnknownId(id.to_string()))
    }

    /// The identity whose namespace MQTT client id `client_id` is in: the one with the
    /// longest id that equals it or is followed by `-` in it (`ps-1` owns `ps-1` and
    /// `ps-1-backup`; with `ps-1-b` also an identity, `ps-1-b-x` is `ps-1-b`'s). A client may
    /// use only client ids of its own namespace, so that no identity can take over (and so
    /// disconnect) a session of another.
    pub fn owner_of_client_id(&self, client_id: &str) -> Option<&Entry> {
        if let Some(e) = self.entries.get(client_id) {
            return Some(e);
        }
        client_id
            .rmatch_indices('-')
            .find_map(|(i, _)| self.entries.get(&client_id[..i]))
    }

    /// Keeps only the identities `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        self.entries.retain(|_, e| keep(e));
    }
}

#[cfg(test)]
mod tests {
    use super::super::Role;
    use super::*;

    fn creds(ids: &[&str]) -> Credentials {
        let mut c = Credentials::default();
        let h = PasswordHash::new("x");
        for id in ids {
            c.insert(
                Identity::new(id, Role::Device, Default::default()).unwrap(),
                h.clone(),
            )
            .unwrap();
        }
        c
    }

    #[test]
    fn a_client_id_belongs_to_the_longest_identity_it_starts_with() {
        let c = creds(&["ps-1", "ps-1-b", "gw"]);
        let owner = |cid: &str| c.owner_of_client_id(cid).map(|e| e.identity.id.clone());
        assert_eq!(owner("ps-1").as_deref(), Some("ps-1"));
        assert_eq!(owner("ps-1-backup").as_deref(), Some("ps-1"));
        assert_eq!(owner("ps-1-b").as_deref(), Some("ps-1-b"));
        assert_eq!(owner("ps-1-b-x").as_deref(), Some("ps-1-b"));
        assert_eq!(owner("gw-relay").as_deref(), Some("gw"));
        assert_eq!(owner("ps-10"), None);
        assert_eq!(owner("ps"), None);
        assert_eq!(owner("mosq-123"), None);
    }

    #[test]
    fn duplicates_and_unknown_ids_are_errors() {
        let mut c = creds(&["ps-1"]);
        let h = c.get("ps-1").unwrap().hash.clone();
        let again = Identity::new("ps-1", Role::Reader, Default::default()).unwrap();
        assert!(matches!(
            c.insert(again, h.clone()),
            Err(AuthError::DuplicateId(_))
        ));
        assert!(matches!(
            c.set_hash("ps-9", h),
            Err(AuthError::UnknownId(_))
        ));
        assert!(matches!(c.remove("ps-9"), Err(AuthError::UnknownId(_))));
        assert!(c.remove("ps-1").is_ok());
        assert!(c.is_empty());
    }
}
