import { registerHooks } from 'node:module';

/**
 * Jest's globalSetup/globalTeardown are loaded by Node's own require, which does
 * not apply jest's moduleNameMapper. The sources import siblings as `./x.js`
 * (what the compiled CommonJS needs), so map those to the `.ts` files here.
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw error;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});
