// ioredis, Cluster mode (Redis.Cluster), default options apart from the password.
"use strict";
const Redis = require("ioredis");
const { config, run } = require("./common");

const cluster = new Redis.Cluster(config.nodes.map(([host, port]) => ({ host, port })), {
  redisOptions: { password: config.password || undefined },
  lazyConnect: true,
});
cluster.on("error", () => {});

run({
  client: "ioredis-cluster",
  settings: config.settings,
  connect: () => cluster.connect(),
  write: async (n) => {
    const reply = await cluster.set(config.prefix + ":" + n, String(n));
    if (reply !== "OK") throw new Error("SET answered " + reply);
  },
  close: () => cluster.quit(),
});
