// Stopping what a lab started: every step runs even when an earlier one fails, then the lab's
// folder goes (kept with LAB_KEEP=1 for a post-mortem); the first error is raised at the end.
import { rmSync } from 'node:fs';

export async function teardown(steps: (() => Promise<unknown> | undefined)[], dir: string): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  }
  if (!process.env.LAB_KEEP) rmSync(dir, { recursive: true, force: true });
  if (errors.length > 0) throw errors[0];
}
