-- Console accounts get a role: 'admin' may use every page of the console; 'staff' (the library's
-- desk) only the dashboard, the message trace and the jobs list (src/admin/roles.rs decides).
-- Accounts made before roles existed could do everything, so they become 'admin'.
ALTER TABLE admin_users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'staff'));

-- A disabled account cannot log in (the login answers as for a wrong password) and has no
-- sessions: disabling it ends them in the same transaction. 0 = enabled, 1 = disabled.
ALTER TABLE admin_users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;

-- When the account last logged in (Unix seconds; NULL: not since this column exists), shown on
-- the console's accounts page and by `admin-user list`.
ALTER TABLE admin_users ADD COLUMN last_login_at BIGINT;

CREATE INDEX admin_sessions_user ON admin_sessions (user_name);
