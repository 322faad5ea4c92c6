// The runtime of the npm scripts (`npm start`, `npm test`, `npm run bench`, `npm run docs`):
//   node --import ./scripts/lib/typescript.mjs <file>.ts
// Node 22.18 and newer run the project's erasable TypeScript natively (process.features.typescript
// is 'strip'); only older Node (20.19 and newer, the oldest the README promises) loads tsx's hooks.
// It also turns on Node's module compile cache (Node 22.1 and newer), so that the second start
// skips compiling what it already compiled (https://nodejs.org/api/module.html#module-compile-cache).
import module from 'node:module';

if (!process.features.typescript) await import('tsx');
module.enableCompileCache?.();
