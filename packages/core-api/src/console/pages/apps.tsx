import { apiMessage } from '../api.js';
import { developer, enc, field, must, page, qs, readForm, type ConsoleDeps, type ConsolePages, type Developer, type FormFields } from '../context.js';
import { CATEGORIES } from '../../schemas.js';
import { CONSOLE_PAGE_ITEMS } from '../../limits.js';
import type { CoreContext } from '../../context.js';
import { AppHeader, type AppInfo } from '../views/app-shell.js';
import { Badge, CsrfField, ErrorAlert, Field, Layout, TextArea, Time } from '../views/layout.js';

/** GET /v1/apps/{id} for a page of one app; the API's 404 becomes the page's 404, in words. */
export async function loadApp(c: CoreContext, d: ConsoleDeps, dev: Developer, id: string): Promise<AppInfo> {
  return must(await d.api.call(c, 'GET', `/v1/apps/${enc(id)}`, { bearer: dev.token })).body as AppInfo;
}

/** An app form's fields as the API's JSON body (tags: comma-separated). */
function appBody(f: FormFields, creating: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { name: field(f, 'name') };
  if (creating) body.package_id = field(f, 'package_id').trim();
  const description = field(f, 'description');
  if (description || !creating) body.description = description || null;
  const category = field(f, 'category');
  if (category || !creating) body.category = category || null;
  const tags = field(f, 'tags').split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.length || !creating) body.tags = tags;
  return body;
}

const AppFields = ({ f, creating }: { f: Partial<Record<string, string>>; creating: boolean }) => (
  <>
    {creating && (
      <Field label="Package id" name="package_id" value={f.package_id} required hint="A reverse-domain name like com.example.camera; it cannot change later." />
    )}
    <Field label="Name" name="name" value={f.name} required />
    <TextArea label="Description" name="description" value={f.description} />
    <label>
      Category
      <select name="category">
        <option value="">(none)</option>
        {CATEGORIES.map((cat) => (
          <option value={cat} selected={f.category === cat}>
            {cat}
          </option>
        ))}
      </select>
    </label>
    <Field label="Tags" name="tags" value={f.tags} hint="Comma-separated, e.g. camera, photo" />
  </>
);

/** Apps: the list with a form to create one, and each app's settings. */
export const register: ConsolePages = (app, d) => {
  const listPage = async (c: CoreContext, dev: Developer, form?: { error: string; values: Record<string, string>; status: 400 | 409 | 413 | 422 }) => {
    const cursor = c.req.query('cursor');
    const list = await d.api.call(c, 'GET', `/v1/apps${qs({ limit: CONSOLE_PAGE_ITEMS, cursor })}`, { bearer: dev.token });
    const items = (list.ok ? list.body.items : []) as (AppInfo & { created_at: string })[];
    return page(
      c,
      <Layout view={dev.view} title="Apps" nav="apps" notice={c.req.query('notice')}>
        <h1>Your apps</h1>
        {!list.ok && <ErrorAlert message={apiMessage(list)} />}
        {list.ok && items.length === 0 && !cursor && <p>No apps yet: create your first one below.</p>}
        {items.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Package id</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr>
                    <td>
                      <a href={`/console/apps/${enc(a.id)}`}>{a.name}</a>
                    </td>
                    <td class="mono">{a.package_id}</td>
                    <td>
                      <Badge status={a.status} />
                    </td>
                    <td>
                      <Time iso={a.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list.ok && list.body.next_cursor && (
          <p class="pager">
            <a href={`/console/apps${qs({ cursor: list.body.next_cursor })}`}>Next page</a>
          </p>
        )}
        <h2 id="new-app">Create an app</h2>
        <ErrorAlert message={form?.error} />
        <form class="stack" method="post" action="/console/apps">
          <CsrfField token={dev.view.csrf} />
          <AppFields f={form?.values ?? {}} creating />
          <div>
            <button type="submit">Create app</button>
          </div>
        </form>
      </Layout>,
      form?.status ?? 200,
    );
  };

  app.get('/apps', async (c) => listPage(c, await developer(c, d)));

  app.post('/apps', async (c) => {
    const dev = await developer(c, d);
    const f = await readForm(c, d, dev.token);
    const res = await d.api.call(c, 'POST', '/v1/apps', { bearer: dev.token, json: appBody(f, true) });
    if (!res.ok) {
      const values = { package_id: field(f, 'package_id'), name: field(f, 'name'), description: field(f, 'description'), category: field(f, 'category'), tags: field(f, 'tags') };
      return listPage(c, dev, { error: apiMessage(res), values, status: res.status === 409 ? 409 : res.status === 413 ? 413 : 400 });
    }
    return c.redirect(`/console/apps/${enc(res.body.id)}?notice=app_created`, 303);
  });

  const editPage = async (c: CoreContext, dev: Developer, a: AppInfo, form?: { error: string; values: Record<string, string> }) =>
    page(
      c,
      <Layout view={dev.view} title={`${a.name}: settings`} nav="apps" notice={c.req.query('notice')}>
        <AppHeader app={a} tab="edit" />
        <h2>Settings</h2>
        <ErrorAlert message={form?.error} />
        <form class="stack" method="post" action={`/console/apps/${enc(a.id)}/edit`}>
          <CsrfField token={dev.view.csrf} />
          <p>
            Package id: <span class="mono">{a.package_id}</span> (fixed)
          </p>
          <AppFields f={form?.values ?? { name: a.name, description: a.description ?? '', category: a.category ?? '', tags: a.tags.join(', ') }} creating={false} />
          <div>
            <button type="submit">Save</button>
          </div>
        </form>
      </Layout>,
      form ? 400 : 200,
    );

  app.get('/apps/:id/edit', async (c) => {
    const dev = await developer(c, d);
    return editPage(c, dev, await loadApp(c, d, dev, c.req.param('id')));
  });

  app.post('/apps/:id/edit', async (c) => {
    const dev = await developer(c, d);
    const f = await readForm(c, d, dev.token);
    const id = c.req.param('id');
    const res = await d.api.call(c, 'PATCH', `/v1/apps/${enc(id)}`, { bearer: dev.token, json: appBody(f, false) });
    if (!res.ok) {
      const a = await loadApp(c, d, dev, id);
      return editPage(c, dev, a, { error: apiMessage(res), values: { name: field(f, 'name'), description: field(f, 'description'), category: field(f, 'category'), tags: field(f, 'tags') } });
    }
    return c.redirect(`/console/apps/${enc(id)}?notice=app_saved`, 303);
  });
};
