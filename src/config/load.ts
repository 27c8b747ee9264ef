import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { HubError } from '../shared/errors.ts';
import { configSchema, type Config, type ConfigInput } from './schema.ts';

/** Environment variables and the key each sets (contract: HERALD_DATA, HERALD_PORT, ...). */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  HERALD_DATA: 'data.dir',
  HERALD_HOST: 'server.host',
  HERALD_PORT: 'server.port',
  HERALD_TLS_PORT: 'server.tlsPort',
  HERALD_PUBLIC_HOST: 'server.publicHost',
  HERALD_ADMIN_KEY: 'adminKey',
  HERALD_SECRET_KEY: 'secretKey',
  HERALD_LOG_LEVEL: 'log.level',
  HERALD_TLS_MODE: 'tls.mode',
  HERALD_TLS_CERT: 'tls.certFile',
  HERALD_TLS_KEY: 'tls.keyFile',
  HERALD_PNS_CA_FILE: 'pns.caFile',
  HERALD_STORE: 'store.url',
  // Sandbox emulator ports (src/emulators/index.ts EMULATOR_PORT_ENV names the same variables).
  HERALD_EMULATOR_APNS_PORT: 'emulators.ports.apns',
  HERALD_EMULATOR_FCM_PORT: 'emulators.ports.fcmv1',
  HERALD_EMULATOR_WNS_PORT: 'emulators.ports.wns',
  HERALD_EMULATOR_WEBPUSH_PORT: 'emulators.ports.browser',
  HERALD_EMULATOR_ADM_PORT: 'emulators.ports.adm',
};

export interface ConfigSources {
  /** Path of a YAML file; absent: no file. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Dotted keys from command-line flags, e.g. `{ 'server.port': '9000' }`. */
  flags?: Record<string, unknown>;
}

function setPath(target: ConfigInput, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node: Record<string, unknown> = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepMerge(base: ConfigInput, over: ConfigInput): ConfigInput {
  const out: ConfigInput = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) {
      out[k] = deepMerge(b as ConfigInput, v as ConfigInput);
    } else if (v !== undefined) {
      out[k] = v;
    }
  }
  return out;
}

function readFile(path: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HubError('config_invalid', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 0 });
  } catch (err) {
    throw new HubError('config_invalid', `config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new HubError('config_invalid', `config file ${path} must hold a mapping of keys at its top`);
  }
  return doc as ConfigInput;
}

/** Merge defaults < file < environment < flags, validate once, and name the key of the first problems. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const origin = new Map<string, string>();
  const fromFile = sources.file ? readFile(sources.file) : {};
  const fromEnv: ConfigInput = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = sources.env?.[name];
    if (value !== undefined && value !== '') {
      setPath(fromEnv, key, value);
      origin.set(key, `environment ${name}`);
    }
  }
  const fromFlags: ConfigInput = {};
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value !== undefined) {
      setPath(fromFlags, key, value);
      origin.set(key, 'command line');
    }
  }
  const merged = deepMerge(deepMerge(fromFile, fromEnv), fromFlags);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(top level)';
      const from = origin.get(key) ?? (sources.file ? `file ${sources.file}` : 'defaults');
      const what = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
      return `${key}: ${what} (from ${from})`;
    });
    throw new HubError('config_invalid', `invalid configuration: ${problems.join('; ')}`, { problems });
  }
  return parsed.data;
}
