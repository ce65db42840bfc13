// One device's token from where the operator put it: the flag itself, a file, or
// stdin ('--token -'). A file or a pipe keeps the secret out of the shell history and
// out of `ps`, which the console's provision page suggests for that reason.

import { readFile } from 'node:fs/promises';
import { isDeviceToken } from '../config.js';
import { SimError, SimErrorCode } from '../errors.js';

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) text += chunk as string;
  return text;
}

/** The token, trimmed and checked; throws SimError (config) naming the source at fault. */
export async function readDeviceToken(
  source: { token: string | undefined; tokenFile: string | undefined },
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<string | undefined> {
  let text: string;
  let from: string;
  if (source.tokenFile !== undefined) {
    from = `--token-file ${source.tokenFile}`;
    try {
      text = await readFile(source.tokenFile, 'utf8');
    } catch (err) {
      throw new SimError(SimErrorCode.Config, `${from}: cannot read it (${(err as Error).message})`, { cause: err });
    }
  } else if (source.token === '-') {
    from = '--token - (stdin)';
    text = await readStdin(stdin);
  } else return source.token;
  // Files and pipes usually end with a newline; the token itself never has spaces.
  const token = text.trim();
  if (!isDeviceToken(token))
    throw new SimError(SimErrorCode.Config, `${from}: expected one token, <device-id>.<secret>, as provisioning printed it`);
  return token;
}
