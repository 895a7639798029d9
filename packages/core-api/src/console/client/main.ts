/**
 * The console's one entry module. Pages work without it (tables, plain forms); it adds what needs a script:
 * confirmations, the package size from a chosen file, and, loaded only on the pages that have them, the
 * charts, the live events and uploads with progress.
 */

for (const form of document.querySelectorAll<HTMLFormElement>('form[data-confirm]')) {
  form.addEventListener('submit', (e) => {
    if (!window.confirm(form.dataset.confirm ?? 'Are you sure?')) e.preventDefault();
  });
}

for (const input of document.querySelectorAll<HTMLInputElement>('input[type=file][data-size-into]')) {
  input.addEventListener('change', () => {
    const target = input.form?.elements.namedItem(input.dataset.sizeInto ?? '');
    const file = input.files?.[0];
    if (file && target instanceof HTMLInputElement) target.value = String(file.size);
  });
}

if (document.querySelector('[data-chart]')) void import('./charts.js').then((m) => m.drawCharts());
const live = document.querySelector<HTMLElement>('[data-live]');
if (live) void import('./live.js').then((m) => m.startLive(live));
if (document.querySelector('form[data-upload]')) void import('./upload.js').then((m) => m.setupUploads());

export {};
