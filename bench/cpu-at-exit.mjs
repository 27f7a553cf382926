// Preloaded into a timed child process (`node --import <this file> …`): prints the process' CPU
// time (user + system, every thread: TensorFlow's pools included) as it exits, because on a
// machine shared with other jobs CPU time varies far less than wall time. Imports nothing.
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  process.stderr.write(`\ncpu-seconds ${((user + system) / 1e6).toFixed(3)}\n`);
});
