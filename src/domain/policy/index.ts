export {
  SKIP_REASONS,
  decide,
  duration,
  overallOutcome,
  type ChannelDecision,
  type DecisionInput,
  type DeferReason,
  type OccurrenceDecision,
  type OccurrenceToDecide,
  type OverallOutcome,
  type SkipReason,
} from './decide.js';
export {
  DEFAULT_POLICY,
  DeliveryPolicySchema,
  FrequencyCapSchema,
  PolicyOverridesSchema,
  QuietHoursModeSchema,
  capLookups,
  resolvePolicy,
  validatePolicyOverrides,
  type DeliveryPolicy,
  type FrequencyCap,
  type PolicyOverrides,
  type QuietHoursMode,
} from './policy.js';
export { intervalOn, quietIntervalAt, quietUntil, windowFor, type QuietInterval } from './quiet-hours.js';
export { DEFAULT_ZONE_MODE, ZONE_MODES, recurrenceIdFor, recurrenceInZone, type ZoneMode } from './zone-mode.js';
export { previewOccurrences, type PreviewItem, type PreviewOccurrence } from './preview.js';
export {
  MAX_TIMELINE_DAYS,
  previewTimeline,
  timelineBetween,
  type OffsetTransition,
  type PreviewTimeline,
  type QuietSpan,
} from './timeline.js';
