// The hub's version, shown in the console, the OpenAPI document and Home Assistant's device info.

export const HUB_VERSION = '0.1.0';
