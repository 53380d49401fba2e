import { ValidationError } from '../database/data-layer.errors';
import { ifMatchVersions, ifNoneMatchMatches, parseEntityTags } from './conditional-requests';

describe('entity-tag headers (RFC 9110)', () => {
  it('parses *, single tags, weak tags and lists, with commas allowed inside quotes', () => {
    expect(parseEntityTags(' * ', 'If-Match')).toBe('*');
    expect(parseEntityTags('"3"', 'If-Match')).toEqual([{ weak: false, opaque: '3' }]);
    expect(parseEntityTags('W/"3", "4" ,"a,b"', 'If-Match')).toEqual([
      { weak: true, opaque: '3' },
      { weak: false, opaque: '4' },
      { weak: false, opaque: 'a,b' },
    ]);
  });

  it('skips empty list elements, as recipients must', () => {
    const three = [{ weak: false, opaque: '3' }];
    expect(parseEntityTags('"3",', 'If-Match')).toEqual(three);
    expect(parseEntityTags(', "3"', 'If-Match')).toEqual(three);
    expect(parseEntityTags('"3", ,"4"', 'If-Match')).toEqual([...three, { weak: false, opaque: '4' }]);
  });

  it.each(['', ',', '3', '"3', '"3" "4"', 'W/3', '"3" x'])('refuses %p', (header) => {
    expect(() => parseEntityTags(header, 'If-Match')).toThrow(ValidationError);
  });

  it('matches If-Match strongly: weak tags and versions never issued match nothing', () => {
    expect(ifMatchVersions(undefined)).toBeUndefined();
    expect(ifMatchVersions('*')).toBe('*');
    expect(ifMatchVersions('W/"3", "4", "a,b", "0", "99999999999"')).toEqual([4]);
  });

  it('matches If-None-Match weakly', () => {
    expect(ifNoneMatchMatches(undefined, 3)).toBe(false);
    expect(ifNoneMatchMatches('W/"3"', 3)).toBe(true);
    expect(ifNoneMatchMatches('"2", "3"', 3)).toBe(true);
    expect(ifNoneMatchMatches('"2"', 3)).toBe(false);
    expect(ifNoneMatchMatches('*', 3)).toBe(true);
  });
});
