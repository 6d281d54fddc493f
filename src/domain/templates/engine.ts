/**
 * LiquidJS, configured as a sandbox: no file access (include/render/layout are refused), own
 * properties only (no prototype walking), known filters only, and parse/render/memory limits so a
 * template cannot hang a worker. The HTML engine escapes every value on output, and `raw` cannot
 * undo it.
 */
import { Liquid, type Template } from 'liquidjs';

const SANDBOX = {
  strictFilters: true,
  ownPropertyOnly: true,
  lenientIf: true,
  templates: {},
  parseLimit: 300_000,
  renderLimit: 250,
  memoryLimit: 5_000_000,
} as const;

function sandboxed(liquid: Liquid): Liquid {
  for (const tag of ['include', 'render', 'layout']) {
    liquid.registerTag(tag, {
      parse() {
        throw new Error(`the ${tag} tag is not available in Chime templates`);
      },
      render() {
        return '';
      },
    });
  }
  return liquid;
}

export const textEngine = sandboxed(new Liquid(SANDBOX));

export const htmlEngine = (() => {
  const liquid = sandboxed(new Liquid({ ...SANDBOX, outputEscape: 'escape' }));
  // Output escaping happens once, after the filters: these would otherwise undo it or escape twice.
  for (const name of ['raw', 'escape', 'escape_once']) liquid.registerFilter(name, (value: unknown) => value);
  return liquid;
})();

export type TemplateField = 'subject' | 'text' | 'html';
export const engineFor = (field: TemplateField): Liquid => (field === 'html' ? htmlEngine : textEngine);

const PARSED_KEPT = 1_000;
const parsed = new Map<string, Template[]>();

/**
 * A field's source parsed once, not once per recipient: a fan-out renders the same few sources
 * thousands of times. Keyed by engine and source (a parse depends on nothing else); a parse error
 * is thrown every time, never kept.
 */
export function parseField(field: TemplateField, source: string): Template[] {
  const key = `${field === 'html' ? 'h' : 't'}${source}`;
  let template = parsed.get(key);
  if (!template) {
    template = engineFor(field).parse(source);
    if (parsed.size >= PARSED_KEPT) parsed.clear();
    parsed.set(key, template);
  }
  return template;
}

/** "line 2, column 5" from a LiquidJS error, when it knows the position. */
export function positionOf(error: unknown): string | undefined {
  const match = /line:(\d+), col:(\d+)/.exec(error instanceof Error ? error.message : String(error));
  return match ? `line ${match[1]}, column ${match[2]}` : undefined;
}

/** A LiquidJS message without its position suffix and source excerpt. */
export function reasonOf(error: unknown): string {
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  return first.replace(/, line:\d+, col:\d+$/, '');
}

export interface VariableUse {
  path: (string | number)[];
  position: string;
}

/** Every variable a parsed template reads from outside (not its own assigns or loop variables). */
export function variablesOf(liquid: Liquid, template: Template[]): VariableUse[] {
  const { globals } = liquid.analyzeSync(template);
  return Object.values(globals).flatMap((uses) =>
    uses.map((v) => ({
      path: v.segments.map((s) => (typeof s === 'string' || typeof s === 'number' ? s : '[]')),
      position: `line ${v.location.row}, column ${v.location.col}`,
    })),
  );
}
