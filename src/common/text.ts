/** Lengths are counted in code points, so 255 emoji fit in a title (JS .length counts UTF-16 units). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** The control characters the contract forbids in tags and list names: U+0000–U+001F and U+007F. */
// eslint-disable-next-line no-control-regex -- matching exactly these characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
