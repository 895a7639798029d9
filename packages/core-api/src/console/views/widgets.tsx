import type { Child, FC } from 'hono/jsx';
import type { ApiAnswer } from '../api.js';
import { apiMessage } from '../api.js';
import { ErrorAlert } from './layout.js';

/**
 * A 404 that names no resource but a missing route ("no route for GET ..."): this server's API does not
 * have the endpoint (an older version). The widget then says "not available" instead of failing the page.
 */
export function routeMissing(answer: ApiAnswer): boolean {
  return answer.status === 404 && /^no route for /.test(String(answer.body?.error?.message ?? ''));
}

/** A widget that shows its content, or "not available" (missing endpoint), or the API's error in words. */
export const Widget: FC<{ id: string; title: string; answer: ApiAnswer; children?: Child }> = ({ id, title, answer, children }) => (
  <section class="widget" id={id} aria-labelledby={`${id}-title`} data-widget={id} data-state={answer.ok ? 'ok' : routeMissing(answer) ? 'unavailable' : 'error'}>
    <h2 id={`${id}-title`}>{title}</h2>
    {answer.ok ? (
      children
    ) : routeMissing(answer) ? (
      <p class="unavailable">Not available on this server yet (the API has no such endpoint: {apiMessage(answer)}).</p>
    ) : (
      <ErrorAlert message={apiMessage(answer)} />
    )}
  </section>
);

/** One row of a chart's data: its x (ms since epoch, UTC), the label shown, and one value per series. */
export interface ChartRow {
  x: number;
  label: string;
  values: number[];
}

/**
 * A chart and the table behind it. The table is the data (readable without scripts, and by screen readers);
 * the browser module charts.js draws the uPlot chart from it and records what it drew in data-plotted.
 */
export const Chart: FC<{ id: string; caption: string; xLabel: string; series: string[]; rows: ChartRow[]; kind?: 'line' | 'bars' }> = ({
  id,
  caption,
  xLabel,
  series,
  rows,
  kind = 'line',
}) => (
  <figure data-chart={id} data-kind={kind}>
    <figcaption class="hint">{caption}</figcaption>
    <div class="chart" data-chart-canvas aria-hidden="true"></div>
    <details>
      <summary>Data table</summary>
      <div class="table-wrap">
        <table data-chart-table>
          <thead>
            <tr>
              <th scope="col">{xLabel}</th>
              {series.map((s) => (
                <th scope="col" class="num" data-series={s}>
                  {s}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-x={String(r.x)}>
                <th scope="row">{r.label}</th>
                {r.values.map((v) => (
                  <td class="num" data-value={String(v)}>
                    {v.toLocaleString('en')}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  </figure>
);
