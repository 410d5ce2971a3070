// Shared loop of the Node.js writers of the client matrix (tests/clients/matrix.py starts them).
//
// A writer gets one JSON argument (see matrix.py, Writer.config): the Sentinels or cluster nodes, the passwords,
// the key (Sentinel: RPUSH of sequence numbers to one list) or the key prefix (Cluster: SET PREFIX:<n> to n, so
// the keys spread over every hash slot), and the interval between writes (20 ms). It writes one command at a
// time, the next `interval_ms` after the previous one returned, and records the time (ms since the epoch) of every
// acknowledged and every failed write. It prints "READY" once the first write is acknowledged, and stops when its
// stdin closes or on SIGTERM/SIGINT: it then prints one JSON line (the report) and exits. A write still waiting for
// its reply STOP_GRACE_MS after the stop is reported as "pending" (the client never answered it).
"use strict";

const config = JSON.parse(process.argv[2]);

function describe(err) {
  const text = String((err && (err.message || err)) || "error");
  return text.slice(0, 160);
}

const STOP_GRACE_MS = 3000;

async function run({ client, settings, connect, write, close }) {
  const acked = [];
  const failed = [];
  let stopping = false;
  let ready = false;
  let inFlight = null;
  let n = 0;
  const started = Date.now();
  let reported = false;
  const report = (extra) => {
    if (reported) return;
    reported = true;
    const doc = { client, settings, started_ms: started, stopped_ms: Date.now(), attempted: n, acked, failed, ...extra };
    process.stdout.write(JSON.stringify(doc) + "\n", () => process.exit(0));
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => report({ pending: inFlight }), STOP_GRACE_MS).unref();
  };
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  try {
    await connect();
  } catch (err) {
    failed.push([0, Date.now(), "connect: " + describe(err)]);
  }
  while (!stopping) {
    n += 1;
    inFlight = [n, Date.now()];
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
    inFlight = null;
    await new Promise((resolve) => setTimeout(resolve, config.interval_ms));
  }
  const stoppedMs = Date.now();
  let closeError;
  try {
    await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, 1000))]);
  } catch (err) {
    closeError = describe(err);
  }
  report({ stopped_ms: stoppedMs, close_error: closeError });
}

module.exports = { config, run, describe };
