//! Console accounts beyond their password: the role (`admin` | `staff`), the disabled flag, the
//! last login, and the open sessions per account (migrations/0014_console_roles.sql). Changes to
//! role and disabled flag keep at least one enabled admin ([`keeps_an_admin`]), checked in the
//! transaction that makes them. What each role may open is decided by `crate::admin::roles`,
//! not here; passwords and session tokens are hashed by `crate::admin` (see [`super::admin`]).

use sqlx::Row;

use super::{Store, StoreError, is_unique_violation};

/// What a console account may do: an admin everything; staff the desk's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
}

impl Role {
    /// The name stored in the database and shown by the CLI and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
        }
    }

    /// The role named `name` (`admin` or `staff`).
    ///
    /// # Errors
    /// A message naming the unknown role.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "admin" => Ok(Self::Admin),
            "staff" => Ok(Self::Staff),
            other => Err(format!("unknown role {other:?} (admin or staff)")),
        }
    }
}

/// The logged-in account behind a live session of an enabled account.
#[derive(Debug, Clone)]
pub struct SessionAccount {
    pub user: String,
    pub csrf: String,
    pub role: Role,
}

/// One open session as the accounts page lists it (never its id).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenSession {
    pub created_at: i64,
    pub expires_at: i64,
}

/// A console account with its open sessions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub sessions: Vec<OpenSession>,
}

/// A change of an account's role or state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    Disable,
    Enable,
    SetRole(Role),
}

