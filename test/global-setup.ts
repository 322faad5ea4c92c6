// Runs once before the tests: the lab provisions itself (docs/lab.md "Provisioning").
import { provisionLab } from './lab/servers/provision.ts';

export default async function setup(): Promise<void> {
  await provisionLab();
}
