/**
 * The schedule preview page: a form in front of Chime's preview API. Everything shown is the API's
 * answer — occurrences, decisions and reasons from the send-time decision the workflows run, the
 * days' offsets and quiet windows from its `timeline` — placed on a wall-clock bar with plain
 * arithmetic (instant + the offset the API gives). No tz data, no rule expansion, no policy here.
 *
 * The API key lives in this tab only (sessionStorage), and goes to this origin only.
 */
const KEY_STORAGE = 'chime.preview.apiKey';
const DAY_MINUTES = 1440;
const DAY_MS = 86_400_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const OUTCOME = {
  sent: { mark: '✓', label: 'Sent' },
  deferred: { mark: '↷', label: 'Deferred' },
  skipped: { mark: '✕', label: 'Skipped' },
};

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * A new element with attributes and children (strings become text, never HTML).
 * @param {string} tag
 * @param {Record<string, string | undefined>} [attributes]
 * @param {...(Node | string | null | undefined | false)} children
 */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) element.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

// ---- The API key: this tab only ------------------------------------------------------------------

const keyInput = /** @type {HTMLInputElement} */ ($('api-key'));
keyInput.value = sessionStorage.getItem(KEY_STORAGE) ?? '';
keyInput.addEventListener('input', () => {
  const key = keyInput.value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
});
$('forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE);
  keyInput.value = '';
  keyInput.focus();
});

/**
 * One call to this API. Never throws: a refusal comes back as its problem+json.
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<{ ok: true, status: number, data: any } | { ok: false, status: number, problem: any }>}
 */
async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json, application/problem+json' };
  const key = keyInput.value.trim();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'omit',
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    return { ok: false, status: 0, problem: { title: `The API did not answer (${error instanceof Error ? error.message : String(error)})` } };
  }
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return response.ok ? { ok: true, status: response.status, data: json } : { ok: false, status: response.status, problem: json ?? { title: `HTTP ${response.status}` } };
}

// ---- Errors next to their fields -----------------------------------------------------------------

/** @param {HTMLElement} form */
function clearErrors(form) {
  for (const error of [...form.querySelectorAll('.error'), $('api-key-error')]) {
    error.textContent = '';
    /** @type {HTMLElement} */ (error).hidden = true;
  }
  for (const invalid of [...form.querySelectorAll('[aria-invalid]'), keyInput]) invalid.removeAttribute('aria-invalid');
}

/**
 * Shows `text` in the error element `errorId`, marks `fieldId` invalid; returns the field.
 * @param {string} errorId
 * @param {string | undefined} fieldId
 * @param {string} text
 */
function showError(errorId, fieldId, text) {
  const error = $(errorId);
  error.textContent = error.hidden || !error.textContent ? text : `${error.textContent} ${text}`;
  error.hidden = false;
  const field = fieldId ? $(fieldId) : undefined;
  field?.setAttribute('aria-invalid', 'true');
  return field;
}

/**
 * Puts each of a problem's `errors[]` next to the field it names (longest matching prefix of
 * `fields`), anything else in `generalId`, a refused key next to the key; focuses the first field.
 * @param {any} problem
 * @param {number} status
 * @param {Record<string, [string | undefined, string]>} fields field path → [input id, error id]
 * @param {string} generalId
 * @param {string} statusId
 */
function showProblem(problem, status, fields, generalId, statusId) {
  /** @type {HTMLElement | undefined} */
  let first;
  const title = typeof problem?.title === 'string' ? problem.title : `HTTP ${status}`;
  if (status === 401 || status === 403) {
    first = showError('api-key-error', 'api-key', `${title}${problem?.errors ? `: ${problem.errors.map((/** @type {any} */ e) => e.reason).join('; ')}` : ''}`);
  } else if (Array.isArray(problem?.errors) && problem.errors.length > 0) {
    for (const { field, reason } of problem.errors) {
      const path = String(field);
      const match = Object.keys(fields)
        .filter((prefix) => path.toLowerCase() === prefix.toLowerCase() || path.toLowerCase().startsWith(`${prefix.toLowerCase()}.`))
        .sort((a, b) => b.length - a.length)[0];
      const [fieldId, errorId] = match ? fields[match] : [undefined, generalId];
      const shown = showError(errorId, fieldId, match ? String(reason) : `${path}: ${reason}`);
      first ??= shown;
    }
  } else {
    showError(generalId, undefined, [title, problem?.detail].filter(Boolean).join(': '));
  }
  $(statusId).textContent = `The API refused the request (${status || 'no answer'}): ${title}.`;
  first?.focus();
}