/// Why an account change was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeRefused {
    #[error("no such account")]
    NotFound,
    #[error("this would leave no enabled admin account")]
    LastAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChangeRefused {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Whether the accounts `(name, role, disabled)` still have an enabled admin after `change` to
/// `target`. A change that leaves none is refused, whoever asks: the console must keep someone
/// who can manage it (the CLI can always add one, but may not be at hand).
pub fn keeps_an_admin(accounts: &[(String, Role, bool)], target: &str, change: AccountChange) -> bool {
    accounts.iter().any(|(name, role, disabled)| {
        let (role, disabled) = if name == target {
            match change {
                AccountChange::Disable => (*role, true),
                AccountChange::Enable => (*role, false),
                AccountChange::SetRole(new) => (new, *disabled),
            }
        } else {
            (*role, *disabled)
        };
        role == Role::Admin && !disabled
    })
}

impl Store {
    /// Creates an account with `role`; false if the name is taken.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn create_console_account(&self, name: &str, password_hash: &str, role: Role) -> Result<bool, StoreError> {
        let done = sqlx::query("INSERT INTO admin_users (name, password_hash, created_at, role) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(password_hash)
            .bind(self.now())
            .bind(role.as_str())
            .execute(&self.pool)
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The account behind a live session, if the account is enabled.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or expired session, or one of a disabled account.
    pub async fn console_session(&self, id_hash: &str) -> Result<SessionAccount, StoreError> {
        let row = sqlx::query(
            "SELECT s.user_name, s.csrf, u.role FROM admin_sessions s JOIN admin_users u ON u.name = s.user_name \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(id_hash)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let role: String = row.try_get(2)?;
        Ok(SessionAccount { user: row.try_get(0)?, csrf: row.try_get(1)?, role: Role::parse(&role).map_err(StoreError::Corrupt)? })
    }

    /// Notes a successful login (the accounts page shows it).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn note_console_login(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE admin_users SET last_login_at = $1 WHERE name = $2").bind(self.now()).bind(name).execute(&self.pool).await?;
        Ok(())
    }

    /// Every account, by name, with its live sessions (oldest first).
    ///
    /// # Errors
    /// [`StoreError::Db`] or [`StoreError::Corrupt`].
    pub async fn console_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query("SELECT name, role, disabled, created_at, last_login_at FROM admin_users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut accounts = rows
            .iter()
            .map(|r| {
                Ok(Account {
                    name: r.try_get(0)?,
                    role: Role::parse(&r.try_get::<String, _>(1)?).map_err(StoreError::Corrupt)?,
                    disabled: r.try_get::<i64, _>(2)? != 0,
                    created_at: r.try_get(3)?,
                    last_login_at: r.try_get(4)?,
                    sessions: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let sessions =
            sqlx::query("SELECT user_name, created_at, expires_at FROM admin_sessions WHERE expires_at > $1 ORDER BY created_at, id_hash")
                .bind(self.now())
                .fetch_all(&self.pool)
                .await?;
        for s in &sessions {
            let user: String = s.try_get(0)?;
            if let Some(a) = accounts.iter_mut().find(|a| a.name == user) {
                a.sessions.push(OpenSession { created_at: s.try_get(1)?, expires_at: s.try_get(2)? });
            }
        }
        Ok(accounts)
    }

    /// Changes an account's role or state, in one transaction that first checks that an
    /// enabled admin remains ([`keeps_an_admin`]); disabling also ends every session of the
    /// account. On PostgreSQL the accounts table is locked for the transaction, so two admins
    /// disabling each other at once cannot both succeed (SQLite has one writer at a time).
    ///
    /// # Errors
    /// [`ChangeRefused`].
    pub async fn change_console_account(&self, name: &str, change: AccountChange) -> Result<(), ChangeRefused> {
        let mut tx = self.pool.begin().await?;
        if !self.is_sqlite {
            sqlx::raw_sql("LOCK TABLE admin_users IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let rows = sqlx::query("SELECT name, role, disabled FROM admin_users").fetch_all(&mut *tx).await?;
        let accounts = rows
            .iter()
            .map(|r| {
                let role = Role::parse(&r.try_get::<String, _>(1)?).map_err(StoreError::Corrupt)?;
                Ok((r.try_get(0)?, role, r.try_get::<i64, _>(2)? != 0))
            })
            .collect::<Result<Vec<(String, Role, bool)>, StoreError>>()?;
        if !accounts.iter().any(|(n, _, _)| n == name) {
            return Err(ChangeRefused::NotFound);
        }
        if !keeps_an_admin(&accounts, name, change) {
            return Err(ChangeRefused::LastAdmin);
        }
        let update = match change {
            AccountChange::Disable => sqlx::query("UPDATE admin_users SET disabled = 1 WHERE name = $1").bind(name),
            AccountChange::Enable => sqlx::query("UPDATE admin_users SET disabled = 0 WHERE name = $1").bind(name),
            AccountChange::SetRole(role) => sqlx::query("UPDATE admin_users SET role = $1 WHERE name = $2").bind(role.as_str()).bind(name),
        };
        update.execute(&mut *tx).await?;
        if change == AccountChange::Disable {
            sqlx::query("DELETE FROM admin_sessions WHERE user_name = $1").bind(name).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enabled_admin_always_remains() {
        use AccountChange::{Disable, Enable, SetRole};
        use Role::{Admin, Staff};
        let accounts = |list: &[(&str, Role, bool)]| list.iter().map(|(n, r, d)| ((*n).to_owned(), *r, *d)).collect::<Vec<_>>();
        let one_admin = accounts(&[("ada", Admin, false), ("sam", Staff, false), ("old", Admin, true)]);
        let two_admins = accounts(&[("ada", Admin, false), ("bob", Admin, false), ("sam", Staff, false)]);
        for (list, target, change, keeps) in [
            (&one_admin, "ada", Disable, false),
            (&one_admin, "ada", SetRole(Staff), false),
            (&one_admin, "ada", SetRole(Admin), true),
            (&one_admin, "ada", Enable, true),
            (&one_admin, "sam", Disable, true),
            (&one_admin, "sam", SetRole(Admin), true),
            (&one_admin, "old", Disable, true),
            (&one_admin, "old", Enable, true),
            (&two_admins, "ada", Disable, true),
            (&two_admins, "ada", SetRole(Staff), true),
            (&two_admins, "bob", SetRole(Staff), true),
        ] {
            assert_eq!(keeps_an_admin(list, target, change), keeps, "{target} {change:?} in {list:?}");
        }
        // Two admins, one of them disabled: the enabled one is the last.
        let last = accounts(&[("ada", Admin, false), ("bob", Admin, true)]);
        assert!(!keeps_an_admin(&last, "ada", Disable));
        assert!(keeps_an_admin(&last, "bob", Enable));
        // No admin at all (only possible in a store made by hand): every change is refused but
        // the one that makes an enabled admin.
        let none = accounts(&[("sam", Staff, false), ("old", Admin, true)]);
        assert!(!keeps_an_admin(&none, "sam", Disable));
        assert!(keeps_an_admin(&none, "sam", SetRole(Admin)));
        assert!(keeps_an_admin(&none, "old", Enable));
    }

    #[test]
    fn roles_parse_from_their_stored_names() {
        for role in [Role::Admin, Role::Staff] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("Admin").is_err() && Role::parse("").is_err() && Role::parse("root").is_err());
    }
}
