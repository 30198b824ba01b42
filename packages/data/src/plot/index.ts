export { type CaptionLine, type GridTile, type ImageGridOptions, renderImageGrid } from './image-grid.ts';
export {
  CHART_FONT,
  type ChartSpec,
  type RenderChartOptions,
  renderChartPng,
  renderChartSvg,
  svgToPng,
} from './render-chart.ts';