// ---- Wall-clock arithmetic with the offsets the API gives ------------------------------------------

/** '-05:00' → -18000 (seconds). @param {string} text */
function offsetSeconds(text) {
  const match = /^([+-])(\d{2}):(\d{2})(?::(\d{2}))?/.exec(text);
  if (!match) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4] ?? 0);
  return match[1] === '-' ? -seconds : seconds;
}

/** -18000 → 'UTC-05:00'. @param {number} seconds */
function offsetLabel(seconds) {
  const abs = Math.abs(seconds);
  return `UTC${seconds < 0 ? '-' : '+'}${String(Math.floor(abs / 3600)).padStart(2, '0')}:${String(Math.floor((abs % 3600) / 60)).padStart(2, '0')}`;
}

/**
 * The offset in effect at an instant, from the timeline's offset at `from` and its transitions.
 * @param {any} timeline
 * @returns {(epochMs: number) => number}
 */
function offsetsOf(timeline) {
  const initial = offsetSeconds(timeline.offsetAtFrom);
  const changes = timeline.dstTransitions.map((/** @type {any} */ t) => ({ at: Date.parse(t.at), offset: offsetSeconds(t.offsetAfter) }));
  return (epochMs) => {
    let offset = initial;
    for (const change of changes) if (change.at <= epochMs) offset = change.offset;
    return offset;
  };
}

/**
 * The wall time of an instant at a given offset.
 * @param {number} epochMs
 * @param {number} offset seconds
 */
function wallAt(epochMs, offset) {
  const shifted = new Date(epochMs + offset * 1000).toISOString();
  const minutes = Number(shifted.slice(11, 13)) * 60 + Number(shifted.slice(14, 16));
  return { date: shifted.slice(0, 10), hhmm: shifted.slice(11, 16), minutes, offset };
}

/** '2026-03-08' → 'Sun 8 Mar 2026' (calendar arithmetic only). @param {string} date */
function dayLabel(date) {
  const [y, m, d] = date.split('-').map(Number);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return `${WEEKDAYS[weekday]} ${d} ${MONTHS[m - 1]} ${y}`;
}

/** Days from one ISO date to another. @param {string} a @param {string} b */
const daysBetween = (a, b) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);

/** A wall-clock bar of one day: hour ticks, then what is placed on it. @param {string} label */
function dayBar(label) {
  const bar = h('div', { class: 'bar', role: 'img', 'aria-label': label });
  for (const hour of [0, 6, 12, 18]) {
    const tick = h('span', { class: 'tick', 'aria-hidden': 'true' }, String(hour).padStart(2, '0'));
    tick.style.left = `${(hour / 24) * 100}%`;
    bar.append(tick);
  }
  return bar;
}

/**
 * Something placed on a bar at `minutes` (and `width` minutes wide, for bands).
 * @param {HTMLElement} bar @param {HTMLElement} element @param {number} minutes @param {number} [width]
 */
function place(bar, element, minutes, width) {
  element.style.left = `${(minutes / DAY_MINUTES) * 100}%`;
  if (width !== undefined) element.style.width = `${(width / DAY_MINUTES) * 100}%`;
  bar.append(element);
}

// ---- A reminder rule ---------------------------------------------------------------------------------

