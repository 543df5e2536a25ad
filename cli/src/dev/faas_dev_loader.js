// faas dev's stand-in for a JavaScript function (never published).
//
// The engine is built into the development artifact once; the function's app.js is read from
// faas dev (`faas:dev/source`), rewritten by faas dev into the body of a function, when an
// instance handles its first request, so a save is served by the next request without a rebuild.
// faas dev hands out the last save that passed `node --check`, so a syntax error keeps the
// previous source serving.

import { read } from "faas:dev/source@0.1.0";
// IMPORTS: one namespace import per interface the function's world imports (written by faas dev).

let loaded;

function app() {
  if (loaded === undefined) {
    const script = read("app.js");
    if (script === undefined) {
      throw { tag: "internal", val: "faas dev serves no app.js" };
    }
    const body = new TextDecoder().decode(script);
    loaded = new Function("__faasImports", body)(IMPORTS);
  }
  return loaded;
}

export const handler = {
  handle(req) {
    return app().handler.handle(req);
  },
};
