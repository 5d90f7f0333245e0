// node:http and node:https as modules, not ES-module imports. An `import` of node:http makes Node build an ESM
// facade that reads every export once, and node:http's `WebSocket`, `CloseEvent` and `MessageEvent` are getters
// that load undici (Node.js 24): 35-40 ms and 13 MB of RSS at start-up for a client we never use (measured with
// /usr/bin/time on a one-line script of each form; in a profiled start at 10,000 Services, 120 ms).
// process.getBuiltinModule hands over the module itself, its getters untouched. Types still come from `import type`.
export const http = process.getBuiltinModule('node:http');
export const https = process.getBuiltinModule('node:https');
