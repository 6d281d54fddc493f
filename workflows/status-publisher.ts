/**
 * What a long-lived workflow shows operators in the Temporal UI — its status and next instant as
 * search attributes — upserted only when they change: every upsert is a command in history.
 * Reminders and audience schedules publish the same two attributes the same way.
 */
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { NextOccurrenceKey, StatusKey } from './search-attributes.js';

export function statusPublisher(): (status: string, next: number | null) => void {
  const published = {
    status: workflowInfo().typedSearchAttributes.get(StatusKey) as string | undefined,
    next: workflowInfo().typedSearchAttributes.get(NextOccurrenceKey)?.getTime() ?? null,
  };
  return (status, next) => {
    const changes: Parameters<typeof upsertSearchAttributes>[0] = [];
    if (published.status !== status) changes.push({ key: StatusKey, value: status });
    if (published.next !== next) changes.push({ key: NextOccurrenceKey, value: next === null ? null : new Date(next) });
    if (changes.length > 0) upsertSearchAttributes(changes);
    published.status = status;
    published.next = next;
  };
}
