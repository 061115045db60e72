//! A guest's SQL reaches only its own databases, stops at its request's
//! deadline without holding up other requests, and cannot pull an unbounded
//! result into the host.

use std::sync::Arc;
use std::time::Duration;

use crate::harness::AppDir;

/// The capability tests' app: components `cart` (database `cart-db`) and
/// `orders` (`orders-db`, a file at data/orders.db), each on its own route.
fn app() -> AppDir {
    crate::capabilities::stores_app()
}

const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";

#[test]
fn sql_cannot_reach_another_components_database() {
    let app = app();
    let souk = app.up();
    for statement in ["CREATE TABLE secrets (v TEXT)", "INSERT INTO secrets VALUES ('card 4242')"] {
        let done = souk.post("/orders/sql/exec?db=orders-db", statement);
        assert_eq!(done.status, 200, "{done:?}");
    }
    // Even a little SQL gets it there: ATTACH takes any path the host can read.
    let orders_file = app.path().join("data/orders.db");
    assert!(orders_file.exists());
    let attach = souk.post("/cart/sql/exec?db=cart-db", &format!("ATTACH DATABASE '{}' AS theirs", orders_file.display()));
    assert_eq!(attach.status, 409, "{attach:?}");
    assert!(attach.body.contains("ATTACH is not allowed"), "the guest is told why: {attach:?}");
    let read = souk.post("/cart/sql/exec?db=cart-db", "SELECT v FROM theirs.secrets");
    assert!(read.status == 409 && !read.body.contains("4242"), "{read:?}");

    // Nor write a copy of its own database elsewhere, nor change the shared connection.
    let copy = app.path().join("data/copy.db");
    let vacuum = souk.post("/cart/sql/exec?db=cart-db", &format!("VACUUM INTO '{}'", copy.display()));
    assert_eq!(vacuum.status, 409, "{vacuum:?}");
    assert!(!copy.exists());
    for pragma in ["PRAGMA journal_mode = DELETE", "PRAGMA writable_schema = ON", "SELECT load_extension('libc.so.6')"] {
        let refused = souk.post("/cart/sql/exec?db=cart-db", pragma);
        assert!(refused.status == 409 && refused.body.contains("not authorized"), "{pragma}: {refused:?}");
    }
    // What a service does with its own database still works.
    for ok in ["CREATE TABLE t (x)", "PRAGMA foreign_keys = ON", "PRAGMA user_version = 2", "PRAGMA table_info(t)"] {
        let reply = souk.post("/cart/sql/exec?db=cart-db", ok);
        assert_eq!(reply.status, 200, "{ok}: {reply:?}");
    }
    assert_eq!(souk.post("/cart/sql/exec?db=cart-db", "PRAGMA user_version").body, "2\n");
}

#[test]
fn runaway_queries_end_at_the_deadline_and_others_are_served_meanwhile() {
    let app = app();
    let souk = Arc::new(app.up_with(&["--request-timeout", "4s"], &[]));
    let before = souk.cpu_time();
    // More runaways than the machine has executor threads.
    let runaways: Vec<_> = (0..3)
        .map(|_| {
            let souk = souk.clone();
            std::thread::spawn(move || souk.post("/cart/sql/exec?db=cart-db", ENDLESS))
        })
        .collect();
    // Once they burn CPU, the other component's requests, and a statement
    // on another database, are still answered.
    souk.wait_for_cpu(before, Duration::from_millis(500), Duration::from_secs(30));
    for _ in 0..5 {
        assert_eq!(souk.get("/orders/hello").body, "hello from souk");
        assert_eq!(souk.post("/orders/sql/exec?db=orders-db", "SELECT 1 + 1").body, "2\n");
    }
    assert!(runaways.iter().any(|r| !r.is_finished()), "the other requests were answered only after the runaways ended");
    for runaway in runaways {
        let reply = runaway.join().unwrap();
        assert_eq!(reply.status, 503, "{reply:?}");
    }
    souk.wait_until_idle(Duration::from_secs(10));
    // The database the runaways used serves again.
    let again = souk.post("/cart/sql/exec?db=cart-db", "SELECT 40 + 2");
    assert_eq!((again.status, again.body.as_str()), (200, "42\n"));
}

