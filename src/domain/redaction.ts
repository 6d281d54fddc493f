/**
 * Contact points out of text we keep: provider error messages quote the address or number they
 * refused ("550 5.1.1 <bob@example.com>: …", Twilio 21211 "The 'To' number +15005550001 is not
 * valid"), and those messages reach the ledger, decisions, the API, logs and workflow history.
 */
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+/g;
/** A phone number as providers print one: 8 to 17 digits, spaces, dashes and brackets between (not dots: SMTP's "550 5.1.1" is no number). */
const PHONE = /(?:\+|\b00)?\d(?:[\s()-]{0,2}\d){7,16}\b/g;

export function redactContactPoints(text: string): string {
  return text.replace(EMAIL, '[email]').replace(PHONE, '[phone]');
}
