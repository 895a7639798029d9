import type { CoreContext } from '../../context.js';
import { PERMISSIONS } from '../../auth/permissions.js';
import { apiMessage } from '../api.js';
import { developer, enc, field, fields, page, readForm, type ConsolePages, type Developer } from '../context.js';
import { Badge, CsrfField, ErrorAlert, Field, Layout, TextArea, Time } from '../views/layout.js';

const KEYS_SHOWN = 100;

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  permissions: string[];
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

interface SigningKey {
  id: string;
  name: string;
  fingerprint: string;
  active: boolean;
  created_at: string;
}

/** API keys (the new key shown once) and signing keys (with the proof of possession, made with OpenSSL). */
export const register: ConsolePages = (app, d) => {
  const apiKeysPage = async (c: CoreContext, dev: Developer, extra: { created?: ApiKey & { key: string }; error?: string; values?: Record<string, string>; status?: 200 | 201 | 400 | 403 | 409 } = {}) => {
    const list = await d.api.call(c, 'GET', `/v1/api-keys?limit=${KEYS_SHOWN}`, { bearer: dev.token });
    const items = (list.ok ? list.body.items : []) as ApiKey[];
    return page(
      c,
      <Layout view={dev.view} title="API keys" nav="keys" notice={c.req.query('notice')}>
        <h1>API keys</h1>
        <p class="lead">For scripts and CI: send one as <code>Authorization: Bearer mk_…</code>. The portal stores only a hash of each.</p>
        {extra.created && (
          <div class="alert ok" role="status" data-new-key>
            <p>
              <strong>Key "{extra.created.name}" created.</strong> Copy it now: it is shown only this once.
            </p>
            <code class="secret" data-secret tabindex={0}>
              {extra.created.key}
            </code>
          </div>
        )}
        {!list.ok && <ErrorAlert message={apiMessage(list)} />}
        {items.length > 0 && (
          <div class="table-wrap">
            <table data-api-keys>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Permissions</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {items.map((k) => (
                  <tr data-key={k.id}>
                    <td>{k.name}</td>
                    <td class="mono">{k.prefix}…</td>
                    <td>{k.permissions.join(', ')}</td>
                    <td>{k.expires_at ? <Time iso={k.expires_at} /> : 'never'}</td>
                    <td>
                      <Time iso={k.last_used_at} />
                    </td>
                    <td>
                      {k.revoked_at ? (
                        <Badge status="revoked" />
                      ) : (
                        <form class="inline" method="post" action={`/console/keys/${enc(k.id)}/revoke`} data-confirm={`Revoke the key "${k.name}"? Scripts using it stop working.`}>
                          <CsrfField token={dev.view.csrf} />
                          <button type="submit" class="danger" aria-label={`Revoke ${k.name}`}>
                            Revoke
                          </button>
                        </form>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <h2>Create an API key</h2>
        <ErrorAlert message={extra.error} />
        <form class="stack" method="post" action="/console/keys">
          <CsrfField token={dev.view.csrf} />
          <Field label="Name" name="name" value={extra.values?.name} required hint="What it is for, like ci" />
          <fieldset>
            <legend>Permissions</legend>
            {PERMISSIONS.map((p) => (
              <label>
                <input type="checkbox" name="permissions" value={p} checked={extra.values ? extra.values[`perm:${p}`] === '1' : p !== 'keys:write'} /> <code>{p}</code>
              </label>
            ))}
          </fieldset>
          <Field label="Expires on" name="expires_on" type="date" value={extra.values?.expires_on} hint="Optional: the key stops working at the start of that day (UTC)." />
          <div>
            <button type="submit">Create key</button>
          </div>
        </form>
      </Layout>,
      extra.status ?? 200,
    );
  };

  app.get('/keys', async (c) => apiKeysPage(c, await developer(c, d)));

  app.post('/keys', async (c) => {
    const dev = await developer(c, d);
    const f = await readForm(c, d, dev.token);
    const expires = field(f, 'expires_on');
    const res = await d.api.call(c, 'POST', '/v1/api-keys', {
      bearer: dev.token,
      json: { name: field(f, 'name'), permissions: fields(f, 'permissions'), ...(expires && { expires_at: /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T00:00:00.000Z` : expires }) },
    });
    if (!res.ok) {
      const values: Record<string, string> = { name: field(f, 'name'), expires_on: expires };
      for (const p of fields(f, 'permissions')) values[`perm:${p}`] = '1';
      return apiKeysPage(c, dev, { error: apiMessage(res), values, status: res.status === 409 ? 409 : res.status === 403 ? 403 : 400 });
    }
    // Shown in this answer only (never put in a URL or kept by the console); the page is not cached (no-store).
    return apiKeysPage(c, dev, { created: res.body, status: 201 });
  });

  app.post('/keys/:id/revoke', async (c) => {
    const dev = await developer(c, d);
    await readForm(c, d, dev.token);
    const res = await d.api.call(c, 'DELETE', `/v1/api-keys/${enc(c.req.param('id'))}`, { bearer: dev.token });
    if (!res.ok) return apiKeysPage(c, dev, { error: apiMessage(res), status: 400 });
    return c.redirect('/console/keys?notice=key_revoked', 303);
  });

  const signingPage = async (c: CoreContext, dev: Developer, extra: { error?: string; values?: Record<string, string>; status?: 200 | 400 | 409 } = {}) => {
    const list = await d.api.call(c, 'GET', `/v1/signing-keys?limit=${KEYS_SHOWN}`, { bearer: dev.token });
    const items = (list.ok ? list.body.items : []) as SigningKey[];
    const proofText = `mosis-signing-key:${dev.view.developer.id}`;
    return page(
      c,
      <Layout view={dev.view} title="Signing keys" nav="signing-keys" notice={c.req.query('notice')}>
        <h1>Signing keys</h1>
        <p class="lead">
          Ed25519 keys you sign packages with. An upload is kept only if its signature verifies with one of your active keys; devices check the same
          signature before installing.
        </p>
        {!list.ok && <ErrorAlert message={apiMessage(list)} />}
        {items.length > 0 && (
          <div class="table-wrap">
            <table data-signing-keys>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Fingerprint (SHA-256)</th>
                  <th scope="col">Added</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {items.map((k) => (
                  <tr data-signing-key={k.id}>
                    <td>{k.name}</td>
                    <td class="mono">{k.fingerprint}</td>
                    <td>
                      <Time iso={k.created_at} />
                    </td>
                    <td>
                      {k.active ? (
                        <form class="inline" method="post" action={`/console/signing-keys/${enc(k.id)}/deactivate`} data-confirm={`Deactivate "${k.name}"? It signs no new uploads; versions it signed stay valid.`}>
                          <CsrfField token={dev.view.csrf} />
                          <Badge status="ok" />{' '}
                          <button type="submit" class="danger" aria-label={`Deactivate ${k.name}`}>
                            Deactivate
                          </button>
                        </form>
                      ) : (
                        <Badge status="inactive" />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <h2>Add a signing key</h2>
        <p>Make a key and the proof that you hold it with OpenSSL 3 (keep signing.key secret; only the public key and the proof come here):</p>
        <pre data-proof-howto>
          {[
            'openssl genpkey -algorithm ed25519 -out signing.key',
            'openssl pkey -in signing.key -pubout -out signing.pub',
            `printf '%s' '${proofText}' > proof.txt`,
            'openssl pkeyutl -sign -inkey signing.key -rawin -in proof.txt -out proof.sig',
            'cat signing.pub                      # paste as the public key',
            'openssl base64 -A -in proof.sig      # paste as the proof',
          ].join('\n')}
        </pre>
        <p class="hint">
          The proof is the key's signature of the text <code>{proofText}</code> (your developer id): it shows the key is yours.
        </p>
        <ErrorAlert message={extra.error} />
        <form class="stack" method="post" action="/console/signing-keys">
          <CsrfField token={dev.view.csrf} />
          <Field label="Name" name="name" value={extra.values?.name} required hint="Like release" />
          <TextArea label="Public key (PEM)" name="public_key" value={extra.values?.public_key} required rows={4} hint="-----BEGIN PUBLIC KEY----- …" />
          <TextArea label="Proof" name="proof" value={extra.values?.proof} required rows={2} hint="base64, from the last command above" />
          <div>
            <button type="submit">Add key</button>
          </div>
        </form>
      </Layout>,
      extra.status ?? 200,
    );
  };

  app.get('/signing-keys', async (c) => signingPage(c, await developer(c, d)));

  app.post('/signing-keys', async (c) => {
    const dev = await developer(c, d);
    const f = await readForm(c, d, dev.token);
    const values = { name: field(f, 'name'), public_key: field(f, 'public_key'), proof: field(f, 'proof') };
    const res = await d.api.call(c, 'POST', '/v1/signing-keys', { bearer: dev.token, json: { ...values, proof: values.proof.trim() } });
    if (!res.ok) return signingPage(c, dev, { error: apiMessage(res), values, status: res.status === 409 ? 409 : 400 });
    return c.redirect('/console/signing-keys?notice=signing_key_added', 303);
  });

  app.post('/signing-keys/:id/deactivate', async (c) => {
    const dev = await developer(c, d);
    await readForm(c, d, dev.token);
    const res = await d.api.call(c, 'DELETE', `/v1/signing-keys/${enc(c.req.param('id'))}`, { bearer: dev.token });
    if (!res.ok) return signingPage(c, dev, { error: apiMessage(res), status: 400 });
    return c.redirect('/console/signing-keys?notice=signing_key_deactivated', 303);
  });
};
