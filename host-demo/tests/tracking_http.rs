//! The public tracking endpoints of `host-demo serve` (`/t/o/{token}`,
//! `/t/c/{token}`), in process over real HTTP: the pixel is the 43-byte GIF
//! with no-cache headers, a link is a 302 to the stored URL only, HEAD is
//! answered and counted as a machine, and a forged or garbage token is a
//! plain 404 page, never a redirect, that records nothing.
//!
//! Needs the component: `cargo build -p guest --target wasm32-wasip2 --release`.

use std::sync::Arc;
use std::time::Duration;

use host_demo::{Clock, Mailroom, http, scenario};
use serde_json::{Value, json};

fn steps_until(m: &Mailroom, last: &str) -> Vec<(String, Value)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/tracking/engagement.json"
    );
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let mut done: Vec<(String, Value)> = Vec::new();
    for step in fixture["steps"].as_array().expect("steps") {
        let name = step["name"].as_str().expect("name").to_string();
        let args: Vec<Value> = step["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| scenario::substitute(a, &done).expect("placeholders"))
            .collect();
        let result =
            scenario::call(m, step["call"].as_str().expect("call"), &args).expect("no trap");
        done.push((name.clone(), result));
        if name == last {
            break;
        }
    }
    done
}

#[test]
fn pixel_redirect_head_and_forged_tokens_over_http() {
    // The scenario's fixed clock: the message was sent in March 2026, so
    // requests now (the server's clock) are long after delivery.
    let component = Mailroom::load_default().expect("the component loads");
    let m = Arc::new(
        Mailroom::builder()
            .reuse_component(&component)
            .clock(Clock::Fixed {
                start: 1_772_442_000,
            })
            .random_seed(1818)
            .build()
            .expect("a channel"),
    );
    let done = steps_until(&m, "tracked");
    let tracked = &done.last().expect("steps").1["ok"];
    let pixel = tracked["pixel-url"]
        .as_str()
        .expect("pixel url")
        .to_string();
    let link = tracked["links"][0]["tracked-url"]
        .as_str()
        .expect("link")
        .to_string();
    let destination = tracked["links"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    let path = |url: &str| {
        url.split_once("/t/")
            .map(|(_, p)| format!("/t/{p}"))
            .expect("a /t/ URL")
    };

    let defaults = http::Defaults {
        inbound_host: "inbound.mailroom.example".into(),
        spf_include: None,
        unsubscribe_base: None,
        nameserver: None,
    };
    let router = http::router(Arc::clone(&m), defaults);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    runtime.spawn(async move { axum::serve(listener, router).await });

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let get = |p: &str, ua: &str| {
        agent
            .get(format!("{base}{p}"))
            .header("user-agent", ua)
            .call()
            .expect("an answer")
    };
    let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

    let mut r = get(&path(&pixel), safari);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/gif");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("no-store")
    );
    let gif = r.body_mut().read_to_vec().expect("body");
    assert_eq!(gif.len(), 43);
    assert!(gif.starts_with(b"GIF89a"));

    let r = get(&path(&link), safari);
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], destination.as_str());

    let r = agent
        .head(format!("{base}{}", path(&link)))
        .header("user-agent", safari)
        .call()
        .expect("an answer");
    assert_eq!(r.status(), 302);

    let forged = format!("/t/c/{}", "A".repeat(58));
    for bad in [
        forged.as_str(),
        "/t/c/nope",
        "/t/o/nope",
        &path(&link).replace("/t/c/", "/t/o/"),
    ] {
        let mut r = get(bad, safari);
        assert_eq!(r.status(), 404, "{bad}");
        assert!(r.headers().get("location").is_none());
        assert!(
            r.body_mut()
                .read_to_string()
                .expect("page")
                .contains("not valid")
        );
    }
    let long = format!("/t/c/{}", "A".repeat(1 << 20));
    let status = agent
        .get(format!("{base}{long}"))
        .call()
        .map(|r| r.status().as_u16());
    assert!(matches!(status, Ok(404 | 414 | 431) | Err(_)), "{status:?}");

    let out1 = &done.iter().find(|(n, _)| n == "out1").expect("out1").1;
    let after =
        scenario::call(&m, "tracking.message", &[out1["ok"]["message-id"].clone()]).expect("call");
    let link0 = &after["ok"]["links"][0];
    assert_eq!(
        (link0["human"].clone(), link0["machine"].clone()),
        (json!(1), json!(1)),
        "{after}"
    );
    assert_eq!(after["ok"]["opens-human"], json!(1), "{after}");
}
