import { Writable } from 'node:stream';

/** A stream that keeps what is written to it, for asserting on a command's output. */
export class Sink extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}
