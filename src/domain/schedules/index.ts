export { AudienceFilterSchema, AudienceSchema, TAG_PATTERN, type Audience, type AudienceFilter } from './audience.js';
export { nextBucket, zoneKey, type Bucket, type BucketMember, type BucketRequest } from './buckets.js';
