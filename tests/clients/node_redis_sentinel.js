// node-redis (npm "redis" v5), createSentinel, default options apart from the passwords.
"use strict";
const { createSentinel } = require("redis");
const { config, run } = require("./common");

const sentinel = createSentinel({
  name: config.name,
  sentinelRootNodes: config.sentinels.map(([host, port]) => ({ host, port })),
  nodeClientOptions: config.password ? { password: config.password } : undefined,
  sentinelClientOptions: config.sentinel_password ? { password: config.sentinel_password } : undefined,
});
sentinel.on("error", () => {});

run({
  client: "node-redis-sentinel",
  settings: config.settings,
  connect: () => sentinel.connect(),
  write: (n) => sentinel.rPush(config.key, String(n)),
  close: () => sentinel.close(),
});
