import { bytes, csrf, el } from './common.js';

/**
 * Package uploads with a progress bar: the file is PUT as it is (XHR, for upload progress events) to the
 * console's proxy of PUT /v1/apps/{id}/versions/{code}/package. The server's answer says whether the
 * signature verified; its error message is shown in words.
 */
export function setupUploads(): void {
  for (const form of document.querySelectorAll<HTMLFormElement>('form[data-upload]')) {
    const input = form.querySelector<HTMLInputElement>('input[type=file]')!;
    const button = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
    const box = form.querySelector<HTMLElement>('[data-upload-progress]')!;
    const bar = box.querySelector('progress')!;
    const text = box.querySelector<HTMLElement>('[data-upload-text]')!;
    const result = form.querySelector<HTMLElement>('[data-upload-result]')!;

    const show = (message: string, ok: boolean) => {
      result.replaceChildren(el('p', message, `alert ${ok ? 'ok' : 'error'}`));
      result.firstElementChild?.setAttribute('role', ok ? 'status' : 'alert');
      form.dataset.uploadState = ok ? 'verified' : 'failed';
    };

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const file = input.files?.[0];
      if (!file) return show('Choose the package file first.', false);
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', form.dataset.upload!);
      xhr.setRequestHeader('X-CSRF-Token', csrf());
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (p) => {
        if (!p.lengthComputable) return;
        const pct = Math.floor((p.loaded / p.total) * 100);
        bar.value = pct;
        text.textContent = `${bytes(p.loaded)} of ${bytes(p.total)} (${pct}%)`;
      });
      xhr.addEventListener('load', () => {
        button.disabled = false;
        let body: { sha256?: string; fingerprint?: string; error?: { message?: string } } | undefined;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = undefined;
        }
        if (xhr.status === 200 && body?.sha256) {
          bar.value = 100;
          show(`Uploaded and verified: the signature is by the key with fingerprint ${body.fingerprint}. SHA-256 ${body.sha256}.`, true);
          window.location.assign(form.dataset.done!);
        } else {
          show(`Not uploaded: ${body?.error?.message ?? `the server answered ${xhr.status}`}`, false);
        }
      });
      xhr.addEventListener('error', () => {
        button.disabled = false;
        show('Not uploaded: the connection failed. Try again.', false);
      });
      button.disabled = true;
      box.hidden = false;
      bar.value = 0;
      text.textContent = `0 of ${bytes(file.size)}`;
      result.replaceChildren();
      form.dataset.uploadState = 'uploading';
      xhr.send(file);
    });
  }
}
