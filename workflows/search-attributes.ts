/**
 * Chime's custom search attributes: what an operator filters on in the Temporal UI.
 * Registered at dev-server start from this list (src/temporal/dev-server.ts); on a self-hosted
 * cluster or Temporal Cloud, register them once with `temporal operator search-attribute create`.
 * Ids only: never an email address or phone number.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TenantIdKey = defineSearchAttributeKey('ChimeTenantId', SearchAttributeType.KEYWORD);
export const UserIdKey = defineSearchAttributeKey('ChimeUserId', SearchAttributeType.KEYWORD);
export const ReminderIdKey = defineSearchAttributeKey('ChimeReminderId', SearchAttributeType.KEYWORD);
export const ScheduleIdKey = defineSearchAttributeKey('ChimeScheduleId', SearchAttributeType.KEYWORD);
export const StatusKey = defineSearchAttributeKey('ChimeStatus', SearchAttributeType.KEYWORD);
export const NextOccurrenceKey = defineSearchAttributeKey('ChimeNextOccurrence', SearchAttributeType.DATETIME);

export const SEARCH_ATTRIBUTES = [TenantIdKey, UserIdKey, ReminderIdKey, ScheduleIdKey, StatusKey, NextOccurrenceKey] as const;
