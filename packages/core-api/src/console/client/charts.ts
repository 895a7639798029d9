/// <reference types="uplot" />
/**
 * Draws each chart from the table behind it (server-rendered from the API's numbers) with uPlot, loaded
 * beside this module as the global `uPlot`. What was drawn is written to the figure's data-plotted, so a
 * test can compare the chart with the API; the first chart drawn sets the performance mark mosis:first-chart.
 */

const PALETTE = ['#1a5fb4', '#c64600', '#2e7d32', '#8e24aa', '#00838f', '#ad1457', '#5d4037', '#546e7a', '#9e9d24'];
const HEIGHT_PX = 240;
let marked = false;

interface Table {
  names: string[];
  xMs: number[];
  values: number[][];
}

function readTable(fig: HTMLElement): Table {
  const table = fig.querySelector('table[data-chart-table]')!;
  const names = [...table.querySelectorAll<HTMLElement>('th[data-series]')].map((th) => th.dataset.series ?? '');
  const rows = [...table.querySelectorAll<HTMLElement>('tbody tr[data-x]')];
  const xMs = rows.map((r) => Number(r.dataset.x));
  const values = names.map((_, i) => rows.map((r) => Number(r.querySelectorAll<HTMLElement>('td[data-value]')[i]?.dataset.value ?? 0)));
  return { names, xMs, values };
}

function draw(fig: HTMLElement): void {
  const target = fig.querySelector<HTMLElement>('[data-chart-canvas]');
  if (!target || typeof uPlot === 'undefined') return;
  const t = readTable(fig);
  const bars = fig.dataset.kind === 'bars';
  const xs = t.xMs.map((ms) => ms / 1000);
  const data: uPlot.AlignedData = [xs, ...t.values];
  // Bars are centred on their period: half a period of room at each end (a day when there is one bar).
  const pad = bars ? (xs.length > 1 ? (xs[1]! - xs[0]!) / 2 : 43_200) : 0;
  const opts: uPlot.Options = {
    width: Math.max(280, target.clientWidth),
    height: HEIGHT_PX,
    // The data are UTC days: label them so, whatever the browser's time zone.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: {
      x: { time: true, ...(bars && { range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [min - pad, max + pad] }) },
      // Counts: the axis starts at zero.
      y: { range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => uPlot.rangeNum(0, Math.max(max, 1), 0.1, true) },
    },
    series: [
      { label: 'UTC' },
      ...t.names.map((name, i) => ({
        label: name,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        ...(bars ? { fill: `${PALETTE[i % PALETTE.length]}99`, paths: uPlot.paths.bars!({ size: [0.6, 48] }), points: { show: false } } : { points: { show: true, size: 5 } }),
      })),
    ],
    axes: [{}, { size: 56 }],
    hooks: {
      draw: [
        () => {
          if (!marked) {
            marked = true;
            performance.mark('mosis:first-chart');
          }
        },
      ],
    },
  };
  const chart = new uPlot(opts, data, target);
  fig.dataset.plotted = JSON.stringify({ x: t.xMs, series: Object.fromEntries(t.names.map((n, i) => [n, chart.data[i + 1]])) });
  new ResizeObserver(() => {
    const width = Math.max(280, target.clientWidth);
    if (Math.abs(width - chart.width) > 2) chart.setSize({ width, height: HEIGHT_PX });
  }).observe(target);
}

export function drawCharts(): void {
  for (const fig of document.querySelectorAll<HTMLElement>('[data-chart]')) draw(fig);
}
