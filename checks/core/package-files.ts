// Where the project's own files are at run time: the repository, for the TypeScript sources, or
// the built package (tools/build.ts), whose commands are single files one folder below its root
// (checks/doctor.mjs, scripts/install.mjs) beside the files they read (templates/, …).
import { join } from 'node:path';

/** Running from a built file of the package rather than from the sources. */
export const RUNNING_BUILT = import.meta.url.endsWith('.mjs');

/** The repository's root, or the package's. */
export const PACKAGE_ROOT = join(import.meta.dirname, RUNNING_BUILT ? '..' : join('..', '..'));
