// Shared loop of the Node.js writers of the client matrix (tests/clients/matrix.py starts them).
//
// A writer gets one JSON argument (see matrix.py, Writer.config): the Sentinels or cluster nodes, the passwords,
// the key (Sentinel: RPUSH of sequence numbers to one list) or the key prefix (Cluster: SET PREFIX:<n> to n, so
// the keys spread over every hash slot), and the interval between writes (20 ms). It writes one command at a
// time, the next `interval_ms` after the previous one returned, and records the time (ms since the epoch) of every
// acknowledged and every failed write. It prints "READY" once the first write is acknowledged, and stops when its
// stdin closes or on SIGTERM/SIGINT: it then prints one JSON line (the report) and exits.
"use strict";

const config = JSON.parse(process.argv[2]);

function describe(err) {
  const text = String((err && (err.message || err)) || "error");
  return text.slice(0, 160);
}

async function run({ client, settings, connect, write, close }) {
  const acked = [];
  const failed = [];
  let stopping = false;
  let ready = false;
  const stop = () => { stopping = true; };
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const started = Date.now();
  try {
    await connect();
  } catch (err) {
    failed.push([0, Date.now(), "connect: " + describe(err)]);
  }
  let n = 0;
  while (!stopping) {
    n += 1;
    try {
      await write(n);
      acked.push([n, Date.now()]);
      if (!ready) {
        ready = true;
        process.stdout.write("READY\n");
      }
    } catch (err) {
      failed.push([n, Date.now(), describe(err)]);
    }
    await new Promise((resolve) => setTimeout(resolve, config.interval_ms));
  }
  const report = { client, settings, started_ms: started, stopped_ms: Date.now(), attempted: n, acked, failed };
  try {
    await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, 1000))]);
  } catch (err) {
    report.close_error = describe(err);
  }
  process.stdout.write(JSON.stringify(report) + "\n", () => process.exit(0));
}

module.exports = { config, run, describe };
