//! The CGI side of the WAGI executor, as Spin's WAGI executor has it: a
//! request as a program's environment and arguments, and the program's
//! standard output as a response (a header block, a blank line, the body).

use std::net::SocketAddr;

use http::{HeaderName, HeaderValue, StatusCode};

use super::headers::RouteInfo;

/// The request's CGI variables (RFC 3875's, WAGI's `X_*` ones, and an
/// `HTTP_*` one for each header but `Authorization` and `Connection`).
pub fn environment(parts: &http::request::Parts, body_len: usize, route: &RouteInfo, full_url: &str, client: Option<SocketAddr>) -> Vec<(String, String)> {
    let (host, port) = host_and_port(parts);
    let client_ip = client.map(|c| c.ip().to_string()).unwrap_or_default();
    let header = |name: http::header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let script_name = if route.component_route.is_empty() { "/".to_string() } else { route.component_route.clone() };
    let mut env: Vec<(String, String)> = [
        ("AUTH_TYPE", String::new()),
        ("CONTENT_LENGTH", body_len.to_string()),
        ("CONTENT_TYPE", header(http::header::CONTENT_TYPE)),
        ("GATEWAY_INTERFACE", "CGI/1.1".into()),
        ("PATH_INFO", route.path_info.clone()),
        ("PATH_TRANSLATED", route.path_info.clone()),
        ("X_RAW_PATH_INFO", route.path_info.clone()),
        ("QUERY_STRING", parts.uri.query().unwrap_or("").to_string()),
        ("REMOTE_ADDR", client_ip.clone()),
        ("REMOTE_HOST", client_ip),
        ("REMOTE_USER", String::new()),
        ("REQUEST_METHOD", parts.method.to_string()),
        ("SCRIPT_NAME", script_name),
        ("SERVER_NAME", host),
        ("SERVER_PORT", port),
        ("SERVER_PROTOCOL", format!("{:?}", parts.version)),
        ("SERVER_SOFTWARE", "WAGI/1".into()),
        ("X_FULL_URL", full_url.to_string()),
        ("X_MATCHED_ROUTE", route.raw_component_route.clone()),
        ("X_BASE_PATH", "/".into()),
        ("X_RAW_COMPONENT_ROUTE", route.raw_component_route.clone()),
        ("X_COMPONENT_ROUTE", route.component_route.clone()),
        ("X_CLIENT_ADDR", client.map(|c| c.to_string()).unwrap_or_default()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    for (name, value) in &parts.headers {
        if name == http::header::AUTHORIZATION || name == http::header::CONNECTION {
            continue;
        }
        let name = format!("HTTP_{}", name.as_str().to_ascii_uppercase().replace('-', "_"));
        env.push((name, value.to_str().unwrap_or("CORRUPT VALUE").to_string()));
    }
    env
}

/// The host and port the client addressed: the `Host` header's, else the
/// URI's, else `localhost` and 80.
fn host_and_port(parts: &http::request::Parts) -> (String, String) {
    let authority =
        parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string).or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let authority = authority.unwrap_or_default();
    let (host, port) = authority.rsplit_once(':').filter(|(_, port)| port.parse::<u16>().is_ok()).unwrap_or((&authority, "80"));
    let host = if host.is_empty() { "localhost" } else { host };
    (host.to_string(), port.to_string())
}

/// The program's arguments: `argv` with `${SCRIPT_NAME}` and `${ARGS}` (the
/// query's pairs, space-separated) filled in, split at each space.
pub fn arguments(argv: &str, path: &str, query: Option<&str>) -> Vec<String> {
    let args = query.unwrap_or("").replace('&', " ");
    argv.replace("${SCRIPT_NAME}", path).replace("${ARGS}", &args).split(' ').map(str::to_string).collect()
}

/// The response a program's standard output makes, or why it makes none.
/// Its header block ends at the first blank line (`\r` is ignored there);
/// `Status` sets the status (`502` when unreadable), `Location` alone a
/// `302`; one of `Content-Type`, `Status` and `Location` must be there.
pub fn response(stdout: &[u8]) -> Result<http::Response<Vec<u8>>, String> {
    let (head, body) = split_head(stdout).ok_or("its output has no header block (headers, then a blank line)")?;
    let head = String::from_utf8(head).map_err(|_| "its header block is not UTF-8")?;
    let mut response = http::Response::new(body.to_vec());
    let (mut sufficient, mut status_given) = (false, false);
    for line in head.lines().filter(|l| !l.trim().is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            tracing::warn!("WAGI output: a header line without `:` is ignored: {line:?}");
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "status" => {
                let code = value.split_once(' ').map_or(value, |(code, _)| code);
                *response.status_mut() = code.parse::<StatusCode>().unwrap_or(StatusCode::BAD_GATEWAY);
                (sufficient, status_given) = (true, true);
            }
            "location" | "content-type" => {
                let value = HeaderValue::from_str(value).map_err(|_| format!("its `{name}` header has an invalid value"))?;
                if name == "location" && !status_given {
                    *response.status_mut() = StatusCode::FOUND;
                }
                response.headers_mut().insert(HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?, value);
                sufficient = true;
            }
            _ => match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                (Ok(name), Ok(value)) => {
                    response.headers_mut().append(name, value);
                }
                _ => tracing::warn!("WAGI output: an invalid header is ignored: {line:?}"),
            },
        }
    }
    if !sufficient {
        return Err("its output names none of `Content-Type`, `Status` and `Location`".into());
    }
    Ok(response)
}

