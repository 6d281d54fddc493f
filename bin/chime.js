#!/usr/bin/env node
// `npx chime …` in a checkout: runs the TypeScript CLI through tsx, no build step needed.
import { register } from 'tsx/esm/api';

register();
await import('../src/entry/cli.ts');
