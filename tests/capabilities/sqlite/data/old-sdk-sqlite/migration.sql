-- From spinframework/spin-python-sdk, branch old-sdk, examples/sqlite/migration.sql (Apache-2.0), unchanged below this line.
CREATE TABLE IF NOT EXISTS todos (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  description TEXT NOT NULL,
  due_date DATE,
  starred BOOLEAN DEFAULT 0,
  is_completed BOOLEAN DEFAULT 0
);
