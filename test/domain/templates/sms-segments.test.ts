import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  GSM7_SINGLE_SEGMENT,
  UCS2_SINGLE_SEGMENT,
  smsLength,
  type SmsLength,
} from '../../../src/domain/templates/sms-segments.js';

// Written out again here, from GSM 03.38, so the tests do not trust the module's own tables.
const GSM_BASIC = [
  ...'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?',
  ...'¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
];
const GSM_EXTENSION = [...'\f^{}\\[~]|€'];
// Cyrillic, CJK, an emoji outside the BMP, Arabic, lowercase Greek, a lowercase ç (only Ç is GSM).
const NON_GSM = ['ж', '中', '😀', 'ا', 'α', 'ç', '`', '\t'];

const gsmChar = fc.constantFrom(...GSM_BASIC, ...GSM_EXTENSION);
const anyChar = fc.oneof(
  { arbitrary: fc.constantFrom(...GSM_BASIC), weight: 6 },
  { arbitrary: fc.constantFrom(...GSM_EXTENSION), weight: 2 },
  { arbitrary: fc.constantFrom(...NON_GSM), weight: 1 },
  // Any code point, lone surrogates included.
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 1 },
);
// size 'max': the default size keeps strings under ~10 characters, far from any segment limit.
const gsmText = fc.string({ unit: gsmChar, maxLength: 500, size: 'max' });
const mixedText = fc.string({ unit: anyChar, maxLength: 500, size: 'max' });
// A fill just short of (or at) a limit, then a few characters that may cross it.
const nearLimit = fc
  .tuple(
    fc.constantFrom('a', 'ж'),
    fc.constantFrom(67, 70, 134, 153, 160, 306),
    fc.integer({ min: -3, max: 0 }),
    fc.string({ unit: anyChar, maxLength: 4 }),
  )
  .map(([fill, limit, offset, tail]) => fill.repeat(limit + offset) + tail);
const anyText = fc.oneof(gsmText, mixedText, nearLimit);

const gsm = (units: number, segments: number): SmsLength => ({ encoding: 'GSM-7', units, segments });
const ucs2 = (units: number, segments: number): SmsLength => ({ encoding: 'UCS-2', units, segments });

describe('smsLength: exact vectors', () => {
  const rows: [name: string, text: string, expected: SmsLength][] = [
    ['the empty text', '', gsm(0, 0)],
    ['160 GSM characters: one message', 'a'.repeat(160), gsm(160, 1)],
    ['161 GSM characters: two segments', 'a'.repeat(161), gsm(161, 2)],
    ['306 GSM characters: two full segments of 153', 'a'.repeat(306), gsm(306, 2)],
    ['307 GSM characters: three segments', 'a'.repeat(307), gsm(307, 3)],
    ['159 characters and € (2 septets) make 161 septets', `${'a'.repeat(159)}€`, gsm(161, 2)],
    ['80 € fill one message exactly', '€'.repeat(80), gsm(160, 1)],
    ['every basic-table character costs one septet', GSM_BASIC.join(''), gsm(127, 1)],
    ['every extension-table character costs two', GSM_EXTENSION.join(''), gsm(20, 1)],
    ['the GSM Greek capitals stay GSM-7', 'ΔΦΓΛΩΠΨΣΘΞ', gsm(10, 1)],
    ['Greek with lowercase letters is UCS-2', 'Καλημέρα', ucs2(8, 1)],
    ['70 ж: one UCS-2 message', 'ж'.repeat(70), ucs2(70, 1)],
    ['71 ж: two segments', 'ж'.repeat(71), ucs2(71, 2)],
    ['134 ж: two full segments of 67', 'ж'.repeat(134), ucs2(134, 2)],
    ['135 ж: three segments', 'ж'.repeat(135), ucs2(135, 3)],
    ['an emoji counts two code units', '😀', ucs2(2, 1)],
    ['one emoji turns GSM text into UCS-2', 'Hello 😀', ucs2(8, 1)],
    ['35 emoji fill one message exactly', '😀'.repeat(35), ucs2(70, 1)],
    ['36 emoji: 33 to a segment, since 67 is odd', '😀'.repeat(36), ucs2(72, 2)],
    ['Arabic text', 'مرحبا بالعالم', ucs2(13, 1)],
  ];
  it.each(rows)('%s', (_name, text, expected) => {
    expect(smsLength(text)).toEqual(expected);
  });
});

describe('smsLength: pairs never straddle a segment boundary', () => {
  it('fills segment 1 exactly when the escape pair ends at septet 153', () => {
    // 151 + 2 = 153 septets, then 153 more: two full segments.
    expect(smsLength(`${'a'.repeat(151)}€${'a'.repeat(153)}`)).toEqual(gsm(306, 2));
  });

  it('moves an escape pair that would start at septet 153 into segment 2', () => {
    // Segment 1 holds 152 septets; segment 2 holds € and 151 more, so 306 septets need three.
    expect(smsLength(`${'a'.repeat(152)}€${'a'.repeat(151)}`)).toEqual(gsm(305, 2));
    expect(smsLength(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toEqual(gsm(306, 3));
  });

  it('moves a surrogate pair that would start at unit 67 into segment 2', () => {
    // Segment 1 holds 66 units; segment 2 holds the emoji and 65 ж, so 134 units need three.
    expect(smsLength(`${'ж'.repeat(66)}😀${'ж'.repeat(65)}`)).toEqual(ucs2(133, 2));
    expect(smsLength(`${'ж'.repeat(66)}😀${'ж'.repeat(66)}`)).toEqual(ucs2(134, 3));
  });
});

describe('smsLength: properties', () => {
  it('never reports UCS-2 for a text made only of GSM characters', () => {
    fc.assert(
      fc.property(gsmText, (text) => {
        expect(smsLength(text).encoding).toBe('GSM-7');
      }),
    );
  });

  it('reports UCS-2, counting code units, once any non-GSM character is added', () => {
    fc.assert(
      fc.property(gsmText, fc.constantFrom(...NON_GSM), fc.nat(), (text, extra, at) => {
        const index = Math.min(at, text.length);
        const mixed = text.slice(0, index) + extra + text.slice(index);
        const length = smsLength(mixed);
        expect(length.encoding).toBe('UCS-2');
        expect(length.units).toBe(mixed.length);
      }),
    );
  });

  it('never needs fewer segments after a character is appended', () => {
    fc.assert(
      fc.property(anyText, anyChar, (text, char) => {
        expect(smsLength(text + char).segments).toBeGreaterThanOrEqual(smsLength(text).segments);
      }),
    );
  });

  it('takes one segment exactly when 0 < units <= the single-segment limit', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const { encoding, units, segments } = smsLength(text);
        const limit = encoding === 'GSM-7' ? GSM7_SINGLE_SEGMENT : UCS2_SINGLE_SEGMENT;
        expect(segments === 1).toBe(units > 0 && units <= limit);
      }),
    );
  });
});
