//! The API accounts by name, which account a presented token belongs to, and the
//! passwords of the accounts that people log in with.

use std::collections::BTreeMap;

use super::{ApiRole, TokenHash, UsersError};
use crate::auth::hash::PasswordHash;

/// The name the audit trail gives callers without a token, where anonymous calls are
/// allowed; no account may take it.
pub const ANONYMOUS: &str = "anonymous";

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its name: the audit trail's `who`, the owner of its reservations.
    pub name: String,
    /// What it may do.
    pub role: ApiRole,
    /// The SHA-256 of its token.
    pub hash: TokenHash,
    /// When it was added (RFC 3339), for `list`.
    pub created: String,
}

/// Every account, by name.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    items: Vec<Account>,
    /// The accounts that have a password (`gateway users passwd`), by name.
    passwords: BTreeMap<String, PasswordHash>,
}

/// Whether `name` can name an account: 1 to 64 of `A-Z a-z 0-9 . _ -`, and not
/// [`ANONYMOUS`].
pub fn check_name(name: &str) -> Result<(), UsersError> {
    let why = if name.is_empty() {
        Some("empty")
    } else if name.len() > 64 {
        Some("longer than 64 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("only letters, digits, '.', '_' and '-'")
    } else if name == ANONYMOUS {
        Some("reserved for callers without a token")
    } else {
        None
    };
    match why {
        Some(why) => Err(UsersError::InvalidName {
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

impl Accounts {
    /// Adds an account.
    pub fn add(&mut self, account: Account) -> Result<(), UsersError> {
        check_name(&account.name)?;
        if self.get(&account.name).is_some() {
            return Err(UsersError::Duplicate(account.name));
        }
        let at = self.items.partition_point(|a| a.name < account.name);
        self.items.insert(at, account);
        Ok(())
    }

    /// Gives account `name` a new token hash.
    pub fn set_hash(&mut self, name: &str, hash: TokenHash) -> Result<(), UsersError> {
        let a = self
            .items
            .iter_mut()
            .find(|a| a.name == name)
            .ok_or_else(|| UsersError::Unknown(name.to_string()))?;
        a.hash = hash;
        Ok(())
    }

    /// Gives account `name` a password hash (`None`: no password, no login).
    pub fn set_password(
        &mut self,
        name: &str,
        hash: Option<PasswordHash>,
    ) -> Result<(), UsersError> {
        if self.get(name).is_none() {
            return Err(UsersError::Unknown(name.to_string()));
        }
        match hash {
            Some(h) => self.passwords.insert(name.to_string(), h),
            None => self.passwords.remove(name),
        };
        Ok(())
    }

    /// The password hash of account `name`, if it has one.
    pub fn password(&self, name: &str) -> Option<&PasswordHash> {
        self.passwords.get(name)
    }

    /// Removes account `name` (and its password).
    pub fn remove(&mut self, name: &str) -> Result<Account, UsersError> {
        let i = self
            .items
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| UsersError::Unknown(name.to_string()))?;
        self.passwords.remove(name);
        Ok(self.items.remove(i))
    }

    /// Account `name`.
    pub fn get(&self, name: &str) -> Option<&Account> {
        self.items.iter().find(|a| a.name == name)
    }

    /// The account whose token is `token`. The token is hashed once and compared with every
    /// account's hash in constant time, without stopping at a match, so the time taken
    /// depends on the number of accounts only.
    pub fn find(&self, token: &str) -> Option<&Account> {
        let presented = TokenHash::of(token);
        let mut found = None;
        for a in &self.items {
            if a.hash.matches(&presented) {
                found = Some(a);
            }
        }
        found
    }

    /// Every account, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.items.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(name: &str, role: ApiRole, token: &str) -> Account {
        Account {
            name: name.into(),
            role,
            hash: TokenHash::of(token),
            created: String::new(),
        }
    }

    #[test]
    fn a_token_finds_its_account_only() {
        let mut a = Accounts::default();
        a.add(acct("screen", ApiRole::Viewer, "t1")).unwrap();
        a.add(acct("ops", ApiRole::Operator, "t2")).unwrap();
        assert_eq!(a.find("t2").unwrap().name, "ops");
        assert_eq!(a.find("t1").unwrap().role, ApiRole::Viewer);
        assert!(a.find("t3").is_none() && a.find("").is_none());
        assert_eq!(
            a.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ["ops", "screen"]
        );
        a.set_hash("ops", TokenHash::of("t4")).unwrap();
        assert!(a.find("t2").is_none());
        assert_eq!(a.find("t4").unwrap().name, "ops");
        a.set_password("ops", Some(PasswordHash::new("pw")))
            .unwrap();
        assert!(a.password("ops").unwrap().verify("pw"));
        a.remove("ops").unwrap();
        assert!(a.find("t4").is_none());
        assert!(a.password("ops").is_none());
        assert!(a.set_password("ops", None).is_err());
    }

    #[test]
    fn names_are_checked_and_unique() {
        let mut a = Accounts::default();
        a.add(acct("ops", ApiRole::Operator, "t")).unwrap();
        assert!(matches!(
            a.add(acct("ops", ApiRole::Admin, "u")),
            Err(UsersError::Duplicate(_))
        ));
        for bad in ["", "a b", "x/y", ANONYMOUS, &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(a.remove("nobody"), Err(UsersError::Unknown(_))));
        assert!(a.set_hash("nobody", TokenHash::of("x")).is_err());
    }
}
