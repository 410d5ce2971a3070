// node-redis (npm "redis" v5), createCluster, default options apart from the password.
"use strict";
const { createCluster } = require("redis");
const { config, run } = require("./common");

const cluster = createCluster({
  rootNodes: config.nodes.map(([host, port]) => ({ socket: { host, port } })),
  defaults: config.password ? { password: config.password } : undefined,
});
cluster.on("error", () => {});

run({
  client: "node-redis-cluster",
  settings: config.settings,
  connect: () => cluster.connect(),
  write: async (n) => {
    const reply = await cluster.set(config.prefix + ":" + n, String(n));
    if (reply !== "OK") throw new Error("SET answered " + reply);
  },
  close: () => cluster.close(),
});
