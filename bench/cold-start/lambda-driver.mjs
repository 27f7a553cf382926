// What the Lambda runtime does with the training image's CMD, reduced to what bench/cold-start.ts
// times: import the handler module (the init phase), then invoke `handler` with the event given as
// the second argument and a context with the train Lambda's 15 minutes left.
//   node --import ./mark.mjs lambda-driver.mjs <handler.mjs> '<TrainEvent JSON>'
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [module, eventJson] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(resolve(module)).href);
const deadline = Date.now() + 15 * 60_000;
await handler(JSON.parse(eventJson), { getRemainingTimeInMillis: () => deadline - Date.now() });
