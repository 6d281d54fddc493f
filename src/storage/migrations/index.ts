/**
 * Every migration, listed statically (no folder scan) so the list survives bundling. Names sort in
 * the order they run; never rename or edit a migration that has shipped — add a new one.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_delivery_category.js';
import * as m0003 from './0003_category_policies.js';
import * as m0004 from './0004_reminder_state_and_claimants.js';
import * as m0005 from './0005_audience_schedules.js';
import * as m0006 from './0006_templates_and_attributes.js';
import * as m0007 from './0007_sms_destinations.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001,
  '0002_delivery_category': m0002,
  '0003_category_policies': m0003,
  '0004_reminder_state_and_claimants': m0004,
  '0005_audience_schedules': m0005,
  '0006_templates_and_attributes': m0006,
  '0007_sms_destinations': m0007,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
