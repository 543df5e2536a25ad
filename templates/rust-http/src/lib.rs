//! {{name}}: a faas function.
//!
//! Write business logic only: authentication, authorization and request filters are applied by the
//! security decorator that `faas wrap` composes around this component, from `auth.toml`. When a
//! request reaches `handle`, `req.caller` is the authenticated principal (or `None` on a public route).

wit_bindgen::generate!({
    path: "wit",
    world: "faas:function/function",
    // Bindings for the interfaces of other packages too: those of the components `faas deps add`
    // makes the function import.
    generate_all,
});

use exports::faas::function::handler::{Error, Guest, Request, Response};
use serde::Serialize;

/// The JSON document this function answers with.
#[derive(Serialize)]
struct Greeting<'a> {
    message: String,
    /// The authenticated caller's subject, when the route is not public.
    caller: Option<&'a str>,
    method: &'a str,
    path: &'a str,
}

struct Function;

impl Guest for Function {
    fn handle(req: Request) -> Result<Response, Error> {
        let caller = req.caller.as_ref().map(|principal| principal.subject.as_str());
        let greeting = Greeting {
            message: match caller {
                Some(subject) => format!("Hello, {subject}!"),
                None => "Hello from {{name}}!".to_string(),
            },
            caller,
            method: &req.method,
            path: &req.path,
        };
        let body = serde_json::to_vec(&greeting).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        })
    }
}

export!(Function);
