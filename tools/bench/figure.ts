/** One measured figure of `npm run bench`, with its target. */
export interface Figure {
  name: string;
  value: string;
  target: string;
  met: boolean;
}
