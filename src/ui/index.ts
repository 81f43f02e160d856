/**
 * The live terminal UI. `runUi` is the entry point; the state model
 * (UiModel, UiController) is plain TypeScript and loads no Ink.
 */
export { runUi, type UiOptions, type UiSink, type UiDependencies } from './run-ui.js';
export type { SessionHandle } from './session-status.js';
export type { SinkStatus, HeaderInfo } from './state/header.js';
export { UiModel, DEFAULT_LIMITS, type ModelLimits } from './state/model.js';
export { UiController } from './state/controller.js';
