import type { CoreContext } from '../../context.js';
import { apiMessage } from '../api.js';
import { developer, enc, field, must, page, qs, readForm, type ConsoleDeps, type ConsolePages, type Developer, type FormFields } from '../context.js';
import { AppHeader, type AppInfo } from '../views/app-shell.js';
import { Badge, CsrfField, ErrorAlert, Field, Layout, TextArea, Time } from '../views/layout.js';
import { ApiError } from '@mosis/shared';
import { loadApp } from './apps.js';

/** A version as the API answers it (the fields the console shows). */
interface Version {
  version_code: number;
  version_name: string;
  status: string;
  signature: string;
  package_size: number;
  package: { sha256: string; size: number; signing_key_id: string | null; uploaded_at: string | null } | null;
  permissions: string[];
  min_mosis_version: string | null;
  release_notes: string | null;
  review_notes: string | null;
  published_at: string | null;
  created_at: string;
}

const VERSIONS_PAGE = 100;

/** Every version of an app, newest first (a few pages at most: one per VERSIONS_PAGE versions). */
async function allVersions(c: CoreContext, d: ConsoleDeps, dev: Developer, appId: string): Promise<Version[]> {
  const out: Version[] = [];
  let cursor: string | undefined;
  do {
    const res = must(await d.api.call(c, 'GET', `/v1/apps/${enc(appId)}/versions${qs({ limit: VERSIONS_PAGE, cursor })}`, { bearer: dev.token }));
    out.push(...(res.body.items as Version[]));
    cursor = res.body.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

/** The create form's fields as POST /v1/apps/{id}/versions wants them; numbers stay text when not numbers, so the API names the field. */
function versionBody(f: FormFields): Record<string, unknown> {
  const int = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : s);
  const body: Record<string, unknown> = {
    version_code: int(field(f, 'version_code')),
    version_name: field(f, 'version_name'),
    package_size: int(field(f, 'package_size')),
    signature: field(f, 'signature').trim(),
  };
  const permissions = field(f, 'permissions').split(',').map((p) => p.trim()).filter(Boolean);
  if (permissions.length) body.permissions = permissions;
  if (field(f, 'min_mosis_version').trim()) body.min_mosis_version = field(f, 'min_mosis_version').trim();
  if (field(f, 'release_notes')) body.release_notes = field(f, 'release_notes');
  return body;
}

const SignHowTo = () => (
  <details>
    <summary>How to sign a package with OpenSSL</summary>
    <p>The signature is your signing key's Ed25519 signature of the package's 32-byte SHA-256 digest, in base64:</p>
    <pre>
      {[
        'openssl dgst -sha256 -binary app.mpk > app.sha256',
        'openssl pkeyutl -sign -inkey signing.key -rawin -in app.sha256 -out app.sig',
        'openssl base64 -A -in app.sig        # paste this as the signature',
        'wc -c < app.mpk                      # the package size in bytes',
      ].join('\n')}
    </pre>
    <p>
      The key must be one of your <a href="/console/signing-keys">signing keys</a>.
    </p>
  </details>
);

/** Versions of an app: list and create; one version: its package upload, signature check, submit, review state. */
export const register: ConsolePages = (app, d) => {
  const listPage = async (c: CoreContext, dev: Developer, a: AppInfo, form?: { error: string; values: Record<string, string>; status: 400 | 409 }) => {
    const versions = await allVersions(c, d, dev, a.id);
    const next = (versions[0]?.version_code ?? 0) + 1;
    const v = form?.values ?? { version_code: String(next) };
    return page(
      c,
      <Layout view={dev.view} title={`${a.name}: versions`} nav="apps" notice={c.req.query('notice')}>
        <AppHeader app={a} tab="versions" />
        <h2>Versions</h2>
        {versions.length === 0 ? (
          <p>No versions yet.</p>
        ) : (
          <div class="table-wrap">
            <table data-versions>
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col">Package</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((x) => (
                  <tr data-version={String(x.version_code)}>
                    <td>
                      <a href={`/console/apps/${enc(a.id)}/versions/${x.version_code}`}>{x.version_code}</a>
                    </td>
                    <td>{x.version_name}</td>
                    <td>
                      <Badge status={x.status} />
                    </td>
                    <td>{x.package ? <span class="badge ok">signature verified</span> : <span class="hint">not uploaded</span>}</td>
                    <td>
                      <Time iso={x.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <h2 id="new-version">Create a version</h2>
        <ErrorAlert message={form?.error} />
        <form class="stack" method="post" action={`/console/apps/${enc(a.id)}/versions`}>
          <CsrfField token={dev.view.csrf} />
          <Field label="Version code" name="version_code" type="number" value={v.version_code} required hint="A whole number, higher than every earlier version." extra={{ min: 1 }} />
          <Field label="Version name" name="version_name" value={v.version_name} required hint="What people see, like 1.2.0" />
          <label>
            Package file (optional here)
            <span class="hint">Choosing it fills in the size; you upload it on the next page.</span>
            <input type="file" data-size-into="package_size" />
          </label>
          <Field label="Package size in bytes" name="package_size" type="number" value={v.package_size} required extra={{ min: 1 }} />
          <TextArea label="Signature" name="signature" value={v.signature} required rows={3} hint="base64 Ed25519 signature of the package's SHA-256 digest" />
          <SignHowTo />
          <Field label="Permissions" name="permissions" value={v.permissions} hint="Comma-separated, e.g. camera, net.http" />
          <Field label="Lowest Mosis version" name="min_mosis_version" value={v.min_mosis_version} hint="Optional, like 1.4" />
          <TextArea label="Release notes" name="release_notes" value={v.release_notes} />
          <div>
            <button type="submit">Create version</button>
          </div>
        </form>
      </Layout>,
      form?.status ?? 200,
    );
  };

  app.get('/apps/:id/versions', async (c) => {
    const dev = await developer(c, d);
    return listPage(c, dev, await loadApp(c, d, dev, c.req.param('id')));
  });

  app.post('/apps/:id/versions', async (c) => {
    const dev = await developer(c, d);
    const f = await readForm(c, d, dev.token);
    const id = c.req.param('id');
    const res = await d.api.call(c, 'POST', `/v1/apps/${enc(id)}/versions`, { bearer: dev.token, json: versionBody(f) });
    if (!res.ok) {
      const values = Object.fromEntries(['version_code', 'version_name', 'package_size', 'signature', 'permissions', 'min_mosis_version', 'release_notes'].map((k) => [k, field(f, k)]));
      return listPage(c, dev, await loadApp(c, d, dev, id), { error: apiMessage(res), values, status: res.status === 409 ? 409 : 400 });
    }
    return c.redirect(`/console/apps/${enc(id)}/versions/${res.body.version_code}?notice=version_created`, 303);
  });

  const versionPage = async (c: CoreContext, dev: Developer, a: AppInfo, code: string, error?: { message: string; status: 400 | 409 | 422 }) => {
    const versions = await allVersions(c, d, dev, a.id);
    const v = versions.find((x) => String(x.version_code) === code);
    if (!v) throw ApiError.notFound('version not found');
    const keys = await d.api.call(c, 'GET', '/v1/signing-keys?limit=100', { bearer: dev.token });
    const signer = v.package?.signing_key_id && keys.ok ? (keys.body.items as { id: string; name: string; fingerprint: string }[]).find((k) => k.id === v.package!.signing_key_id) : undefined;
    const base = `/console/apps/${enc(a.id)}/versions/${v.version_code}`;
    const draft = v.status === 'draft';
    return page(
      c,
      <Layout view={dev.view} title={`${a.name} ${v.version_name}`} nav="apps" notice={c.req.query('notice')}>
        <AppHeader app={a} tab="versions" />
        <h2>
          Version {v.version_name} (code {v.version_code}) <Badge status={v.status} />
        </h2>
        <ErrorAlert message={error?.message} />
        <ReviewState v={v} />
        <dl class="facts">
          <dt>Created</dt>
          <dd>
            <Time iso={v.created_at} />
          </dd>
          <dt>Published</dt>
          <dd>
            <Time iso={v.published_at} />
          </dd>
          <dt>Permissions</dt>
          <dd>{v.permissions.join(', ') || 'none'}</dd>
          <dt>Signature</dt>
          <dd class="mono">{v.signature}</dd>
        </dl>
        <section aria-labelledby="package-title" data-package-state={v.package ? 'verified' : 'missing'}>
          <h3 id="package-title">Package</h3>
          {v.package ? (
            <>
              <p class="alert ok" data-signature-check>
                Signature verified{signer ? ` with signing key "${signer.name}"` : ''}.
              </p>
              <dl class="facts">
                <dt>SHA-256</dt>
                <dd class="mono">{v.package.sha256}</dd>
                <dt>Size</dt>
                <dd>{v.package.size.toLocaleString('en')} bytes</dd>
                {signer && (
                  <>
                    <dt>Key fingerprint</dt>
                    <dd class="mono">{signer.fingerprint}</dd>
                  </>
                )}
                <dt>Uploaded</dt>
                <dd>
                  <Time iso={v.package.uploaded_at} />
                </dd>
              </dl>
            </>
          ) : (
            <p>No package yet: upload the file this version's signature was made over.</p>
          )}
          {draft && (
            <form class="stack" data-upload={`/console/api/v1/apps/${enc(a.id)}/versions/${v.version_code}/package`} data-done={`${base}?notice=package_verified`} aria-describedby="upload-help">
              <label>
                {v.package ? 'Replace the package' : 'Package file'}
                <input type="file" name="package" required />
              </label>
              <p class="hint" id="upload-help">
                The server checks the signature against your active signing keys and keeps the file only if it verifies.
              </p>
              <div>
                <button type="submit">Upload</button>
              </div>
              <div class="progress" data-upload-progress hidden>
                <progress max={100} value={0} aria-label="upload progress"></progress>
                <span data-upload-text></span>
              </div>
              <div data-upload-result role="status" aria-live="polite"></div>
              <noscript>
                <p class="alert info">Uploading here needs JavaScript; or PUT the file with curl as the README's publishing section shows.</p>
              </noscript>
            </form>
          )}
        </section>
        {draft && (
          <>
            <h3>Submit for review</h3>
            <form method="post" action={`${base}/submit`}>
              <CsrfField token={dev.view.csrf} />
              <p class="hint">An operator then approves or rejects it; once published it is in the catalog.</p>
              <button type="submit">Submit for review</button>
            </form>
            <h3>Replace the signature</h3>
            <form class="stack" method="post" action={`${base}/signature`}>
              <CsrfField token={dev.view.csrf} />
              <TextArea label="New signature" name="signature" required rows={3} hint="If a package is uploaded, the new signature must verify over it." />
              <SignHowTo />
              <div>
                <button type="submit" class="secondary">
                  Replace signature
                </button>
              </div>
            </form>
          </>
        )}
        {v.release_notes && (
          <>
            <h3>Release notes</h3>
            <pre>{v.release_notes}</pre>
          </>
        )}
      </Layout>,
      error?.status ?? 200,
    );
  };

  app.get('/apps/:id/versions/:code', async (c) => {
    const dev = await developer(c, d);
    return versionPage(c, dev, await loadApp(c, d, dev, c.req.param('id')), c.req.param('code'));
  });

  const action = (suffix: string, call: (f: FormFields) => { method: string; path: string; json?: unknown }, notice: string) =>
    app.post(`/apps/:id/versions/:code/${suffix}`, async (c) => {
      const dev = await developer(c, d);
      const f = await readForm(c, d, dev.token);
      const id = c.req.param('id');
      const code = c.req.param('code');
      const req = call(f);
      const res = await d.api.call(c, req.method, `/v1/apps/${enc(id)}/versions/${enc(code)}${req.path}`, { bearer: dev.token, json: req.json });
      if (!res.ok) {
        const status = res.status === 409 ? 409 : res.status === 422 ? 422 : 400;
        return versionPage(c, dev, await loadApp(c, d, dev, id), code, { message: apiMessage(res), status });
      }
      return c.redirect(`/console/apps/${enc(id)}/versions/${enc(code)}?notice=${notice}`, 303);
    });
  action('submit', () => ({ method: 'POST', path: '/submit' }), 'submitted');
  action('signature', (f) => ({ method: 'PATCH', path: '', json: { signature: field(f, 'signature').trim() } }), 'signature_changed');
};

const ReviewState = ({ v }: { v: Version }) => {
  const text: Record<string, string> = {
    draft: 'Draft: upload its package, then submit it for review.',
    review: 'In review: an operator will approve or reject it.',
    approved: 'Approved: an operator publishes it next.',
    published: 'Published: devices can install it from the catalog.',
    rejected: 'Rejected by the review.',
  };
  return (
    <div class={`alert ${v.status === 'rejected' ? 'error' : 'info'}`} data-review-state={v.status}>
      <p>{text[v.status] ?? v.status}</p>
      {v.review_notes && (
        <p>
          Reviewer's notes: <q data-review-notes>{v.review_notes}</q>
        </p>
      )}
    </div>
  );
};
