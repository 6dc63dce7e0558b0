/**
 * Lets plain `node` (22, type stripping) import the Worker's TypeScript modules, which use `.js`
 * specifiers for `.ts` files (NodeNext style; Vite and wrangler map them), or none at all. Register before the
 * dynamic import of such a module: static imports are resolved before any code runs.
 * Also lets them import JSON data files without an import attribute (bundlers need none; Node
 * does): the detection rules (workers/inspection/rules/*.json).
 */
import { registerHooks } from 'node:module';

let registered = false;

export function registerTsResolve(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (err) {
        if (specifier.startsWith('.') && specifier.endsWith('.js')) {
          return next(`${specifier.slice(0, -3)}.ts`, context);
        }
        // Extensionless relative specifiers (the Durable Objects' style; bundlers add `.ts`).
        if (specifier.startsWith('.') && !/\.(ts|js|mjs|cjs|json)$/.test(specifier)) {
          return next(`${specifier}.ts`, context);
        }
        throw err;
      }
    },
    load(url, context, next) {
      if (url.endsWith('.json') && context.importAttributes?.type !== 'json')
        return next(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } });
      return next(url, context);
    },
  });
}
