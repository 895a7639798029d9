import { api, el, errorText, routeMissing, type Answer } from './common.js';

/** One raw event as GET /v1/apps/{id}/events answers it. */
interface LiveEvent {
  event_id: string;
  event_type: string;
  timestamp: string;
  received_at: string;
  device: string;
  mosis_version: string | null;
  app_version: string | null;
  data: unknown;
}

const FIRST_PAGE = 50;
const TAIL_PAGE = 100;
const DATA_CHARS = 160;

/**
 * The live events view: the newest events, then every data-poll-ms the tail (`?after=head`: events stored
 * since, oldest first), each shown once and put on top. One request at a time (the next is scheduled when
 * the answer is in); none while the tab is hidden or paused. A 404 for the route: "not available".
 */
export function startLive(section: HTMLElement): void {
  const appId = section.dataset.app ?? '';
  const pollMs = Number(section.dataset.pollMs ?? 1000);
  const maxRows = Number(section.dataset.maxRows ?? 200);
  const tbody = section.querySelector<HTMLElement>('[data-live-rows]')!;
  const status = section.querySelector<HTMLElement>('[data-live-status]')!;
  const toggle = section.querySelector<HTMLButtonElement>('[data-live-toggle]')!;
  const base = `/v1/apps/${encodeURIComponent(appId)}/events`;
  const seen = new Set<string>();
  let head: string | undefined;
  let paused = false;
  let stopped = false;

  const row = (e: LiveEvent, fresh: boolean) => {
    const tr = el('tr', undefined, fresh ? 'fresh' : undefined);
    tr.dataset.eventId = e.event_id;
    tr.dataset.eventType = e.event_type;
    const time = el('td');
    time.append(el('time', e.timestamp.replace('T', ' ').replace(/\.\d+Z$/, 'Z')));
    const data = e.data === null || e.data === undefined ? '' : JSON.stringify(e.data);
    tr.append(time, el('td', e.event_type, 'mono'), el('td', e.device, 'mono'), el('td', e.app_version ?? ''), el('td', e.mosis_version ?? ''), el('td', data.length > DATA_CHARS ? `${data.slice(0, DATA_CHARS)}…` : data, 'mono'));
    return tr;
  };

  const stop = (message: string, state: string) => {
    stopped = true;
    section.dataset.state = state;
    status.textContent = message;
    toggle.disabled = true;
  };

  const failed = (a: Answer) => {
    if (routeMissing(a)) return stop(`Not available on this server yet (the API has no such endpoint: ${errorText(a)}).`, 'unavailable');
    if (a.status === 401) return stop(`${errorText(a)} Reload the page after signing in.`, 'signed-out');
    section.dataset.state = 'error';
    status.textContent = `Could not load events: ${errorText(a)} Retrying…`;
  };

  const trim = () => {
    while (tbody.children.length > maxRows) tbody.lastElementChild?.remove();
  };

  const first = async () => {
    const a = await api(`${base}?limit=${FIRST_PAGE}`);
    if (!a.ok) {
      failed(a);
      if (!stopped) setTimeout(() => void first(), pollMs);
      return;
    }
    head = a.body.head;
    for (const e of a.body.items as LiveEvent[]) {
      seen.add(e.event_id);
      tbody.append(row(e, false));
    }
    section.dataset.state = 'live';
    status.textContent = (a.body.items as LiveEvent[]).length ? 'Live.' : 'Live: no events yet. New ones appear here.';
    schedule();
  };

  const poll = async () => {
    if (stopped) return;
    if (paused || document.hidden) return schedule();
    const a = await api(`${base}?after=${encodeURIComponent(String(head ?? ''))}&limit=${TAIL_PAGE}`);
    if (!a.ok) {
      failed(a);
      return schedule();
    }
    head = a.body.head ?? head;
    const items = a.body.items as LiveEvent[];
    for (const tr of tbody.querySelectorAll('tr.fresh')) tr.classList.remove('fresh');
    let added = 0;
    // Oldest first: each goes on top, so the newest ends up first.
    for (const e of items) {
      if (seen.has(e.event_id)) continue;
      seen.add(e.event_id);
      tbody.prepend(row(e, true));
      added++;
    }
    trim();
    section.dataset.state = 'live';
    section.dataset.head = String(head ?? '');
    status.textContent = `Live: checked ${new Date().toLocaleTimeString()}${added ? `, ${added} new` : ''}.`;
    schedule();
  };

  const schedule = () => {
    if (!stopped) setTimeout(() => void poll(), pollMs);
  };

  toggle.addEventListener('click', () => {
    paused = !paused;
    toggle.setAttribute('aria-pressed', String(paused));
    toggle.textContent = paused ? 'Resume' : 'Pause';
    status.textContent = paused ? 'Paused.' : 'Live.';
  });

  void first();
}
