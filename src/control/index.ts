/** The control socket: server, line protocol, commands and the `hostflow ctl` client. */
export { ControlServer, DEFAULT_CONTROL_SOCKET, type ControlServerOptions, type ControlServerStats } from './server.js';
export { runCommand, startCommand, countByAddress, type BlocklistControl, type ControlBackend, type HostBlockControl, type StatValue } from './commands.js';
export { blockHost, type BlockHostSources, type BlockHostResult } from './block-host.js';
export { HostBlocks, type HostBlockRow, type HostBlockStats } from './host-blocks.js';
export { COMMANDS, MAX_LINE_BYTES, formatAnswer, parseRequest, type Answer, type Request } from './protocol.js';
export { CTL_USAGE, runCtl, type CtlIo } from './client.js';
