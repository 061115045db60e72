//! Notifications are also POSTed to a webhook, and every response carries
//! a request id.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use serde_json::Value;

use super::{APPROVED_CARD, Shop, eventually};

/// A one-route HTTP server that hands each request body to the test.
fn receiver() -> (String, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
            if let Ok(v) = serde_json::from_slice(&body) {
                let _ = tx.send(v);
            }
        }
    });
    (origin, rx)
}

#[test]
fn notifications_are_posted_to_the_webhook() {
    let (origin, received) = receiver();
    let url = format!("{origin}/hooks/souk");
    let shop = Shop::start_with(&[("SPIN_VARIABLE_WEBHOOK_URL", &url), ("SPIN_VARIABLE_WEBHOOK_ORIGIN", &origin)]);
    let product = shop.product(2);
    let max = shop.customer("max");
    let r = max.order(&[(&product, 1)], APPROVED_CARD);
    assert_eq!(r.status, 201, "{}", r.body);
    let order_id = r.json()["id"].as_str().unwrap().to_owned();
    let posted = received.recv_timeout(std::time::Duration::from_secs(10)).expect("a webhook call");
    assert_eq!(posted["notification"]["type"], "order.placed", "{posted}");
    assert_eq!(posted["event"]["data"]["order_id"], order_id.as_str());
    let listed = eventually("the notification", || max.get("/api/v1/notifications").json()["items"].as_array()?.first().cloned());
    assert_eq!(listed["webhook"], "sent", "{listed}");
}

#[test]
fn every_response_carries_a_request_id_kept_when_sane() {
    let shop = Shop::start();
    let anon = shop.anonymous();
    let r = anon.send("GET", "/api/v1/products", None, &[("x-request-id", "client-chosen-42")]);
    assert_eq!(r.header("x-request-id"), Some("client-chosen-42"));
    let r = anon.send("GET", "/api/v1/products", None, &[("x-request-id", "not sane; has spaces")]);
    let made = r.header("x-request-id").expect("a request id");
    assert!(made != "not sane; has spaces" && made.len() >= 32, "{made}");
    let r = anon.get("/api/v1/orders");
    assert_eq!(r.status, 401);
    assert!(r.header("x-request-id").is_some());
}
