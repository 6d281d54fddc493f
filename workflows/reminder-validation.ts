/** What the reminder's edit Update refuses (the API checked the rule itself before sending it). */
import { CHANNELS } from '../src/domain/delivery.js';
import type { EditReminderPatch } from './reminder-messages.js';
import { reject, UpdateRejection } from './update-rejection.js';

/** The checks of an edit that need no tz data (the API checked the rule itself before sending it). */
export function assertValidPatch(patch: EditReminderPatch): void {
  const invalid = (field: string, reason: string) => reject(UpdateRejection.InvalidInput, `${field} ${reason}`, field);
  if (patch.content) {
    const { title, body } = patch.content;
    if (typeof title !== 'string' || title.length < 1 || title.length > 200) throw invalid('content.title', 'must be 1 to 200 characters');
    if (typeof body !== 'string' || body.length > 10_000) throw invalid('content.body', 'must be at most 10000 characters');
  }
  if (patch.channels) {
    if (patch.channels.length === 0) throw invalid('channels', 'must not be empty');
    for (const channel of patch.channels) {
      if (!CHANNELS.includes(channel)) throw invalid('channels', `has an unknown channel ${String(channel)}`);
    }
  }
  if (patch.recurrence) {
    const { dtstart, tzid } = patch.recurrence;
    if (typeof dtstart !== 'string' || typeof tzid !== 'string' || !dtstart || !tzid) throw invalid('recurrence', 'needs dtstart and tzid');
  }
  if (patch.zoneMode && patch.zoneMode !== 'pinned' && patch.zoneMode !== 'follow-user') {
    throw invalid('zoneMode', 'must be pinned or follow-user');
  }
  if (patch.category !== undefined && (typeof patch.category !== 'string' || patch.category.length === 0)) {
    throw invalid('category', 'must be a non-empty string');
  }
}
