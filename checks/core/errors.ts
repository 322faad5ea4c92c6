// Bad input (arguments, unreadable or invalid configuration): reported as one line on
// stderr with exit code 3, never as a stack trace.
export class InputError extends Error {
  override name = 'InputError';
}
