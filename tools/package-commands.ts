// The package's commands: tools/build.ts builds them, test/package/package.test.ts runs them.
export const CHECKS = ['dns', 'wellknown', 'federation', 'turn', 'rtc', 'outbound'] as const;
export const STAGES = ['prepare', 'configure', 'install', 'update', 'register', 'firewall', 'wellknown', 'remove'] as const;

/** Each bin of the package, and the built file it starts for each name given after it. */
export const PACKAGE_BINS: Record<string, Record<string, string>> = {
  'matrix-doctor': { doctor: 'checks/doctor.mjs' },
  'matrix-check': Object.fromEntries(CHECKS.map((check) => [check, `checks/${check}.mjs`])),
  'matrix-selfhost': Object.fromEntries(STAGES.map((stage) => [stage, `scripts/${stage}.mjs`])),
};
