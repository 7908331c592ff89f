import { escapeXml, format, renderBarGroup, renderLegend, type ChartGroup } from "../eval/report/render-svg";

/**
 * A grouped bar chart whose values may be negative (percentage improvements, score differences):
 * bars grow up or down from a zero line, with error bars for intervals. SVG text, deterministic,
 * in the style of the MT-Bench-X report's charts.
 */

/** Options of `renderSignedBarChartSvg`. */
export interface SignedBarChartOptions {
  title: string;
  /** A second title line (e.g. the smoke-test notice). */
  subtitle?: string;
  groups: ChartGroup[];
  yLabel?: string;
}

/** A "nice" tick step for a range (1, 2 or 5 times a power of ten). */
function tickStep(range: number): number {
  const rough = range / 6;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const multiple of [1, 2, 5, 10]) if (multiple * power >= rough) return multiple * power;
  return 10 * power;
}

/** Renders a grouped bar chart with a zero line, negative values and intervals, as SVG text. */
export function renderSignedBarChartSvg(options: SignedBarChartOptions): string {
  const series = [...new Set(options.groups.flatMap((group) => group.bars.map((bar) => bar.series)))];
  const values = options.groups.flatMap((group) => group.bars.flatMap((bar) => [bar.value, bar.lower, bar.upper])).filter((value): value is number => typeof value === "number" && Number.isFinite(value));
  const rawMin = Math.min(0, ...values);
  const rawMax = Math.max(0, ...values);
  const step = tickStep(Math.max(rawMax - rawMin, 1));
  const yMin = Math.floor(rawMin / step) * step;
  const yMax = Math.max(Math.ceil(rawMax / step) * step, yMin + step);
  const barWidth = 16;
  const barGap = 3;
  const groupGap = 28;
  const maxBars = Math.max(1, ...options.groups.map((group) => group.bars.filter((bar) => bar.value !== null).length));
  const groupWidth = maxBars * (barWidth + barGap) - barGap;
  const left = 64;
  const top = options.subtitle ? 64 : 48;
  const plotHeight = 240;
  const legendLineHeight = 18;
  const titleWidth = Math.max(options.title.length * 15 * 0.66, (options.subtitle ?? "").length * 12 * 0.6);
  const labelWidth = Math.max(0, ...options.groups.map((group) => group.label.length * 12 * 0.6));
  const slotWidth = Math.max(groupWidth, labelWidth) + groupGap;
  const plotWidth = Math.max(options.groups.length * slotWidth, titleWidth - left + 24, 200);
  const legendTop = top + plotHeight + 44;
  const width = Math.ceil(left + plotWidth + 24);
  const height = legendTop + series.length * legendLineHeight + 16;
  const y = (value: number) => top + plotHeight - ((Math.max(yMin, Math.min(value, yMax)) - yMin) / (yMax - yMin)) * plotHeight;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<title>${escapeXml(options.title)}</title>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  if (options.subtitle) parts.push(`<text x="${left}" y="44" fill="#b00020">${escapeXml(options.subtitle)}</text>`);
  for (let tick = yMin; tick <= yMax + step / 1000; tick += step) {
    const ty = y(tick);
    parts.push(`<line x1="${left}" y1="${format(ty)}" x2="${format(left + plotWidth)}" y2="${format(ty)}" stroke="${Math.abs(tick) < step / 1000 ? "#444444" : "#e0e0e0"}"/>`);
    parts.push(`<text x="${left - 6}" y="${format(ty + 4)}" text-anchor="end" fill="#444444">${format(tick)}</text>`);
  }
  if (options.yLabel) parts.push(`<text transform="translate(16 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#444444">${escapeXml(options.yLabel)}</text>`);
  const slot = plotWidth / Math.max(1, options.groups.length);
  const zero = y(0);
  options.groups.forEach((group, groupIndex) => {
    const center = left + slot * (groupIndex + 0.5);
    parts.push(...renderBarGroup(group, { center, series, barWidth, barGap, y, baseline: zero, labelY: top + plotHeight + 18 }));
  });
  parts.push(...renderLegend(series, { left, top: legendTop, lineHeight: legendLineHeight }));
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