/// The header block (without `\r`) and the body, split at the first blank line.
fn split_head(stdout: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut head = Vec::new();
    for (i, &byte) in stdout.iter().enumerate() {
        match byte {
            b'\r' => {}
            b'\n' if head.last() == Some(&b'\n') => return Some((head, &stdout[i + 1..])),
            _ => head.push(byte),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_makes_status_headers_and_body() {
        let r = response(b"Content-Type: text/plain\r\nX-Extra: 1\r\n\r\nhello\n\nworld").unwrap();
        assert_eq!((r.status(), r.headers()["content-type"].to_str().unwrap(), r.headers()["x-extra"].to_str().unwrap()), (StatusCode::OK, "text/plain", "1"));
        assert_eq!(r.body(), b"hello\n\nworld");

        let r = response(b"Status: 404 Not Found\nContent-Type: text/plain\n\nnope").unwrap();
        assert_eq!((r.status(), r.body().as_slice()), (StatusCode::NOT_FOUND, b"nope".as_slice()));
        let r = response(b"Location: /elsewhere\n\n").unwrap();
        assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::FOUND, "/elsewhere"));
        let r = response(b"Status: 301\nLocation: /moved\n\n").unwrap();
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY, "an explicit status wins over Location's 302");
        assert_eq!(response(b"Status: teapot\n\n").unwrap().status(), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn output_without_a_usable_header_block_is_refused_saying_why() {
        assert!(response(b"").unwrap_err().contains("no header block"));
        assert!(response(b"just text, no blank line").unwrap_err().contains("no header block"));
        assert!(response(b"X-Only: this\n\nbody").unwrap_err().contains("none of"));
    }

    #[test]
    fn arguments_fill_in_the_script_name_and_the_query() {
        assert_eq!(arguments("${SCRIPT_NAME} ${ARGS}", "/wagi/x", Some("a=1&b=2")), ["/wagi/x", "a=1", "b=2"]);
        assert_eq!(arguments("${SCRIPT_NAME} ${ARGS}", "/wagi", None), ["/wagi", ""], "as Spin: an empty last argument");
        assert_eq!(arguments("prog --flag", "/p", Some("q=1")), ["prog", "--flag"]);
    }

    #[test]
    fn the_environment_carries_the_request() {
        let request = http::Request::post("/wagi/a%20b?x=1")
            .header("host", "shop.example:8080")
            .header("content-type", "text/plain")
            .header("x-trace", "abc")
            .header("authorization", "Bearer secret")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let route = RouteInfo { raw_component_route: "/wagi/...".into(), component_route: "/wagi".into(), path_info: "/a%20b".into(), named: vec![] };
        let env = environment(&parts, 5, &route, "http://shop.example:8080/wagi/a%20b?x=1", Some("127.0.0.1:5000".parse().unwrap()));
        let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("REQUEST_METHOD"), Some("POST"));
        assert_eq!(get("CONTENT_LENGTH"), Some("5"));
        assert_eq!(get("CONTENT_TYPE"), Some("text/plain"));
        assert_eq!(get("QUERY_STRING"), Some("x=1"));
        assert_eq!((get("SERVER_NAME"), get("SERVER_PORT")), (Some("shop.example"), Some("8080")));
        assert_eq!((get("SCRIPT_NAME"), get("PATH_INFO"), get("X_MATCHED_ROUTE")), (Some("/wagi"), Some("/a%20b"), Some("/wagi/...")));
        assert_eq!(get("REMOTE_ADDR"), Some("127.0.0.1"));
        assert_eq!(get("HTTP_X_TRACE"), Some("abc"));
        assert_eq!(get("HTTP_AUTHORIZATION"), None, "credentials stay out of the environment");
        assert_eq!(get("X_FULL_URL"), Some("http://shop.example:8080/wagi/a%20b?x=1"));
    }
}
