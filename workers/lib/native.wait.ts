/**
 * workerd's native wait (`scheduler.wait`): no timer object to create or clear, which matters where
 * it runs per call. Typed here rather than through the Workers types so that the modules using it
 * also check, and run under their plain-Node unit tests (which stub `scheduler`).
 */
declare const scheduler: { wait(ms: number): Promise<void> };

export function nativeWait(ms: number): Promise<void> {
  return scheduler.wait(ms);
}
