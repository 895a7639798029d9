import type { Child, FC } from 'hono/jsx';
import { Badge } from './layout.js';

/** An app as GET /v1/apps/{id} answers it (the fields the console shows). */
export interface AppInfo {
  id: string;
  package_id: string;
  name: string;
  description: string | null;
  category: string | null;
  tags: string[];
  status: string;
  latest_version: { version_code: number; version_name: string; status: string } | null;
}

export type AppTab = 'overview' | 'live' | 'crashes' | 'versions' | 'edit';

/** The heading and tabs of every page of one app. */
export const AppHeader: FC<{ app: AppInfo; tab: AppTab; children?: Child }> = ({ app, tab, children }) => {
  const base = `/console/apps/${encodeURIComponent(app.id)}`;
  const tabs: [AppTab, string, string][] = [
    ['overview', base, 'Overview'],
    ['live', `${base}/live`, 'Live events'],
    ['crashes', `${base}/crashes`, 'Crashes'],
    ['versions', `${base}/versions`, 'Versions'],
    ['edit', `${base}/edit`, 'Settings'],
  ];
  return (
    <>
      <p class="hint">
        <a href="/console/apps">Apps</a> / <span class="mono">{app.package_id}</span> <Badge status={app.status} />
      </p>
      <h1>{app.name}</h1>
      {children}
      <nav class="sub" aria-label="App">
        <ul>
          {tabs.map(([key, href, text]) => (
            <li>
              <a href={href} aria-current={key === tab ? 'page' : undefined}>
                {text}
              </a>
            </li>
          ))}
        </ul>
      </nav>
    </>
  );
};
