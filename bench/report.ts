// Turns benchmark results into bench/RESULTS.md (a table per section, with the
// reference tool measured in the same run and the speed ratio) and
// bench/results.svg (a bar chart of every speed ratio; 1.0 = as fast as the
// reference). Results are merged per section into bench/results.json, so a run
// of one section keeps the others' latest numbers.
import fs from 'node:fs';
import path from 'node:path';
import type { Row } from './util.js';

export interface Section { title: string; ranAt: string; quick: boolean; machine: string; rows: Row[] }

export function mergeResults(file: string, fresh: Section[]): Section[] {
  let old: Section[] = [];
  try { old = JSON.parse(fs.readFileSync(file, 'utf8')) as Section[]; } catch { /* first run */ }
  const byTitle = new Map(old.map((s) => [s.title, s]));
  for (const s of fresh) byTitle.set(s.title, s);
  const merged = [...byTitle.values()];
  fs.writeFileSync(file, JSON.stringify(merged, null, 1) + '\n');
  return merged;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function markdown(sections: Section[]): string {
  const out = [
    '# Benchmark results',
    '',
    'Each section was measured in one run on one machine, against the tools users would use instead, on the same disk.',
    'Speed ratio = the reference tool\'s time / strata\'s time: above 1, strata is faster. Machines are shared and noisy;',
    'compare ratios, not absolute times. Chart: [results.svg](results.svg).',
    '',
  ];
  for (const s of sections) {
    out.push(`## ${s.title}`, '', `Run ${s.ranAt}${s.quick ? ' (quick sizes)' : ''}; ${s.machine}.`, '', '| measurement | result | speed vs reference |', '|---|---|---|');
    for (const r of s.rows) {
      const sp = (r.speed ?? []).map((x) => `${x.ratio.toFixed(2)}× ${x.vs}`).join('; ');
      out.push(`| ${r.name} | ${r.value.replace(/\|/g, '\\|')} | ${sp} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** Horizontal bars on a log scale from 0.01× to 10×, a line at 1×. */
export function svg(sections: Section[]): string {
  const bars: Array<{ label: string; ratio: number }> = [];
  for (const s of sections) for (const r of s.rows) for (const x of r.speed ?? []) bars.push({ label: `${s.title}: ${r.name} vs ${x.vs}`, ratio: x.ratio });
  const W = 1100, left = 640, right = 60, rowH = 18, top = 40;
  const H = top + bars.length * rowH + 30;
  const lo = Math.log10(0.01), hi = Math.log10(10);
  const xOf = (v: number) => left + ((Math.log10(Math.min(10, Math.max(0.01, v))) - lo) / (hi - lo)) * (W - left - right);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">strata speed relative to the reference tool (log scale; right of the line = faster)</text>`,
  ];
  for (const t of [0.01, 0.1, 0.5, 1, 2, 10]) {
    const x = xOf(t);
    parts.push(`<line x1="${x}" y1="${top - 8}" x2="${x}" y2="${H - 25}" stroke="${t === 1 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${x}" y="${H - 10}" text-anchor="middle">${t}×</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = xOf(0.01), x1 = xOf(b.ratio);
    parts.push(`<text x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(b.label.length > 110 ? b.label.slice(0, 107) + '...' : b.label)}</text>`);
    parts.push(`<rect x="${x0}" y="${y + 3}" width="${Math.max(1, x1 - x0)}" height="${rowH - 6}" fill="${b.ratio >= 1 ? '#2a9d8f' : b.ratio >= 0.5 ? '#e9c46a' : '#e76f51'}"/>`);
    parts.push(`<text x="${x1 + 4}" y="${y + 12}">${b.ratio.toFixed(2)}×</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function writeReports(benchDir: string, fresh: Section[]): void {
  const merged = mergeResults(path.join(benchDir, 'results.json'), fresh);
  fs.writeFileSync(path.join(benchDir, 'RESULTS.md'), markdown(merged));
  fs.writeFileSync(path.join(benchDir, 'results.svg'), svg(merged));
}
