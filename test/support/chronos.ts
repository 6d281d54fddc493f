/**
 * A checker in the spirit of Jepsen's Chronos checker: matches the occurrences that should have
 * fired against what was actually delivered, per channel, and reports what is missing, extra
 * (a second delivery of the same occurrence, or one nobody expected) and late.
 */
export interface ActualDelivery {
  channel: string;
  /** The occurrence's nominal instant (epoch ms). */
  occurrenceAt: number;
  /** When it was decided and sent (workflow time, epoch ms). */
  sentAt: number;
}

export interface CheckReport {
  missing: { channel: string; occurrenceAt: string }[];
  extra: { channel: string; occurrenceAt: string }[];
  late: { channel: string; occurrenceAt: string; lateByMs: number }[];
}

export function checkDeliveries(expected: number[], channels: string[], actual: ActualDelivery[], toleranceMs: number): CheckReport {
  const report: CheckReport = { missing: [], extra: [], late: [] };
  const iso = (ms: number) => new Date(ms).toISOString();
  for (const channel of channels) {
    const byOccurrence = new Map<number, ActualDelivery[]>();
    for (const delivery of actual.filter((a) => a.channel === channel)) {
      byOccurrence.set(delivery.occurrenceAt, [...(byOccurrence.get(delivery.occurrenceAt) ?? []), delivery]);
    }
    for (const at of expected) {
      const deliveries = byOccurrence.get(at) ?? [];
      byOccurrence.delete(at);
      if (deliveries.length === 0) report.missing.push({ channel, occurrenceAt: iso(at) });
      for (const extra of deliveries.slice(1)) report.extra.push({ channel, occurrenceAt: iso(extra.occurrenceAt) });
      const first = deliveries[0];
      if (first && (first.sentAt < at || first.sentAt - at > toleranceMs)) {
        report.late.push({ channel, occurrenceAt: iso(at), lateByMs: first.sentAt - at });
      }
    }
    for (const [at, deliveries] of byOccurrence) {
      for (const _ of deliveries) report.extra.push({ channel, occurrenceAt: iso(at) });
    }
  }
  return report;
}
