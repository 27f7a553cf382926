// Types for addon-cache.mjs (the setup script stays plain JavaScript: it runs before tsx is installed).
export interface AddonBuildInputs {
  setupVersion: number;
  tfjsNodeVersion: string;
  napi: number;
  wheelSha256: string;
  /** process.version of the Node.js that builds (and whose headers compile) the addon. */
  nodeVersion: string;
  platform: string;
  arch: string;
  /** The binding's build files: [path relative to the package, content]. */
  sources: Array<[string, Uint8Array | string]>;
}
export function addonCacheName(inputs: AddonBuildInputs): string;
export function readBindingSources(tfjsNodeDir: string): Array<[string, Buffer]>;
