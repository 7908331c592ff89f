/**
 * A small grouped bar chart renderer that writes SVG text directly: no browser, no canvas and no
 * fonts needed, and the output is byte-for-byte deterministic (vega-lite 6 needs Node 22, and
 * this package supports Node 20). Text widths are estimated, which is enough for short labels.
 */

/** One bar: a series (model) value in a group (language or category), with an optional interval. */
export interface ChartBar {
  series: string;
  value: number | null;
  lower?: number | null;
  upper?: number | null;
}

/** A group of bars on the x axis. */
export interface ChartGroup {
  label: string;
  bars: ChartBar[];
}

/** Options of `renderBarChartSvg`. */
export interface BarChartOptions {
  title: string;
  groups: ChartGroup[];
  /** Top of the y axis (MT-Bench scores: 10). */
  yMax: number;
  yLabel?: string;
}

// Colour-blind-safe palette (Okabe-Ito).
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A coordinate or value with at most two decimals, as the charts write them. */
export function format(value: number): string {
  return Number(value.toFixed(2)).toString();
}

/** Renders a grouped bar chart (one colour per series, error bars for intervals) as SVG text. */
export function renderBarChartSvg(options: BarChartOptions): string {
  const series = [...new Set(options.groups.flatMap((group) => group.bars.map((bar) => bar.series)))];
  const barWidth = 18;
  const barGap = 4;
  const groupGap = 28;
  const maxBars = Math.max(1, ...options.groups.map((group) => group.bars.filter((bar) => bar.value !== null).length));
  const groupWidth = maxBars * (barWidth + barGap) - barGap;
  const left = 56;
  const top = 48;
  const plotHeight = 240;
  const legendLineHeight = 18;
  // Text is not measured (no fonts without a browser): about 0.6-0.66 em per character is enough.
  const titleWidth = options.title.length * 15 * 0.66;
  const labelWidth = Math.max(0, ...options.groups.map((group) => group.label.length * 12 * 0.6));
  const slotWidth = Math.max(groupWidth, labelWidth) + groupGap;
  const plotWidth = Math.max(options.groups.length * slotWidth, titleWidth - left + 24, 200);
  const legendTop = top + plotHeight + 44;
  const width = Math.ceil(left + plotWidth + 24);
  const height = legendTop + series.length * legendLineHeight + 16;
  const y = (value: number) => top + plotHeight - (Math.max(0, Math.min(value, options.yMax)) / options.yMax) * plotHeight;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<title>${escapeXml(options.title)}</title>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (let tick = 0; tick <= options.yMax; tick += options.yMax <= 10 ? 2 : Math.ceil(options.yMax / 5)) {
    const ty = y(tick);
    parts.push(`<line x1="${left}" y1="${format(ty)}" x2="${format(left + plotWidth)}" y2="${format(ty)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${format(ty + 4)}" text-anchor="end" fill="#444444">${tick}</text>`);
  }
  if (options.yLabel) {
    parts.push(
      `<text transform="translate(16 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#444444">${escapeXml(options.yLabel)}</text>`,
    );
  }
  parts.push(`<line x1="${left}" y1="${top + plotHeight}" x2="${format(left + plotWidth)}" y2="${top + plotHeight}" stroke="#444444"/>`);
  const slot = plotWidth / Math.max(1, options.groups.length);
  options.groups.forEach((group, groupIndex) => {
    const center = left + slot * (groupIndex + 0.5);
    parts.push(...renderBarGroup(group, { center, series, barWidth, barGap, y, baseline: top + plotHeight, labelY: top + plotHeight + 18 }));
  });
  parts.push(...renderLegend(series, { left, top: legendTop, lineHeight: legendLineHeight }));
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** Where `renderBarGroup` draws a group. */
export interface BarGroupLayout {
  /** x of the group's centre. */
  center: number;
  /** Every series of the chart, in legend order (a bar's colour is its series'). */
  series: readonly string[];
  barWidth: number;
  barGap: number;
  /** Maps a value to its y coordinate. */
  y: (value: number) => number;
  /** y the bars grow from: the x axis, or a zero line for charts with negative values. */
  baseline: number;
  /** y of the group's label. */
  labelY: number;
}

/** One group's bars (up or down from the baseline, centred, only the series it has), error bars and label. */
export function renderBarGroup(group: ChartGroup, layout: BarGroupLayout): string[] {
  const { center, series, barWidth, barGap, y, baseline } = layout;
  const parts: string[] = [];
  const bars = group.bars.filter((bar) => bar.value !== null);
  const barsWidth = bars.length * (barWidth + barGap) - barGap;
  bars.forEach((bar, barIndex) => {
    const x = center - barsWidth / 2 + barIndex * (barWidth + barGap);
    const colour = PALETTE[series.indexOf(bar.series) % PALETTE.length]!;
    const end = y(bar.value!);
    parts.push(
      `<rect x="${format(x)}" y="${format(Math.min(baseline, end))}" width="${barWidth}" height="${format(Math.abs(baseline - end))}" fill="${colour}"><title>${escapeXml(`${bar.series} / ${group.label}: ${format(bar.value!)}`)}</title></rect>`,
    );
    if (typeof bar.lower === "number" && typeof bar.upper === "number") {
      const middle = x + barWidth / 2;
      parts.push(
        `<path d="M${format(middle)} ${format(y(bar.lower))}V${format(y(bar.upper))}M${format(middle - 4)} ${format(y(bar.lower))}H${format(middle + 4)}M${format(middle - 4)} ${format(y(bar.upper))}H${format(middle + 4)}" stroke="#222222" fill="none"/>`,
      );
    }
  });
  parts.push(`<text x="${format(center)}" y="${layout.labelY}" text-anchor="middle">${escapeXml(group.label)}</text>`);
  return parts;
}

/** The legend: a colour swatch and the name of each series, one per line. */
export function renderLegend(series: readonly string[], layout: { left: number; top: number; lineHeight: number }): string[] {
  return series.flatMap((name, index) => {
    const ly = layout.top + index * layout.lineHeight;
    return [
      `<rect x="${layout.left}" y="${ly - 10}" width="12" height="12" fill="${PALETTE[index % PALETTE.length]!}"/>`,
      `<text x="${layout.left + 18}" y="${ly}">${escapeXml(name)}</text>`,
    ];
  });
}
