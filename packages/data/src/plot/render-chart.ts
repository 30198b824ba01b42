import sharp from 'sharp';
import type { TopLevelSpec } from 'vega-lite';

/** A Vega-Lite specification (https://vega.github.io/vega-lite/docs/); data inline (`data.values`). */
export type ChartSpec = TopLevelSpec;

export interface RenderChartOptions {
  /** Pixels per chart unit in the PNG (2 gives crisp text on high-density screens). Default 2. */
  scale?: number;
  /** Vega-Lite compile warnings (e.g. a field that is not in the data) go here; default: ignored. */
  onWarning?: (message: string) => void;
}

/** The fonts installed with the product's images (Debian's fonts-dejavu); librsvg falls back to any sans-serif. */
export const CHART_FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';

const DEFAULT_CONFIG = {
  font: CHART_FONT,
  background: '#ffffff',
  padding: 12,
  title: { fontSize: 15, anchor: 'start', offset: 10 },
  axis: { labelFontSize: 12, titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 12 },
} as const;

/**
 * Renders a Vega-Lite spec to SVG headlessly (no canvas, no browser). The spec's own `config` wins over the house
 * defaults (DejaVu font, white background). Charts never load anything: data must be inline, and a spec that asks
 * for a URL fails instead of reaching the network.
 */
export async function renderChartSvg(spec: ChartSpec, options: RenderChartOptions = {}): Promise<string> {
  // Loaded on first use: vega is large, and importing @tfmlops/data must stay cheap.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const withDefaults = {
    ...spec,
    config: { ...DEFAULT_CONFIG, ...(spec as { config?: object }).config },
  } as ChartSpec;
  const compiled = vegaLite.compile(withDefaults, { logger: chartLogger(options.onWarning) });
  const external = (compiled.spec.data ?? []).find((data) => 'url' in data);
  if (external) {
    const { url } = external as { url: unknown };
    throw new Error(`charts render offline: inline the data (data.values) instead of loading ${String(url)}`);
  }
  const errors: string[] = [];
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`charts render offline: cannot load ${uri}`);
  };
  const view = new vega.View(vega.parse(compiled.spec), {
    renderer: 'none',
    loader,
    logger: chartLogger(options.onWarning, errors),
  });
  try {
    const svg = await view.toSVG(options.scale ?? 2);
    // Vega reports dataflow errors (a bad expression, a failed load) to its logger and draws an empty chart.
    if (errors.length > 0) throw new Error(`chart failed to render: ${errors.join('; ')}`);
    return svg;
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec to a PNG (SVG from {@link renderChartSvg}, rasterised by sharp/librsvg). */
export async function renderChartPng(spec: ChartSpec, options: RenderChartOptions = {}): Promise<Buffer> {
  return svgToPng(await renderChartSvg(spec, options));
}

/** Rasterises an SVG document to PNG at its own pixel size, on a white background. */
export async function svgToPng(svg: string | Buffer): Promise<Buffer> {
  return sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).png().toBuffer();
}

/** A vega-util LoggerInterface (not re-exported by vega's typings) that forwards warnings and keeps errors. */
function chartLogger(onWarning: ((message: string) => void) | undefined, errors?: string[]) {
  let current = 2;
  const text = (args: readonly unknown[]) =>
    args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ');
  const logger = {
    level(value?: number) {
      if (value === undefined) return current;
      current = value;
      return logger;
    },
    error: (...args: readonly unknown[]) => {
      if (!errors) throw new Error(text(args));
      errors.push(text(args));
      return logger;
    },
    warn: (...args: readonly unknown[]) => {
      onWarning?.(text(args));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger as never;
}
