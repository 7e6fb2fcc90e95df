// npm's consul client (2.0.1) against a muster node, for test_consul_checks.py: registers a
// service with a TTL and an HTTP check (the HTTP endpoint is served here, on loopback), passes the
// TTL check, reads health with `passing`, watches it with a blocking query that must wake when the
// HTTP check fails, fails the TTL check and deregisters. Prints one JSON object of what it saw;
// any client error ends it with the error on stderr and exit code 1.
// Usage: node checks_scenario.js <muster port>
"use strict";
const http = require("http");
const Consul = require("consul");

const port = Number(process.argv[2]);
const consul = new Consul({ host: "127.0.0.1", port });
let code = 200;
const endpoint = http.createServer((req, res) => {
  res.writeHead(code, { "Content-Type": "text/plain" });
  res.end("npm endpoint " + code);
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `probe` every 100 ms for up to `ms`; the first truthy value, or throws.
async function until(what, probe, ms = 10000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    const v = await probe();
    if (v) return v;
  }
  throw new Error("timed out waiting for " + what);
}

async function main() {
  await new Promise((resolve) => endpoint.listen(0, "127.0.0.1", resolve));
  const url = "http://127.0.0.1:" + endpoint.address().port + "/health";
  const seen = {};
  await consul.agent.service.register({
    name: "npm-api",
    id: "npm-1",
    address: "127.0.0.1",
    port: endpoint.address().port,
    tags: ["npm"],
    checks: [{ ttl: "30s" }, { http: url, interval: "1s", timeout: "2s" }],
  });
  seen.checks = Object.keys(await consul.agent.check.list()).sort();
  seen.passingBefore = (await consul.health.service({ service: "npm-api", passing: true })).length;
  await consul.agent.check.pass({ id: "service:npm-1:1", note: "ready" });
  seen.passingAfter = (
    await until("both checks passing", async () => {
      const entries = await consul.health.service({ service: "npm-api", passing: true });
      return entries.length === 1 ? entries : null;
    })
  ).length;

  // A watch (blocking queries, X-Consul-Index) that must see the instance leave ?passing.
  const watch = consul.watch({
    method: consul.health.service,
    options: { service: "npm-api", passing: true, wait: "20s" },
  });
  const started = Date.now();
  seen.watchLeft = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the watch never saw the failure")), 20000);
    let first = true;
    watch.on("change", (data) => {
      if (first) {
        first = false;
        code = 503;  // the HTTP check fails from now on
        return;
      }
      if (data.length === 0) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    watch.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  seen.watchMs = Date.now() - started;
  watch.end();

  await consul.agent.check.fail({ id: "service:npm-1:1", note: "draining" });
  const checks = await consul.health.checks({ service: "npm-api" });
  seen.statuses = Object.fromEntries(checks.map((c) => [c.CheckID, c.Status]));
  seen.ttlOutput = checks.find((c) => c.CheckID === "service:npm-1:1").Output;
  await consul.agent.service.deregister({ id: "npm-1" });
  seen.checksAfter = await consul.agent.check.list();
  seen.servicesAfter = await consul.agent.service.list();
  process.stdout.write(JSON.stringify(seen) + "\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(String((err && err.stack) || err) + "\n");
    process.exit(1);
  },
);
