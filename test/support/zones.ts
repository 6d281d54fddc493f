/**
 * The big audience's 32 zones: half-hour (Kolkata, Adelaide, St John's, Tehran, Marquesas) and
 * 45-minute offsets (Kathmandu, Eucla, Chatham), DST on both hemispheres, and both sides of the
 * date line (Kiritimati UTC+14, Pago Pago UTC−11).
 */
export const AUDIENCE_ZONES = [
  'Pacific/Kiritimati', 'Pacific/Chatham', 'Pacific/Auckland', 'Australia/Sydney', 'Australia/Adelaide', 'Australia/Eucla',
  'Asia/Tokyo', 'Asia/Shanghai', 'Asia/Kathmandu', 'Asia/Kolkata', 'Asia/Karachi', 'Asia/Tehran', 'Asia/Dubai', 'Europe/Moscow',
  'Africa/Cairo', 'Europe/Berlin', 'Europe/London', 'UTC', 'Atlantic/Azores', 'America/Noronha', 'America/Sao_Paulo',
  'America/St_Johns', 'America/Halifax', 'America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix',
  'America/Los_Angeles', 'America/Anchorage', 'Pacific/Marquesas', 'Pacific/Honolulu', 'Pacific/Pago_Pago',
] as const;
