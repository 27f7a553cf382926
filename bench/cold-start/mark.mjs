// Preloaded by bench/cold-start.ts into the process it times (`node --import`): when training's
// first epoch begins (backend up, data downloaded and loaded, model and training graph built: the
// first step is next), writes one line to stderr with the milliseconds since the process started
// (performance.now() counts from the process's time origin) and the CPU time it used so far (all
// its threads: less sensitive to other jobs' load than the wall time), and ends the process: what follows
// is training, not start-up. Plain .mjs so that it also runs with the image's bundle under plain
// node. It subscribes to the channel by name (lib/model/progress-channel.ts), so it needs no
// import from the project and works with whichever copy of that module the process loads.
import diagnostics_channel from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';

export const MARK_PREFIX = 'cold-start-mark ';

diagnostics_channel.subscribe('fmnist:training-progress', (/** @type {any} */ message) => {
  if (message?.kind !== 'epochBegin') return;
  const { user, system } = process.cpuUsage();
  writeSync(2, `${MARK_PREFIX}${JSON.stringify({ firstStepMs: performance.now(), cpuMs: (user + system) / 1000 })}\n`);
  process.exit(0);
});
