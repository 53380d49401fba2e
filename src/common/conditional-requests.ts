import { ValidationError } from '../database/data-layer.errors.js';

export interface EntityTag {
  weak: boolean;
  opaque: string;
}

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE. Tags are read
// one after another, so a comma inside a quoted tag does not split it; empty
// list elements (", ,") are skipped, as §5.6.1 requires of recipients.
const ENTITY_TAG = /(?:\s*,)*\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(,|$)/y;

export const etagOf = (version: number) => `"${version}"`;

/**
 * Parses If-Match / If-None-Match: `*` or a comma-separated list of entity tags.
 * A malformed header is a 400 naming it, rather than being silently ignored.
 */
export function parseEntityTags(header: string, name: string): '*' | EntityTag[] {
  const value = header.trim();
  if (value === '*') return '*';
  const tags: EntityTag[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < value.length) {
    const match = ENTITY_TAG.exec(value);
    if (!match) throw ValidationError.field(name, 'must be * or a list of entity tags such as "3"');
    tags.push({ weak: match[1] !== undefined, opaque: match[2] });
    if (match[3] === '') break;
    if (/^[\s,]*$/.test(value.slice(ENTITY_TAG.lastIndex))) break; // only empty elements left
  }
  if (tags.length === 0 || !/^[\s,]*$/.test(value.slice(ENTITY_TAG.lastIndex))) {
    throw ValidationError.field(name, 'must be * or a list of entity tags such as "3"');
  }
  return tags;
}

/**
 * The versions an If-Match accepts. Strong comparison: a weak tag never
 * matches, and a tag that is not a version we issued matches nothing.
 */
export function ifMatchVersions(header: string | undefined): readonly number[] | '*' | undefined {
  if (header === undefined) return undefined;
  const tags = parseEntityTags(header, 'If-Match');
  if (tags === '*') return '*';
  return tags
    .filter((t) => !t.weak && /^[1-9][0-9]{0,9}$/.test(t.opaque))
    .map((t) => Number(t.opaque))
    .filter((v) => v <= 2_147_483_647);
}

/** Whether If-None-Match matches the current version (weak comparison): then the answer is 304. */
export function ifNoneMatchMatches(header: string | undefined, version: number): boolean {
  if (header === undefined) return false;
  const tags = parseEntityTags(header, 'If-None-Match');
  return tags === '*' || tags.some((t) => t.opaque === String(version));
}