#[test]
fn an_oversized_result_is_refused_with_a_clear_error() {
    let app = app();
    let souk = app.up_with(&["--sqlite-max-result-bytes", "100000"], &[]);
    let big = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 10000) SELECT i, printf('%.50c', 'x') FROM n";
    let refused = souk.post("/cart/sql/exec?db=cart-db", big);
    assert_eq!(refused.status, 409, "{refused:?}");
    assert!(refused.body.contains("larger than 100000 bytes") && refused.body.contains("--sqlite-max-result-bytes"), "{refused:?}");
    let small = souk.post("/cart/sql/exec?db=cart-db", &big.replace("LIMIT 10000", "LIMIT 100"));
    assert_eq!((small.status, small.body.lines().count()), (200, 100), "{small:?}");
}

/// Requests keep coming while one request's work goes on after its answer
/// in a reused instance. Whichever instances take them (when the one
/// serving them reaches its reuse count, the next may be the lingering
/// one, whose latest deadline then moves past the COMMIT), the lingering
/// request's statements are held to its own deadline, so its transaction
/// is rolled back, not committed two seconds late. Before statements were
/// matched to their request's task, this committed.
#[test]
fn work_after_the_answer_ends_at_its_deadline_while_other_requests_keep_coming() {
    let app = app();
    let souk = app.up_with(&["--request-timeout", "1s", "--max-instance-reuse-count", "100", "--idle-instance-timeout", "60s"], &[]);
    assert_eq!(souk.post("/cart/sql/exec?db=cart-db", "CREATE TABLE t (v TEXT)").status, 200);
    let started = std::time::Instant::now();
    let answered = souk.get("/cart/linger?db=cart-db&ms=3000");
    assert_eq!((answered.status, answered.body.as_str()), (200, "answered; still working"));
    // Traffic for the cart until the lingering transaction would have
    // committed; none of it touches the database.
    while started.elapsed() < Duration::from_millis(3500) {
        assert_eq!(souk.get("/cart/hello").body, "hello from souk");
        std::thread::sleep(Duration::from_millis(50));
    }
    let read = (0..10).map(|_| souk.post("/cart/sql/exec?db=cart-db", "SELECT v FROM t")).find(|r| r.status != 503).expect("a read answered");
    assert_eq!((read.status, read.body.trim()), (200, ""), "the lingering write must have been rolled back: {read:?}");
}

/// Work a guest goes on with after it has answered is cut at its request's
/// deadline too: `/linger` answers at once and then holds a write
/// transaction for 3 s, past its deadline of 1 s, so the transaction is
/// rolled back rather than committed. With an instance per request and
/// with reused instances.
#[test]
fn work_after_the_answer_ends_at_the_deadline() {
    for reuse in [&[][..], &["--max-instance-reuse-count", "8"][..]] {
        let app = app();
        let souk = app.up_with(&[&["--request-timeout", "1s"][..], reuse].concat(), &[]);
        assert_eq!(souk.post("/cart/sql/exec?db=cart-db", "CREATE TABLE t (v TEXT)").status, 200);
        let answered = souk.get("/cart/linger?db=cart-db&ms=3000");
        assert_eq!((answered.status, answered.body.as_str()), (200, "answered; still working"), "{reuse:?}");
        // A read waits for the lingering transaction to end, however it
        // ends; one that waits past its own deadline (1 s too) is answered
        // 503 and sent again. The first answer shows how it ended.
        let read = (0..10).map(|_| souk.post("/cart/sql/exec?db=cart-db", "SELECT v FROM t")).find(|r| r.status != 503).expect("a read answered");
        assert_eq!(
            (read.status, read.body.trim()),
            (200, ""),
            "{reuse:?}: the write made after the answer must have been rolled back at the deadline: {read:?}"
        );
    }
}
