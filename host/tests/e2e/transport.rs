//! The listener under slow, greedy and hostile clients, and HTTPS / HTTP/2.
//! Raw sockets where the abuse is below HTTP clients' reach; curl (with its
//! HTTP/2 and TLS support) for the protocols.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::failures::APP;
use crate::harness::{AppDir, Souk};

fn addr(souk: &Souk) -> String {
    souk.url.trim_start_matches("http://").trim_start_matches("https://").to_string()
}

fn connect(souk: &Souk) -> TcpStream {
    let stream = TcpStream::connect(addr(souk)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream
}

/// Everything the server sends until it closes the connection (or 30 s pass).
fn read_all(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or("")
}

#[test]
fn a_client_trickling_its_head_gets_408_and_is_closed_while_others_are_served() {
    let app = AppDir::new(APP);
    let souk = Arc::new(app.up_with(&["--header-read-timeout", "2s"], &[]));
    let slow = {
        let souk = souk.clone();
        std::thread::spawn(move || {
            let mut stream = connect(&souk);
            stream.write_all(b"GET /p3/hello HTTP/1.1\r\nHost: x\r\n").unwrap();
            // One byte a second, for longer than the server waits.
            for byte in b"X-Slow: 0123456789".iter() {
                if stream.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            read_all(&mut stream)
        })
    };
    for _ in 0..5 {
        assert_eq!(souk.get("/p3/hello").body, "hello from souk");
    }
    let answer = slow.join().unwrap();
    assert!(status_line(&answer).starts_with("HTTP/1.1 408"), "{answer:?}");
}

#[test]
fn oversized_heads_and_bodies_get_431_and_413() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--max-request-body-bytes", "1000"], &[]);

    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let mut stream = connect(&souk);
    stream.write_all(format!("GET /p3/hello HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes()).unwrap();
    assert!(status_line(&read_all(&mut stream)).starts_with("HTTP/1.1 431"), "150 header fields");

    let mut stream = connect(&souk);
    let huge = "v".repeat(100_000);
    let _ = stream.write_all(format!("GET /p3/hello HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n").as_bytes());
    assert!(status_line(&read_all(&mut stream)).starts_with("HTTP/1.1 431"), "a 100 kB header field");
    let roomy = app.up_with(&["--http1-max-buf-size", "262144"], &[]);
    let mut stream = connect(&roomy);
    let _ = stream.write_all(format!("GET /p3/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {huge}\r\n\r\n").as_bytes());
    assert!(status_line(&read_all(&mut stream)).starts_with("HTTP/1.1 200"), "fits a read buffer of 256 KiB (--http1-max-buf-size)");
    drop(roomy);

    // A declared length over the cap, refused before the guest runs.
    let big = "x".repeat(2000);
    let declared = souk.request("POST", "/p3/kv/set?store=none&key=k", Some(&big), &[]);
    assert_eq!(declared.status, 413, "{declared:?}");
    assert!(declared.body.contains("--max-request-body-bytes"), "{declared:?}");
    // A chunked body that grows past it on the way.
    let mut stream = connect(&souk);
    let chunk = format!("{:x}\r\n{}\r\n", 600, "y".repeat(600));
    stream
        .write_all(format!("POST /p3/kv/set?store=none&key=k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n").as_bytes())
        .unwrap();
    assert!(status_line(&read_all(&mut stream)).starts_with("HTTP/1.1 413"), "a chunked body of 1200 bytes");
    // Under the cap, the guest gets it.
    assert_eq!(souk.request("POST", "/p3/kv/set?store=none&key=k", Some("small"), &[]).status, 409, "the guest ran (and has no store)");
}

#[test]
fn a_smuggled_request_behind_a_chunked_body_is_never_served() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let mut stream = connect(&souk);
    // A front end reading Content-Length would see one request; the
    // chunked framing hides a second one after the empty body.
    let smuggled = "GET /p3/trap HTTP/1.1\r\nHost: x\r\n\r\n";
    stream
        .write_all(
            format!("POST /p3/hello HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}", 5 + smuggled.len())
                .as_bytes(),
        )
        .unwrap();
    let answer = read_all(&mut stream);
    assert!(status_line(&answer).starts_with("HTTP/1.1 200"), "{answer:?}");
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "the smuggled request was answered: {answer:?}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer:?}");
}

#[test]
fn a_thousand_idle_connections_do_not_stop_service_and_are_closed() {
    let app = AppDir::new(APP);
    let souk = app.up_with(&["--header-read-timeout", "3s"], &[]);
    let idle: Vec<TcpStream> = (0..1000).map(|_| connect(&souk)).collect();
    for _ in 0..5 {
        assert_eq!(souk.get("/p3/hello").body, "hello from souk");
    }
    // The server closes them (EOF), rather than holding them for ever.
    let started = Instant::now();
    for mut stream in idle.into_iter().step_by(100) {
        let mut buf = [0u8; 64];
        assert_eq!(stream.read(&mut buf).unwrap_or(0), 0, "an idle connection got data");
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(souk.get("/p3/hello").status, 200);
}

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl").args(["-sS", "--max-time", "30"]).args(args).output().expect("running curl (apt-get install curl)");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn http2_cleartext_by_prior_knowledge_and_http1_on_one_port() {
    let app = AppDir::new(APP);
    let souk = app.up();
    let url = format!("{}/p3/hello", souk.url);
    let (out, err) = curl(&["--http2-prior-knowledge", "-w", "\n%{http_version}", &url]);
    assert_eq!(out, "hello from souk\n2", "{err}");
    let (out, err) = curl(&["--http1.1", "-w", "\n%{http_version}", &url]);
    assert_eq!(out, "hello from souk\n1.1", "{err}");
}

#[test]
fn https_with_a_certificate_serves_http2_and_http1() {
    let app = AppDir::new(APP);
    let (cert, key) = (app.path().join("cert.pem"), app.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("running openssl (apt-get install openssl)");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let souk = app.up_with(&["--tls-cert", &cert_arg, "--tls-key", &key_arg], &[]);
    assert!(souk.url.starts_with("https://"), "{}", souk.url);
    let url = format!("{}/p3/hello", souk.url);
    let (out, err) = curl(&["--cacert", &cert_arg, "-w", "\n%{http_version}", &url]);
    assert_eq!(out, "hello from souk\n2", "{err}");
    let (out, err) = curl(&["--cacert", &cert_arg, "--http1.1", "-w", "\n%{http_version}", &url]);
    assert_eq!(out, "hello from souk\n1.1", "{err}");
    // Plain HTTP on the TLS port is not served.
    let (out, _) = curl(&["-w", "%{http_code}", &url.replace("https://", "http://")]);
    assert!(!out.contains("hello"), "{out}");
}

#[test]
fn a_bad_certificate_stops_start_up_naming_the_file() {
    let app = AppDir::new(APP);
    app.write("cert.pem", "not a certificate");
    app.write("key.pem", "not a key");
    let (cert, key) = (app.path().join("cert.pem").display().to_string(), app.path().join("key.pem").display().to_string());
    let out = app.up_fails(&["--tls-cert", &cert, "--tls-key", &key], &[]);
    assert!(out.contains("cert.pem") && out.contains("--tls-cert"), "{out}");
    let out = app.up_fails(&["--tls-cert", &cert], &[]);
    assert!(out.contains("--tls-key"), "{out}");
}
