// The socket under the console channel, reduced to what the channel uses, so tests can
// drive the channel with a fake and the browser's WebSocket stays in one place.

import { CONSOLE_SUBPROTOCOL } from '@halyard/firmware-protocol';

export interface SocketHandlers {
  open(): void;
  message(bytes: Uint8Array): void;
  /** Also called when the connection never opened (refused upgrade, network down). */
  close(code: number, reason: string): void;
}

export interface SocketLike {
  send(bytes: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type Connect = (url: string, handlers: SocketHandlers) => SocketLike;

/** The browser's WebSocket, binary frames as bytes. */
export const browserConnect: Connect = (url, h) => {
  const ws = new WebSocket(url, CONSOLE_SUBPROTOCOL);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => h.open();
  ws.onmessage = (e: MessageEvent<unknown>) => {
    if (e.data instanceof ArrayBuffer) h.message(new Uint8Array(e.data));
  };
  ws.onclose = (e: CloseEvent) => h.close(e.code, e.reason);
  return {
    send: (bytes) => {
      // Our encoder never hands out shared memory; the DOM typing cannot know that.
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes as Uint8Array<ArrayBuffer>);
    },
    close: (code, reason) => ws.close(code, reason),
  };
};

/** ws:// or wss:// for the page's own hub. */
export function consoleUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/console`;
}
