/**
 * aws-local-stepfunctions 3.x declares Node.js >= 22 and calls `Promise.withResolvers()` (ES2024,
 * Node.js 22) once per Task state, for the state's timeout. On Node.js 20 that is the only API it
 * lacks (its `AbortSignal.any` exists since Node.js 20.3), so this module adds exactly that
 * function, only where it is missing, with the standard semantics. Imported for its side effect
 * by the modules that run state machines.
 */
interface WithResolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

type PromiseConstructorWithResolvers = PromiseConstructor & { withResolvers?: <T>() => WithResolvers<T> };

export function installPromiseWithResolvers(target: PromiseConstructorWithResolvers = Promise): boolean {
  if (typeof target.withResolvers === 'function') return false;
  Object.defineProperty(target, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function withResolvers<T>(this: PromiseConstructor): WithResolvers<T> {
      let resolve!: WithResolvers<T>['resolve'];
      let reject!: WithResolvers<T>['reject'];
      // `this` as in the spec, so subclasses get instances of themselves.
      const promise = new (this ?? Promise)<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
  return true;
}

installPromiseWithResolvers();
