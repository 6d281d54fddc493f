/**
 * Registers Chime's search attributes on a namespace through the operator API (self-hosted
 * clusters and the time-skipping test server; the dev server gets them as start flags, Temporal
 * Cloud through its own tooling). Already-registered attributes are left as they are.
 */
import type { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

const GRPC_UNIMPLEMENTED = 12;

export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let registered: Record<string, unknown> = {};
  try {
    registered = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (error) {
    // The time-skipping test server can add search attributes but not list them.
    if ((error as { code?: number }).code !== GRPC_UNIMPLEMENTED) throw error;
  }
  const missing = SEARCH_ATTRIBUTES.filter((key) => !registered[key.name]);
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!])),
  });
}
