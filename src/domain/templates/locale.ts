/** Locale fallback and text direction for templates (pure; Intl's CLDR data). */

/** `fr-CA` → `fr-CA`, `fr`, then the default: the variants to try, most specific first, no repeats. */
export function localeChain(requested: string | undefined, defaultLocale: string): string[] {
  const chain: string[] = [];
  const add = (tag: string) => {
    if (!chain.some((t) => t.toLowerCase() === tag.toLowerCase())) chain.push(tag);
  };
  const canonical = requested ? canonicalLocale(requested) : undefined;
  if (canonical) for (let parts = canonical.split('-'); parts.length > 0; parts = parts.slice(0, -1)) add(parts.join('-'));
  add(defaultLocale);
  return chain;
}

/** The canonical form of a BCP 47 tag (`fr-ca` → `fr-CA`), or undefined when it is not one. */
export function canonicalLocale(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** Finds `tag`'s variant key case-insensitively (`fr-ca` matches a variant keyed `fr-CA`). */
export function findLocaleKey(keys: readonly string[], tag: string): string | undefined {
  return keys.find((k) => k.toLowerCase() === tag.toLowerCase());
}

const RTL_LANGUAGES = new Set(['ar', 'arc', 'ckb', 'dv', 'fa', 'he', 'ks', 'ku', 'ps', 'sd', 'syr', 'ug', 'ur', 'yi']);

/** 'rtl' for right-to-left scripts (Arabic, Hebrew, …): what an HTML part's `dir` must say. */
export function textDirection(locale: string): 'ltr' | 'rtl' {
  const parsed = new Intl.Locale(locale) as Intl.Locale & { textInfo?: { direction?: string } };
  const direction = parsed.textInfo?.direction;
  if (direction === 'rtl' || direction === 'ltr') return direction;
  return RTL_LANGUAGES.has(parsed.language) ? 'rtl' : 'ltr';
}
