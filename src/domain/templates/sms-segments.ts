/**
 * SMS length as carriers (and Twilio) count it: GSM-7 when every character is in the GSM 03.38
 * basic or extension table, UCS-2 otherwise, and how many concatenated segments that takes.
 */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsLength {
  encoding: SmsEncoding;
  /** Septets (GSM-7, an extension-table character counts 2) or UTF-16 code units (UCS-2). */
  units: number;
  /**
   * 1 when it fits one message (160 septets / 70 units), else ceil(units / 153) or ceil(units / 67),
   * or slightly more since an escape or surrogate pair is never split across segments. 0 for ''.
   */
  segments: number;
}

export const GSM7_SINGLE_SEGMENT = 160;
export const UCS2_SINGLE_SEGMENT = 70;
// Multipart messages lose room to the user data header (UDH) in every segment.
const GSM7_MULTIPART_SEGMENT = 153;
const UCS2_MULTIPART_SEGMENT = 67;

// GSM 03.38 basic table in code order, less 0x1B (ESC, which introduces the extension table).
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// Each is sent as ESC + one septet.
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€');

function gsm7Septets(char: string): 1 | 2 | undefined {
  if (GSM7_BASIC.has(char)) return 1;
  if (GSM7_EXTENSION.has(char)) return 2;
  return undefined;
}

const sum = (costs: readonly number[]): number => costs.reduce((a, b) => a + b, 0);

/**
 * Greedy fill: an escape pair or a surrogate pair that would straddle a segment boundary moves
 * whole into the next segment, so this can exceed ceil(units / perSegment).
 */
function multipartSegments(costs: readonly number[], perSegment: number): number {
  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > perSegment) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return segments;
}

function segmentCount(costs: readonly number[], units: number, single: number, perSegment: number): number {
  if (units === 0) return 0;
  if (units <= single) return 1;
  return multipartSegments(costs, perSegment);
}

export function smsLength(text: string): SmsLength {
  // Iterating by code point keeps surrogate pairs together; a lone surrogate costs its one unit.
  const chars = Array.from(text);
  const septets = chars.map(gsm7Septets);
  if (septets.every((s): s is 1 | 2 => s !== undefined)) {
    const units = sum(septets);
    return {
      encoding: 'GSM-7',
      units,
      segments: segmentCount(septets, units, GSM7_SINGLE_SEGMENT, GSM7_MULTIPART_SEGMENT),
    };
  }
  const codeUnits = chars.map((char) => char.length);
  const units = text.length;
  return {
    encoding: 'UCS-2',
    units,
    segments: segmentCount(codeUnits, units, UCS2_SINGLE_SEGMENT, UCS2_MULTIPART_SEGMENT),
  };
}
