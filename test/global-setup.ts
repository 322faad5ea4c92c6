// Runs once before the tests: the lab provisions itself (DESIGN.md "The lab").
import { provisionLab } from '../lab/provision.ts';

export default async function setup(): Promise<void> {
  await provisionLab();
}
