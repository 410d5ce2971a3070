// ioredis, Sentinel mode. settings "default": only what is needed to connect (sentinels, name, passwords);
// "recommended": the options ioredis documents for riding through a failover: reconnectOnError that reconnects
// (and resends the command) on READONLY, and failoverDetector (watches the Sentinels' +switch-master).
"use strict";
const Redis = require("ioredis");
const { config, run } = require("./common");

const options = {
  sentinels: config.sentinels.map(([host, port]) => ({ host, port })),
  name: config.name,
  password: config.password || undefined,
  sentinelPassword: config.sentinel_password || undefined,
  lazyConnect: true,
};
if (config.settings === "recommended") {
  options.reconnectOnError = (err) => (err.message.startsWith("READONLY") ? 2 : false);
  options.failoverDetector = true;
}
const redis = new Redis(options);
redis.on("error", () => {});

run({
  client: "ioredis-sentinel",
  settings: config.settings,
  connect: () => redis.connect(),
  write: (n) => redis.rpush(config.key, n),
  close: () => redis.quit(),
});