const ruleForm = /** @type {HTMLFormElement} */ ($('rule-form'));
const modeOf = () => /** @type {HTMLInputElement} */ (ruleForm.querySelector('input[name="mode"]:checked')).value;
function showMode() {
  const ical = modeOf() === 'ical';
  $('ical-fields').hidden = !ical;
  $('form-fields').hidden = ical;
}
for (const radio of ruleForm.querySelectorAll('input[name="mode"]')) radio.addEventListener('change', showMode);
showMode();

// Zone names the browser knows, as suggestions only: the API decides what a zone is.
try {
  const zones = /** @type {any} */ (Intl).supportedValuesOf?.('timeZone') ?? [];
  $('zones').append(...zones.map((/** @type {string} */ zone) => h('option', { value: zone })));
} catch {
  // no suggestions
}

/** The rule's fields by the API's error paths: [input id, error id]. */
function ruleFields() {
  const ical = modeOf() === 'ical';
  return /** @type {Record<string, [string | undefined, string]>} */ ({
    'body.ical': ['ical', 'ical-error'],
    'body.recurrence': ical ? ['ical', 'ical-error'] : ['freq', 'freq-error'],
    'body.recurrence.rrule': ['freq', 'freq-error'],
    'body.recurrence.dtstart': ['start-date', 'start-error'],
    'body.recurrence.tzid': ['zone', 'zone-error'],
    'body.userId': ['user-id', 'user-id-error'],
    'body.category': ['category', 'category-error'],
    'body.channels': [undefined, 'channels-error'],
    'body.count': ['count', 'count-error'],
    'body.after': ['after', 'after-error'],
  });
}

/** The request body from the form: strings as typed; the API checks them. */
function ruleBody() {
  const data = new FormData(ruleForm);
  /** @type {Record<string, unknown>} */
  const body = {};
  if (modeOf() === 'ical') {
    body.ical = String(data.get('ical') ?? '').replace(/\r\n/g, '\n');
  } else {
    const days = data.getAll('byday').map(String);
    const time = String(data.get('startTime') ?? '');
    body.recurrence = {
      dtstart: `${String(data.get('startDate') ?? '')}T${time.length === 5 ? `${time}:00` : time}`,
      tzid: String(data.get('zone') ?? '').trim(),
      rrule: `FREQ=${String(data.get('freq'))}${days.length > 0 ? `;BYDAY=${days.join(',')}` : ''}`,
    };
  }
  const userId = String(data.get('userId') ?? '').trim();
  if (userId) body.userId = userId;
  const category = String(data.get('category') ?? '').trim();
  if (category) body.category = category;
  const channels = data.getAll('channel').map(String);
  if (channels.length > 0) body.channels = channels;
  const count = String(data.get('count') ?? '').trim();
  if (count) body.count = Number(count);
  const after = String(data.get('after') ?? '');
  if (after) body.after = `${after}T00:00:00Z`;
  return body;
}

ruleForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void previewRule();
});

async function previewRule() {
  clearErrors(ruleForm);
  const status = $('rule-status');
  status.textContent = 'Asking the API…';
  const body = ruleBody();
  const answer = await api('POST', '/v1/previews', body);
  if (!answer.ok) {
    const fields = ruleFields();
    // No such user (or not this key's): next to the user field.
    showProblem(answer.status === 404 ? { ...answer.problem, errors: [{ field: 'body.userId', reason: answer.problem?.title ?? 'not found' }] } : answer.problem, answer.status, fields, 'rule-error', 'rule-status');
    return;
  }
  renderRulePreview(answer.data);
  const userId = typeof body.userId === 'string' ? body.userId : undefined;
  await renderUser(userId);
  const n = answer.data.occurrences.length;
  status.textContent = `${n} occurrence${n === 1 ? '' : 's'} previewed.`;
}

