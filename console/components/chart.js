/**
 * A live time-series chart (uPlot): one figure, its caption, and the latest values in text for
 * screen readers (a canvas says nothing by itself). uPlot draws 10 minutes of 1 s points (600 x a
 * few series) in well under a millisecond, so redrawing every second costs nothing noticeable.
 */
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { latest } from '../lib/stats.js';

/** Colours with at least 3:1 contrast against the white plot (WCAG 1.4.11). */
const PALETTE = ['#1f5fbf', '#b3261e', '#6a3d9a', '#8a5a00', '#0b7a3e'];

/**
 * @param {{title: string, t: number[], lines: {label: string, values: (number|null)[]}[], format: (v: number) => string, height?: number}} props
 */
export function TimeChart({ title, t, lines, format, height = 180 }) {
  const box = useRef(null);
  const plot = useRef(null);
  const labels = lines.map((l) => l.label).join('|');

  useEffect(() => {
    const width = Math.max(280, box.current.clientWidth);
    const options = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { values: (_, ticks) => ticks.map((v) => format(v)), size: 70 }],
      series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: PALETTE[i % PALETTE.length], width: 2, value: (_, v) => (v === null ? '–' : format(v)) }))],
    };
    plot.current = new uPlot(options, [t, ...lines.map((l) => l.values)], box.current);
    const resize = new ResizeObserver(() => {
      const w = Math.max(280, box.current?.clientWidth ?? width);
      if (plot.current && Math.abs(plot.current.width - w) > 4) plot.current.setSize({ width: w, height });
    });
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [labels]);

  useEffect(() => {
    plot.current?.setData([t, ...lines.map((l) => l.values)]);
  });

  const summary = lines.map((l) => `${l.label} ${latest(l.values) === null ? 'no data' : format(latest(l.values))}`).join(', ');
  return html`<figure class="chart">
    <figcaption>
      <span class="chart-title">${title}</span>
      ${lines.map((l, i) => html` <span class="chart-key"><span class="swatch" style=${`background:${PALETTE[i % PALETTE.length]}`}></span>${l.label}: ${latest(l.values) === null ? '–' : format(latest(l.values))}</span>`)}
    </figcaption>
    <div ref=${box} class="chart-box" role="img" aria-label=${`${title}, last 10 minutes; now ${summary}`}></div>
  </figure>`;
}
