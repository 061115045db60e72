//! What guest SQL may do on a database the host opened for it. A component
//! reaches only the labels its manifest lists, but SQL can reach further:
//! `ATTACH DATABASE '<path>'` opens any file the host can read, `VACUUM INTO`
//! writes one, extensions load code, and some PRAGMAs change the shared
//! connection's safety (journal, sync, schema writes) for every instance.
//! SQLite's authorizer is consulted for each of these when a statement is
//! prepared; [`install`] puts this policy there, and the guest gets an error
//! that says what was refused and why.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;

/// PRAGMAs a guest may run with or without a value: schema introspection,
/// checks, and settings kept in its own database file or that only affect
/// its own statements' checking.
const PRAGMAS: &[&str] = &[
    "application_id",
    "collation_list",
    "defer_foreign_keys",
    "foreign_key_check",
    "foreign_key_list",
    "foreign_keys",
    "function_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "module_list",
    "optimize",
    "pragma_list",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
    "user_version",
];

/// PRAGMAs a guest may read but not set: setting them would change the
/// connection every instance of the label shares (its journal, durability,
/// memory, locking) or corrupt the schema.
const READ_ONLY_PRAGMAS: &[&str] = &[
    "auto_vacuum",
    "busy_timeout",
    "cache_size",
    "data_version",
    "encoding",
    "freelist_count",
    "journal_mode",
    "page_count",
    "page_size",
    "schema_version",
    "synchronous",
];

/// Functions refused whatever their arguments: they load code or reach
/// outside the database.
const FUNCTIONS: &[&str] = &["load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"];

/// Why an action is refused, or `None` when it is allowed.
pub fn refusal(action: &AuthAction<'_>) -> Option<String> {
    match action {
        AuthAction::Attach { .. } => Some("ATTACH is not allowed: a component reaches only the databases its manifest lists (sqlite_databases)".into()),
        AuthAction::Detach { .. } => Some("DETACH is not allowed".into()),
        AuthAction::Pragma { pragma_name, pragma_value } => {
            let name = pragma_name.to_ascii_lowercase();
            if PRAGMAS.contains(&name.as_str()) || (pragma_value.is_none() && READ_ONLY_PRAGMAS.contains(&name.as_str())) {
                None
            } else if READ_ONLY_PRAGMAS.contains(&name.as_str()) {
                Some(format!("PRAGMA {name} may be read but not set: the host manages the connection's {name}"))
            } else {
                Some(format!("PRAGMA {name} is not allowed: it changes the host's connection or reaches outside the database"))
            }
        }
        AuthAction::Function { function_name } if FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(function_name)) => {
            Some(format!("the SQL function {function_name}() is not allowed"))
        }
        _ => None,
    }
}

/// Why the policy refused the statement being prepared: the authorizer can
/// only answer "deny", so it notes the reason here for the error the guest gets.
#[derive(Clone, Default)]
pub struct Refusals(Arc<Mutex<Option<String>>>);

impl Refusals {
    /// The reason for the last refusal, taken (so it is told once).
    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn note(&self, why: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }
}

/// Puts the policy on `conn`. Belt and braces for the file-reaching
/// statements: no database may be attached at all (`VACUUM INTO` attaches
/// one internally), extension loading stays off, and defensive mode keeps
/// SQL from corrupting the file (writable_schema and the like).
pub fn install(conn: &Connection, refusals: Refusals) -> Result<(), String> {
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0).map_err(|e| format!("cannot limit attached databases: {e}"))?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true).map_err(|e| format!("cannot enable defensive mode: {e}"))?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false).map_err(|e| format!("cannot turn off the trusted schema: {e}"))?;
    conn.authorizer(Some(move |ctx: AuthContext<'_>| match refusal(&ctx.action) {
        None => Authorization::Allow,
        Some(why) => {
            refusals.note(why);
            Authorization::Deny
        }
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guarded() -> (Connection, Refusals) {
        let conn = Connection::open_in_memory().unwrap();
        let refusals = Refusals::default();
        install(&conn, refusals.clone()).unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        (conn, refusals)
    }

    fn refused(conn: &Connection, refusals: &Refusals, sql: &str) -> String {
        let err = conn.execute_batch(sql).expect_err(sql);
        refusals.take().unwrap_or_else(|| format!("refused without a reason noted: {err}"))
    }

    #[test]
    fn attach_and_vacuum_into_cannot_reach_another_file() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.db");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE secret (x); INSERT INTO secret VALUES (42)").unwrap();
        let (conn, refusals) = guarded();
        let why = refused(&conn, &refusals, &format!("ATTACH DATABASE '{}' AS o", other.display()));
        assert!(why.contains("ATTACH is not allowed"), "{why}");
        let target = dir.path().join("copy.db");
        assert!(conn.execute_batch(&format!("VACUUM INTO '{}'", target.display())).is_err());
        assert!(!target.exists(), "VACUUM INTO wrote a file");
    }

    #[test]
    fn pragmas_that_change_the_connection_are_refused_and_introspection_is_not() {
        let (conn, refusals) = guarded();
        for sql in [
            "PRAGMA journal_mode = DELETE",
            "PRAGMA synchronous = OFF",
            "PRAGMA writable_schema = ON",
            "PRAGMA temp_store_directory = '/tmp'",
            "PRAGMA mmap_size = 1000000",
        ] {
            let why = refused(&conn, &refusals, sql);
            assert!(why.contains("PRAGMA"), "{sql}: {why}");
        }
        for sql in ["PRAGMA table_info(t)", "PRAGMA user_version = 3", "PRAGMA foreign_keys = ON", "PRAGMA journal_mode", "PRAGMA integrity_check"] {
            conn.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 3);
    }

    #[test]
    fn functions_that_load_code_are_refused() {
        let (conn, refusals) = guarded();
        let why = refused(&conn, &refusals, "SELECT load_extension('/tmp/x.so')");
        assert!(why.contains("load_extension"), "{why}");
        conn.execute_batch("SELECT upper('ok'), count(*) FROM t").unwrap();
    }
}