/** The user's preferences that decide: zone, quiet hours, channels, opt-outs — never a contact point. @param {string | undefined} userId */
async function renderUser(userId) {
  const target = $('user-summary');
  target.replaceChildren();
  if (!userId) return;
  const answer = await api('GET', `/v1/users/${encodeURIComponent(userId)}`);
  if (!answer.ok) {
    target.append(h('p', { class: 'note' }, answer.status === 404 ? `No preferences stored for ${userId}: the defaults apply (the rule's zone, no quiet hours).` : `The user's preferences could not be read (${answer.status}).`));
    return;
  }
  const p = answer.data.preferences;
  const windowText = (/** @type {any} */ w) => (w ? `${w.start}–${w.end}` : 'none');
  const quiet = p.quietHours
    ? [`every day ${windowText(p.quietHours.default)}`, ...Object.entries(p.quietHours.weekdays ?? {}).map(([day, w]) => `${day} ${windowText(w)}`)].join(', ')
    : 'none';
  const optOuts = Object.entries(p.optOuts ?? {}).map(([category, what]) => `${category}: ${Array.isArray(what) ? what.join(', ') : what}`);
  const contacts = Object.entries(p.contacts ?? {}).map(([channel, c]) => `${channel} ${(/** @type {any} */ (c)).verified ? 'verified' : 'not verified'}`);
  target.append(
    h('h3', {}, `User ${userId}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Time zone'), h('dd', {}, p.timeZone),
      h('dt', {}, 'Quiet hours'), h('dd', {}, quiet),
      h('dt', {}, 'Channels'), h('dd', {}, Object.entries(p.channels).map(([c, on]) => `${c} ${on ? 'on' : 'off'}`).join(', ')),
      h('dt', {}, 'Opt-outs'), h('dd', {}, optOuts.length > 0 ? optOuts.join('; ') : 'none'),
      h('dt', {}, 'Contact points'), h('dd', {}, contacts.length > 0 ? contacts.join(', ') : 'none'),
    ),
  );
}

/** @param {any} preview the answer of POST /v1/previews (or GET /v1/reminders/{id}/preview) */
function renderRulePreview(preview) {
  const summary = $('rule-summary');
  const list = $('timeline');
  list.replaceChildren();
  const counts = { sent: 0, deferred: 0, skipped: 0 };
  for (const o of preview.occurrences) counts[/** @type {'sent' | 'deferred' | 'skipped'} */ (o.outcome)]++;
  summary.replaceChildren(
    h('p', { class: 'description' }, h('strong', {}, preview.description)),
    h(
      'p',
      {},
      `${preview.occurrences.length} occurrences — ${counts.sent} sent, ${counts.deferred} deferred, ${counts.skipped} skipped. ` +
        `Days and times in ${preview.timeZone}, the zone quiet hours are kept in.`,
    ),
  );
  const timeline = preview.timeline;
  if (!timeline) {
    list.append(h('li', { class: 'empty' }, 'No occurrences.'));
    return;
  }
  const offsetAt = offsetsOf(timeline);
  const to = Date.parse(timeline.to);
  /** @type {Map<string, { occurrences: any[], transitions: any[], targets: { wall: ReturnType<typeof wallAt>, outcome: string }[] }>} */
  const days = new Map();
  const day = (/** @type {string} */ date) => {
    let entry = days.get(date);
    if (!entry) days.set(date, (entry = { occurrences: [], transitions: [], targets: [] }));
    return entry;
  };
  const later = [];
  for (const o of preview.occurrences) {
    const at = Date.parse(o.utc);
    if (at >= to) {
      later.push(o);
      continue;
    }
    const wall = wallAt(at, offsetAt(at));
    day(wall.date).occurrences.push({ ...o, wall });
    if (o.afterDeferral) {
      const until = Date.parse(o.afterDeferral.at);
      day(wallAt(until, offsetAt(until)).date).targets.push({ wall: wallAt(until, offsetAt(until)), outcome: o.afterDeferral.outcome });
    }
  }
  for (const t of timeline.dstTransitions) {
    const at = Date.parse(t.at);
    const before = wallAt(at, offsetSeconds(t.offsetBefore));
    day(before.date).transitions.push({ ...t, before, after: wallAt(at, offsetSeconds(t.offsetAfter)) });
  }
  const from = Date.parse(timeline.from);
  const quiet = timeline.quietWindows.map((/** @type {any} */ w) => {
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    // A window the span cuts goes on beyond it: its cut edge is no beginning or end.
    return { start: wallAt(start, offsetAt(start)), end: wallAt(end, offsetAt(end)), cutStart: start === from, cutEnd: end === to };
  });

  const dates = [...days.keys()].sort();
  dates.forEach((date, i) => {
    const gap = i > 0 ? daysBetween(dates[i - 1], date) - 1 : 0;
    if (gap > 0) list.append(h('li', { class: 'gap' }, `… ${gap} day${gap === 1 ? '' : 's'} without occurrences`));
    list.append(renderDay(date, /** @type {any} */ (days.get(date)), quiet, offsetAt, timeline.timeZone));
  });
  if (later.length > 0) {
    list.append(
      h(
        'li',
        { class: 'later' },
        h('h3', {}, `After ${timeline.to.slice(0, 10)} (beyond the timeline)`),
        h('ul', { class: 'events' }, ...later.map((o) => occurrenceItem(o, undefined, offsetAt))),
      ),
    );
  }
}

/**
 * One local day: the bar (quiet bands, clock changes, occurrences) and the same as text.
 * @param {string} date
 * @param {{ occurrences: any[], transitions: any[], targets: any[] }} content
 * @param {{ start: ReturnType<typeof wallAt>, end: ReturnType<typeof wallAt>, cutStart: boolean, cutEnd: boolean }[]} quiet
 * @param {(epochMs: number) => number} offsetAt
 * @param {string} timeZone
 */
function renderDay(date, content, quiet, offsetAt, timeZone) {
  const offsets = new Set([...content.occurrences.map((o) => o.wall.offset), ...content.transitions.flatMap((t) => [offsetSeconds(t.offsetBefore), offsetSeconds(t.offsetAfter)])]);
  const offsetText = content.transitions.length > 0
    ? content.transitions.map((t) => `${offsetLabel(offsetSeconds(t.offsetBefore))} → ${offsetLabel(offsetSeconds(t.offsetAfter))}`).join(', ')
    : [...offsets].map(offsetLabel).join(', ') || offsetLabel(offsetAt(Date.parse(`${date}T12:00:00Z`)));
  /** @type {{ minutes: number, item: HTMLElement }[]} */
  const events = [];
  const bar = dayBar(`${dayLabel(date)}, ${timeZone}: wall-clock hours 00 to 24`);

  for (const { start, end, cutStart, cutEnd } of quiet) {
    if (start.date > date || end.date < date) continue;
    const from = start.date < date ? 0 : start.minutes;
    const until = end.date > date ? DAY_MINUTES : end.minutes;
    if (until <= from) continue;
    place(bar, h('span', { class: 'band quiet', 'aria-hidden': 'true' }, 'quiet'), from, until - from);
    if (start.date === date && !cutStart) events.push({ minutes: start.minutes, item: h('li', { class: 'event quiet', 'data-kind': 'quiet-start' }, h('span', { class: 'time' }, start.hhmm), ' Quiet hours begin') });
    if (end.date === date && !cutEnd) events.push({ minutes: end.minutes, item: h('li', { class: 'event quiet', 'data-kind': 'quiet-end' }, h('span', { class: 'time' }, end.hhmm), ' Quiet hours end') });
  }
  for (const t of content.transitions) {
    const forward = offsetSeconds(t.offsetAfter) > offsetSeconds(t.offsetBefore);
    const text = `◆ Clocks go ${forward ? 'forward' : 'back'} (DST ${forward ? 'starts' : 'ends'}): ${t.before.hhmm} → ${t.after.hhmm}, ${offsetLabel(offsetSeconds(t.offsetBefore))} → ${offsetLabel(offsetSeconds(t.offsetAfter))}`;
    place(bar, h('span', { class: 'dst-line', 'aria-hidden': 'true' }, '◆ DST'), t.before.minutes);
    events.push({ minutes: t.before.minutes, item: h('li', { class: 'event dst', 'data-kind': 'dst', 'data-at': t.at }, h('span', { class: 'time' }, t.before.hhmm), ` ${text}`) });
  }
  for (const target of content.targets) {
    place(bar, h('span', { class: 'dot target', 'data-outcome': target.outcome, 'aria-hidden': 'true' }, '↷'), target.wall.minutes);
  }
  for (const o of content.occurrences) {
    place(bar, h('span', { class: 'dot', 'data-outcome': o.outcome, 'aria-hidden': 'true' }, OUTCOME[/** @type {'sent'} */ (o.outcome)]?.mark ?? '•'), o.wall.minutes);
    events.push({ minutes: o.wall.minutes, item: occurrenceItem(o, o.wall, offsetAt) });
  }
  events.sort((a, b) => a.minutes - b.minutes);
  return h(
    'li',
    { class: 'day', 'data-date': date },
    h('h3', {}, dayLabel(date), ' ', h('span', { class: 'offset' }, offsetText)),
    bar,
    h('ul', { class: 'events' }, ...events.map((e) => e.item)),
  );
}

/**
 * An occurrence as text: local time, decision, the API's reasons, and what follows a deferral.
 * @param {any} o
 * @param {ReturnType<typeof wallAt> | undefined} wall
 * @param {(epochMs: number) => number} offsetAt
 */
function occurrenceItem(o, wall, offsetAt) {
  const outcome = OUTCOME[/** @type {'sent'} */ (o.outcome)] ?? { mark: '•', label: o.outcome };
  let decision = outcome.label;
  let then;
  if (o.afterDeferral) {
    const until = Date.parse(o.afterDeferral.at);
    const target = wallAt(until, offsetAt(until));
    const next = OUTCOME[/** @type {'sent'} */ (o.afterDeferral.outcome)] ?? { mark: '•', label: o.afterDeferral.outcome };
    decision = `Deferred to ${target.hhmm}${wall && target.date !== wall.date ? ` on ${dayLabel(target.date)}` : ''}`;
    then = h('p', { class: 'then' }, `At ${target.hhmm}: ${next.mark} ${next.label.toLowerCase()} — ${o.afterDeferral.explanation}`);
  }
  const time = wall ? `${wall.hhmm} ${offsetLabel(wall.offset)}` : o.local;
  const utc = `${o.utc.slice(11, 16)} UTC`;
  const reasons = o.channels.map((/** @type {any} */ c) => c.explanation);
  return h(
    'li',
    {
      class: 'occurrence',
      'data-outcome': o.outcome,
      'data-utc': o.utc,
      'aria-label': `${wall ? dayLabel(wall.date) : o.local} ${time} (${utc}): ${decision}. ${reasons.join('. ')}.${o.afterDeferral ? ` Then ${o.afterDeferral.outcome}: ${o.afterDeferral.explanation}.` : ''}`,
    },
    h(
      'div',
      { class: 'occurrence-head' },
      h('span', { class: 'time' }, wall ? wall.hhmm : o.local),
      ' ',
      h('span', { class: 'badge', 'data-outcome': o.outcome }, `${outcome.mark} ${decision}`),
      ' ',
      h('span', { class: 'utc' }, `${utc} · rule time ${o.local}`),
    ),
    h('ul', { class: 'reasons' }, ...reasons.map((/** @type {string} */ r) => h('li', {}, r))),
    then,
  );
}

// ---- An audience schedule ------------------------------------------------------------------------------

const scheduleForm = /** @type {HTMLFormElement} */ ($('schedule-form'));
scheduleForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void previewSchedule();
});

async function previewSchedule() {
  clearErrors(scheduleForm);
  const status = $('schedule-status');
  const id = /** @type {HTMLInputElement} */ ($('schedule-id')).value.trim();
  const count = /** @type {HTMLInputElement} */ ($('schedule-count')).value.trim();
  if (!id) {
    // Nothing to ask the API about: an empty id is a different path.
    showError('schedule-id-error', 'schedule-id', 'Enter the id of a schedule.');
    $('schedule-id').focus();
    return;
  }
  status.textContent = 'Asking the API…';
  const answer = await api('GET', `/v1/schedules/${encodeURIComponent(id)}/preview${count ? `?count=${encodeURIComponent(count)}` : ''}`);
  if (!answer.ok) {
    const fields = /** @type {Record<string, [string | undefined, string]>} */ ({
      'params.scheduleId': ['schedule-id', 'schedule-id-error'],
      'querystring.count': ['schedule-count', 'schedule-count-error'],
      'query.count': ['schedule-count', 'schedule-count-error'],
    });
    const problem = answer.status === 404 ? { ...answer.problem, errors: [{ field: 'params.scheduleId', reason: answer.problem?.title ?? 'not found' }] } : answer.problem;
    showProblem(problem, answer.status, fields, 'schedule-error', 'schedule-status');
    return;
  }
  renderSchedulePreview(answer.data);
  status.textContent = `${answer.data.buckets.length} bucket${answer.data.buckets.length === 1 ? '' : 's'} previewed.`;
}

/** @param {any} preview the answer of GET /v1/schedules/{id}/preview */
function renderSchedulePreview(preview) {
  const target = $('schedule-results');
  const total = preview.zones.reduce((/** @type {number} */ sum, /** @type {any} */ z) => sum + z.recipients, 0);
  const table = h(
    'table',
    { class: 'zones' },
    h('caption', {}, `Audience now: ${total} recipient${total === 1 ? '' : 's'} in ${preview.zones.length} zone${preview.zones.length === 1 ? '' : 's'}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Zone'), h('th', { scope: 'col' }, 'Recipients'))),
    h('tbody', {}, ...preview.zones.map((/** @type {any} */ z) => h('tr', {}, h('th', { scope: 'row' }, z.zone), h('td', {}, String(z.recipients))))),
  );
  /** @type {Map<string, any[]>} */
  const byDay = new Map();
  for (const bucket of preview.buckets) {
    const date = bucket.firesAt.slice(0, 10);
    byDay.set(date, [...(byDay.get(date) ?? []), bucket]);
  }
  const days = [...byDay.entries()].map(([date, buckets]) => {
    const bar = dayBar(`${dayLabel(date)}, UTC: hours 00 to 24`);
    const items = buckets.map((bucket) => {
      const minutes = Number(bucket.firesAt.slice(11, 13)) * 60 + Number(bucket.firesAt.slice(14, 16));
      const recipients = bucket.members.reduce((/** @type {number} */ sum, /** @type {any} */ m) => sum + m.recipients, 0);
      place(bar, h('span', { class: 'dot fires', 'aria-hidden': 'true' }, String(recipients)), minutes);
      const when = `${bucket.firesAt.slice(11, 16)} UTC`;
      return h(
        'li',
        { class: 'bucket', 'data-fires-at': bucket.firesAt, 'aria-label': `${dayLabel(date)} ${when}: ${recipients} recipients in ${bucket.members.map((/** @type {any} */ m) => m.zone).join(', ')}` },
        h('div', { class: 'occurrence-head' }, h('span', { class: 'time' }, when), ' ', h('span', { class: 'badge' }, `${recipients} recipient${recipients === 1 ? '' : 's'}`)),
        h(
          'ul',
          { class: 'reasons' },
          ...bucket.members.map((/** @type {any} */ m) => h('li', {}, `${m.zone}: ${m.local.slice(11, 16)} local (${m.local}) — ${m.recipients} recipient${m.recipients === 1 ? '' : 's'}`)),
        ),
      );
    });
    return h('li', { class: 'day', 'data-date': date }, h('h3', {}, `${dayLabel(date)} `, h('span', { class: 'offset' }, 'UTC')), bar, h('ul', { class: 'events' }, ...items));
  });
  target.replaceChildren(
    h('p', { class: 'description' }, h('strong', {}, preview.description)),
    table,
    h('h3', {}, 'When each zone’s bucket fires (UTC)'),
    days.length > 0 ? h('ol', { class: 'timeline', 'aria-label': 'Buckets by UTC day' }, ...days) : h('p', { class: 'empty' }, 'No upcoming buckets.'),
  );
}
