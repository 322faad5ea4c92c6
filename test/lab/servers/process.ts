// Stopping a lab server the tests started: SIGTERM, then SIGKILL after a grace period.
import type { ChildProcess } from 'node:child_process';

/** Resolves once the process has exited (at once when it already had). */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
