import { ConfigError } from '../errors';

/*
 * What every per-function composition shares: a singleton per Lambda container, and a stand-in for a part
 * a function never uses. Each Lambda bundle holds only the modules its function's composition imports, so
 * a function that does not call IAM (or Slack, or SNS) does not load that client at cold start.
 */
const resets: Array<() => void> = [];

/**
 * `build`, run once per container on first use and then shared across invocations (SDK clients and caches
 * are built once, as Powertools recommends). A build that throws (an invalid stage configuration) is not
 * kept: the next invocation tries again.
 */
export function perContainer<T>(build: () => T): () => T {
  let built: { readonly value: T } | undefined;
  resets.push(() => {
    built = undefined;
  });
  return () => {
    if (!built) built = { value: build() };
    return built.value;
  };
}

/** Forgets every per-container singleton (tests and the sandbox change the environment between runs). */
export function resetContainers(): void {
  for (const reset of resets) reset();
}

/**
 * A part `fn` does not use and is not given (its role may not call that service either): every method
 * throws a {@link ConfigError} naming both, so a code path that starts needing it fails loudly instead of
 * loading a client the function must not have.
 */
export function absent<T extends object>(part: string, fn: string): T {
  return new Proxy({} as T, {
    get(_target, key) {
      // Not a thenable, and nothing to show to inspection: only method calls are refused.
      if (typeof key !== 'string' || key === 'then') return undefined;
      return () => {
        throw new ConfigError(
          `${fn} has no ${part} (${part}.${key} called): it is not part of its composition`,
        );
      };
    },
  });
}
