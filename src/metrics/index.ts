export { MetricsService, type MetricsOptions } from './metrics-service.js';
export { parseMetricsAddress, metricsUrl, METRICS_DEFAULT_HOST, type MetricsAddress } from './metrics-address.js';
export { LABEL_LIMIT_DEFAULTS, FOLDED, UNKNOWN, type LabelLimits } from './label-bound.js';
