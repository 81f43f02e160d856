/**
 * The live terminal UI. `terminalUi` is the front-end src/run.ts runs; the
 * state model (UiModel, UiController) is plain TypeScript and loads no Ink.
 */
export { terminalUi, type UiOptions } from './run-ui.js';
export type { SessionHandle } from './session-status.js';
export type { SinkStatus, HeaderInfo } from './state/header.js';
export { UiModel, DEFAULT_LIMITS, type ModelLimits } from './state/model.js';
export { UiController } from './state/controller.js';
