import { ValidationError } from '../database/data-layer.errors.js';

export interface EntityTag {
  weak: boolean;
  opaque: string;
}

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;

export const etagOf = (version: number) => `"${version}"`;

/**
 * Parses If-Match / If-None-Match: `*` or a comma-separated list of entity tags.
 * A malformed header is a 400 naming it, rather than being silently ignored.
 */
export function parseEntityTags(header: string, name: string): '*' | EntityTag[] {
  const value = header.trim();
  if (value === '*') return '*';
  const tags = value.split(',').map((part) => ENTITY_TAG.exec(part.trim()));
  if (value === '' || tags.some((t) => t === null)) {
    throw ValidationError.field(name, 'must be * or a list of entity tags such as "3"');
  }
  return tags.map((t) => ({ weak: t![1] !== undefined, opaque: t![2] }));
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
