import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyMergePatch } from '../../src/domain/json-merge-patch.js';

describe('JSON Merge Patch (RFC 7396)', () => {
  // The examples of RFC 7396, Appendix A: [original, patch, result].
  const appendixA: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(appendixA)('patches %j with %j into %j', (original, patch, result) => {
    expect(applyMergePatch(original, patch)).toEqual(result);
  });

  it('never changes the document it patches', () => {
    const original = { quietHours: { default: { start: '22:00', end: '07:00' } }, locale: 'fr' };
    const copy = structuredClone(original);
    applyMergePatch(original, { quietHours: { default: null }, locale: null });
    expect(original).toEqual(copy);
  });

  it('is idempotent: applying the same patch twice gives what applying it once gives', () => {
    const json = fc.jsonValue();
    fc.assert(fc.property(json, json, (doc, patch) => {
      const once = applyMergePatch(doc, patch);
      expect(applyMergePatch(once, patch)).toEqual(once);
    }));
  });
});
