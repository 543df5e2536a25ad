// {{name}}: a faas function.
//
// Write business logic only: authentication, authorization and request filters are applied by the
// security decorator that `faas wrap` composes around this component, from `auth.toml`. When a
// request reaches `handle`, `req.caller` is the authenticated principal (or undefined on a public
// route).
//
// The export `handler` implements the `faas:function/handler` interface of wit/function.wit:
// records are plain objects, `list<u8>` is a Uint8Array, and throwing `{ tag, val }` reports an
// error (e.g. `{ tag: "bad-request", val: "why" }`, answered with 400).

export const handler = {
  handle(req) {
    if (req.method === "POST" && req.body.length > 0 && !isJson(req.body)) {
      throw { tag: "bad-request", val: "the body is not JSON" };
    }
    const caller = req.caller ? req.caller.subject : null;
    const greeting = {
      message: caller !== null ? `Hello, ${caller}!` : "Hello from {{name}}!",
      caller,
      method: req.method,
      path: req.path,
    };
    return {
      status: 200,
      headers: [["content-type", "application/json"]],
      body: new TextEncoder().encode(JSON.stringify(greeting)),
    };
  },
};

function isJson(bytes) {
  try {
    JSON.parse(new TextDecoder().decode(bytes));
    return true;
  } catch {
    return false;
  }
}
