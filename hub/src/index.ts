// The hub as a library, for its own tests and tools: start one in-process.

export { type HubConfig, loadConfig } from './config.js';
export { type Hub, startHub } from './hub.js';
export { createLogger } from './log.js';
