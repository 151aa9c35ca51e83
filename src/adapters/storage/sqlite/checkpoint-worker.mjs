// Runs SQLite's WAL checkpoints on a thread of its own, through a connection of its own, so that
// copying the log into the database file (and flushing it) never stalls the server's event loop.
// A PASSIVE checkpoint waits for no reader or writer; whatever it cannot copy yet, the next one
// does. Plain JavaScript: a worker thread does not inherit the TypeScript loader.
import { setInterval, clearInterval } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort?.postMessage({ error: String(error) });
  }
}, workerData.intervalMs);

parentPort?.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
