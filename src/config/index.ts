import { parseEnv, slackModeOf, type Env, type SlackMode } from './env.js';
import { readFileConfig, type FileConfig } from './file.js';

export { ConfigError } from './env.js';
export type { Env, SlackMode } from './env.js';
export type { FileConfig } from './file.js';

export interface AppConfig {
  readonly env: Env;
  readonly slack: SlackMode;
  readonly settings: FileConfig;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Read env (and the optional JSON file) once; everything else receives the frozen result. */
export function loadConfig(source: Record<string, string | undefined> = process.env): AppConfig {
  const env = parseEnv(source);
  const slack = slackModeOf(env);
  const settings = readFileConfig(env.RETAIN_CONFIG);
  return deepFreeze({ env, slack, settings });
}
