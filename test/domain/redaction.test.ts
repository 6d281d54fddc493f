import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactContactPoints } from '../../src/domain/redaction.js';

describe('redactContactPoints', () => {
  it.each([
    ['550 5.1.1 <bob.smith+tag@example.co.uk>: Recipient address rejected', '550 5.1.1 <[email]>: Recipient address rejected'],
    ["The 'To' number +15005550001 is not a valid phone number.", "The 'To' number [phone] is not a valid phone number."],
    ['Attempt to send to unsubscribed recipient 0033 6 12 34 56 78', 'Attempt to send to unsubscribed recipient [phone]'],
    ['To number: (415) 555-0100, is not a mobile number', 'To number: ([phone], is not a mobile number'],
    ['SMTP 421 4.7.0 try again later', 'SMTP 421 4.7.0 try again later'],
    ['SMTP 550: rejected: 550 550 5.1.1 <a@b.io>', 'SMTP 550: rejected: 550 550 5.1.1 <[email]>'],
    ['Twilio 21610: Attempt to send to unsubscribed recipient', 'Twilio 21610: Attempt to send to unsubscribed recipient'],
  ])('%s', (raw, redacted) => {
    expect(redactContactPoints(raw)).toBe(redacted);
  });

  it('leaves no address or E.164 number of any shape in the text', () => {
    const email = fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,20}$/), fc.stringMatching(/^[a-z0-9]{1,10}\.[a-z]{2,6}$/)).map(([l, d]) => `${l}@${d}`);
    const phone = fc.stringMatching(/^\+[1-9][0-9]{7,14}$/);
    fc.assert(
      fc.property(fc.string(), fc.oneof(email, phone), fc.string(), (before, contact, after) => {
        expect(redactContactPoints(`${before} ${contact} ${after}`)).not.toContain(contact);
      }),
    );
  });
});
